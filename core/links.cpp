#include "core/links.hpp"

#include "core/crypto.hpp"

namespace meldestelle {

std::string LinkSecret(const Config& config) { return config.link_secret; }

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

}  // namespace meldestelle
