// Text helpers shared by every part (core/text).
#include "core/text.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace text_test {

using namespace meldestelle;

TEST_CASE("Utf8Prefix never ends inside a character", "[text]") {
  const std::string s = "aä€😀";  // 1 + 2 + 3 + 4 bytes
  CHECK(Utf8Prefix(s, 100) == s);
  CHECK(Utf8Prefix(s, 10) == s);
  CHECK(Utf8Prefix(s, 0).empty());
  CHECK(Utf8Prefix(s, 1) == "a");
  CHECK(Utf8Prefix(s, 2) == "a");  // inside ä
  CHECK(Utf8Prefix(s, 3) == "aä");
  CHECK(Utf8Prefix(s, 4) == "aä");
  CHECK(Utf8Prefix(s, 5) == "aä");  // inside €
  CHECK(Utf8Prefix(s, 6) == "aä€");
  CHECK(Utf8Prefix(s, 9) == "aä€");  // inside the emoji
  for (size_t n = 0; n <= s.size(); ++n)
    CHECK(IsValidUtf8(Utf8Prefix(s, n)));
  // Broken input (continuation bytes only) is cut to nothing rather than read past.
  CHECK(Utf8Prefix(std::string(5, '\x80'), 3).empty());
}

}  // namespace text_test

TEST_CASE("log details lose addresses and numbers, keep the rest", "[text]") {
  using meldestelle::RedactContacts;
  CHECK(RedactContacts("550 5.1.1 <erika.m+bau@example.net>: Recipient address rejected") ==
        "550 5.1.1 <[address]>: Recipient address rejected");
  CHECK(RedactContacts("21211 Invalid 'To' Phone Number: +49 151 2345 6789") ==
        "21211 Invalid 'To' Phone Number: [number]");
  CHECK(RedactContacts("chat 8800040891:1003 not found") == "chat [number]:1003 not found");
  // Status codes, short numbers and dates stay.
  CHECK(RedactContacts("HTTP 503 after 20 s, code 131047") == "HTTP 503 after 20 s, code 131047");
  CHECK(RedactContacts("") == "");
}
