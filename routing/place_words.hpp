#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Words and match keys shared by the gazetteer loader (duplicate names) and FindPlace, so both
// compare names the same way. Internal to routing; pure functions, thread-safe.
namespace meldestelle::routing {

struct PlaceWord {
  size_t begin = 0, end = 0;  // byte range in the text
  std::string raw;            // as written
  std::string folded;         // FoldGerman(raw) without spaces
  bool has_digit = false;
};

// Splits valid UTF-8 at spaces and punctuation (ASCII, Latin-1 and General Punctuation). A '-'
// or '/' between two digits stays inside the word ("12-14").
std::vector<PlaceWord> SplitPlaceWords(std::string_view text);

// The match key of words[begin, end): their folded forms concatenated, a word ending in "str"
// read as "strasse", then "ae"/"oe"/"ue" → "a"/"o"/"u" and "ss" → "s" (so "Mühlenweg",
// "Muehlenweg" and "Muhlenweg" share one key).
std::string PlaceKey(const std::vector<PlaceWord>& words, size_t begin, size_t end);

// A name prepared for matching.
struct PlaceName {
  std::string key;          // PlaceKey of all its words
  size_t words = 0;         // number of words
  size_t letters = 0;       // letters and digits as written (for the typo allowance)
  size_t prefix_words = 0;  // leading "Am", "An der", "Im", … (0 if none)
  std::string core_key;     // key without those words ("" if no prefix)
  size_t core_letters = 0;
};
PlaceName PreparePlaceName(std::string_view name);  // name must be valid UTF-8

// Optimal string alignment distance (Levenshtein plus swaps of neighbours), or max + 1 if it
// exceeds `max`.
size_t EditDistance(std::string_view a, std::string_view b, size_t max);

}  // namespace meldestelle::routing
