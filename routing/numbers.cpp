#include "routing/numbers.hpp"

#include <cctype>
#include <map>
#include <string_view>

#include "core/text.hpp"

namespace meldestelle::routing {

namespace {

constexpr int kMaxHouseNumber = 9999;
constexpr size_t kMaxWordTokens = 6;  // "ein hundert drei und zwanzig" and a little more

// Spellings of 1..9 as a unit; the first of each is also used inside compounds.
const std::vector<std::vector<std::string>>& UnitWords() {
  static const std::vector<std::vector<std::string>> k = {
      {},        {"eins", "ein"}, {"zwei", "zwo"}, {"drei"}, {"vier"}, {"fuenf", "funf"},
      {"sechs"}, {"sieben"},      {"acht"},        {"neun"}};
  return k;
}

// Every folded spelling of 1..99, with the umlaut-less variants a recogniser or a keyboard
// without umlauts produces ("funf", "zwolf").
const std::map<std::string, int, std::less<>>& Below100() {
  static const std::map<std::string, int, std::less<>> k = [] {
    std::map<std::string, int, std::less<>> m;
    const auto& units = UnitWords();
    for (int u = 1; u <= 9; ++u) {
      for (const auto& w : units[u]) {
        m[w] = u;
      }
    }
    const std::vector<std::pair<int, std::vector<std::string>>> teens = {
        {10, {"zehn"}},
        {11, {"elf"}},
        {12, {"zwoelf", "zwolf"}},
        {13, {"dreizehn"}},
        {14, {"vierzehn"}},
        {15, {"fuenfzehn", "funfzehn"}},
        {16, {"sechzehn", "sechszehn"}},
        {17, {"siebzehn", "siebenzehn"}},
        {18, {"achtzehn"}},
        {19, {"neunzehn"}}};
    for (const auto& [n, words] : teens) {
      for (const auto& w : words) {
        m[w] = n;
      }
    }
    const std::vector<std::pair<int, std::vector<std::string>>> tens = {
        {20, {"zwanzig"}}, {30, {"dreissig", "dreisig", "dreizig"}},
        {40, {"vierzig"}}, {50, {"fuenfzig", "funfzig"}},
        {60, {"sechzig"}}, {70, {"siebzig"}},
        {80, {"achtzig"}}, {90, {"neunzig"}}};
    for (const auto& [t, words] : tens) {
      for (const auto& w : words) {
        m[w] = t;
        for (int u = 1; u <= 9; ++u) {
          // "einundzwanzig", not "einsundzwanzig".
          const auto& prefixes = u == 1 ? std::vector<std::string>{"ein"} : units[u];
          for (const auto& p : prefixes) {
            m[p + "und" + w] = t + u;
          }
        }
      }
    }
    return m;
  }();
  return k;
}

// 1..9 as a multiplier of "hundert" / "tausend": "ein", "zwei", "zwo", …
std::optional<int> Multiplier(std::string_view s) {
  if (s.empty()) {
    return 1;  // "hundert", "tausend"
  }
  if (s == "ein") {
    return 1;
  }
  for (int u = 2; u <= 9; ++u) {
    for (const auto& w : UnitWords()[u]) {
      if (s == w) {
        return u;
      }
    }
  }
  return std::nullopt;
}

// A number up to `max`. After "hundert" or "tausend" (`after_multiple`) it may be empty or
// begin with "und" ("hundertundzwei").
std::optional<int> Rest(std::string_view s, int max, bool after_multiple) {
  if (s.empty()) {
    return after_multiple ? std::optional<int>(0) : std::nullopt;
  }
  if (after_multiple && s.size() > 3 && s.substr(0, 3) == "und") {
    s.remove_prefix(3);
  }
  std::optional<int> v;
  if (auto it = Below100().find(s); it != Below100().end()) {
    v = it->second;
  } else if (max >= 100) {
    auto h = s.find("hundert");
    if (h != std::string_view::npos) {
      auto mult = Multiplier(s.substr(0, h));
      auto rest = Rest(s.substr(h + 7), 99, true);
      if (mult && rest) {
        v = *mult * 100 + *rest;
      }
    }
  }
  if (v && *v <= max) {
    return v;
  }
  return std::nullopt;
}

std::string_view StripPunctuation(std::string_view t) {
  while (!t.empty() && std::ispunct(static_cast<unsigned char>(t.back())) != 0) {
    t.remove_suffix(1);
  }
  while (!t.empty() && std::ispunct(static_cast<unsigned char>(t.front())) != 0) {
    t.remove_prefix(1);
  }
  return t;
}

std::string Folded(const std::string& token) {
  std::string_view t = StripPunctuation(token);
  if (!IsValidUtf8(t)) {
    return {};
  }
  return FoldGerman(t);
}

bool IsAsciiLetters(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < 'a' || c > 'z') {
      return false;
    }
  }
  return true;
}

// A one-letter token after the number: the "a" of "12 a".
std::optional<std::string> SuffixToken(const std::vector<std::string>& tokens, size_t i) {
  if (i >= tokens.size()) {
    return std::nullopt;
  }
  std::string f = Folded(tokens[i]);
  if (f.size() == 1 && f[0] >= 'a' && f[0] <= 'z') {
    return f;
  }
  return std::nullopt;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

// "12", "12a", "12-14", "12a-14b", "12/14": the first number and its letter.
std::optional<HouseNumber> DigitToken(std::string_view t) {
  size_t i = 0;
  int value = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
    if (i >= 4) {
      return std::nullopt;  // five digits: a postcode or a phone number, not a house number
    }
    value = value * 10 + (t[i] - '0');
    ++i;
  }
  if (i == 0 || value < 1 || value > kMaxHouseNumber) {
    return std::nullopt;
  }
  HouseNumber h{value, ""};
  if (i < t.size() && std::isalpha(static_cast<unsigned char>(t[i])) != 0) {
    h.suffix = std::string(1, static_cast<char>(std::tolower(static_cast<unsigned char>(t[i]))));
    ++i;
  }
  if (i == t.size()) {
    return h;
  }
  if (t[i] != '-' && t[i] != '/') {
    return std::nullopt;
  }
  std::string_view rest = t.substr(i + 1);
  if (!rest.empty() && std::isalpha(static_cast<unsigned char>(rest.back())) != 0) {
    rest.remove_suffix(1);
  }
  if (!IsDigits(rest) || rest.size() > 4) {
    return std::nullopt;
  }
  return h;
}

}  // namespace

std::optional<int> ParseGermanNumberWord(const std::string& word) {
  if (word.empty()) {
    return std::nullopt;
  }
  std::string_view s = word;
  std::optional<int> v;
  auto t = s.find("tausend");
  if (t != std::string_view::npos) {
    auto mult = Multiplier(s.substr(0, t));
    auto rest = Rest(s.substr(t + 7), 999, true);
    if (mult && rest) {
      v = *mult * 1000 + *rest;
    }
  } else {
    v = Rest(s, 999, false);
  }
  if (v && *v >= 1 && *v <= kMaxHouseNumber) {
    return v;
  }
  return std::nullopt;
}

std::optional<std::pair<HouseNumber, size_t>> ParseHouseNumber(
    const std::vector<std::string>& tokens, size_t start) {
  size_t i = start;
  if (i >= tokens.size()) {
    return std::nullopt;
  }
  std::string first = Folded(tokens[i]);
  if (first == "nummer" || first == "nr" || first == "hausnummer" || first == "hausnr") {
    ++i;
  } else if (first == "haus" && i + 1 < tokens.size()) {
    std::string second = Folded(tokens[i + 1]);
    if (second == "nummer" || second == "nr") {
      i += 2;
    }
  }
  if (i >= tokens.size()) {
    return std::nullopt;
  }
  std::string_view raw = StripPunctuation(tokens[i]);
  if (auto h = DigitToken(raw)) {
    size_t end = i + 1;
    if (h->suffix.empty()) {
      if (auto s = SuffixToken(tokens, end)) {
        h->suffix = *s;
        ++end;
      } else if (end + 1 < tokens.size() && IsDigits(StripPunctuation(tokens[end + 1]))) {
        std::string sep = Folded(tokens[end]);
        std::string_view sep_raw = TrimAscii(tokens[end]);
        if (sep == "bis" || sep_raw == "-" || sep_raw == "/" || sep_raw == "\xE2\x80\x93") {
          end += 2;  // "12 - 14", "12 bis 14": the first number
        }
      }
    }
    return std::make_pair(*h, end - start);
  }
  // Number words, possibly split over tokens ("drei und zwanzig"): the longest run that parses.
  std::string joined;
  std::optional<int> best;
  size_t best_end = i;
  for (size_t k = i; k < tokens.size() && k < i + kMaxWordTokens; ++k) {
    std::string f = Folded(tokens[k]);
    if (!IsAsciiLetters(f)) {
      break;
    }
    joined += f;
    if (auto v = ParseGermanNumberWord(joined)) {
      best = v;
      best_end = k + 1;
    }
  }
  if (!best) {
    return std::nullopt;
  }
  HouseNumber h{*best, ""};
  if (auto s = SuffixToken(tokens, best_end)) {
    h.suffix = *s;
    ++best_end;
  }
  return std::make_pair(h, best_end - start);
}

}  // namespace meldestelle::routing
