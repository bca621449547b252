#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// The web form's signed time token: "<issued_at>.<nonce>.<mac>", mac = first 32 hex digits of
// HMAC-SHA256(secret, "<issued_at>.<nonce>"). The nonce makes each rendered form unique and is
// the submission's deduplication key.
namespace meldestelle::webform {

enum class TokenVerdict { kValid, kMalformed, kBadSignature, kTooFast, kExpired };

struct TokenCheck {
  TokenVerdict verdict = TokenVerdict::kMalformed;
  std::string nonce;
  int64_t issued_at = 0;
};

std::string IssueFormToken(std::string_view secret, int64_t now_unix);
std::string IssueFormTokenAt(std::string_view secret, int64_t issued_at, std::string_view nonce);
TokenCheck VerifyFormToken(std::string_view token, std::string_view secret, int64_t now_unix,
                           int min_age_seconds, int max_age_seconds);
const char* ToString(TokenVerdict v);

}  // namespace meldestelle::webform
