#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/report.hpp"
#include "core/result.hpp"

// A street gazetteer for one town: finds the place a free text (a phone transcript, an e-mail)
// mentions and geocodes it. Loading reads one YAML file (config/example/streets.yaml documents
// the format); everything else is pure. A loaded Gazetteer is immutable and may be shared
// between threads; FindPlace is thread-safe.
namespace meldestelle::routing {

struct StreetPoint {
  int number = 0;  // 1..9999
  double lat = 0, lon = 0;
};

struct Street {
  std::string name;                  // canonical, e.g. "Lindenstraße"
  std::vector<std::string> aliases;  // other names people use
  double lat = 0, lon = 0;           // a representative point of the street
  std::vector<StreetPoint> numbers;  // listed house numbers, sorted by number
  int line = 0;                      // in the gazetteer file
};

struct Landmark {
  std::string name;
  std::vector<std::string> aliases;
  double lat = 0, lon = 0;
  int line = 0;
};

struct Gazetteer {
  std::vector<Street> streets;
  std::vector<Landmark> landmarks;
  std::string version;  // "sha256:<hex of the file's bytes>"
};

// Loads and validates a gazetteer file:
//   streets:   [{name, aliases?, lat, lon, numbers?: {"1": [lat, lon], "13": [lat, lon], …}}]
//   landmarks: [{name, aliases?, lat, lon}]
// The error (code "gazetteer_invalid") lists every problem as "file:line: key: reason", one per
// line: YAML syntax, unknown keys, missing names or coordinates, coordinates out of range,
// numbers that are not 1..9999 or listed twice, and names or aliases that another street (or
// another landmark) already uses — compared the way FindPlace compares them, so "Hauptstrasse"
// duplicates "Hauptstraße". A street and a landmark may share a name (a square is both).
Result<Gazetteer> LoadGazetteer(const std::filesystem::path& file);
// The same from YAML text; `file_name` only labels the errors.
Result<Gazetteer> ParseGazetteer(const std::string& yaml_text, const std::string& file_name);

struct PlaceMatch {
  std::string kind;          // "address" (street + number), "street" (street only), "landmark"
  std::string street;        // canonical street name ("Lindenstraße") or the landmark's name
  std::string house_number;  // "13", "23a" or ""
  double lat = 0, lon = 0;
  double confidence = 0;     // 0..1, see FindPlace
  std::string matched_text;  // the words in the text that matched, as written there
};

// Finds the best place mentioned in `text`, or nullopt if there is none.
//
// Matching. Text and names are split into words at spaces and punctuation and compared as the
// concatenation of consecutive words, folded (case, ä/ae, ö/oe, ü/ue, ß/ss/s) and with a word
// ending in "str" read as "straße". So "Hauptstrasse", "Haupt-Straße", "Haupt Straße",
// "Hauptstr.", "Haupt Str." and "hauptstraße" all are "Hauptstraße", "Muhlenweg" is
// "Mühlenweg", and multi-word names ("Grüner Weg", "Platz der Einheit") match across words.
// Words around the name ("in der", "an der", "am") are simply not part of the match. A name
// that itself starts with such a word ("Am Stadtpark") also matches without it ("Stadtpark 3"),
// unless that would be another street's name. Names of 8+ letters also match with one typo
// (edit distance 1, a swap of two letters counting as one), names of 12+ letters with two;
// words with digits never take part in such a fuzzy match.
// Only whole words match: "Lindenstraßenfest" or "Hauptstraßenbahn" do not mention
// "Lindenstraße" / "Hauptstraße" (a compound is about something else, and a fuzzy match would
// make every compound an address) — but "Lindenstraßen" (12+ letters, two edits) does.
//
// House number. Right after a street, optionally after "Nummer", "Hausnummer", "Nr.", in any form
// ParseHouseNumber reads, except a bare "ein"/"eine" without "Nummer" before it: that is almost
// always the article ("Hauptstraße ein Schlagloch"). Numbers after a landmark are ignored.
//
// Geocoding an address: the listed point of that number; else linear interpolation between the
// nearest listed numbers below and above it on the same side of the street (same parity); else
// between the nearest listed below and above of either parity; else the street's own point.
//
// Confidence:
//   0.95  street + a listed house number
//   0.85  street + a house number interpolated between listed numbers
//   0.55  street + a house number that cannot be placed (no listed numbers around it): the
//         street's point, a little above a street alone because staff get the number
//   0.80  landmark
//   0.50  street without a number
//   −0.15 if the name only matched with a typo (fuzzy)
//   −0.20 if another, different place in the text is equally good: the first in text order wins
// When matches overlap (the same words read two ways) the longer exact one wins ("Bahnhof
// Straße" is the street, not the landmark "Bahnhof"); for the same words the higher confidence
// wins ("am Stadtpark" is the landmark Stadtpark, "Am Stadtpark 3" the street Am Stadtpark).
// A number without a street ("house number twelve", "Hausnummer 12") is no place.
// Cost: O(words × names) for at most the first 16 KiB (2,000 words) of the text; the keys of all
// names are derived on every call.
std::optional<PlaceMatch> FindPlace(const Gazetteer& g, std::string_view text);

// The place of a report that has no position (docs/routing.md, "Places from the street list"):
// FindPlace on the address the citizen typed (any kind of match), else on the report's text,
// where only a street with its house number or a landmark counts (a street named in passing is
// no place). `from` tells which: "address" or "text". nullopt when the report has a position or
// neither names a place.
struct LocatedPlace {
  PlaceMatch match;
  std::string from;
};
std::optional<LocatedPlace> LocateReport(const Gazetteer& g, const Report& report);
// The note for staff about it: "Ort aus Adresse: Lindenstraße 7 („Lindenstr. 7“, Sicherheit
// 95 %)", "Ort aus Text: …".
std::string LocatedFlag(const LocatedPlace& place);

}  // namespace meldestelle::routing
