// The pure parts of `rules replay`: the aggregation, the output and the --since/--until parsing.
#include "workers/replay.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace meldestelle;
using namespace meldestelle::workers;

namespace {

routing::TimeZone Berlin() {
  auto tz = routing::TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  return *tz;
}

int64_t Parse(const std::string& s, bool end_of_day = false) {
  auto t = ParseReplayTime(s, Berlin(), end_of_day);
  INFO(s << ": " << (t ? "" : t.error().message));
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("replay dates: ISO 8601 dates are local midnight in the town's time zone") {
  // 2026-11-01 00:00 CET (+01:00) = 2026-10-31T23:00:00Z
  CHECK(FormatUnixSeconds(Parse("2026-11-01")) == "2026-10-31T23:00:00Z");
  // Summer time (+02:00).
  CHECK(FormatUnixSeconds(Parse("2026-07-01")) == "2026-06-30T22:00:00Z");
  // --until with a bare date includes the whole day.
  CHECK(FormatUnixSeconds(Parse("2026-11-30", true)) == "2026-11-30T23:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2024-02-29")) == "2024-02-28T23:00:00Z");
  // In UTC, midnight is midnight.
  auto utc = ParseReplayTime("2026-11-01", routing::TimeZone::Utc(), false);
  REQUIRE(utc.ok());
  CHECK(FormatUnixSeconds(*utc) == "2026-11-01T00:00:00Z");
}

TEST_CASE("replay dates: date-times with and without an offset") {
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00Z")) == "2026-11-01T08:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00.250z")) == "2026-11-01T08:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00+01:00")) == "2026-11-01T07:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00-0230")) == "2026-11-01T10:30:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00+05")) == "2026-11-01T03:00:00Z");
  // Without an offset: the town's local time; a space instead of T is accepted.
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00")) == "2026-11-01T07:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-07-01 08:00:00")) == "2026-07-01T06:00:00Z");
  // A date-time is exact even for --until.
  CHECK(Parse("2026-11-01T08:00:00Z", true) == Parse("2026-11-01T08:00:00Z"));
  CHECK(FormatUnixSeconds(Parse("2026-11-01T24:00Z")) == "2026-11-02T00:00:00Z");
  // Far dates stay exact (no nanosecond clock overflow).
  CHECK(FormatUnixSeconds(Parse("2999-01-01T00:00:00Z")) == "2999-01-01T00:00:00Z");
  CHECK(FormatUnixSeconds(Parse("1969-12-31T23:59:59Z")) == "1969-12-31T23:59:59Z");
  CHECK(FormatUnixSeconds(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("replay dates: bad values are refused with what was expected") {
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-02-29", "2026-11-31", "2026-1-01", "01.11.2026",
        "2026-11-01T", "2026-11-01T25:00", "2026-11-01T08:60", "2026-11-01T08:00:61Z",
        "2026-11-01T08:00Zx", "2026-11-01T08:00+1", "2026-11-01T08:00:00.Z",
        "2026-11-01T08:00:00+01:00:00", "2026-11-01T24:30Z", "2026-11-01X08:00"}) {
    auto t = ParseReplayTime(bad, Berlin(), false);
    INFO(bad);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == "usage");
    CHECK_THAT(t.error().message, Catch::Contains("ISO 8601"));
  }
}

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
