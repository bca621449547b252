#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace meldestelle {

// One key per purpose (docs/security.md, "Keys"): each is HMAC-SHA256(base, "meldestelle key v1
// " + name), where the base is the purpose's own secret when the configuration gives one
// (`keys.<name>`, for opt-out links also notifications.optout_secret) and else the master secret,
// webform.token_secret. So rotating one purpose's secret breaks only its own tokens and links.
enum class KeyPurpose {
  kFormTokens,
  kOptOutLinks,
  kMediaLinks,
  kInbox,
  kPrivacyAudit,
  kFixAnswers,
  kMessageIds  // the Message-IDs of the mails the outbox sends (channels/email/compose.hpp)
};
std::string_view KeyName(KeyPurpose purpose);  // "form_tokens", "optout_links", ...
// "" when neither the purpose's secret nor the master is configured.
std::string PurposeKey(const Config& config, KeyPurpose purpose);

// The citizens' status page of a reference (GET /meldung/{reference}, docs/api.md) under
// gateway.public_base_url: the link in every acknowledgement, status notice and confirmation.
std::string StatusPageUrl(const Config& config, std::string_view reference);

// "Ist es behoben?" on the status page (docs/intake-api.md) is answered by the reporters only:
// the notice that a ticket is done links to StatusPageUrl with `?schluessel=` this key, a
// signature of the reporter's reference (KeyPurpose::kFixAnswers), which the page's form sends
// back. "" when no key is configured.
std::string FixAnswerKey(const Config& config, std::string_view reference);
std::string FixAnswerUrl(const Config& config, std::string_view reference);
bool VerifyFixAnswerKey(const Config& config, std::string_view reference, const std::string& key);

// Signed links in mails we send (docs/departments.md): a department's link to a large photo, a
// citizen's opt-out link. The signature is HMAC-SHA256 over "purpose|subject|expiry" with the
// purpose's key, hex, first 32 chars. `expires_unix` 0 = never expires.
std::string SignLink(const std::string& secret, const std::string& purpose,
                     const std::string& subject, int64_t expires_unix);
// True if `signature` is right for the other fields and the link has not expired at `now_unix`.
bool VerifyLink(const std::string& secret, const std::string& purpose, const std::string& subject,
                int64_t expires_unix, const std::string& signature, int64_t now_unix);
// VerifyLink with the purpose's key, or with the one key all links were signed with before keys
// were per purpose (opt-out links never expire; media links sent then are valid for 30 days).
bool VerifyLinkOrLegacy(const Config& config, KeyPurpose key, const std::string& purpose,
                        const std::string& subject, int64_t expires_unix,
                        const std::string& signature, int64_t now_unix);

}  // namespace meldestelle
