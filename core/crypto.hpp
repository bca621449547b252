#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Thin wrappers around OpenSSL for hashing, MACs, encodings and randomness. Thread-safe.
namespace meldestelle {

// SHA-256 of `data`: its 32 bytes, and as 64 lowercase hex digits.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Base64 (standard alphabet, padded) of HMAC-SHA1: the X-Twilio-Signature scheme.
std::string HmacSha1Base64(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// Base64Encode(bytes) appended to `out`.
void AppendBase64(std::string& out, std::string_view bytes);
// Returns false on malformed input. Whitespace is not accepted.
bool Base64Decode(std::string_view text, std::string* out);
// Compares in constant time with respect to the contents (the length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string RandomHex(size_t bytes);
uint64_t RandomU64();
// Random version-4 UUID in canonical form.
std::string NewUuid();

}  // namespace meldestelle
