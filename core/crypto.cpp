#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

namespace meldestelle {

namespace {
const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

namespace {
// The digest of `data` into `digest` (SHA256_DIGEST_LENGTH bytes).
void Sha256Into(std::string_view data, unsigned char* digest) {
  // Fetched once: SHA256() fetches the algorithm on every call, under a lock of OpenSSL's method
  // store that the gateway's request threads all queued for (docs/benchmarks.md).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned int len = 0;
  if (kSha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &len, kSha256, nullptr) != 1 ||
      len != SHA256_DIGEST_LENGTH)
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
}
}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  Sha256Into(data, digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  Sha256Into(data, digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), Bytes(data), data.size(), digest,
       &len);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string HmacSha1Base64(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), Bytes(data), data.size(), digest,
       &len);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  AppendBase64(out, bytes);
  return out;
}

void AppendBase64(std::string& out, std::string_view bytes) {
  const size_t at = out.size();
  out.resize(at + 4 * ((bytes.size() + 2) / 3));
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at), Bytes(bytes),
                          static_cast<int>(bytes.size()));
  out.resize(at + static_cast<size_t>(n));
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) {
    return false;
  }
  std::string buf(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()), Bytes(text),
                          static_cast<int>(text.size()));
  if (n < 0) {
    return false;
  }
  size_t len = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') {
    len--;
    if (text.size() >= 2 && text[text.size() - 2] == '=') {
      len--;
    }
  }
  buf.resize(len);
  *out = std::move(buf);
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), bytes));
}

uint64_t RandomU64() {
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return v;
}

std::string NewUuid() {
  // Identifiers, not secrets: a per-thread generator seeded from OpenSSL avoids the DRBG's
  // locking on every request.
  thread_local std::mt19937_64 gen(RandomU64());
  unsigned char b[16];
  uint64_t hi = gen();
  uint64_t lo = gen();
  std::memcpy(b, &hi, 8);
  std::memcpy(b + 8, &lo, 8);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  // 8-4-4-4-12 hex digits, written once (one per request: no growing, no inserting).
  static constexpr char kDigits[] = "0123456789abcdef";
  char id[36];
  size_t at = 0;
  for (size_t i = 0; i < sizeof b; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      id[at++] = '-';
    id[at++] = kDigits[b[i] >> 4];
    id[at++] = kDigits[b[i] & 0xF];
  }
  return std::string(id, sizeof id);
}

}  // namespace meldestelle
