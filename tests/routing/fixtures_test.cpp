// The operator's fixture file (rules-tests.yaml): parsing, running, failure lists.
#include "routing/fixtures.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "routing/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace fixtures_test {

using namespace meldestelle;
using namespace meldestelle::routing;
namespace fs = std::filesystem;

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

const char* kRules =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: schlagloch\n"
    "    when: {keywords: [schlagloch]}\n"
    "    department: tiefbauamt\n"
    "  - id: laterne\n"
    "    when: {any: [{category: [BEL-01]}, {keywords: [laterne]}]}\n"
    "    department: strassenbeleuchtung\n";

// A scratch directory for file-based tests, removed at the end.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("fixtures-test-" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

}  // namespace

TEST_CASE("a fixture file is a list of report and expected department or rule") {
  Config cfg = TestConfig();
  auto cases = ParseFixtures(
      "- report: {description: Schlaglöcher, channel: email}\n"
      "  expect: {department: tiefbauamt, rule: schlagloch}\n"
      "- report: {category: BEL-01, lat: 50.9, lon: 6.9, has_photo: true}\n"
      "  expect: {department: strassenbeleuchtung}\n"
      "- report: {description: etwas}\n"
      "  expect: {rule: default}\n",
      "t.yaml", &cfg);
  REQUIRE(cases.ok());
  REQUIRE(cases->size() == 3);
  CHECK((*cases)[0].line == 1);
  CHECK((*cases)[0].report.channel == "email");
  CHECK((*cases)[1].line == 3);
  CHECK((*cases)[1].report.channel == "webform");  // the default
  CHECK((*cases)[1].report.location.lat == Approx(50.9));
  CHECK((*cases)[1].report.attachments.size() == 1);
  CHECK_FALSE((*cases)[0].report.received_at.empty());
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  CHECK(RunFixtures(**rs, *cases).empty());
}

TEST_CASE("a failing fixture names its line, what was expected and what matched") {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  auto cases = ParseFixtures(
      "- report: {description: Schlagloch}\n"
      "  expect: {department: tiefbauamt}\n"
      "- report: {description: Laterne kaputt}\n"
      "  expect: {department: tiefbauamt}\n"
      "- report: {description: Schlagloch neben der Laterne}\n"
      "  expect: {department: tiefbauamt, rule: laterne}\n"
      "- report: {description: nichts}\n"
      "  expect: {department: tiefbauamt}\n",
      "rules-tests.yaml", &cfg);
  REQUIRE(cases.ok());
  auto failures = RunFixtures(**rs, *cases);
  REQUIRE(failures.size() == 3);
  std::string text = DescribeFailures("rules-tests.yaml", failures);
  CHECK_THAT(text,
             Catch::Contains("rules-tests.yaml:3: case 2: expected department tiefbauamt, "
                             "got strassenbeleuchtung (rule laterne) for \"Laterne kaputt\""));
  CHECK_THAT(text, Catch::Contains("rules-tests.yaml:5: case 3: expected department tiefbauamt "
                                   "(rule laterne), got tiefbauamt (rule schlagloch)"));
  CHECK_THAT(text, Catch::Contains("rules-tests.yaml:7: case 4: expected department tiefbauamt, "
                                   "got buergerservice (no rule matched: default department)"));
  CHECK(text.find("case 1:") == std::string::npos);
}

TEST_CASE("fixture file errors are reported with line and key") {
  Config cfg = TestConfig();
  auto bad = ParseFixtures(
      "- report: {description: a, colour: red}\n"
      "  expect: {department: tiefbauamt}\n"
      "- report: {description: a, category: NOPE-01, lat: 95, lon: 6}\n"
      "  expect: {department: nowhere}\n"
      "- report: {description: a}\n"
      "- report: {description: a, lat: 50}\n"
      "  expect: {}\n",
      "t.yaml", &cfg);
  REQUIRE_FALSE(bad.ok());
  const std::string& m = bad.error().message;
  CHECK_THAT(m, Catch::Contains("t.yaml:1:"));
  CHECK_THAT(m, Catch::Contains("colour"));
  CHECK_THAT(m, Catch::Contains("unknown category \"NOPE-01\""));
  CHECK_THAT(m, Catch::Contains("[2].report.lat: must be a number in range"));
  CHECK_THAT(m, Catch::Contains("unknown department \"nowhere\""));
  CHECK_THAT(m, Catch::Contains("[3].expect: is required"));
  CHECK_THAT(m, Catch::Contains("lat and lon go together"));
  CHECK_THAT(m, Catch::Contains("needs a department or a rule"));
  CHECK_FALSE(ParseFixtures("report: x\n", "t.yaml", &cfg).ok());
  CHECK_FALSE(ParseFixtures("- [", "t.yaml", &cfg).ok());
  CHECK_FALSE(LoadFixtures("/nonexistent-tests.yaml", &cfg).ok());
}

TEST_CASE("the full check runs the fixture file beside the rules") {
  Config cfg = TestConfig();
  TempDir dir;
  fs::path rules = dir.Write("rules.yaml", kRules);
  CHECK(FixturesBeside(rules) == dir.path / "rules-tests.yaml");
  CHECK(FixturesBeside(dir.path / "rules.candidate.yaml") ==
        dir.path / "rules.candidate-tests.yaml");
  size_t n = 99;
  SECTION("without a fixture file only the rules are checked") {
    REQUIRE(LoadCheckedRuleSet(rules, &cfg, {}, &n).ok());
    CHECK(n == 0);
  }
  SECTION("passing fixtures") {
    dir.Write("rules-tests.yaml",
              "- report: {description: Schlagloch}\n  expect: {department: tiefbauamt}\n");
    REQUIRE(LoadCheckedRuleSet(rules, &cfg, {}, &n).ok());
    CHECK(n == 1);
  }
  SECTION("a failing fixture fails the check with the list") {
    dir.Write("rules-tests.yaml",
              "- report: {description: Schlagloch}\n  expect: {department: tiefbauamt}\n"
              "- report: {description: Laterne}\n  expect: {department: tiefbauamt}\n");
    auto r = LoadCheckedRuleSet(rules, &cfg, {}, &n);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code.name() == "fixtures_failed");
    CHECK_THAT(r.error().message, Catch::Contains("rules-tests.yaml:3: case 2"));
    CHECK_THAT(r.error().message, Catch::Contains("1 of 2 fixture(s) failed"));
  }
  SECTION("an explicit fixture file must exist") {
    CHECK_FALSE(LoadCheckedRuleSet(rules, &cfg, dir.path / "missing.yaml").ok());
  }
}

TEST_CASE("the example fixtures pass with the example rules") {
  auto cfg = LoadConfig(fs::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
                        routing::Sections(), /*ignore_other_keys=*/true);
  REQUIRE(cfg.ok());
  size_t n = 0;
  auto rs = LoadCheckedRuleSet(cfg->Get<routing::Settings>().rules_file, &*cfg, {}, &n);
  INFO((rs.ok() ? "" : rs.error().message));
  REQUIRE(rs.ok());
  CHECK(n >= 15);
}

}  // namespace fixtures_test
