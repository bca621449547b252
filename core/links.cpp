#include "core/links.hpp"

#include "core/crypto.hpp"

namespace meldestelle {

std::string StatusPageUrl(const Config& config, std::string_view reference) {
  std::string_view base = config.gateway.public_base_url;
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  constexpr std::string_view kPath = "/meldung/";
  std::string url;
  url.reserve(base.size() + kPath.size() + reference.size());
  url.append(base).append(kPath).append(reference);
  return url;
}

std::string FixAnswerKey(const Config& config, std::string_view reference) {
  std::string key = PurposeKey(config, KeyPurpose::kFixAnswers);
  if (key.empty() || reference.empty())
    return "";
  return SignLink(key, "fix_answer", std::string(reference), 0);
}

std::string FixAnswerUrl(const Config& config, std::string_view reference) {
  std::string key = FixAnswerKey(config, reference);
  std::string url = StatusPageUrl(config, reference);
  return key.empty() ? url : url + "?schluessel=" + key;
}

bool VerifyFixAnswerKey(const Config& config, std::string_view reference, const std::string& key) {
  std::string want = FixAnswerKey(config, reference);
  return !want.empty() && ConstantTimeEquals(want, key);
}

std::string_view KeyName(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kFormTokens:
      return "form_tokens";
    case KeyPurpose::kOptOutLinks:
      return "optout_links";
    case KeyPurpose::kMediaLinks:
      return "media_links";
    case KeyPurpose::kInbox:
      return "inbox";
    case KeyPurpose::kPrivacyAudit:
      return "privacy_audit";
    case KeyPurpose::kFixAnswers:
      return "fix_answers";
    case KeyPurpose::kMessageIds:
      return "message_ids";
  }
  return "unknown";
}

std::string PurposeKey(const Config& config, KeyPurpose purpose) {
  const std::string name(KeyName(purpose));
  auto own = config.purpose_secrets.find(name);
  const std::string& base = own != config.purpose_secrets.end() && !own->second.empty()
                                ? own->second
                                : config.link_secret;
  if (base.empty())
    return "";
  return HmacSha256Hex(base, "meldestelle key v1 " + name);
}

std::string SignLink(const std::string& secret, const std::string& purpose,
                     const std::string& subject, int64_t expires_unix) {
  return HmacSha256Hex(secret, purpose + "|" + subject + "|" + std::to_string(expires_unix))
      .substr(0, 32);
}

bool VerifyLink(const std::string& secret, const std::string& purpose, const std::string& subject,
                int64_t expires_unix, const std::string& signature, int64_t now_unix) {
  if (secret.empty())
    return false;
  if (expires_unix != 0 && expires_unix < now_unix)
    return false;
  return ConstantTimeEquals(SignLink(secret, purpose, subject, expires_unix), signature);
}

bool VerifyLinkOrLegacy(const Config& config, KeyPurpose key, const std::string& purpose,
                        const std::string& subject, int64_t expires_unix,
                        const std::string& signature, int64_t now_unix) {
  if (VerifyLink(PurposeKey(config, key), purpose, subject, expires_unix, signature, now_unix))
    return true;
  // A purpose with a secret of its own was rotated away from the old key: no fallback.
  auto own = config.purpose_secrets.find(std::string(KeyName(key)));
  if (own != config.purpose_secrets.end() && !own->second.empty() &&
      key != KeyPurpose::kOptOutLinks)
    return false;
  // The one key of old: notifications.optout_secret when set, else the master.
  auto optout = config.purpose_secrets.find(std::string(KeyName(KeyPurpose::kOptOutLinks)));
  const std::string& legacy = optout != config.purpose_secrets.end() && !optout->second.empty()
                                  ? optout->second
                                  : config.link_secret;
  return VerifyLink(legacy, purpose, subject, expires_unix, signature, now_unix);
}

}  // namespace meldestelle
