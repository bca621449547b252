#include "routing/place_words.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/text.hpp"

namespace meldestelle::routing {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t SequenceLength(unsigned char c) {
  if ((c & 0xE0) == 0xC0) {
    return 2;
  }
  if ((c & 0xF0) == 0xE0) {
    return 3;
  }
  if ((c & 0xF8) == 0xF0) {
    return 4;
  }
  return 1;
}

// Is the character at s[i] (of `len` bytes) part of a word?
bool IsWordChar(std::string_view s, size_t i, size_t len) {
  auto c = static_cast<unsigned char>(s[i]);
  if (len == 1) {
    if (std::isalnum(c) != 0) {
      return true;
    }
    return (c == '-' || c == '/') && i > 0 && i + 1 < s.size() && IsDigit(s[i - 1]) &&
           IsDigit(s[i + 1]);
  }
  if (c == 0xC2) {
    return false;  // U+0080..U+00BF: NBSP, «», °, ·
  }
  if (c == 0xC3 && (static_cast<unsigned char>(s[i + 1]) == 0x97 ||
                    static_cast<unsigned char>(s[i + 1]) == 0xB7)) {
    return false;  // × ÷
  }
  if (c == 0xE2 && (static_cast<unsigned char>(s[i + 1]) == 0x80 ||
                    static_cast<unsigned char>(s[i + 1]) == 0x81)) {
    return false;  // General Punctuation: – — „ “ ” ‚ ‘ ’ …
  }
  return true;
}

struct Prefix {
  std::array<std::string_view, 2> words;
  size_t count;
};

// Leading words of street names that people also leave out or vary ("Stadtpark 3" for
// "Am Stadtpark 3").
constexpr Prefix kPrefixes[] = {
    {{"am", ""}, 1},     {{"im", ""}, 1},        {{"an", "der"}, 2},     {{"an", "den"}, 2},
    {{"an", "dem"}, 2},  {{"in", "der"}, 2},     {{"in", "den"}, 2},     {{"auf", "der"}, 2},
    {{"auf", "dem"}, 2}, {{"auf", "den"}, 2},    {{"zum", ""}, 1},       {{"zur", ""}, 1},
    {{"beim", ""}, 1},   {{"hinter", "der"}, 2}, {{"hinter", "dem"}, 2}, {{"unter", "den"}, 2},
    {{"vor", "dem"}, 2}, {{"vor", "der"}, 2}};

size_t CountLetters(const std::vector<PlaceWord>& words, size_t begin) {
  size_t n = 0;
  for (size_t i = begin; i < words.size(); ++i) {
    n += Utf8Length(words[i].raw);
  }
  return n;
}

}  // namespace

std::vector<PlaceWord> SplitPlaceWords(std::string_view text) {
  std::vector<PlaceWord> out;
  size_t i = 0;
  size_t start = std::string_view::npos;
  auto flush = [&](size_t end) {
    if (start == std::string_view::npos) {
      return;
    }
    PlaceWord w;
    w.begin = start;
    w.end = end;
    w.raw = std::string(text.substr(start, end - start));
    std::string folded = FoldGerman(w.raw);
    folded.erase(std::remove(folded.begin(), folded.end(), ' '), folded.end());
    w.folded = std::move(folded);
    w.has_digit = std::any_of(w.raw.begin(), w.raw.end(), IsDigit);
    out.push_back(std::move(w));
    start = std::string_view::npos;
  };
  while (i < text.size()) {
    size_t len = std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
    if (IsWordChar(text, i, len)) {
      if (start == std::string_view::npos) {
        start = i;
      }
    } else {
      flush(i);
    }
    i += len;
  }
  flush(text.size());
  return out;
}

std::string PlaceKey(const std::vector<PlaceWord>& words, size_t begin, size_t end) {
  std::string joined;
  for (size_t i = begin; i < end && i < words.size(); ++i) {
    const std::string& f = words[i].folded;
    joined += f;
    if (f.size() >= 3 && f.compare(f.size() - 3, 3, "str") == 0) {
      joined += "asse";  // "Hauptstr." / "Str."
    }
  }
  std::string key;
  key.reserve(joined.size());
  for (size_t i = 0; i < joined.size(); ++i) {
    char c = joined[i];
    key.push_back(c);
    bool next_e = i + 1 < joined.size() && joined[i + 1] == 'e';
    bool next_s = i + 1 < joined.size() && joined[i + 1] == 's';
    if (((c == 'a' || c == 'o' || c == 'u') && next_e) || (c == 's' && next_s)) {
      ++i;
    }
  }
  return key;
}

PlaceName PreparePlaceName(std::string_view name) {
  PlaceName p;
  auto words = SplitPlaceWords(name);
  p.words = words.size();
  p.key = PlaceKey(words, 0, words.size());
  p.letters = CountLetters(words, 0);
  for (const auto& prefix : kPrefixes) {
    if (words.size() <= prefix.count) {
      continue;
    }
    bool match = true;
    for (size_t k = 0; k < prefix.count; ++k) {
      match = match && words[k].folded == prefix.words[k];
    }
    if (match) {
      p.prefix_words = prefix.count;
      p.core_key = PlaceKey(words, prefix.count, words.size());
      p.core_letters = CountLetters(words, prefix.count);
      break;
    }
  }
  return p;
}

size_t EditDistance(std::string_view a, std::string_view b, size_t max) {
  size_t n = a.size();
  size_t m = b.size();
  if ((n > m ? n - m : m - n) > max) {
    return max + 1;
  }
  // Three rolling rows: the swap rule looks two rows back.
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > max) {
      return max + 1;
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], max + 1);
}

}  // namespace meldestelle::routing
