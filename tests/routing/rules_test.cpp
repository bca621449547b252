#include "routing/rules.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/config.hpp"
#include "routing/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace rules_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

Config TestConfig() {
  Config c;
  c.departments = {{"tiefbauamt", "Tiefbauamt", ""},
                   {"strassenbeleuchtung", "Straßenbeleuchtung", ""},
                   {"buergerservice", "Bürgerservice", ""}};
  c.categories = {{"STR-01", "Schlagloch", "Straße", {}, {}},
                  {"BEL-01", "Laterne", "Licht", {}, {}}};
  return c;
}

const char* kRules = R"(default_department: buergerservice
rules:
  - id: schlagloch-kategorie
    when:
      category: [STR-01]
    department: tiefbauamt
  - id: licht-stichwort
    description: Laternen ohne Kategorie
    when:
      keywords: [laterne, "straßen-beleuchtung"]
    department: strassenbeleuchtung
  - id: schlagloch-stichwort
    when:
      keywords: [schlagloch]
    department: tiefbauamt
)";

Report WithText(std::string text, std::string category = "") {
  Report r;
  r.text = std::move(text);
  r.category = std::move(category);
  return r;
}

}  // namespace

TEST_CASE("first matching rule wins, otherwise the default department") {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  auto d = Route(**rs, WithText("Laterne flackert", "STR-01"));
  CHECK(d.department == "tiefbauamt");
  CHECK(d.rule_id == "schlagloch-kategorie");
  CHECK(d.matched_category);
  d = Route(**rs, WithText("Die LATERNEN vor Nr. 7 sind dunkel"));
  CHECK(d.department == "strassenbeleuchtung");
  CHECK(d.matched_keywords == std::vector<std::string>{"laterne"});
  d = Route(**rs, WithText("Irgendwas anderes"));
  CHECK(d.department == "buergerservice");
  CHECK(d.rule_id.empty());
  CHECK(d.ruleset_version.rfind("sha256:", 0) == 0);
}

TEST_CASE("keywords match regardless of case, umlauts and ß") {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  CHECK(Route(**rs, WithText("SCHLAGLOCH!")).department == "tiefbauamt");
  CHECK(Route(**rs, WithText("Die Strassen-Beleuchtung ist aus")).department ==
        "strassenbeleuchtung");
  CHECK(Route(**rs, WithText("Die Straßenbeleuchtung ist aus")).department == "buergerservice");
  CHECK(ContainsKeyword("gruene flaeche", "flaeche"));
  CHECK_FALSE(ContainsKeyword("strasse", "rasse"));
  CHECK_FALSE(ContainsKeyword("", "a"));
}

TEST_CASE("the version is a hash of the file, so any change shows") {
  auto a = ParseRuleSet(kRules, "a", nullptr);
  auto b = ParseRuleSet(std::string(kRules) + "\n", "b", nullptr);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->version != (*b)->version);
}

TEST_CASE("a key given twice in a rule is refused with both lines") {
  Config cfg = TestConfig();
  const char* twice = R"(default_department: tiefbauamt
rules:
  - id: a
    when:
      keywords: [loch]
    department: tiefbauamt
    department: ordnungsamt
)";
  auto rs = ParseRuleSet(twice, "rules.yaml", &cfg);
  REQUIRE_FALSE(rs.ok());
  CHECK_THAT(rs.error().message,
             Catch::Contains("rules.yaml:7: rules[].department: given twice in the same mapping "
                             "(first on line 6)"));
}

TEST_CASE("rule check reports every problem with its line") {
  Config cfg = TestConfig();
  const char* bad = R"(default_department: nirgendwo
rules:
  - id: Doppelt Leer
    department: tiefbauamt
  - id: a
    when:
      category: [XXX-01]
      keyword: [tippfehler]
    department: unbekannt
  - id: a
    when:
      keywords: ["!!!"]
    department: tiefbauamt
  - department: tiefbauamt
extra: 1
)";
  auto rs = ParseRuleSet(bad, "rules.yaml", &cfg);
  REQUIRE_FALSE(rs.ok());
  const std::string& m = rs.error().message;
  CHECK_THAT(m, Catch::Contains("rules.yaml:1: default_department: unknown department"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:3: rules[Doppelt Leer].id: must match"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:8: rules[a].when.keyword: unknown key"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:7: rules[a].when.category: unknown category"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:9: rules[a].department: unknown department"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:10: rules[a].id: duplicate rule id"));
  CHECK_THAT(m, Catch::Contains("is empty after normalisation"));
  CHECK_THAT(m, Catch::Contains("is unreachable"));
  CHECK_THAT(m, Catch::Contains("rules[].id: is required"));
  CHECK_THAT(m, Catch::Contains("rules.yaml:15: extra: unknown key"));
}

TEST_CASE("broken rule files are refused") {
  CHECK_FALSE(ParseRuleSet("", "r", nullptr).ok());
  CHECK_FALSE(ParseRuleSet("rules: [", "r", nullptr).ok());
  CHECK_FALSE(ParseRuleSet("- a\n- b\n", "r", nullptr).ok());
  CHECK_FALSE(ParseRuleSet("default_department: x\nrules: {}\n", "r", nullptr).ok());
  CHECK_FALSE(LoadRuleSet("/nonexistent.yaml", nullptr).ok());
}

TEST_CASE("the example rules load against the example config and route the vectors") {
  auto cfg =
      LoadConfig(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
                 routing::Sections(), /*ignore_other_keys=*/true);
  REQUIRE(cfg.ok());
  auto rs = LoadRuleSet(cfg->Get<routing::Settings>().rules_file, &*cfg);
  REQUIRE(rs.ok());
  CHECK(Route(**rs, WithText("Schlagloch auf der Fahrbahn, ca. 40 cm breit.", "STR-01"))
            .department == "tiefbauamt");
  CHECK(Route(**rs, WithText("Laterne vor Hausnummer 7 brennt nicht")).department ==
        "strassenbeleuchtung");
}

TEST_CASE("FirstMatch picks the rule Route picks, without an explanation") {
  auto cfg =
      LoadConfig(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
                 routing::Sections(), /*ignore_other_keys=*/true);
  REQUIRE(cfg.ok());
  auto rs = LoadRuleSet(cfg->Get<routing::Settings>().rules_file, &*cfg);
  REQUIRE(rs.ok());
  std::vector<Report> reports = {
      WithText("Schlagloch auf der Fahrbahn", "STR-01"), WithText("Laterne brennt nicht"),
      WithText("Graffiti an der Schule"), WithText("Irgendwas ganz anderes"), WithText("")};
  Report outside = WithText("Schlagloch");  // outside the town: a forward
  outside.location.lat = 51.5;
  outside.location.lon = 7.5;
  reports.push_back(outside);
  for (const auto& r : reports) {
    INFO(r.text);
    Decision d = Route(**rs, r);
    const Rule* rule = FirstMatch(**rs, r);
    CHECK((rule == nullptr ? std::string() : rule->id) == d.rule_id);
    CHECK((rule == nullptr ? (*rs)->default_department : rule->department) == d.department);
  }
  const Rule* fwd = FirstMatch(**rs, outside);
  REQUIRE(fwd != nullptr);
  CHECK(fwd->forward.has_value());
  CHECK(FirstMatch(**rs, WithText("Irgendwas ganz anderes")) == nullptr);
}

}  // namespace rules_test
