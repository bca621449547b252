#include "channels/webform/token.hpp"

#include "core/crypto.hpp"

namespace meldestelle::webform {

namespace {
std::string Mac(std::string_view secret, std::string_view payload) {
  return HmacSha256Hex(secret, payload).substr(0, 32);
}
}  // namespace

std::string IssueFormTokenAt(std::string_view secret, int64_t issued_at, std::string_view nonce) {
  std::string payload = std::to_string(issued_at) + "." + std::string(nonce);
  return payload + "." + Mac(secret, payload);
}

std::string IssueFormToken(std::string_view secret, int64_t now_unix) {
  return IssueFormTokenAt(secret, now_unix, RandomHex(12));
}

TokenCheck VerifyFormToken(std::string_view token, std::string_view secret, int64_t now_unix,
                           int min_age_seconds, int max_age_seconds) {
  TokenCheck check;
  auto first = token.find('.');
  auto last = token.rfind('.');
  if (first == std::string_view::npos || first == last || token.size() > 200) {
    return check;
  }
  std::string_view issued = token.substr(0, first);
  std::string_view nonce = token.substr(first + 1, last - first - 1);
  std::string_view mac = token.substr(last + 1);
  if (issued.empty() || issued.size() > 12 ||
      issued.find_first_not_of("0123456789") != std::string_view::npos || nonce.empty() ||
      nonce.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return check;
  }
  check.issued_at = std::stoll(std::string(issued));
  check.nonce = std::string(nonce);
  if (secret.empty() || !ConstantTimeEquals(mac, Mac(secret, token.substr(0, last)))) {
    check.verdict = TokenVerdict::kBadSignature;
    return check;
  }
  int64_t age = now_unix - check.issued_at;
  if (age < min_age_seconds) {
    check.verdict = TokenVerdict::kTooFast;
  } else if (age > max_age_seconds) {
    check.verdict = TokenVerdict::kExpired;
  } else {
    check.verdict = TokenVerdict::kValid;
  }
  return check;
}

const char* ToString(TokenVerdict v) {
  switch (v) {
    case TokenVerdict::kValid: return "valid";
    case TokenVerdict::kMalformed: return "malformed";
    case TokenVerdict::kBadSignature: return "bad_signature";
    case TokenVerdict::kTooFast: return "too_fast";
    case TokenVerdict::kExpired: return "expired";
  }
  return "malformed";
}

}  // namespace meldestelle::webform
