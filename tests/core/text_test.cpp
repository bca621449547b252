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

TEST_CASE("lowercase and code points for the citizens' letters, broken UTF-8 skipped") {
  using meldestelle::AppendUtf8;
  using meldestelle::Utf8CodePoints;
  using meldestelle::Utf8Lower;
  CHECK(Utf8Lower("ĞŞİÇÖÜ ÄÖÜ") == "ğşiçöü äöü");
  CHECK(Utf8Lower("ГОТОВО Є І Ї Ґ") == "готово є і ї ґ");
  CHECK(Utf8Lower("نعم") == "نعم");
  CHECK(Utf8Lower("ĸ Ĺ Ž") == "ĸ Ĺ Ž");  // not a capital, and pairs the other way round kept
  CHECK(Utf8CodePoints("aä€😀") == std::u32string{U'a', U'ä', U'€', U'😀'});
  // Overlong forms, surrogates, code points beyond U+10FFFF, cut sequences: skipped.
  CHECK(Utf8CodePoints("\xC0\xBC\xC0\x80") == std::u32string{});
  CHECK(Utf8CodePoints("\xED\xA0\x80x") == std::u32string{U'x'});
  CHECK(Utf8CodePoints("\xF5\x80\x80\x80y") == std::u32string{U'y'});
  CHECK(Utf8CodePoints("z\xE2\x82") == std::u32string{U'z'});
  std::string out;
  AppendUtf8(out, U'😀');
  CHECK(out == "😀");
}
