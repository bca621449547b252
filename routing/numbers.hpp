#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// House numbers as people and speech recognisers write them. Pure functions, thread-safe.
namespace meldestelle::routing {

struct HouseNumber {
  int number = 0;      // 1..9999
  std::string suffix;  // one lowercase letter ("a" in "23a") or empty
};

// Reads a house number from tokens[start…]. Accepted forms (case- and umlaut-insensitive, so
// "zwölf", "zwoelf" and "zwolf" are all 12):
//  - digits, optionally with a letter and/or a range: "12", "12a", "12A", "12 a", "12-14" and
//    "12/14" (a range yields its first number, 12), "12 - 14";
//  - German number words up to 9999, in one token or split over several as recognisers often
//    do: "eins"/"ein", "zwo", "siebzehn", "dreiundzwanzig", "drei und zwanzig",
//    "einhundertfünf", "hundertzwei", "hundertundzwei", "zweitausendeins"; optionally followed
//    by a one-letter token ("dreiundzwanzig a");
//  - either of these after "Nummer", "Nr", "Hausnummer", "Hausnr" or "Haus Nummer".
// Tokens are words of the text without surrounding spaces; trailing ".,;:!?" are ignored.
// Returns the number and how many tokens it consumed (prefix words included), or nullopt if
// tokens[start] does not begin a house number (0 and numbers above 9999 are none).
std::optional<std::pair<HouseNumber, size_t>> ParseHouseNumber(
    const std::vector<std::string>& tokens, size_t start);

// Parses one folded number word ("dreiundzwanzig", "einhundertfuenf") to 1..9999.
std::optional<int> ParseGermanNumberWord(const std::string& folded_word);

}  // namespace meldestelle::routing
