#pragma once

#include <cstdint>
#include <string>

#include "core/config.hpp"

namespace meldestelle {

// Signed links in mails we send (docs/departments.md): a department's link to a large photo, a
// citizen's opt-out link. The signature is HMAC-SHA256 over "purpose|subject|expiry" with the
// link secret (notifications.optout_secret, else webform.token_secret), hex, first 32 chars.
// `expires_unix` 0 = never expires.
std::string LinkSecret(const Config& config);
std::string SignLink(const std::string& secret, const std::string& purpose,
                     const std::string& subject, int64_t expires_unix);
// True if `signature` is right for the other fields and the link has not expired at `now_unix`.
bool VerifyLink(const std::string& secret, const std::string& purpose, const std::string& subject,
                int64_t expires_unix, const std::string& signature, int64_t now_unix);

}  // namespace meldestelle
