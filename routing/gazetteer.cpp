// FindPlace: street, house number and landmark matching in free text (see gazetteer.hpp).
#include "routing/gazetteer.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "core/text.hpp"
#include "routing/numbers.hpp"
#include "routing/place_words.hpp"

namespace meldestelle::routing {

namespace {

constexpr double kListed = 0.95;
constexpr double kInterpolated = 0.85;
constexpr double kNumberNotPlaced = 0.55;
constexpr double kLandmark = 0.80;
constexpr double kStreetOnly = 0.50;
constexpr double kFuzzyPenalty = 0.15;
constexpr double kAmbiguousPenalty = 0.20;
constexpr size_t kFuzzyMinLetters = 8;
constexpr size_t kFuzzyTwoEditsLetters = 12;
constexpr double kEpsilon = 1e-9;
// Untrusted text is looked at up to here: a report's text is at most 4,000 characters; a place
// named after 16 KiB of mail is not looked for (the cost is words × names).
constexpr size_t kMaxTextBytes = 16 * 1024;
constexpr size_t kMaxWords = 2000;

// One matchable spelling of a street or landmark.
struct Entry {
  std::string key;
  size_t words = 0;
  size_t letters = 0;
  size_t prefix_words = 0;  // the key starts with this many prefix words ("Am")
  int street = -1;
  int landmark = -1;
};

struct Index {
  std::vector<Entry> entries;
  std::unordered_multimap<std::string, size_t> by_key;
  size_t max_words = 0;
};

void Add(Index& ix, Entry e) {
  if (e.key.empty()) {
    return;
  }
  ix.max_words = std::max(ix.max_words, e.words);
  ix.by_key.emplace(e.key, ix.entries.size());
  ix.entries.push_back(std::move(e));
}

Index BuildIndex(const Gazetteer& g) {
  Index ix;
  // Prefix-less forms ("Stadtpark" for "Am Stadtpark") only where no street has that key
  // already and no two streets would share it.
  std::unordered_map<std::string, int> core_owner;  // key → street, -1 if shared
  std::set<std::string> street_keys;
  for (size_t s = 0; s < g.streets.size(); ++s) {
    std::vector<std::string> names = g.streets[s].aliases;
    names.insert(names.begin(), g.streets[s].name);
    for (const auto& n : names) {
      if (!IsValidUtf8(n)) {
        continue;
      }
      PlaceName p = PreparePlaceName(n);
      street_keys.insert(p.key);
      Add(ix, {p.key, p.words, p.letters, p.prefix_words, static_cast<int>(s), -1});
      if (!p.core_key.empty()) {
        auto [it, fresh] = core_owner.emplace(p.core_key, static_cast<int>(s));
        if (!fresh && it->second != static_cast<int>(s)) {
          it->second = -1;
        }
      }
    }
  }
  for (size_t s = 0; s < g.streets.size(); ++s) {
    std::vector<std::string> names = g.streets[s].aliases;
    names.insert(names.begin(), g.streets[s].name);
    for (const auto& n : names) {
      if (!IsValidUtf8(n)) {
        continue;
      }
      PlaceName p = PreparePlaceName(n);
      if (!p.core_key.empty() && street_keys.count(p.core_key) == 0 &&
          core_owner[p.core_key] == static_cast<int>(s)) {
        Add(ix, {p.core_key, p.words - p.prefix_words, p.core_letters, 0, static_cast<int>(s), -1});
        street_keys.insert(p.core_key);  // once, even if name and alias share the core
      }
    }
  }
  for (size_t l = 0; l < g.landmarks.size(); ++l) {
    std::vector<std::string> names = g.landmarks[l].aliases;
    names.insert(names.begin(), g.landmarks[l].name);
    for (const auto& n : names) {
      if (IsValidUtf8(n)) {
        PlaceName p = PreparePlaceName(n);
        Add(ix, {p.key, p.words, p.letters, 0, -1, static_cast<int>(l)});
      }
    }
  }
  return ix;
}

// Words that never begin or end a fuzzy match, so "in Lindenstrase" is not read as a typo of
// a longer name.
bool IsFillerWord(const std::string& folded) {
  static const std::set<std::string, std::less<>> k = {
      "in",   "im",   "an",     "am",     "der", "die",        "das",  "dem",     "den",
      "des",  "auf",  "zur",    "zum",    "bei", "beim",       "vor",  "und",     "oder",
      "ecke", "nahe", "hinter", "nummer", "nr",  "hausnummer", "haus", "strasse", "str"};
  return k.count(folded) > 0;
}

size_t AllowedEdits(size_t letters) {
  if (letters >= kFuzzyTwoEditsLetters) {
    return 2;
  }
  return letters >= kFuzzyMinLetters ? 1 : 0;
}

struct Candidate {
  size_t begin = 0, end = 0;            // the name's words (without a prefix like "Am")
  size_t text_begin = 0, text_end = 0;  // everything that matched, number included
  bool fuzzy = false;
  std::string place;  // "s:<name>" or "l:<name>": different places are different strings
  PlaceMatch match;
};

struct Geocoded {
  double lat, lon, confidence;
};

Geocoded GeocodeNumber(const Street& s, int n) {
  const StreetPoint* below_same = nullptr;
  const StreetPoint* above_same = nullptr;
  const StreetPoint* below_any = nullptr;
  const StreetPoint* above_any = nullptr;
  for (const auto& p : s.numbers) {  // sorted by number
    if (p.number == n) {
      return {p.lat, p.lon, kListed};
    }
    bool same_side = (p.number % 2) == (n % 2);
    if (p.number < n) {
      below_any = &p;
      below_same = same_side ? &p : below_same;
    } else {
      above_any = above_any != nullptr ? above_any : &p;
      above_same = above_same != nullptr || !same_side ? above_same : &p;
    }
  }
  auto between = [n](const StreetPoint* a, const StreetPoint* b) {
    double t = static_cast<double>(n - a->number) / static_cast<double>(b->number - a->number);
    return Geocoded{a->lat + t * (b->lat - a->lat), a->lon + t * (b->lon - a->lon), kInterpolated};
  };
  if (below_same != nullptr && above_same != nullptr) {
    return between(below_same, above_same);
  }
  if (below_any != nullptr && above_any != nullptr) {
    return between(below_any, above_any);
  }
  return {s.lat, s.lon, kNumberNotPlaced};
}

std::string Slice(std::string_view text, const std::vector<PlaceWord>& words, size_t b, size_t e) {
  return std::string(text.substr(words[b].begin, words[e - 1].end - words[b].begin));
}

Candidate MakeCandidate(const Gazetteer& g, const Entry& entry, std::string_view text,
                        const std::vector<PlaceWord>& words, const std::vector<std::string>& raw,
                        size_t i, size_t len, bool fuzzy) {
  Candidate c;
  c.fuzzy = fuzzy;
  c.text_begin = i;
  c.begin = len > entry.prefix_words ? i + entry.prefix_words : i;
  c.end = c.text_end = i + len;
  double penalty = fuzzy ? kFuzzyPenalty : 0;
  if (entry.landmark >= 0) {
    const Landmark& l = g.landmarks[entry.landmark];
    c.place = "l:" + l.name;
    c.match = {"landmark", l.name, "", l.lat, l.lon, kLandmark - penalty, ""};
  } else {
    const Street& s = g.streets[entry.street];
    c.place = "s:" + s.name;
    c.match = {"street", s.name, "", s.lat, s.lon, kStreetOnly - penalty, ""};
    auto number = ParseHouseNumber(raw, c.end);
    // A bare "ein" after a street is the article ("Hauptstraße ein Schlagloch").
    bool article = number && number->second == 1 && words[c.end].folded == "ein";
    if (number && !article) {
      const HouseNumber& h = number->first;
      Geocoded geo = GeocodeNumber(s, h.number);
      c.match.kind = "address";
      c.match.house_number = std::to_string(h.number) + h.suffix;
      c.match.lat = geo.lat;
      c.match.lon = geo.lon;
      c.match.confidence = geo.confidence - penalty;
      c.text_end = c.end + number->second;
    }
  }
  c.match.matched_text = Slice(text, words, c.text_begin, c.text_end);
  return c;
}

std::vector<Candidate> Candidates(const Gazetteer& g, const Index& ix, std::string_view text,
                                  const std::vector<PlaceWord>& words) {
  std::vector<std::string> raw;
  raw.reserve(words.size());
  for (const auto& w : words) {
    raw.push_back(w.raw);
  }
  std::vector<Candidate> out;
  size_t max_window = ix.max_words + 2;  // "Haupt Str." for "Hauptstraße"
  for (size_t i = 0; i < words.size(); ++i) {
    bool fuzzy_ok = !IsFillerWord(words[i].folded);
    for (size_t len = 1; len <= max_window && i + len <= words.size(); ++len) {
      const PlaceWord& last = words[i + len - 1];
      fuzzy_ok = fuzzy_ok && !last.has_digit;
      std::string key = PlaceKey(words, i, i + len);
      auto [lo, hi] = ix.by_key.equal_range(key);
      for (auto it = lo; it != hi; ++it) {
        out.push_back(MakeCandidate(g, ix.entries[it->second], text, words, raw, i, len, false));
      }
      if (!fuzzy_ok || IsFillerWord(last.folded)) {
        continue;
      }
      for (const auto& e : ix.entries) {
        size_t max_edits = AllowedEdits(e.letters);
        if (max_edits == 0 || len > e.words + 1 || e.key == key) {
          continue;
        }
        if (EditDistance(key, e.key, max_edits) <= max_edits) {
          out.push_back(MakeCandidate(g, e, text, words, raw, i, len, true));
        }
      }
    }
  }
  return out;
}

bool Overlaps(const Candidate& a, const Candidate& b) { return a.begin < b.end && b.begin < a.end; }

bool StrictlyContains(const Candidate& a, const Candidate& b) {
  return a.begin <= b.begin && b.end <= a.end && (a.end - a.begin) > (b.end - b.begin);
}

// Does `d` win over `c` for the words they share? More words beat fewer (unless only the
// longer one is a typo match); otherwise the higher confidence, then the longer text.
bool Beats(const Candidate& d, const Candidate& c) {
  if (!Overlaps(d, c)) {
    return false;
  }
  if (StrictlyContains(d, c) && !(d.fuzzy && !c.fuzzy)) {
    return true;
  }
  if (StrictlyContains(c, d) && !(c.fuzzy && !d.fuzzy)) {
    return false;
  }
  if (std::abs(d.match.confidence - c.match.confidence) > kEpsilon) {
    return d.match.confidence > c.match.confidence;
  }
  return (d.text_end - d.text_begin) > (c.text_end - c.text_begin);
}

// The candidates no other beats. Only overlapping candidates can beat one another, and a
// candidate spans a few words: sorted by their first word, each is compared with its neighbours
// only (linear in the candidates, not quadratic: "Hauptstraße" written a thousand times).
std::vector<const Candidate*> Unbeaten(const std::vector<Candidate>& all) {
  std::vector<const Candidate*> order;
  order.reserve(all.size());
  size_t widest = 0;
  for (const auto& c : all) {
    order.push_back(&c);
    widest = std::max(widest, c.end - c.begin);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Candidate* a, const Candidate* b) { return a->begin < b->begin; });
  std::vector<const Candidate*> kept;
  for (size_t k = 0; k < order.size(); ++k) {
    const Candidate& c = *order[k];
    // Overlapping ones begin in (c.begin - widest, c.end).
    size_t from = c.begin >= widest ? c.begin - widest + 1 : 0;
    auto lo = std::lower_bound(order.begin(), order.end(), from,
                               [](const Candidate* d, size_t b) { return d->begin < b; });
    bool beaten = false;
    for (auto it = lo; it != order.end() && (*it)->begin < c.end && !beaten; ++it)
      beaten = *it != &c && Beats(**it, c);
    if (!beaten)
      kept.push_back(&c);
  }
  // In the candidates' own order, as before (ties go to the first in the text).
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace

std::optional<PlaceMatch> FindPlace(const Gazetteer& g, std::string_view input) {
  // Untrusted text: bytes that are not UTF-8 become spaces (same length, so offsets hold).
  std::string text(Utf8Prefix(input, kMaxTextBytes));
  if (!IsValidUtf8(text)) {
    for (size_t i = 0; i < text.size();) {
      auto c = static_cast<unsigned char>(text[i]);
      size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
      if (i + len <= text.size() && IsValidUtf8(std::string_view(text).substr(i, len))) {
        i += len;
      } else {
        text[i++] = ' ';
      }
    }
  }
  std::vector<PlaceWord> words = SplitPlaceWords(text);
  if (words.size() > kMaxWords)
    words.resize(kMaxWords);
  Index ix = BuildIndex(g);
  std::vector<Candidate> all = Candidates(g, ix, text, words);
  if (all.empty()) {
    return std::nullopt;
  }
  std::vector<const Candidate*> kept = Unbeaten(all);
  if (kept.empty()) {  // a cycle of partial overlaps: fall back to confidence alone
    for (const auto& c : all) {
      kept.push_back(&c);
    }
  }
  double best = 0;
  for (const auto* c : kept) {
    best = std::max(best, c->match.confidence);
  }
  const Candidate* first = nullptr;
  std::set<std::string> places;
  for (const auto* c : kept) {
    if (std::abs(c->match.confidence - best) <= kEpsilon) {
      places.insert(c->place);
      if (first == nullptr || c->text_begin < first->text_begin) {
        first = c;
      }
    }
  }
  if (first == nullptr)  // kept is not empty, and its best is among it: not reached
    return std::nullopt;
  PlaceMatch m = first->match;
  if (places.size() > 1) {
    m.confidence = std::max(0.0, m.confidence - kAmbiguousPenalty);
  }
  m.confidence = std::clamp(m.confidence, 0.0, 1.0);
  return m;
}

std::optional<LocatedPlace> LocateReport(const Gazetteer& g, const Report& report) {
  if (report.location.lat || report.location.lon)
    return std::nullopt;
  if (!report.location.address.empty()) {
    if (auto m = FindPlace(g, report.location.address))
      return LocatedPlace{std::move(*m), "address"};
  }
  if (!report.text.empty()) {
    if (auto m = FindPlace(g, report.text); m && (m->kind == "address" || m->kind == "landmark"))
      return LocatedPlace{std::move(*m), "text"};
  }
  return std::nullopt;
}

std::string LocatedFlag(const LocatedPlace& place) {
  const PlaceMatch& m = place.match;
  std::string name = m.street + (m.house_number.empty() ? "" : " " + m.house_number);
  return std::string(place.from == "address" ? "Ort aus Adresse: " : "Ort aus Text: ") + name +
         " („" + m.matched_text + "“, Sicherheit " +
         std::to_string(static_cast<int>(std::lround(m.confidence * 100))) + " %)";
}

}  // namespace meldestelle::routing
