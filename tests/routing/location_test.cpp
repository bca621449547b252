// Location checks (docs/routing.md, "Location checks"): outside the town boundary, Grenzlage.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/config.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace location_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

std::filesystem::path TempDir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("meldestelle-location-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
  auto p = TempDir() / name;
  std::ofstream(p) << text;
  return p;
}

std::string Box(double lon0, double lon1) {
  std::ostringstream s;
  s.precision(10);
  s << R"({"type": "Polygon", "coordinates": [[[)" << lon0 << ", 50.0], [" << lon1 << ", 50.0], ["
    << lon1 << ", 50.01], [" << lon0 << ", 50.01], [" << lon0 << ", 50.0]]]}";
  return s.str();
}

// The town 8.000–8.020 × 50.000–50.010, three districts side by side: west 8.000–8.010,
// mitte 8.010–8.015, ost 8.015–8.020. West and mitte go to tiefbau, ost to licht.
// 0.0001° of longitude at 50° N is about 7.2 m.
Config TestConfig() {
  Config c;
  c.file = "test.yaml";
  c.departments = {{"tiefbau", "Tiefbau", ""}, {"licht", "Licht", ""}, {"service", "Service", ""}};
  c.Set<routing::Settings>().areas = {{"stadt", WriteFile("stadt.geojson", Box(8.0, 8.02)), 10},
                                      {"west", WriteFile("west.geojson", Box(8.0, 8.01)), 11},
                                      {"mitte", WriteFile("mitte.geojson", Box(8.01, 8.015)), 12},
                                      {"ost", WriteFile("ost.geojson", Box(8.015, 8.02)), 13},
                                      {"weg", WriteFile("weg.geojson", R"({"type": "LineString",
                        "coordinates": [[8.0, 50.0], [8.02, 50.01]]})"),
                                       14}};
  c.Set<routing::Settings>().town_area = "stadt";
  c.Set<routing::Settings>().town_area_line = 20;
  c.Set<routing::Settings>().districts = {"west", "mitte", "ost"};
  c.Set<routing::Settings>().districts_line = 21;
  c.Set<routing::Settings>().border_distance_m = 25;
  return c;
}

const char* kRules = R"(default_department: service
rules:
  - id: ost
    when: {area: ost}
    department: licht
  - id: west-mitte
    when:
      any: [{area: west}, {area: mitte}]
    department: tiefbau
)";

Report At(double lon, double lat) {
  Report r;
  r.text = "Schaden";
  r.location.lon = lon;
  r.location.lat = lat;
  return r;
}

std::shared_ptr<const RuleSet> Load(const Config& cfg) {
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  INFO((rs.ok() ? std::string() : rs.error().message));
  REQUIRE(rs.ok());
  return *rs;
}

bool HasFlag(const Decision& d, const std::string& flag) {
  for (const auto& f : d.flags) {
    if (f == flag) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("outside the town with action forward: forwarded before any rule") {
  Config cfg = TestConfig();
  cfg.Set<routing::Settings>().outside = {"forward", "Kreisverwaltung", "kreis@example.org", "",
                                          22};
  auto rs = Load(cfg);
  auto e = Explain(*rs, At(8.03, 50.005));
  const Decision& d = e.decision;
  REQUIRE(d.forward);
  CHECK(d.forward->authority == "Kreisverwaltung");
  CHECK(d.forward->email == "kreis@example.org");
  CHECK(d.department == "service");
  CHECK(d.rule_id.empty());
  CHECK(e.rejected.empty());
  CHECK(HasFlag(d, kFlagOutside));
  CHECK_FALSE(d.needs_location_confirmation);
  REQUIRE(d.location);
  CHECK(d.location->outside);
  CHECK(d.location->action == "forward");
  auto j = DecisionToJson(d);
  CHECK(j["location"]["outside"] == true);
  CHECK(j["location"]["action"] == "forward");
  CHECK(j["location"]["town_area"] == "stadt");
  CHECK(j["forward"]["authority"] == "Kreisverwaltung");
  CHECK_THAT(ExplanationToText(e), Catch::Contains("location:    outside stadt (action forward)"));
  CHECK(Route(*rs, At(8.03, 50.005)).forward.has_value());
}

TEST_CASE("outside the town with action ask: flagged, routed by the rules") {
  Config cfg = TestConfig();
  cfg.Set<routing::Settings>().outside = {"ask", "", "", "Liegt der Ort wirklich in Musterstadt?",
                                          22};
  auto rs = Load(cfg);
  Decision d = Route(*rs, At(8.03, 50.005));
  CHECK_FALSE(d.forward);
  CHECK(d.department == "service");
  CHECK(d.needs_location_confirmation);
  CHECK(HasFlag(d, kFlagOutside));
  REQUIRE(d.location);
  CHECK(d.location->message == "Liegt der Ort wirklich in Musterstadt?");
  auto j = DecisionToJson(d);
  CHECK(j["needs_location_confirmation"] == true);
  CHECK(j["location"]["message"] == "Liegt der Ort wirklich in Musterstadt?");
  CHECK_THAT(ExplanationToText(Explain(*rs, At(8.03, 50.005))),
             Catch::Contains("ask citizen: Liegt der Ort wirklich in Musterstadt?"));
}

TEST_CASE("inside the town and without a location: no outside response") {
  Config cfg = TestConfig();
  cfg.Set<routing::Settings>().outside = {"forward", "Kreisverwaltung", "kreis@example.org", "",
                                          22};
  auto rs = Load(cfg);
  Decision d = Route(*rs, At(8.005, 50.005));
  CHECK_FALSE(d.forward);
  CHECK(d.department == "tiefbau");
  CHECK(d.rule_id == "west-mitte");
  REQUIRE(d.location);
  CHECK_FALSE(d.location->outside);
  CHECK(d.location->district.empty());  // not near two districts: not looked up
  CHECK(d.flags.empty());

  Report none;
  none.text = "Schaden";
  d = Route(*rs, none);
  CHECK_FALSE(d.forward);
  CHECK_FALSE(d.location);
  CHECK(d.department == "service");
  CHECK(d.flags.empty());
  CHECK(DecisionToJson(d)["location"].is_null());
}

TEST_CASE("Grenzlage: near a boundary to a district with another department") {
  Config cfg = TestConfig();
  auto rs = Load(cfg);
  // 7 m west of the mitte/ost boundary.
  auto e = Explain(*rs, At(8.0149, 50.005));
  const Decision& d = e.decision;
  CHECK(d.department == "tiefbau");
  CHECK(HasFlag(d, kFlagBorder));
  REQUIRE(d.location);
  REQUIRE(d.location->grenzlage.size() == 1);
  const auto& b = d.location->grenzlage[0];
  CHECK(b.district == "mitte");
  CHECK(b.department == "tiefbau");
  CHECK(b.neighbour == "ost");
  CHECK(b.neighbour_department == "licht");
  CHECK(b.distance_m == Approx(7.16).margin(0.1));
  auto j = DecisionToJson(d);
  CHECK(j["flags"] == nlohmann::json::array({"Grenzlage"}));
  CHECK(j["location"]["grenzlage"][0]["neighbour_department"] == "licht");
  CHECK_THAT(ExplanationToText(e), Catch::Contains("grenzlage:   mitte → tiefbau, 7.1 m from ost → licht"));
  // And from the other side.
  Decision other = Route(*rs, At(8.0151, 50.005));
  CHECK(other.department == "licht");
  REQUIRE(other.location);
  REQUIRE(other.location->grenzlage.size() == 1);
  CHECK(other.location->grenzlage[0].neighbour == "mitte");
  CHECK(other.location->grenzlage[0].neighbour_department == "tiefbau");
  // On the boundary itself (it belongs to both; the first district listed is "home").
  Decision on = Route(*rs, At(8.015, 50.005));
  CHECK(on.department == "licht");  // rule "ost" comes first
  CHECK(HasFlag(on, kFlagBorder));
  REQUIRE(on.location);
  REQUIRE(on.location->grenzlage.size() == 1);
  CHECK(on.location->grenzlage[0].district == "ost");
  CHECK(on.location->grenzlage[0].neighbour == "mitte");
  CHECK(on.location->grenzlage[0].neighbour_department == "tiefbau");
}

TEST_CASE("Grenzlage: not flagged when both sides give the same department, or far away") {
  Config cfg = TestConfig();
  auto rs = Load(cfg);
  Decision same = Route(*rs, At(8.0099, 50.005));  // 7 m from the west/mitte boundary
  CHECK(same.department == "tiefbau");
  CHECK_FALSE(HasFlag(same, kFlagBorder));
  REQUIRE(same.location);
  CHECK(same.location->grenzlage.empty());
  Decision far = Route(*rs, At(8.0145, 50.005));  // 36 m from ost
  CHECK_FALSE(HasFlag(far, kFlagBorder));
  CHECK(far.location->district.empty());  // the bounding-box prefilter rejected it
  cfg.Set<routing::Settings>().border_distance_m = 40;
  CHECK(HasFlag(Route(*Load(cfg), At(8.0145, 50.005)), kFlagBorder));
  cfg.Set<routing::Settings>().border_distance_m = 0;  // off
  CHECK_FALSE(HasFlag(Route(*Load(cfg), At(8.0149, 50.005)), kFlagBorder));
  cfg.Set<routing::Settings>().districts.clear();
  CHECK_FALSE(HasFlag(Route(*Load(cfg), At(8.0149, 50.005)), kFlagBorder));
}

TEST_CASE("location check areas that are not polygons are refused with the config line") {
  Config cfg = TestConfig();
  cfg.Set<routing::Settings>().town_area = "weg";
  cfg.Set<routing::Settings>().districts = {"west", "weg"};
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE_FALSE(rs.ok());
  CHECK_THAT(rs.error().message,
             Catch::Contains("test.yaml:20: routing.town_area: \"weg\" is not an area"));
  CHECK_THAT(rs.error().message,
             Catch::Contains("test.yaml:21: routing.districts: \"weg\" is not an area"));
}

TEST_CASE("config: location check keys are validated with file and line") {
  std::ifstream in(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  // The example's own location check keys are replaced by the ones under test.
  std::string text;
  for (std::string line; std::getline(ss, line);) {
    if (line.rfind("  town_area:", 0) != 0 && line.rfind("  districts:", 0) != 0 &&
        line.rfind("  border_distance_m:", 0) != 0) {
      text += line + "\n";
    }
  }
  auto at = text.find("\n  areas:\n");
  REQUIRE(at != std::string::npos);
  auto with = [&](const std::string& keys) {
    std::string t = text;
    t.insert(at + 1, keys);
    auto p = WriteFile("meldestelle.yaml", t);
    return LoadConfig(p, routing::Sections(), /*ignore_other_keys=*/true);
  };
  auto ok = with(
      "  town_area: stadtgebiet\n"
      "  outside: {action: ask, message: \"Wo genau?\"}\n"
      "  districts: [nordstadt, altstadt]\n"
      "  border_distance_m: 30\n");
  INFO((ok.ok() ? std::string() : ok.error().message));
  REQUIRE(ok.ok());
  CHECK(ok->Get<routing::Settings>().town_area == "stadtgebiet");
  CHECK(ok->Get<routing::Settings>().outside.action == "ask");
  CHECK(ok->Get<routing::Settings>().districts ==
        std::vector<std::string>{"nordstadt", "altstadt"});
  CHECK(ok->Get<routing::Settings>().border_distance_m == 30);

  auto bad = with(
      "  town_area: mond\n"
      "  outside: {action: ignore}\n"
      "  districts: [nordstadt, westend]\n"
      "  border_distance_m: -5\n");
  REQUIRE_FALSE(bad.ok());
  const std::string& err = bad.error().message;
  CHECK_THAT(err, Catch::Matches(R"((.|\n)*meldestelle\.yaml:\d+: routing\.town_area: unknown area "mond"(.|\n)*)"));
  CHECK_THAT(err, Catch::Contains("routing.outside.action: must be forward or ask"));
  CHECK_THAT(err, Catch::Contains("routing.districts: unknown area \"westend\""));
  CHECK_THAT(err, Catch::Contains("routing.border_distance_m: must be between 0 and 1000"));

  auto forward = with("  town_area: stadtgebiet\n  outside: {action: forward}\n");
  REQUIRE_FALSE(forward.ok());
  CHECK_THAT(forward.error().message,
             Catch::Contains("routing.outside.authority: is required for action forward"));
  CHECK_THAT(forward.error().message, Catch::Contains("routing.outside.email:"));

  auto no_town = with("  outside: {action: ask}\n");
  REQUIRE_FALSE(no_town.ok());
  CHECK_THAT(no_town.error().message, Catch::Contains("needs routing.town_area"));
}

}  // namespace location_test
