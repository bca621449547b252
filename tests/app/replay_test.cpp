// The pure parts of `rules replay`: the aggregation and the output.
#include "app/replay.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace replay_test {

using namespace meldestelle;
using namespace meldestelle::app;

namespace {

int64_t Parse(const std::string& s) {
  auto tz = routing::TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  auto t = routing::ParseTownTime(s, *tz, false);
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("replay aggregation counts per (from, to, rule) with a few examples of each move") {
  ReplayAggregate agg(2);
  agg.Add("tiefbauamt", "tiefbauamt", "kategorie-tiefbau", "AAAA");
  agg.Add("tiefbauamt", "gruenflaechenamt", "baum", "BBBB");
  agg.Add("tiefbauamt", "gruenflaechenamt", "baum", "CCCC");
  agg.Add("tiefbauamt", "gruenflaechenamt", "baum", "DDDD");
  agg.Add("ordnungsamt", "buergerservice", "", "EEEE");
  agg.Add("tiefbauamt", "tiefbauamt", "kategorie-tiefbau", "FFFF");
  agg.Add("tiefbauamt", "tiefbauamt", "other-rule", "GGGG");
  CHECK(agg.total() == 7);
  CHECK(agg.moved() == 4);
  CHECK(agg.unchanged() == 3);
  CHECK(agg.cells().size() == 4);
  const auto& same = agg.cells().at({"tiefbauamt", "tiefbauamt", "kategorie-tiefbau"});
  CHECK(same.count == 2);
  CHECK(same.examples.empty());  // examples only where something moves
  auto moves = agg.Moves();
  REQUIRE(moves.size() == 2);
  CHECK(moves[0].first == ReplayAggregate::Key{"tiefbauamt", "gruenflaechenamt", "baum"});
  CHECK(moves[0].second.count == 3);
  CHECK(moves[0].second.examples == std::vector<std::string>{"BBBB", "CCCC"});
  CHECK(moves[1].first == ReplayAggregate::Key{"ordnungsamt", "buergerservice", ""});
  CHECK(moves[1].second.examples == std::vector<std::string>{"EEEE"});
}

TEST_CASE("replay aggregation without examples keeps only counts") {
  ReplayAggregate agg(0);
  for (int i = 0; i < 10000; ++i) {
    agg.Add("a", i % 2 == 0 ? "b" : "a", "r", "REF");
  }
  CHECK(agg.total() == 10000);
  CHECK(agg.moved() == 5000);
  CHECK(agg.cells().size() == 2);
  CHECK(agg.Moves()[0].second.examples.empty());
}

TEST_CASE("replay output: JSON for tooling and a text table") {
  ReplayResult r{ReplayAggregate(3), "sha256:abc", Parse("2026-11-01"), std::nullopt, 2.0};
  r.aggregate.Add("tiefbauamt", "gruenflaechenamt", "baum", "BBBB");
  r.aggregate.Add("tiefbauamt", "gruenflaechenamt", "baum", "CCCC");
  r.aggregate.Add("ordnungsamt", "buergerservice", "", "EEEE");
  r.aggregate.Add("ordnungsamt", "ordnungsamt", "x", "FFFF");
  nlohmann::json j = ReplayToJson(r);
  CHECK(j["total"] == 4);
  CHECK(j["moved"] == 3);
  CHECK(j["unchanged"] == 1);
  CHECK(j["since"] == "2026-10-31T23:00:00Z");
  CHECK(j["until"].is_null());
  CHECK(j["reports_per_sec"] == 2);
  CHECK(j["ruleset_version"] == "sha256:abc");
  REQUIRE(j["moves"].size() == 2);
  CHECK(j["moves"][0]["from"] == "tiefbauamt");
  CHECK(j["moves"][0]["to"] == "gruenflaechenamt");
  CHECK(j["moves"][0]["rule"] == "baum");
  CHECK(j["moves"][0]["count"] == 2);
  CHECK(j["moves"][0]["examples"] == nlohmann::json::array({"BBBB", "CCCC"}));
  CHECK(j["moves"][1]["rule"].is_null());

  std::string text = ReplayToText(r);
  CHECK_THAT(text, Catch::Contains("unchanged: 1\n"));
  CHECK_THAT(text, Catch::Contains("moved:     3\n"));
  CHECK_THAT(text, Catch::Contains("from         to                rule       count  examples\n"));
  CHECK_THAT(text,
             Catch::Contains("tiefbauamt   gruenflaechenamt  baum           2  BBBB, CCCC\n"));
  CHECK_THAT(text, Catch::Contains("ordnungsamt  buergerservice    (default)      1  EEEE\n"));

  ReplayResult none{ReplayAggregate(3), "sha256:abc", std::nullopt, std::nullopt, 0};
  none.aggregate.Add("a", "a", "r", "X");
  CHECK_THAT(ReplayToText(none), Catch::Contains("no report would change its department"));
}

}  // namespace replay_test
