// The street gazetteer (routing/gazetteer.hpp): loading, the example file, FindPlace.
#include "routing/gazetteer.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace gazetteer_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

std::filesystem::path ExampleFile() {
  return std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/streets.yaml";
}

const Gazetteer& Example() {
  static const Gazetteer g = [] {
    auto r = LoadGazetteer(ExampleFile());
    if (!r) {
      FAIL(r.error().message);
    }
    return r.value();
  }();
  return g;
}

std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() /
             ("meldestelle-gazetteer-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p) << text;
  return p;
}

// Loads `yaml` from a file and returns the error message ("" if it loaded).
std::string LoadError(const std::string& name, const std::string& yaml) {
  auto r = LoadGazetteer(WriteFile(name, yaml));
  return r ? "" : r.error().message;
}

const Street& FindStreet(const std::string& name) {
  for (const auto& s : Example().streets) {
    if (s.name == name) {
      return s;
    }
  }
  FAIL("no street " << name);
  throw std::logic_error("unreachable");
}

const StreetPoint* Listed(const Street& s, int number) {
  for (const auto& p : s.numbers) {
    if (p.number == number) {
      return &p;
    }
  }
  return nullptr;
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

// --- The example file ---------------------------------------------------------------------

TEST_CASE("the example gazetteer loads with the required streets and landmarks", "[gazetteer]") {
  const Gazetteer& g = Example();
  CHECK(g.streets.size() >= 25);
  CHECK(g.version.rfind("sha256:", 0) == 0);
  CHECK(g.version.size() == 7 + 64);
  for (const char* name : {"Lindenstraße", "Hauptstraße", "Mühlenweg", "Ahornallee", "Grüner Weg",
                           "Bahnhofstraße", "Am Stadtpark", "Marktplatz"}) {
    INFO(name);
    CHECK(FindStreet(name).name == name);
  }
  CHECK(Listed(FindStreet("Lindenstraße"), 13) != nullptr);
  CHECK(Listed(FindStreet("Mühlenweg"), 12) != nullptr);
  std::vector<std::string> landmarks;
  for (const auto& l : g.landmarks) {
    landmarks.push_back(l.name);
    if (l.name == "Rathaus") {
      CHECK(l.lat == Approx(50.9412));
      CHECK(l.lon == Approx(6.9585));
    }
  }
  for (const char* name : {"Rathaus", "Marktplatz", "Hauptbahnhof", "Stadtpark", "Freibad"}) {
    INFO(name);
    CHECK(std::find(landmarks.begin(), landmarks.end(), name) != landmarks.end());
  }
}

TEST_CASE("every point of the example gazetteer lies well inside the town box", "[gazetteer]") {
  // Town box lon 6.94–6.98, lat 50.93–50.95; 30 m is 0.00027° of latitude and 0.00043° of
  // longitude at 50.94° N.
  auto inside = [](double lat, double lon) {
    return lat > 50.93 + 0.00027 && lat < 50.95 - 0.00027 && lon > 6.94 + 0.00043 &&
           lon < 6.98 - 0.00043;
  };
  for (const auto& s : Example().streets) {
    INFO(s.name << " (line " << s.line << ")");
    CHECK(inside(s.lat, s.lon));
    for (const auto& p : s.numbers) {
      INFO("number " << p.number);
      CHECK(inside(p.lat, p.lon));
    }
  }
  for (const auto& l : Example().landmarks) {
    INFO(l.name);
    CHECK(inside(l.lat, l.lon));
  }
}

// --- Street spellings ---------------------------------------------------------------------

TEST_CASE("spellings of Hauptstraße with a house number", "[gazetteer]") {
  // 12 lies between the listed 2 and 40 on the even side: interpolated.
  const Street& haupt = FindStreet("Hauptstraße");
  double lon12 = 6.9490 + (6.9700 - 6.9490) * (12.0 - 2.0) / (40.0 - 2.0);
  for (const char* text :
       {"Hauptstraße 12", "Hauptstrasse 12", "HAUPTSTRASSE 12", "hauptstraße 12", "Haupt-Straße 12",
        "Haupt Straße 12", "Hauptstr. 12", "Hauptstr 12", "Haupt Str. 12", "Haupt-Str. 12",
        "in der Hauptstraße zwölf", "Hauptstraße Nummer 12", "Hauptstraße Hausnummer zwoelf",
        "Hauptstraße Nr. 12"}) {
    INFO(text);
    auto m = FindPlace(Example(), text);
    REQUIRE(m);
    CHECK(m->kind == "address");
    CHECK(m->street == haupt.name);
    CHECK(m->house_number == "12");
    CHECK(m->confidence == Approx(0.85));
    CHECK(m->lat == Approx(50.9418));
    CHECK(m->lon == Approx(lon12));
  }
  auto m = FindPlace(Example(), "Schlagloch in der Hauptstraße zwölf, bitte schnell");
  REQUIRE(m);
  CHECK(m->matched_text == "Hauptstraße zwölf");
  m = FindPlace(Example(), "vor Haupt-Str. 12 liegt Glas");
  REQUIRE(m);
  CHECK(m->matched_text == "Haupt-Str. 12");
}

TEST_CASE("the same street written many times is found once, text beyond 16 KiB is not read",
          "[gazetteer]") {
  std::string many;
  for (int i = 0; i < 3000; ++i)
    many += "Hauptstraße ";
  auto m = FindPlace(Example(), many + "12");
  REQUIRE(m);
  CHECK(m->street == "Hauptstraße");
  // The number lies beyond the first 16 KiB: not seen, the street alone is found.
  CHECK(m->house_number.empty());
  CHECK(m->kind == "street");
  // Within the first 16 KiB it is.
  auto near = FindPlace(Example(), std::string(1000, ' ') + "Hauptstraße 12 " + many);
  REQUIRE(near);
  CHECK(near->house_number == "12");
  // A place only after 16 KiB of other text is not found; a cut inside a character is harmless.
  std::string filler(16 * 1024 - 1, 'x');
  CHECK_FALSE(FindPlace(Example(), filler + "ä Lindenstraße 13"));
}

TEST_CASE("Lindenstraße dreizehn is the listed point of number 13", "[gazetteer]") {
  auto m = FindPlace(Example(), "Ja hallo, in der Lindenstraße dreizehn ist ein Schlagloch.");
  REQUIRE(m);
  CHECK(m->kind == "address");
  CHECK(m->street == "Lindenstraße");
  CHECK(m->house_number == "13");
  CHECK(m->confidence >= 0.9);
  CHECK(m->lat == Approx(50.9380));
  CHECK(m->lon == Approx(6.9528));
  CHECK(m->matched_text == "Lindenstraße dreizehn");
  m = FindPlace(Example(), "Lindenstraße 13a");
  REQUIRE(m);
  CHECK(m->house_number == "13a");
  CHECK(m->lat == Approx(50.9380));
}

TEST_CASE(
    "a report without a position is placed by its address, else by a full address or "
    "landmark in its text",
    "[gazetteer]") {
  Report r;
  r.text = "Schlagloch in der Lindenstraße 13, bitte schnell";
  SECTION("the typed address wins over the text") {
    r.location.address = "Hauptstr. 5";
    auto p = LocateReport(Example(), r);
    REQUIRE(p);
    CHECK(p->from == "address");
    CHECK(p->match.street == "Hauptstraße");
    CHECK(p->match.house_number == "5");
    CHECK(LocatedFlag(*p).rfind("Ort aus Adresse: Hauptstraße 5 („Hauptstr. 5“, Sicherheit ", 0) ==
          0);
  }
  SECTION("no address: the text's street and number") {
    auto p = LocateReport(Example(), r);
    REQUIRE(p);
    CHECK(p->from == "text");
    CHECK(p->match.kind == "address");
    CHECK(p->match.lat == Approx(50.9380));
    CHECK(LocatedFlag(*p) == "Ort aus Text: Lindenstraße 13 („Lindenstraße 13“, Sicherheit 95 %)");
  }
  SECTION("an address the list does not know: the text is tried") {
    r.location.address = "Irgendwoweg 3";
    auto p = LocateReport(Example(), r);
    REQUIRE(p);
    CHECK(p->from == "text");
  }
  SECTION("a street named in passing in the text is no place, in the address it is") {
    r.text = "Die Lindenstraße ist schön, aber hier liegt Müll";
    CHECK_FALSE(LocateReport(Example(), r));
    r.location.address = "Lindenstraße";
    auto p = LocateReport(Example(), r);
    REQUIRE(p);
    CHECK(p->match.kind == "street");
  }
  SECTION("a report with a position is left alone") {
    r.location.lat = 50.94;
    r.location.lon = 6.95;
    CHECK_FALSE(LocateReport(Example(), r));
  }
}

TEST_CASE("house numbers in German words after a street", "[gazetteer]") {
  auto m = FindPlace(Example(), "Mühlenweg zwölf");
  REQUIRE(m);
  CHECK(m->house_number == "12");
  CHECK(m->confidence == Approx(0.95));
  CHECK(m->lat == Approx(50.9462));
  for (const char* text : {"Muehlenweg 12", "Muhlenweg zwoelf", "MÜHLENWEG 12"}) {
    INFO(text);
    m = FindPlace(Example(), text);
    REQUIRE(m);
    CHECK(m->street == "Mühlenweg");
    CHECK(m->confidence == Approx(0.95));
  }
  m = FindPlace(Example(), "Lindenstraße dreiundzwanzig a");
  REQUIRE(m);
  CHECK(m->house_number == "23a");
  CHECK(m->matched_text == "Lindenstraße dreiundzwanzig a");
  m = FindPlace(Example(), "Lindenstraße drei und zwanzig");
  REQUIRE(m);
  CHECK(m->house_number == "23");
}

TEST_CASE("interpolation between listed house numbers", "[gazetteer]") {
  SECTION("same side of the street") {
    auto m = FindPlace(Example(), "Lindenstraße 7");  // between 1 and 13, odd side
    REQUIRE(m);
    CHECK(m->kind == "address");
    CHECK(m->confidence == Approx(0.85));
    CHECK(m->lat == Approx(50.9366));
    CHECK(m->lon == Approx(6.9528));
    m = FindPlace(Example(), "Lindenstraße 8");  // between 2 and 14, even side
    REQUIRE(m);
    CHECK(m->lat == Approx(50.9366));
    CHECK(m->lon == Approx(6.9532));
  }
  SECTION("no listed number above on the same side: any side") {
    auto m = FindPlace(Example(), "Lindenstraße 20");  // even; 14 below, only 25 (odd) above
    REQUIRE(m);
    CHECK(m->confidence == Approx(0.85));
    CHECK(m->lat == Approx(50.9380 + (50.9410 - 50.9380) * 6.0 / 11.0));
  }
  SECTION("beyond every listed number: the street's point") {
    auto m = FindPlace(Example(), "Lindenstraße 99");
    REQUIRE(m);
    CHECK(m->kind == "address");
    CHECK(m->house_number == "99");
    CHECK(m->confidence == Approx(0.55));
    CHECK(m->lat == Approx(FindStreet("Lindenstraße").lat));
  }
  SECTION("a street without listed numbers") {
    auto m = FindPlace(Example(), "Grüner Weg 4");
    REQUIRE(m);
    CHECK(m->kind == "address");
    CHECK(m->confidence == Approx(0.55));
    CHECK(m->lat == Approx(FindStreet("Grüner Weg").lat));
  }
}

TEST_CASE("a street without a number", "[gazetteer]") {
  auto m = FindPlace(Example(), "Die Ampel in der Bahnhofstraße ist seit gestern kaputt.");
  REQUIRE(m);
  CHECK(m->kind == "street");
  CHECK(m->street == "Bahnhofstraße");
  CHECK(m->house_number.empty());
  CHECK(m->confidence == Approx(0.5));
  CHECK(m->lat == Approx(FindStreet("Bahnhofstraße").lat));
  CHECK(m->matched_text == "Bahnhofstraße");
  // "ein" right after the street is the article, not number 1.
  m = FindPlace(Example(), "In der Hauptstraße ein riesiges Schlagloch");
  REQUIRE(m);
  CHECK(m->kind == "street");
  m = FindPlace(Example(), "Hauptstraße Nummer eins");
  REQUIRE(m);
  CHECK(m->house_number == "1");
  CHECK(m->confidence == Approx(0.95));
}

TEST_CASE("multi-word names, aliases and a left-out Am", "[gazetteer]") {
  auto m = FindPlace(Example(), "auf dem Grünen Weg");  // "Grünen": one letter off
  REQUIRE(m);
  CHECK(m->street == "Grüner Weg");
  CHECK(m->confidence == Approx(0.35));
  m = FindPlace(Example(), "Grüner Weg, Ecke Schulstraße 3");
  REQUIRE(m);
  CHECK(m->street == "Schulstraße");  // with a number: better than the street alone
  m = FindPlace(Example(), "Platz der Einheit");
  REQUIRE(m);
  CHECK(m->street == "Platz der Einheit");
  CHECK(m->kind == "street");
  m = FindPlace(Example(), "am Einheitsplatz");
  REQUIRE(m);
  CHECK(m->street == "Platz der Einheit");
  m = FindPlace(Example(), "Konrad Adenauer Str. 2");
  REQUIRE(m);
  CHECK(m->street == "Konrad-Adenauer-Straße");
  CHECK(m->confidence == Approx(0.95));
  m = FindPlace(Example(), "Am Stadtpark 3");
  REQUIRE(m);
  CHECK(m->street == "Am Stadtpark");
  CHECK(m->house_number == "3");
  CHECK(m->confidence == Approx(0.95));
  CHECK(m->matched_text == "Am Stadtpark 3");
  m = FindPlace(Example(), "Stadtpark 3");
  REQUIRE(m);
  CHECK(m->street == "Am Stadtpark");
  CHECK(m->matched_text == "Stadtpark 3");
  m = FindPlace(Example(), "Parkstraße drei");
  REQUIRE(m);
  CHECK(m->street == "Am Stadtpark");
  m = FindPlace(Example(), "Bahnhof Straße 30");
  REQUIRE(m);
  CHECK(m->street == "Bahnhofstraße");
  CHECK(m->confidence == Approx(0.95));
  m = FindPlace(Example(), "Zur alten Brücke");
  REQUIRE(m);
  CHECK(m->street == "Zur Alten Brücke");
}

TEST_CASE("a misspelt street name matches with lower confidence", "[gazetteer]") {
  auto m = FindPlace(Example(), "Ahornalle 5");  // Ahornallee, 10 letters: one edit allowed
  REQUIRE(m);
  CHECK(m->street == "Ahornallee");
  CHECK(m->kind == "address");
  CHECK(m->confidence == Approx(0.85 - 0.15));
  CHECK(m->matched_text == "Ahornalle 5");
  m = FindPlace(Example(), "Lindenstrsse 13");
  REQUIRE(m);
  CHECK(m->street == "Lindenstraße");
  CHECK(m->confidence == Approx(0.95 - 0.15));
  m = FindPlace(Example(), "Eichendorfstrase");  // 17 letters: two edits allowed
  REQUIRE(m);
  CHECK(m->street == "Eichendorffstraße");
  CHECK(m->confidence == Approx(0.5 - 0.15));
  m = FindPlace(Example(), "Konrad Adenaur Strase 2");
  REQUIRE(m);
  CHECK(m->street == "Konrad-Adenauer-Straße");
  // Names under 8 letters need the exact spelling.
  CHECK_FALSE(FindPlace(Example(), "im Freibat"));
  CHECK_FALSE(FindPlace(Example(), "Rathhaus"));
  // A swap of two letters is one edit, two edits in a name of under 12 letters are too many.
  m = FindPlace(Example(), "Hauptsrtase 5");
  REQUIRE(m);
  CHECK(m->street == "Hauptstraße");
  CHECK_FALSE(FindPlace(Example(), "Hauptstrazze 5 und Ahronalee"));
}

TEST_CASE("a street name inside a longer word is no match", "[gazetteer]") {
  CHECK_FALSE(FindPlace(Example(), "Wann ist das Lindenstraßenfest?"));
  CHECK_FALSE(FindPlace(Example(), "Die Hauptstraßenbahn fährt nicht"));
  CHECK_FALSE(FindPlace(Example(), "Bahnhofsvorplatz"));
}

TEST_CASE("landmarks", "[gazetteer]") {
  auto m = FindPlace(Example(), "Vor dem Eingang am Rathaus liegt Sperrmüll");
  REQUIRE(m);
  CHECK(m->kind == "landmark");
  CHECK(m->street == "Rathaus");
  CHECK(m->house_number.empty());
  CHECK(m->confidence == Approx(0.8));
  CHECK(m->lat == Approx(50.9412));
  CHECK(m->lon == Approx(6.9585));
  CHECK(m->matched_text == "Rathaus");
  m = FindPlace(Example(), "auf dem Rathausplatz");
  REQUIRE(m);
  CHECK(m->street == "Rathaus");
  m = FindPlace(Example(), "am Bahnhof");
  REQUIRE(m);
  CHECK(m->street == "Hauptbahnhof");
  // "am Stadtpark" without a number: the park, not the street Am Stadtpark.
  m = FindPlace(Example(), "Müll am Stadtpark");
  REQUIRE(m);
  CHECK(m->kind == "landmark");
  CHECK(m->street == "Stadtpark");
  // Marktplatz is a landmark and a street: with a number the street.
  m = FindPlace(Example(), "am Marktplatz");
  REQUIRE(m);
  CHECK(m->kind == "landmark");
  m = FindPlace(Example(), "Marktplatz 1");
  REQUIRE(m);
  CHECK(m->kind == "address");
  CHECK(m->confidence == Approx(0.95));
  // An address beats a landmark mentioned before it.
  m = FindPlace(Example(), "beim Rathaus, genauer Lindenstraße 13");
  REQUIRE(m);
  CHECK(m->street == "Lindenstraße");
}

TEST_CASE("two different places equally good: the first, less confident", "[gazetteer]") {
  auto m = FindPlace(Example(), "zwischen Schulstraße und Goethestraße");
  REQUIRE(m);
  CHECK(m->street == "Schulstraße");
  CHECK(m->confidence == Approx(0.5 - 0.2));
  m = FindPlace(Example(), "Hauptstraße 12 oder Lindenstraße 7");
  REQUIRE(m);
  CHECK(m->street == "Hauptstraße");
  CHECK(m->confidence == Approx(0.85 - 0.2));
  // The same street twice is not ambiguous.
  m = FindPlace(Example(), "Lindenstraße 7, also die Lindenstraße 7");
  REQUIRE(m);
  CHECK(m->confidence == Approx(0.85));
}

TEST_CASE("texts without a place", "[gazetteer]") {
  CHECK_FALSE(FindPlace(Example(), ""));
  CHECK_FALSE(FindPlace(Example(),
                        "Guten Tag, bei uns ist seit gestern die Straßenlaterne kaputt, "
                        "bitte schicken Sie jemanden vorbei. Vielen Dank."));
  CHECK_FALSE(FindPlace(Example(), "Hausnummer 12, Nummer zwölf"));
  CHECK_FALSE(FindPlace(Gazetteer{}, "Lindenstraße 13"));
}

TEST_CASE("the English Twilio transcript has a house number but no street", "[gazetteer]") {
  // Decision: a number alone is no place, so "house number twelve" gives nothing.
  std::ifstream in(std::string(MELDESTELLE_VECTORS_DIR) + "/twilio/03-transcription-completed.txt");
  REQUIRE(in);
  std::stringstream body;
  body << in.rdbuf();
  std::string all = body.str();
  auto from = all.find("TranscriptionText=");
  REQUIRE(from != std::string::npos);
  from += std::string("TranscriptionText=").size();
  std::string text = UrlDecode(all.substr(from, all.find('&', from) - from));
  REQUIRE(text.find("house number twelve") != std::string::npos);
  CHECK_FALSE(FindPlace(Example(), text));
}

TEST_CASE("bytes that are not UTF-8 do not stop the search", "[gazetteer]") {
  auto m = FindPlace(Example(), "\xFF\xFE Lindenstraße 13 \xC3");
  REQUIRE(m);
  CHECK(m->house_number == "13");
  // The broken "ß" becomes a gap: "Lindenstra" is then only a typo match.
  m = FindPlace(Example(),
                "Lindenstra\xFF\xDF"
                "e");
  REQUIRE(m);
  CHECK(m->street == "Lindenstraße");
  CHECK(m->confidence == Approx(0.5 - 0.15));
}

// --- Loader errors ------------------------------------------------------------------------

TEST_CASE("gazetteer loader: broken YAML", "[gazetteer]") {
  std::string err = LoadError("broken.yaml", "streets:\n  - name: Hauptstraße\n    lat: [50.9\n");
  CHECK(err.find("broken.yaml:") != std::string::npos);
  CHECK(err.find(": (syntax): ") != std::string::npos);
  err = LoadError("list.yaml", "- a\n- b\n");
  CHECK(err.find("list.yaml:1: (file): must be a mapping") != std::string::npos);
  auto r = LoadGazetteer("/nonexistent/streets.yaml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code.name() == "gazetteer_invalid");
  CHECK(r.error().message.find("/nonexistent/streets.yaml:0: (file): cannot be read") !=
        std::string::npos);
}

TEST_CASE("gazetteer loader: unknown keys", "[gazetteer]") {
  std::string err = LoadError("unknown.yaml",
                              "streets:\n"
                              "  - name: Hauptstraße\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "    colour: red\n"
                              "landmarks: []\n"
                              "towns: []\n");
  INFO(err);
  CHECK(err.find("unknown.yaml:5: streets[Hauptstraße].colour: unknown key") != std::string::npos);
  CHECK(err.find("unknown.yaml:7: towns: unknown key") != std::string::npos);
}

TEST_CASE("gazetteer loader: missing names and coordinates out of range", "[gazetteer]") {
  std::string err = LoadError("range.yaml",
                              "streets:\n"
                              "  - name: Hauptstraße\n"
                              "    lat: 95\n"
                              "    lon: 6.95\n"
                              "  - lat: 50.94\n"
                              "    lon: 6.95\n"
                              "  - name: Lindenstraße\n"
                              "    lon: 186\n"
                              "landmarks:\n"
                              "  - name: Rathaus\n"
                              "    lat: 50.94\n"
                              "    lon: abc\n");
  INFO(err);
  CHECK(err.find("range.yaml:3: streets[Hauptstraße].lat: must be between -90 and 90") !=
        std::string::npos);
  CHECK(err.find("range.yaml:5: streets[].name: is required") != std::string::npos);
  CHECK(err.find("range.yaml:7: streets[Lindenstraße].lat: is required") != std::string::npos);
  CHECK(err.find("range.yaml:8: streets[Lindenstraße].lon: must be between -180 and 180") !=
        std::string::npos);
  CHECK(err.find("range.yaml:12: landmarks[Rathaus].lon: must be a number") != std::string::npos);
}

TEST_CASE("gazetteer loader: duplicate street names", "[gazetteer]") {
  std::string err = LoadError("dup.yaml",
                              "streets:\n"
                              "  - name: Hauptstraße\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "  - name: Hauptstrasse\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "  - name: Ringstraße\n"
                              "    aliases: [Haupt-Str.]\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "landmarks:\n"
                              "  - {name: Hauptstraße, lat: 50.94, lon: 6.95}\n");
  INFO(err);
  CHECK(err.find("dup.yaml:5: streets[Hauptstrasse].name: duplicate name: \"Hauptstrasse\" reads "
                 "the same as \"Hauptstraße\" (line 2)") != std::string::npos);
  CHECK(err.find("dup.yaml:9: streets[Ringstraße].aliases: duplicate name") != std::string::npos);
  // A landmark may share a street's name.
  CHECK(err.find("landmarks") == std::string::npos);
}

TEST_CASE("gazetteer loader: bad house numbers", "[gazetteer]") {
  std::string err = LoadError("numbers.yaml",
                              "streets:\n"
                              "  - name: Hauptstraße\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "    numbers:\n"
                              "      \"0\": [50.94, 6.95]\n"
                              "      \"12a\": [50.94, 6.95]\n"
                              "      \"10000\": [50.94, 6.95]\n"
                              "      \"5\": [50.94]\n"
                              "      \"7\": [91, 6.95]\n"
                              "      \"9\": [50.94, 6.95]\n"
                              "      \"09\": [50.94, 6.95]\n");
  INFO(err);
  CHECK(
      err.find("numbers.yaml:6: streets[Hauptstraße].numbers.0: must be a house number 1..9999") !=
      std::string::npos);
  CHECK(err.find("numbers.yaml:7: streets[Hauptstraße].numbers.12a: must be a house number") !=
        std::string::npos);
  CHECK(err.find("numbers.yaml:8: streets[Hauptstraße].numbers.10000: must be a house number") !=
        std::string::npos);
  CHECK(err.find("numbers.yaml:9: streets[Hauptstraße].numbers.5: must be [lat, lon]") !=
        std::string::npos);
  CHECK(err.find("numbers.yaml:10: streets[Hauptstraße].numbers.7: lat must be between") !=
        std::string::npos);
  CHECK(err.find("numbers.yaml:12: streets[Hauptstraße].numbers.09: house number listed twice") !=
        std::string::npos);
}

TEST_CASE("gazetteer loader: a valid file sorts the house numbers", "[gazetteer]") {
  auto r =
      LoadGazetteer(WriteFile("ok.yaml",
                              "streets:\n"
                              "  - name: Hauptstraße\n"
                              "    lat: 50.94\n"
                              "    lon: 6.95\n"
                              "    numbers: {\"13\": [50.941, 6.951], \"1\": [50.94, 6.95]}\n"));
  REQUIRE(r);
  REQUIRE(r->streets.size() == 1);
  CHECK(r->streets[0].line == 2);
  REQUIRE(r->streets[0].numbers.size() == 2);
  CHECK(r->streets[0].numbers[0].number == 1);
  CHECK(r->landmarks.empty());
}

}  // namespace gazetteer_test
