#include "routing/german.hpp"

#include "core/text.hpp"

namespace meldestelle::routing {

namespace {

constexpr size_t kMinStem = 4;

// FNV-1a: cheap, and only ever compared for equality before the strings themselves.
uint64_t HashStem(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string StemGerman(std::string_view word) {
  static constexpr std::string_view kEndings[] = {"ern", "en", "er", "es", "e", "n", "s"};
  for (std::string_view ending : kEndings) {
    if (EndsWith(word, ending) && word.size() - ending.size() >= kMinStem) {
      word.remove_suffix(ending.size());
      break;
    }
  }
  std::string out;
  out.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    out.push_back(c);
    if ((c == 'a' || c == 'o' || c == 'u') && i + 1 < word.size() && word[i + 1] == 'e') {
      ++i;  // "ae" → "a": the folded umlaut
    }
  }
  return out;
}

Words SplitAndStem(std::string_view text) {
  Words w;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    if (end > pos) {
      std::string_view word = text.substr(pos, end - pos);
      w.words.emplace_back(word);
      w.stems.push_back(StemGerman(word));
      w.stem_hashes.push_back(HashStem(w.stems.back()));
    }
    pos = end + 1;
  }
  return w;
}

Keyword PrepareKeyword(std::string_view written) {
  Keyword k;
  k.written = std::string(written);
  if (IsValidUtf8(written)) {
    k.words = SplitAndStem(FoldGerman(written));
  }
  return k;
}

bool MatchesAt(const Words& text, size_t start, const Words& phrase) {
  size_t n = phrase.words.size();
  if (n == 0 || start + n > text.words.size()) {
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    if (text.stem_hashes[start + i] == phrase.stem_hashes[i] &&
        text.stems[start + i] == phrase.stems[i]) {
      continue;
    }
    const std::string& tw = text.words[start + i];
    const std::string& pw = phrase.words[i];
    if (i + 1 == n && tw.size() >= pw.size() && tw[0] == pw[0] &&
        tw.compare(0, pw.size(), pw) == 0) {
      continue;
    }
    return false;
  }
  return true;
}

bool ContainsPhrase(const Words& text, const Words& phrase) {
  for (size_t i = 0; i < text.words.size(); ++i) {
    if (MatchesAt(text, i, phrase)) {
      return true;
    }
  }
  return false;
}

}  // namespace meldestelle::routing
