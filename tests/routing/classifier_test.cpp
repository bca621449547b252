#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace classifier_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

Config ClassifierConfig() {
  Config c;
  c.departments = {{"tiefbauamt", "Tiefbauamt", ""},
                   {"strassenbeleuchtung", "Straßenbeleuchtung", ""},
                   {"buergerservice", "Bürgerservice", ""}};
  c.categories = {
      {"STR-01",
       "Schlagloch",
       "Straße",
       {{"schlagloch", 2, 0}, {"fahrbahn"}, {"loch in der straße", 3, 0}},
       {}},
      {"BEL-01", "Laterne", "Licht", {{"laterne", 2, 0}, {"Laternen"}, {"dunkel"}}, {}},
      {"SON-01", "Sonstiges", "Sonstiges", {}, {}},
  };
  return c;
}

const char* kRules = R"(default_department: buergerservice
rules:
  - id: kategorie-strasse
    when: {category: [STR-01]}
    department: tiefbauamt
  - id: kategorie-licht
    when: {category_group: [Licht]}
    department: strassenbeleuchtung
)";

Report Text(std::string text, std::string category = "") {
  Report r;
  r.text = std::move(text);
  r.category = std::move(category);
  return r;
}

}  // namespace

TEST_CASE("the classifier infers the category and rules see it") {
  Config cfg = ClassifierConfig();
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  auto d = Route(**rs, Text("Riesiges Loch in der Strasse, die Fahrbahn ist kaputt"));
  CHECK(d.category == "STR-01");
  CHECK(d.category_source == "classifier");
  CHECK(d.rule_id == "kategorie-strasse");
  CHECK(d.department == "tiefbauamt");
  CHECK(d.flags.empty());
  REQUIRE(d.classification);
  CHECK(d.classification->confidence == 1.0);
  REQUIRE(d.classification->top.size() == 1);
  CHECK(d.classification->top[0].score == 4.0);
  CHECK(d.classification->top[0].keywords ==
        std::vector<std::string>{"fahrbahn", "loch in der straße"});
  REQUIRE(d.conditions.size() == 1);
  CHECK(d.conditions[0].seen == "STR-01 (classifier, confidence 1.00)");

  // Category groups see the inferred category too.
  d = Route(**rs, Text("Die LATERNEN sind dunkel"));
  CHECK(d.rule_id == "kategorie-licht");
  // "laterne" and "Laternen" have one normal form: counted once, with the higher weight.
  CHECK(d.classification->top[0].score == 3.0);
}

TEST_CASE("the citizen's category wins and the classifier does not run") {
  Config cfg = ClassifierConfig();
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  auto d = Route(**rs, Text("Laterne dunkel", "STR-01"));
  CHECK(d.category == "STR-01");
  CHECK(d.category_source == "citizen");
  CHECK_FALSE(d.classification);
  CHECK(d.flags.empty());
}

TEST_CASE("below the threshold: no category, flagged, default department") {
  Config cfg = ClassifierConfig();
  cfg.Set<routing::ClassifierSettings>().min_confidence = 0.7;
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  // Schlagloch 2 vs. Laterne 2: a tie is never decided.
  auto d = Route(**rs, Text("Schlagloch unter der Laterne"));
  CHECK(d.category.empty());
  CHECK(d.category_source == "none");
  CHECK(d.department == "buergerservice");
  CHECK(d.flags == std::vector<std::string>{kFlagCategoryUncertain});
  REQUIRE(d.classification);
  CHECK(d.classification->confidence == 0.5);
  CHECK(d.classification->top.size() == 2);
  // 3 vs. 2 = 0.6 < 0.7.
  d = Route(**rs, Text("Schlagloch auf der Fahrbahn unter der Laterne"));
  CHECK(d.category.empty());
  CHECK(d.classification->confidence == Approx(0.6));
  // 4 vs. 1 = 0.8.
  d = Route(**rs, Text("Schlagloch auf der Fahrbahn, es ist dunkel"));
  CHECK(d.category == "STR-01");
  // Nothing found at all, and empty text: unsure as well.
  for (const char* text : {"Bitte rufen Sie zurück", ""}) {
    d = Route(**rs, Text(text));
    CHECK(d.category.empty());
    CHECK(d.flags == std::vector<std::string>{kFlagCategoryUncertain});
    CHECK(d.classification->top.empty());
    CHECK(d.classification->confidence == 0);
  }
  // min_score: one weight-1 keyword is not enough when two are required.
  cfg.Set<routing::ClassifierSettings>().min_confidence = 0.5;
  cfg.Set<routing::ClassifierSettings>().min_score = 2;
  rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  CHECK(Route(**rs, Text("Fahrbahn kaputt")).category.empty());
  CHECK(Route(**rs, Text("Fahrbahn kaputt, Schlagloch")).category == "STR-01");
}

TEST_CASE("without keywords in the config the classifier is off: no flag") {
  Config cfg = ClassifierConfig();
  for (auto& c : cfg.categories) {
    c.keywords.clear();
  }
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  auto d = Route(**rs, Text("Schlagloch"));
  CHECK(d.category.empty());
  CHECK(d.category_source == "none");
  CHECK_FALSE(d.classification);
  CHECK(d.flags.empty());
}

TEST_CASE("the explanation records the category source, the top 3 scores and the keywords") {
  Config cfg = ClassifierConfig();
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE(rs.ok());
  auto e = Explain(**rs, Text("Laterne dunkel, Schlagloch auf der Fahrbahn"));
  // STR-01: 2 + 1 = 3, BEL-01: 2 + 1 = 3 → tie, unsure.
  std::string text = ExplanationToText(e);
  CHECK_THAT(text, Catch::Contains("category:    (none)\n"));
  CHECK_THAT(text, Catch::Contains("classifier:  confidence 0.50: STR-01 3 [schlagloch, fahrbahn], "
                                   "BEL-01 3 [laterne, dunkel]\n"));
  CHECK_THAT(text, Catch::Contains("flags:       Kategorie unsicher\n"));
  CHECK_THAT(text, Catch::Contains("kategorie-strasse: category in [STR-01]: no category "
                                   "(Kategorie unsicher)"));
  auto j = ExplanationToJson(e);
  CHECK(j["category_source"] == "none");
  CHECK(j["flags"] == nlohmann::json::array({"Kategorie unsicher"}));
  CHECK(j["classifier"]["category"].is_null());
  CHECK(j["classifier"]["confidence"] == 0.5);
  CHECK(j["classifier"]["scores"][0] ==
        nlohmann::json::parse(R"({"category": "STR-01", "score": 3.0,
                                  "keywords": ["schlagloch", "fahrbahn"]})"));

  j = DecisionToJson(Route(**rs, Text("Schlagloch")));
  CHECK(j["category"] == "STR-01");
  CHECK(j["category_source"] == "classifier");
  CHECK(j["classifier"]["category"] == "STR-01");
  CHECK(j["flags"].empty());
}

TEST_CASE("config keywords that normalise to nothing are refused with their line") {
  Config cfg = ClassifierConfig();
  cfg.file = "m.yaml";
  cfg.categories[0].keywords.push_back({"--", 1, 42});
  auto rs = ParseRuleSet(kRules, "r.yaml", &cfg);
  REQUIRE_FALSE(rs.ok());
  CHECK_THAT(rs.error().message, Catch::Contains("m.yaml:42: categories[STR-01].keywords: keyword "
                                                 "\"--\" is empty after normalisation"));
}

}  // namespace classifier_test
