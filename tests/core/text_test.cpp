// Text helpers shared by every part (core/text).
#include "core/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_writer.hpp"

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

TEST_CASE("UTF-8, control characters and lengths are found wherever they sit in a word", "[text]") {
  // The checks read eight bytes at a time, and the UTF-8 check (simdjson's) 16 to 64: each piece
  // goes at every offset of ASCII padding of every length up to 72 bytes, so that it falls at
  // each place in a word or block, across two of them and in the bytes after the last whole one.
  struct Piece {
    std::string bytes;
    TextFault fault;
    size_t code_points;
  };
  const std::vector<Piece> pieces{
      {"x", TextFault::kNone, 1},
      {"\xC3\xA4", TextFault::kNone, 1},          // ä
      {"\xE2\x82\xAC", TextFault::kNone, 1},      // €
      {"\xF0\x9F\x9A\xA7", TextFault::kNone, 1},  // 🚧
      {"\t\n\r", TextFault::kNone, 3},            // allowed control characters
      {"~", TextFault::kNone, 1},                 // 0x7E, next to DEL
      {" ", TextFault::kNone, 1},                 // 0x20, the first allowed
      {"\x1F", TextFault::kControlCharacter, 1},
      {std::string(1, '\0'), TextFault::kControlCharacter, 1},
      {"\x7F", TextFault::kControlCharacter, 1},
      {"\x01\xC3\xA4", TextFault::kControlCharacter, 2},
      {"\xC3", TextFault::kInvalidUtf8, 1},          // truncated
      {"\xC0\xAF", TextFault::kInvalidUtf8, 1},      // overlong
      {"\xED\xA0\x80", TextFault::kInvalidUtf8, 1},  // surrogate
      {"\xFC", TextFault::kInvalidUtf8, 1},          // Latin-1
      {"\x01\xFC", TextFault::kInvalidUtf8, 2},      // both: the UTF-8 counts
      {"\xFC\x01", TextFault::kInvalidUtf8, 2},
      {"\x80", TextFault::kInvalidUtf8, 1},              // a continuation byte alone
      {"\xF4\x90\x80\x80", TextFault::kInvalidUtf8, 1},  // above U+10FFFF
      {"\xC3\xA4\xC3", TextFault::kInvalidUtf8, 2},      // truncated after a whole one
  };
  for (const auto& piece : pieces) {
    for (size_t before = 0; before <= 72; ++before) {
      for (size_t after : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{13}, size_t{40}}) {
        std::string s = std::string(before, 'a') + piece.bytes + std::string(after, 'b');
        INFO("piece " << piece.bytes.size() << " bytes at " << before << ", " << after << " after");
        CHECK(CheckText(s) == piece.fault);
        CHECK(IsValidUtf8(s) == (piece.fault != TextFault::kInvalidUtf8));
        if (piece.fault != TextFault::kInvalidUtf8) {
          CHECK(Utf8Length(s) == before + piece.code_points + after);
          CHECK(HasControlCharacter(s) == (piece.fault == TextFault::kControlCharacter));
        }
      }
    }
  }
  CHECK(CheckText("") == TextFault::kNone);
  CHECK_FALSE(HasControlCharacter(""));
  CHECK(Utf8Length("") == 0);
}

TEST_CASE("long texts: code points counted past the counters' wrap, controls found at the end",
          "[text]") {
  // Utf8Length counts sixteen bytes a step in byte-wide counters added up every 255 steps
  // (4,080 bytes): texts of continuation bytes only up to well beyond that.
  for (size_t chars : {size_t{1}, size_t{1359}, size_t{1360}, size_t{1361}, size_t{5000}}) {
    std::string euros;
    for (size_t i = 0; i < chars; ++i)
      euros += "\xE2\x82\xAC";  // three bytes, two of them continuation bytes
    INFO(chars << " euro signs");
    CHECK(Utf8Length(euros) == chars);
    CHECK(Utf8Length(euros + "x") == chars + 1);
    CHECK(Utf8Length(std::string(chars * 3, '\x80')) == 0);  // not UTF-8: only the counting
  }
  // Lines and tabs in every block, then one control character at the very end.
  std::string lines;
  while (lines.size() < 5000)
    lines += "Zeile\tmit Tab\r\n";
  CHECK_FALSE(HasControlCharacter(lines));
  CHECK(CheckText(lines) == TextFault::kNone);
  CHECK(HasControlCharacter(lines + "\x1B"));
  CHECK(HasControlCharacter(lines + "\x7F"));
  CHECK(CheckText(lines + std::string(1, '\0')) == TextFault::kControlCharacter);
}

TEST_CASE("JSON strings are escaped wherever the character sits in a word", "[text]") {
  // json_writer reads sixteen bytes at a time (eight without SSE2); nlohmann's writer is the
  // reference.
  for (const std::string& piece :
       std::vector<std::string>{"\"", "\\", "\n", "\x01", "\x1F", std::string(1, '\0'), "\x7F", " ",
                                "\xC3\xA4", "!#", "\"\\\t", "\xE2\x80\xA8", "a\"b\"c"}) {
    for (size_t before = 0; before <= 40; ++before) {
      // The rest after the last block or word is read again as the string's last 16 or 8 bytes:
      // every length of a rest, after an escape and after none.
      for (size_t after = 0; after <= 21; ++after) {
        std::string s = std::string(before, 'a') + piece + std::string(after, 'b');
        std::string written;
        json_writer::AppendString(written, s);
        INFO("piece at " << before << ", " << after << " after");
        CHECK(written == nlohmann::json(s).dump());
      }
    }
  }
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
