#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

// Passwords of the inbox's local accounts (docs/security.md, "Staff sign-in"): Argon2id (RFC 9106)
// from Debian's libargon2, with the parameters OWASP recommends (19 MiB, 2 passes, 1 lane), a
// random 16-byte salt and a 32-byte tag, kept in the PHC string form
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>") so that the parameters can change later
// without touching stored hashes.
namespace meldestelle {

// What a password must be: at least this many characters (Unicode code points) and at most
// kMaxPasswordBytes bytes (the hash costs the same for any length; the limit bounds the input).
inline constexpr size_t kMinPasswordChars = 12;
inline constexpr size_t kMaxPasswordBytes = 1024;

// "" or why the password is refused (English, for the command line).
std::string CheckPasswordRules(std::string_view password);

// The PHC string of a new hash. Errors: "internal" (libargon2 failed, e.g. out of memory).
Result<std::string> HashPassword(std::string_view password);

// Whether `password` matches the stored PHC string. A malformed string is no match.
bool VerifyPassword(const std::string& stored, std::string_view password);

// Verifies against a fixed hash and returns false: takes as long as a real check, so that an
// unknown user name cannot be told from a wrong password by the time the answer takes.
bool VerifyPasswordOfNobody(std::string_view password);

}  // namespace meldestelle
