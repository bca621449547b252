// Re-routing after a hand-back: rules of excluded departments are skipped.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "routing/rules.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace exclusion_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

Config TestConfig() {
  Config c;
  for (const char* id : {"tiefbauamt", "strassenbeleuchtung", "buergerservice"}) {
    Department d;
    d.id = id;
    d.name = id;
    c.departments.push_back(d);
  }
  return c;
}

const char* kRules = R"(default_department: buergerservice
rules:
  - id: licht
    when:
      keywords: [laterne]
    department: strassenbeleuchtung
  - id: mast
    when:
      keywords: [laterne, mast]
    department: tiefbauamt
)";

Report WithText(std::string text) {
  Report r;
  r.text = std::move(text);
  return r;
}

}  // namespace

TEST_CASE("an excluded department's rules are skipped and the next matching rule wins") {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  Report r = WithText("Die Laterne vor Nr. 7 ist umgefahren");
  REQUIRE(Route(**rs, r).department == "strassenbeleuchtung");

  auto d = Route(**rs, r, {"strassenbeleuchtung"});
  CHECK(d.department == "tiefbauamt");
  CHECK(d.rule_id == "mast");
  CHECK(d.skipped_rules == std::vector<std::string>{"licht"});
  CHECK(d.excluded_departments == std::vector<std::string>{"strassenbeleuchtung"});
  CHECK_FALSE(d.default_excluded);
  auto j = DecisionToJson(d);
  CHECK(j["excluded"]["departments"] == nlohmann::json::array({"strassenbeleuchtung"}));
  CHECK(j["excluded"]["skipped_rules"] == nlohmann::json::array({"licht"}));

  SECTION("every candidate excluded: the default department") {
    auto both = Route(**rs, r, {"strassenbeleuchtung", "tiefbauamt"});
    CHECK(both.department == "buergerservice");
    CHECK(both.rule_id.empty());
    CHECK(both.skipped_rules == std::vector<std::string>{"licht", "mast"});
    CHECK_FALSE(both.default_excluded);
  }
  SECTION("the default department itself excluded is reported") {
    auto all = Route(**rs, r, {"strassenbeleuchtung", "tiefbauamt", "buergerservice"});
    CHECK(all.department == "buergerservice");
    CHECK(all.default_excluded);
  }
  SECTION("an exclusion of an unrelated department changes nothing but the record") {
    auto other = Route(**rs, r, {"umweltamt"});
    CHECK(other.department == "strassenbeleuchtung");
    CHECK(other.skipped_rules.empty());
  }
  SECTION("Explain names the excluded rule as the reason it was passed over") {
    auto e = Explain(**rs, r, {"strassenbeleuchtung"});
    CHECK(e.decision.department == "tiefbauamt");
    REQUIRE(e.rejected.size() == 1);
    CHECK(e.rejected[0].rule == "licht");
    CHECK(e.rejected[0].reason.find("strassenbeleuchtung is excluded") != std::string::npos);
    CHECK(ExplanationToText(e).find("excluded:    strassenbeleuchtung") != std::string::npos);
  }
}

TEST_CASE("without exclusions a decision records none") {
  Config cfg = TestConfig();
  auto rs = ParseRuleSet(kRules, "rules.yaml", &cfg);
  REQUIRE(rs.ok());
  auto d = Route(**rs, WithText("Laterne dunkel"));
  CHECK(d.excluded_departments.empty());
  CHECK_FALSE(DecisionToJson(d).contains("excluded"));
}

}  // namespace exclusion_test
