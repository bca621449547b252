// Tests of the rule language: every condition type with its edge cases, nesting, the loader's
// error messages and explanations.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "routing/geo.hpp"
#include "routing/german.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"
#include "routing/timezone.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace language_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

// A square 0..10 (lon) × 40..50 (lat) with a hole 4..6 × 44..46.
const char* kSquareWithHole = R"({"type": "Polygon", "coordinates": [
  [[0, 40], [10, 40], [10, 50], [0, 50], [0, 40]],
  [[4, 44], [6, 44], [6, 46], [4, 46], [4, 44]]]})";

std::filesystem::path TempDir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("meldestelle-routing-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
  auto p = TempDir() / name;
  std::ofstream(p) << text;
  return p;
}

// A config with a few departments, categories in two groups and two geometries.
Config TestConfig() {
  Config c;
  c.file = "test.yaml";
  c.channel_names = {{"webform", "Webformular"}, {"app", "App/API"}, {"whatsapp", "WhatsApp"},
                     {"telegram", "Telegram"},   {"email", "E-Mail"}, {"phone", "Telefon"},
                     {"open311", "Open311"}};
  c.town.timezone = "Europe/Berlin";
  c.departments = {{"tiefbau", "Tiefbau", ""}, {"licht", "Licht", ""}, {"service", "Service", ""},
                   {"gruen", "Grün", ""}};
  c.categories = {{"STR-01", "Schlagloch", "Straße", {}, {}},
                  {"STR-02", "Gehweg", "Straße", {}, {}},
                  {"BEL-01", "Laterne", "Licht", {}, {}}};
  c.Set<routing::Settings>().areas = {
      {"quadrat", WriteFile("quadrat.geojson", kSquareWithHole), 10},
      {"strasse",
       WriteFile("strasse.geojson",
                 R"({"type": "Feature", "properties": {},
                                               "geometry": {"type": "LineString",
                                               "coordinates": [[6.95, 50.94], [6.97, 50.94]]}})"),
       11},
      {"rathaus",
       WriteFile("rathaus.geojson", R"({"type": "Point", "coordinates": [6.96, 50.94]})"), 12}};
  return c;
}

std::shared_ptr<const RuleSet> Rules(const std::string& rules_body) {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet("default_department: service\nrules:\n" + rules_body, "r.yaml", &cfg);
  if (!rs) {
    FAIL(rs.error().message);
  }
  return *rs;
}

// One rule "hit" with the given `when:` body (indented for the YAML).
std::shared_ptr<const RuleSet> When(const std::string& when) {
  return Rules("  - id: hit\n    department: tiefbau\n    when:\n" + when);
}

Report At(double lon, double lat) {
  Report r;
  r.location.lon = lon;
  r.location.lat = lat;
  return r;
}

Report Text(const std::string& text) {
  Report r;
  r.text = text;
  return r;
}

Report Received(const std::string& at) {
  Report r;
  r.received_at = at;
  return r;
}

bool Hits(const std::shared_ptr<const RuleSet>& rs, const Report& r) {
  return Route(*rs, r).rule_id == "hit";
}

std::string LoadError(const std::string& rules_body, const Config* cfg) {
  auto rs = ParseRuleSet("default_department: service\nrules:\n" + rules_body, "r.yaml", cfg);
  return rs ? "" : rs.error().message;
}

}  // namespace

TEST_CASE("German stemming folds plurals, cases and umlaut plurals") {
  CHECK(StemGerman("schlagloecher") == StemGerman("schlagloch"));
  CHECK(StemGerman("schlagloechern") == StemGerman("schlagloch"));
  CHECK(StemGerman("laternen") == StemGerman("laterne"));
  CHECK(StemGerman("ampeln") == StemGerman("ampel"));
  CHECK(StemGerman("baeume") == StemGerman("baum"));
  CHECK(StemGerman("spielplaetze") == StemGerman("spielplatz"));
  CHECK(StemGerman("strassen") == StemGerman("strasse"));
  CHECK(StemGerman("kinder") == StemGerman("kind"));
  CHECK(StemGerman("autos") == StemGerman("auto"));
  CHECK(StemGerman("hauses") == StemGerman("haus"));
  CHECK(StemGerman("bahnen") == StemGerman("bahn"));
  CHECK(StemGerman("aeste") == StemGerman("ast"));
  CHECK(StemGerman("see") == "see");  // too short to strip
  CHECK(StemGerman("") == "");
  CHECK(StemGerman("baum") != StemGerman("bahn"));
}

TEST_CASE("keywords: case, umlauts, ß, inflection, phrases and prefixes") {
  auto rs = When("      keywords: [schlagloch, laterne, \"loch in der straße\", Baum]\n");
  CHECK(Hits(rs, Text("Zwei SCHLAGLÖCHER vor Nr. 3")));
  CHECK(Hits(rs, Text("Die Schlagloechern")));
  CHECK(Hits(rs, Text("Laternen dunkel")));
  CHECK(Hits(rs, Text("Laternenmast umgefahren")));  // prefix of a word
  CHECK(Hits(rs, Text("Loch in der Strasse!")));
  CHECK(Hits(rs, Text("ein loch in der straßen")));
  CHECK(Hits(rs, Text("Bäume umgestürzt")));
  CHECK_FALSE(Hits(rs, Text("Straßenlaterne")));     // not at a word start
  CHECK_FALSE(Hits(rs, Text("Loch in Straße")));     // phrase words must be consecutive
  CHECK_FALSE(Hits(rs, Text("")));                   // empty text
  CHECK_FALSE(Hits(rs, Text("   ...  ")));
  auto d = Route(*rs, Text("Schlaglöcher und Laternen"));
  CHECK(d.matched_keywords == std::vector<std::string>{"schlagloch", "laterne"});
}

TEST_CASE("category, category_group and the v1 shorthand") {
  auto rs = When("      category_group: [Straße]\n");
  Report r;
  r.category = "STR-02";
  CHECK(Hits(rs, r));
  r.category = "BEL-01";
  CHECK_FALSE(Hits(rs, r));
  r.category = "";
  CHECK_FALSE(Hits(rs, r));
  // v1: category AND keywords in one mapping.
  rs = When("      category: [BEL-01]\n      keywords: [mast]\n");
  r = Text("Mast schief");
  CHECK_FALSE(Hits(rs, r));
  r.category = "BEL-01";
  auto d = Route(*rs, r);
  CHECK(d.rule_id == "hit");
  CHECK(d.matched_category);
  CHECK(d.category_source == "citizen");
}

TEST_CASE("area: polygons with holes, edges and vertices, no location") {
  auto rs = When("      area: quadrat\n");
  CHECK(Hits(rs, At(2, 42)));
  CHECK_FALSE(Hits(rs, At(5, 45)));     // in the hole
  CHECK_FALSE(Hits(rs, At(11, 45)));    // outside
  CHECK_FALSE(Hits(rs, At(-0.0001, 45)));
  CHECK(Hits(rs, At(0, 45)));           // on the outer edge: boundaries belong to the area
  CHECK(Hits(rs, At(10, 50)));          // on a vertex
  CHECK(Hits(rs, At(5, 40)));           // on the bottom edge
  CHECK(Hits(rs, At(4, 45)));           // on the hole's edge
  CHECK(Hits(rs, At(6, 46)));           // on the hole's vertex
  CHECK_FALSE(Hits(rs, Report{}));      // no location
  Report bad = At(200, 45);             // invalid coordinates never match
  CHECK_FALSE(Hits(rs, bad));
}

TEST_CASE("MultiPolygon and the geometry tests directly") {
  auto g = ParseGeoJson(R"({"type": "MultiPolygon", "coordinates": [
      [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
      [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]]})", "m");
  REQUIRE(g.ok());
  CHECK(Contains(*g, {0.5, 0.5}));
  CHECK(Contains(*g, {2.5, 0.5}));
  CHECK_FALSE(Contains(*g, {1.5, 0.5}));
  // Concave polygon (a "U"): the notch is outside.
  auto u = ParseGeoJson(R"({"type": "Polygon", "coordinates": [
      [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]]})", "u");
  REQUIRE(u.ok());
  CHECK_FALSE(Contains(*u, {1.5, 2}));
  CHECK(Contains(*u, {0.5, 2}));
  CHECK(Contains(*u, {1.5, 1}));  // on the notch's bottom edge
  CHECK(HaversineMetres({6.96, 50.94}, {6.96, 50.94}) == 0);
  CHECK(HaversineMetres({6.96, 50.94}, {6.96, 50.95}) == Approx(1111.95).epsilon(0.001));
}

TEST_CASE("invalid GeoJSON is rejected with the place of the problem") {
  auto msg = [](const std::string& text) {
    auto g = ParseGeoJson(text, "x");
    return g ? std::string("ok") : g.error().message;
  };
  CHECK_THAT(msg(R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]})"),
             Catch::Contains("coordinates[0]: a ring needs at least 4 positions"));
  CHECK_THAT(msg(R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]})"),
             Catch::Contains("coordinates[0]: ring is not closed"));
  CHECK_THAT(msg(R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,91],[0,0]]]})"),
             Catch::Contains("coordinates[0][2]: coordinates out of range"));
  CHECK_THAT(msg(R"({"type": "Polygon", "coordinates": [[[0,0],[181,0],[1,1],[0,0]]]})"),
             Catch::Contains("out of range"));
  CHECK_THAT(msg(R"({"type": "Polygon", "coordinates": [[[0,0],["a",0],[1,1],[0,0]]]})"),
             Catch::Contains("[lon, lat]"));
  CHECK_THAT(msg(R"({"type": "FeatureCollection", "features": [{"type": "Feature",
             "geometry": {"type": "Circle", "coordinates": []}}]})"),
             Catch::Contains("features[0].geometry.type: unsupported geometry type"));
  CHECK_THAT(msg("{\"type\": \"Polygon\",\n \"coordinates\": [\n[[0,0]\n"),
             Catch::StartsWith("line "));
  CHECK_THAT(msg(R"({"type": "FeatureCollection", "features": []})"),
             Catch::Contains("contains no geometry"));
  CHECK_THAT(msg(R"({"type": "LineString", "coordinates": [[0,0]]})"),
             Catch::Contains("a line needs at least 2 positions"));
}

TEST_CASE("a broken GeoJSON file in the config is reported against the config line") {
  Config cfg = TestConfig();
  cfg.Set<routing::Settings>().areas.push_back(
      {"kaputt", WriteFile("kaputt.geojson", R"({"type": "Polygon", "coordinates": [[[0,0]]]})"),
       42});
  cfg.Set<routing::Settings>().areas.push_back({"fehlt", TempDir() / "fehlt.geojson", 43});
  auto err = LoadError("  - id: a\n    department: tiefbau\n    when:\n      area: kaputt\n",
                       &cfg);
  CHECK_THAT(err, Catch::Contains("test.yaml:42: routing.areas[kaputt].file:"));
  CHECK_THAT(err, Catch::Contains("a ring needs at least 4 positions"));
  CHECK_THAT(err, Catch::Contains("test.yaml:43: routing.areas[fehlt].file:"));
  CHECK_THAT(err, Catch::Contains("cannot be read"));
}

TEST_CASE("near: points and lines with metric distances") {
  auto line = When("      near: {line: strasse, within_m: 20}\n");
  // 0.0001° of latitude ≈ 11.1 m; 0.0002° ≈ 22.2 m.
  CHECK(Hits(line, At(6.96, 50.9401)));
  CHECK_FALSE(Hits(line, At(6.96, 50.9402)));
  CHECK(Hits(line, At(6.9701, 50.94)));  // beyond the end: ~7 m from the end point
  CHECK_FALSE(Hits(line, At(6.9704, 50.94)));
  CHECK_FALSE(Hits(line, Report{}));
  auto point = When("      near: {point: rathaus, within_m: 100}\n");
  CHECK(Hits(point, At(6.96, 50.9408)));  // ~89 m
  CHECK_FALSE(Hits(point, At(6.96, 50.941)));  // ~111 m
  auto coords = When("      near: {point: [6.96, 50.94], within_m: 100}\n");
  CHECK(Hits(coords, At(6.961, 50.94)));  // ~70 m east at this latitude
  CHECK_FALSE(Hits(coords, At(6.962, 50.94)));  // ~141 m
  auto d = Route(*line, At(6.96, 50.9401));
  REQUIRE(d.conditions.size() == 1);
  CHECK(d.conditions[0].seen == "distance 11.1 m to strasse");
}

TEST_CASE("regex: RE2, case-insensitive, linear time on hostile input") {
  auto rs = When("      regex: '(a+)+$'\n");
  Report r = Text(std::string(100000, 'a') + "!");
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(Hits(rs, r));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(1));
  CHECK(Hits(rs, Text("baaa")));
  auto hn = When("      regex: 'hausnummer\\s*\\d+'\n");
  auto d = Route(*hn, Text("vor HAUSNUMMER 12 links"));
  CHECK(d.rule_id == "hit");
  CHECK(d.conditions[0].seen == "matched \"HAUSNUMMER 12\"");
  CHECK_FALSE(Hits(hn, Text("")));
}

TEST_CASE("regex: invalid and oversized patterns are rejected with their line") {
  Config cfg = TestConfig();
  auto err = LoadError("  - id: a\n    department: tiefbau\n    when:\n      regex: '(unclosed'\n",
                       &cfg);
  CHECK_THAT(err, Catch::Contains("r.yaml:6: rules[a].when.regex: invalid regular expression"));
  err = LoadError("  - id: a\n    department: tiefbau\n    when:\n      regex: '(a{1,1000}){1,1000}'\n",
                  &cfg);
  CHECK_THAT(err, Catch::Contains("r.yaml:6: rules[a].when.regex:"));
  err = LoadError("  - id: a\n    department: tiefbau\n    when:\n      regex: '(?<name>x)'\n",
                  &cfg);
  CHECK_THAT(err, Catch::Contains("invalid regular expression"));
}

TEST_CASE("channel, has_photo, has_location") {
  auto ch = When("      channel: [whatsapp, telegram]\n");
  Report r;
  r.channel = "telegram";
  CHECK(Hits(ch, r));
  r.channel = "webform";
  CHECK_FALSE(Hits(ch, r));
  auto photo = When("      has_photo: true\n");
  CHECK_FALSE(Hits(photo, r));
  r.attachments.push_back({"", "application/pdf", 1, "a.pdf"});
  CHECK_FALSE(Hits(photo, r));
  r.attachments.push_back({"", "image/jpeg", 1, "a.jpg"});
  CHECK(Hits(photo, r));
  CHECK_FALSE(Hits(When("      has_photo: false\n"), r));
  auto loc = When("      has_location: false\n");
  CHECK(Hits(loc, Report{}));
  CHECK_FALSE(Hits(loc, At(6.9, 50.9)));
  CHECK(Hits(When("      has_location: true\n"), At(6.9, 50.9)));
}

TEST_CASE("time: local time zone, weekdays, windows across midnight") {
  // Europe/Berlin: UTC+1 in winter, UTC+2 in summer. 2026-01-05 is a Monday.
  auto day = When("      time: {from: \"08:00\", to: \"16:00\", weekdays: [mo, di, mi, do, fr]}\n");
  CHECK(Hits(day, Received("2026-01-05T07:00:00.000Z")));      // Mo 08:00 local
  CHECK_FALSE(Hits(day, Received("2026-01-05T06:59:59.000Z")));  // Mo 07:59
  CHECK_FALSE(Hits(day, Received("2026-01-05T15:00:00.000Z")));  // Mo 16:00: end exclusive
  CHECK(Hits(day, Received("2026-07-06T06:00:00.000Z")));      // Mo 08:00 summer time
  CHECK_FALSE(Hits(day, Received("2026-01-10T10:00:00.000Z")));  // Saturday
  CHECK_FALSE(Hits(day, Received("")));
  CHECK_FALSE(Hits(day, Received("gestern")));
  // Friday night on call: fr 22:00 – sa 06:00 belongs to Friday.
  auto night = When("      time: {from: \"22:00\", to: \"06:00\", weekdays: [fri]}\n");
  CHECK(Hits(night, Received("2026-01-09T21:00:00.000Z")));      // Fr 22:00
  CHECK(Hits(night, Received("2026-01-10T04:59:00.000Z")));      // Sa 05:59
  CHECK_FALSE(Hits(night, Received("2026-01-10T05:00:00.000Z")));  // Sa 06:00
  CHECK_FALSE(Hits(night, Received("2026-01-09T04:00:00.000Z")));  // Fr 05:00: Thursday's night
  CHECK_FALSE(Hits(night, Received("2026-01-10T21:30:00.000Z")));  // Sa 22:30
  auto weekend = When("      time: {weekdays: [sa, so]}\n");
  CHECK(Hits(weekend, Received("2026-01-10T23:30:00.000Z")));     // So 00:30 local
  CHECK_FALSE(Hits(weekend, Received("2026-01-11T23:00:00.000Z")));  // Mo 00:00 local
  CHECK(Hits(weekend, Received("2026-01-11T22:59:59+00:00")));
}

TEST_CASE("time zone and timestamp helpers") {
  auto tz = TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  auto winter = ParseRfc3339("2026-01-05T12:00:00Z");
  auto summer = ParseRfc3339("2026-07-05T12:00:00.5Z");
  REQUIRE(winter);
  REQUIRE(summer);
  CHECK(*winter == 1767614400);
  CHECK(tz->OffsetAt(*winter) == 3600);
  CHECK(tz->OffsetAt(*summer) == 7200);
  CHECK(ToLocal(*tz, *winter).weekday == 0);
  CHECK(ParseRfc3339("2026-01-05T13:00:00+01:00") == winter);
  CHECK_FALSE(ParseRfc3339("2026-13-05T12:00:00Z"));
  CHECK_FALSE(TimeZone::Load("Mars/Olympus").ok());
  CHECK_FALSE(TimeZone::Load("../etc/passwd").ok());
}

TEST_CASE("all / any / not nest") {
  auto rs = When(
      "      any:\n"
      "        - all:\n"
      "            - category: [STR-01]\n"
      "            - not: {area: quadrat}\n"
      "        - all:\n"
      "            - keywords: [laterne]\n"
      "            - not:\n"
      "                any: [{channel: [phone]}, {has_photo: true}]\n");
  Report r = At(20, 45);
  r.category = "STR-01";
  CHECK(Hits(rs, r));
  r = At(2, 42);
  r.category = "STR-01";
  CHECK_FALSE(Hits(rs, r));
  r.text = "Laterne aus";
  CHECK(Hits(rs, r));
  r.channel = "phone";
  CHECK_FALSE(Hits(rs, r));
  r.channel = "webform";
  r.attachments.push_back({"", "image/png", 1, ""});
  CHECK_FALSE(Hits(rs, r));
}

TEST_CASE("results: priority, tags, forward") {
  auto rs = Rules(
      "  - id: weg\n    when: {area: quadrat}\n"
      "    forward: {authority: Kreis, email: kreis@example.org}\n"
      "  - id: hit\n    when: {keywords: [loch]}\n    department: tiefbau\n"
      "    priority: urgent\n    tags: [gefahr, nacht]\n");
  auto d = Route(*rs, At(2, 42));
  REQUIRE(d.forward);
  CHECK(d.forward->authority == "Kreis");
  CHECK(d.department == "service");  // the default department hands it over
  d = Route(*rs, Text("Loch"));
  CHECK(d.priority == "urgent");
  CHECK(d.tags == std::vector<std::string>{"gefahr", "nacht"});
  CHECK_FALSE(d.forward);
  d = Route(*rs, Text("nichts"));
  CHECK(d.rule_id.empty());
  CHECK(d.priority == "normal");
}

TEST_CASE("check: unknown names, bad values and unreachable rules, each with its line") {
  Config cfg = TestConfig();
  std::string err = LoadError(
      "  - id: a\n"                                     // 3
      "    department: tiefbau\n"
      "    when:\n"
      "      category_group: [Nirgendwo]\n"             // 6
      "      area: atlantis\n"                          // 7
      "      near: {point: strasse, within_m: 5}\n"     // 8
      "      channel: [fax]\n"                          // 9
      "      time: {from: \"25:00\", weekdays: [xx]}\n"  // 10
      "  - id: b\n"                                     // 11
      "    department: tiefbau\n"
      "    priority: sofort\n"                          // 13
      "    when:\n"
      "      near: {line: rathaus, within_m: 0}\n"     // 15
      "  - id: c\n"                                     // 16
      "    department: tiefbau\n"
      "    when: {keywords: [loch], has_photo: vielleicht}\n"  // 18
      "  - id: d\n"                                     // 19
      "    when: {keywords: [loch]}\n"
      "  - id: e\n"                                     // 21
      "    department: tiefbau\n"
      "    when: {area: rathaus, nicht: {}}\n"          // 23
      "  - id: f\n"                                     // 24
      "    department: licht\n"
      "    when: {keywords: [laterne]}\n"
      "  - id: g\n"                                     // 27
      "    department: tiefbau\n"
      "    when: {keywords: [laterne]}\n"
      "  - id: h\n"                                     // 30
      "    department: tiefbau\n"
      "  - id: i\n"                                     // 32
      "    department: tiefbau\n"
      "    when: {keywords: [x]}\n",
      &cfg);
  INFO(err);
  CHECK_THAT(err, Catch::Contains("r.yaml:6: rules[a].when.category_group: unknown category group"));
  CHECK_THAT(err, Catch::Contains("r.yaml:7: rules[a].when.area: unknown area \"atlantis\""));
  CHECK_THAT(err, Catch::Contains("r.yaml:8: rules[a].when.near.point: \"strasse\" contains no Point"));
  CHECK_THAT(err, Catch::Contains("r.yaml:9: rules[a].when.channel: unknown channel \"fax\""));
  CHECK_THAT(err, Catch::Contains("r.yaml:10: rules[a].when.time.from: must be \"HH:MM\""));
  CHECK_THAT(err, Catch::Contains("r.yaml:10: rules[a].when.time.weekdays: unknown weekday \"xx\""));
  CHECK_THAT(err, Catch::Contains("r.yaml:13: rules[b].priority: must be low, normal"));
  CHECK_THAT(err, Catch::Contains("r.yaml:15: rules[b].when.near.within_m: must be a number"));
  CHECK_THAT(err, Catch::Contains("r.yaml:18: rules[c].when.has_photo: must be true or false"));
  CHECK_THAT(err, Catch::Contains("r.yaml:19: rules[d]: needs a department or a forward"));
  CHECK_THAT(err, Catch::Contains("r.yaml:23: rules[e].when.area: \"rathaus\" is not an area"));
  CHECK_THAT(err, Catch::Contains("r.yaml:23: rules[e].when.nicht: unknown key"));
  CHECK_THAT(err, Catch::Contains("r.yaml:27: rules[g]: is unreachable: rule \"f\" (line 24) has "
                                  "the same condition"));
  CHECK_THAT(err, Catch::Contains("r.yaml:32: rules[i]: is unreachable: rule \"h\" (line 30) "
                                  "matches every report first"));
}

TEST_CASE("check: structural errors of conditions") {
  Config cfg = TestConfig();
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {all: []}\n", &cfg),
             Catch::Contains("r.yaml:5: rules[a].when.all: needs at least one condition"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {any: x}\n", &cfg),
             Catch::Contains("rules[a].when.any: must be a list"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {not: [x]}\n", &cfg),
             Catch::Contains("rules[a].when.not: must be a mapping"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {}\n", &cfg),
             Catch::Contains("has no condition"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {near: {line: strasse, "
                       "point: rathaus, within_m: 3}}\n", &cfg),
             Catch::Contains("needs exactly one of point or line"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {near: {point: [200, 1], "
                       "within_m: 3}}\n", &cfg),
             Catch::Contains("must be [lon, lat] in range"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when: {time: {from: \"10:00\", "
                       "to: \"10:00\"}}\n", &cfg),
             Catch::Contains("from and to are equal"));
  CHECK_THAT(LoadError("  - id: a\n    forward: {authority: X, email: nope}\n", &cfg),
             Catch::Contains("rules[a].forward.email: is not an e-mail address"));
  CHECK_THAT(LoadError("  - id: a\n    department: tiefbau\n    when:\n      keywords: [a\n", &cfg),
             Catch::Contains("(syntax)"));
}

TEST_CASE("explain: golden text and JSON for two reports") {
  auto rs = Rules(
      "  - id: ausserhalb\n"
      "    when:\n"
      "      all: [{has_location: true}, {not: {area: quadrat}}]\n"
      "    forward: {authority: Kreis, email: kreis@example.org}\n"
      "  - id: licht\n"
      "    when: {category: [BEL-01]}\n"
      "    department: licht\n"
      "  - id: loch-im-quadrat\n"
      "    when:\n"
      "      keywords: [schlagloch]\n"
      "      area: quadrat\n"
      "    department: tiefbau\n"
      "    priority: high\n");
  Report r = At(2, 42);
  r.text = "Tiefe Schlaglöcher";
  r.category = "STR-01";
  Explanation e = Explain(*rs, r);
  std::string text = ExplanationToText(e);
  std::string version = rs->version;
  CHECK(text ==
        "department:  tiefbau\n"
        "rule:        loch-im-quadrat\n"
        "category:    STR-01 (citizen)\n"
        "priority:    high\n"
        "rule set:    " + version + "\n"
        "conditions:\n"
        "  [held]   all of (text contains one of [schlagloch]; location in area quadrat)\n"
        "    [held]   text contains one of [schlagloch] — found [schlagloch]\n"
        "    [held]   location in area quadrat — 42.000000, 2.000000 inside quadrat\n"
        "earlier rules that did not match:\n"
        "  ausserhalb: not (location in area quadrat), but it held: 42.000000, 2.000000 inside "
        "quadrat\n"
        "  licht: category in [BEL-01]: STR-01 (chosen by the citizen)\n");
  nlohmann::json j = ExplanationToJson(e);
  CHECK(j["department"] == "tiefbau");
  CHECK(j["rule"] == "loch-im-quadrat");
  CHECK(j["category"] == "STR-01");
  CHECK(j["ruleset_version"] == version);
  CHECK(j["conditions"].size() == 3);
  CHECK(j["rejected"] == nlohmann::json::parse(R"j([
      {"rule": "ausserhalb", "reason": "not (location in area quadrat), but it held: 42.000000, 2.000000 inside quadrat"},
      {"rule": "licht", "reason": "category in [BEL-01]: STR-01 (chosen by the citizen)"}])j"));

  // No location, no category, nothing matches: the default department.
  e = Explain(*rs, Text("Hallo"));
  CHECK(ExplanationToText(e) ==
        "department:  service\n"
        "rule:        (none matched: default department)\n"
        "category:    (none)\n"
        "priority:    normal\n"
        "rule set:    " + version + "\n"
        "earlier rules that did not match:\n"
        "  ausserhalb: has a location: no location\n"
        "  licht: category in [BEL-01]: no category\n"
        "  loch-im-quadrat: text contains one of [schlagloch]: none found in \"Hallo\"\n");
  j = ExplanationToJson(e);
  CHECK(j["rule"].is_null());
  CHECK(j["conditions"].empty());
}

TEST_CASE("the example config: districts, the town boundary and the B 55") {
  auto cfg =
      LoadConfig(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
                 routing::Sections(), /*ignore_other_keys=*/true);
  REQUIRE(cfg.ok());
  auto start = std::chrono::steady_clock::now();
  auto rs = LoadRuleSet(cfg->Get<routing::Settings>().rules_file, &*cfg);
  REQUIRE(rs.ok());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  CHECK((*rs)->geometries.size() == cfg->Get<routing::Settings>().areas.size());
  // The test vectors' location: Oststadt, in town, away from the B 55.
  Report r = At(6.9602786, 50.937531);
  r.text = "Schlagloch auf der Fahrbahn";
  r.category = "STR-01";
  CHECK(Route(**rs, r).rule_id == "kategorie-tiefbau");
  Report outside = At(7.1, 50.9);
  outside.text = "Schlagloch";
  auto d = Route(**rs, outside);
  CHECK(d.rule_id == "ausserhalb-stadtgebiet");
  REQUIRE(d.forward);
  Report b55 = At(6.955, 50.9452);
  b55.category = "STR-01";
  CHECK(Route(**rs, b55).rule_id == "bundesstrasse-b55");
  Report park = At(6.968, 50.945);
  park.category = "GRU-01";
  CHECK(Route(**rs, park).rule_id == "baum-im-stadtpark");
  Report ice = At(6.975, 50.948);  // Altstadt, outside the park
  ice.category = "STR-03";
  ice.received_at = "2026-01-06T22:00:00.000Z";  // Tuesday 23:00 local
  CHECK(Route(**rs, ice).rule_id == "winterdienst-nachts-altstadt");
  ice.received_at = "2026-01-06T10:00:00.000Z";
  CHECK(Route(**rs, ice).rule_id == "kategorie-tiefbau");
}

}  // namespace language_test
