#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// German keyword normalisation for routing: folding (core FoldGerman) plus a deliberately small
// stemmer. Pure functions, thread-safe.
namespace meldestelle::routing {

// Stems one folded word (output of FoldGerman: lowercase, ä→ae, ö→oe, ü→ue, ß→ss):
//  1. strips the first matching ending of "ern", "en", "er", "es", "e", "n", "s" if at least
//     four characters remain ("laternen"→"latern", "schlagloechern"→"schlagloech");
//  2. then removes umlaut plurals by mapping "ae"→"a", "oe"→"o", "ue"→"u" everywhere
//     ("schlagloech"→"schlagloch", "baeum"→"baum").
// Both sides of a comparison are stemmed the same way, so over-stemming ("feuer"→"feu") only
// matters if two different words collapse onto one stem.
std::string StemGerman(std::string_view folded_word);

// A folded text split at spaces, with each word's stem. Words keep their order. `stem_hashes`
// lets the matcher reject most word pairs with one integer compare (the hot loop of Route).
struct Words {
  std::vector<std::string> words;
  std::vector<std::string> stems;
  std::vector<uint64_t> stem_hashes;
};
Words SplitAndStem(std::string_view folded_text);

// A keyword or phrase prepared for matching.
struct Keyword {
  std::string written;  // as in the rule file
  Words words;          // folded and stemmed; never empty for a valid keyword
};
Keyword PrepareKeyword(std::string_view written);

// True if the phrase occurs as consecutive words of the text. A text word matches a phrase word
// if their stems are equal; the phrase's last word also matches any text word that starts with
// it ("laterne" matches "laternenmast", as keywords did in rule files v1).
bool MatchesAt(const Words& text, size_t start, const Words& phrase);
bool ContainsPhrase(const Words& text, const Words& phrase);

}  // namespace meldestelle::routing
