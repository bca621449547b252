// House numbers in German words and digits (routing/numbers.hpp).
#include "routing/numbers.hpp"

#include <catch2/catch.hpp>
#include <sstream>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace numbers_test {

using namespace meldestelle::routing;

namespace {

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) {
    out.push_back(w);
  }
  return out;
}

// The number, its suffix and the tokens consumed, or -1 if there is none.
struct Parsed {
  int number = -1;
  std::string suffix;
  size_t consumed = 0;
};

Parsed Parse(const std::string& text, size_t start = 0) {
  auto r = ParseHouseNumber(Words(text), start);
  if (!r) {
    return {};
  }
  return {r->first.number, r->first.suffix, r->second};
}

int Number(const std::string& text) { return Parse(text).number; }

// The standard spelling of 1..99, written independently of the parser's tables.
std::string Spell(int n) {
  static const char* kOnes[] = {"",         "eins",     "zwei",     "drei",     "vier",
                                "fünf",     "sechs",    "sieben",   "acht",     "neun",
                                "zehn",     "elf",      "zwölf",    "dreizehn", "vierzehn",
                                "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn"};
  static const char* kTens[] = {"",        "",        "zwanzig", "dreißig", "vierzig",
                                "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"};
  if (n < 20) {
    return kOnes[n];
  }
  if (n % 10 == 0) {
    return kTens[n / 10];
  }
  std::string unit = n % 10 == 1 ? "ein" : kOnes[n % 10];
  return unit + "und" + kTens[n / 10];
}

}  // namespace

TEST_CASE("number words eins to neunzehn", "[numbers]") {
  for (int n = 1; n <= 19; ++n) {
    INFO(Spell(n));
    CHECK(Number(Spell(n)) == n);
  }
  CHECK(Number("ein") == 1);
  CHECK(Number("zwo") == 2);
  CHECK(Number("zwölf") == 12);
  CHECK(Number("sechszehn") == 16);
  CHECK(Number("siebenzehn") == 17);
}

TEST_CASE("number words zwanzig to neunundneunzig", "[numbers]") {
  for (int n = 20; n <= 99; ++n) {
    INFO(Spell(n));
    CHECK(Number(Spell(n)) == n);
  }
  CHECK(Number("zwoundzwanzig") == 22);
  CHECK(Number("dreissig") == 30);
}

TEST_CASE("hundreds and thousands up to 9999", "[numbers]") {
  CHECK(Number("hundert") == 100);
  CHECK(Number("einhundert") == 100);
  CHECK(Number("hundertzwei") == 102);
  CHECK(Number("hunderteins") == 101);
  CHECK(Number("hundertundzwei") == 102);
  CHECK(Number("einhundertfünf") == 105);
  CHECK(Number("zweihundertdreiundzwanzig") == 223);
  CHECK(Number("neunhundertneunundneunzig") == 999);
  CHECK(Number("tausend") == 1000);
  CHECK(Number("zweitausendeins") == 2001);
  CHECK(Number("dreitausendvierhundertzwölf") == 3412);
  CHECK(Number("neuntausendneunhundertneunundneunzig") == 9999);
  CHECK(Number("zehntausend") == -1);
  CHECK(Number("hunderthundert") == -1);
}

TEST_CASE("number words ignore case and umlaut spelling", "[numbers]") {
  for (const char* w : {"zwölf", "Zwölf", "ZWÖLF", "zwoelf", "Zwoelf", "zwolf"}) {
    INFO(w);
    CHECK(Number(w) == 12);
  }
  CHECK(Number("fuenf") == 5);
  CHECK(Number("Fünf") == 5);
  CHECK(Number("funf") == 5);
  CHECK(Number("fuenfundfuenfzig") == 55);
  CHECK(Number("einhundertfuenf") == 105);
  CHECK(Number("Dreiundzwanzig") == 23);
}

TEST_CASE("a letter after a number word", "[numbers]") {
  Parsed p = Parse("dreiundzwanzig a");
  CHECK(p.number == 23);
  CHECK(p.suffix == "a");
  CHECK(p.consumed == 2);
  p = Parse("zwölf B bitte");
  CHECK(p.number == 12);
  CHECK(p.suffix == "b");
  CHECK(p.consumed == 2);
}

TEST_CASE("number words split over several tokens", "[numbers]") {
  Parsed p = Parse("drei und zwanzig");
  CHECK(p.number == 23);
  CHECK(p.consumed == 3);
  p = Parse("ein hundert fünf und dann");
  CHECK(p.number == 105);
  CHECK(p.consumed == 3);
  // The longest run that is a number: "zwölf und" is not, so only "zwölf".
  p = Parse("zwölf und dreizehn");
  CHECK(p.number == 12);
  CHECK(p.consumed == 1);
}

TEST_CASE("digits with suffix and ranges", "[numbers]") {
  Parsed p = Parse("12");
  CHECK(p.number == 12);
  CHECK(p.suffix.empty());
  CHECK(p.consumed == 1);
  p = Parse("12a");
  CHECK(p.number == 12);
  CHECK(p.suffix == "a");
  CHECK(p.consumed == 1);
  CHECK(Parse("12A").suffix == "a");
  p = Parse("12 a");
  CHECK(p.number == 12);
  CHECK(p.suffix == "a");
  CHECK(p.consumed == 2);
  p = Parse("12-14");
  CHECK(p.number == 12);
  CHECK(p.consumed == 1);
  CHECK(Parse("12/14").number == 12);
  p = Parse("12 - 14 ist");
  CHECK(p.number == 12);
  CHECK(p.consumed == 3);
  p = Parse("12 bis 14");
  CHECK(p.number == 12);
  CHECK(p.consumed == 3);
  CHECK(Parse("12a-14").number == 12);
  CHECK(Parse("12,").number == 12);
  CHECK(Parse("9999").number == 9999);
}

TEST_CASE("Nummer, Nr. and Hausnummer before the number", "[numbers]") {
  Parsed p = Parse("Nummer 7");
  CHECK(p.number == 7);
  CHECK(p.consumed == 2);
  p = Parse("Nr. 7a");
  CHECK(p.number == 7);
  CHECK(p.suffix == "a");
  CHECK(p.consumed == 2);
  p = Parse("Hausnummer zwölf");
  CHECK(p.number == 12);
  CHECK(p.consumed == 2);
  p = Parse("Haus Nummer drei und zwanzig");
  CHECK(p.number == 23);
  CHECK(p.consumed == 5);
  CHECK(Parse("nummer eins").number == 1);
}

TEST_CASE("parsing starts at the given token", "[numbers]") {
  Parsed p = Parse("Lindenstraße dreizehn bitte", 1);
  CHECK(p.number == 13);
  CHECK(p.consumed == 1);
  CHECK(Parse("Lindenstraße", 1).number == -1);
  CHECK(Parse("Lindenstraße 5", 7).number == -1);
}

TEST_CASE("things that are not house numbers", "[numbers]") {
  for (const char* text : {"", "0", "null", "10000", "12345", "Nummer", "Nummer Schlagloch",
                           "Schlagloch", "twelve", "12b3", "und zwanzig", "a"}) {
    INFO(text);
    CHECK(Number(text) == -1);
  }
}

}  // namespace numbers_test
