#include "core/password.hpp"

#include <argon2.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle {
namespace {

constexpr uint32_t kPasses = 2;
constexpr uint32_t kMemoryKiB = 19 * 1024;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kTagBytes = 32;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

std::string CheckPasswordRules(std::string_view password) {
  if (password.size() > kMaxPasswordBytes)
    return "the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes";
  if (CodePoints(password) < kMinPasswordChars)
    return "the password must have at least " + std::to_string(kMinPasswordChars) + " characters";
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7F)
      return "the password contains a control character (a line break, a tab, …)";
  }
  return "";
}

Result<std::string> HashPassword(std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1)
    return MakeError(errors::kInternal, "no random bytes for the salt");
  std::vector<char> encoded(
      argon2_encodedlen(kPasses, kMemoryKiB, kLanes, kSaltBytes, kTagBytes, Argon2_id) + 1);
  int rc = argon2id_hash_encoded(kPasses, kMemoryKiB, kLanes, password.data(), password.size(),
                                 salt, sizeof salt, kTagBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK)
    return MakeError(errors::kInternal, std::string("argon2id: ") + argon2_error_message(rc));
  return std::string(encoded.data());
}

bool VerifyPassword(const std::string& stored, std::string_view password) {
  if (stored.rfind("$argon2id$", 0) != 0 || password.size() > kMaxPasswordBytes)
    return false;
  return argon2id_verify(stored.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool VerifyPasswordOfNobody(std::string_view password) {
  // A hash of a random password nobody knows, made once with the current parameters.
  static const std::string kNobody = [] {
    auto h = HashPassword(RandomHex(16));
    return h ? *h : std::string();
  }();
  (void)VerifyPassword(kNobody, password);
  return false;
}

}  // namespace meldestelle
