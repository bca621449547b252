// The pure parts of `meldestelle stats`: order, durations, the table and the JSON.
#include "tickets/quality.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace quality_test {

using namespace meldestelle::tickets;

namespace {

QualityRow Row(std::string key, int64_t routed, int64_t handed_back) {
  QualityRow r;
  r.key = std::move(key);
  r.routed = routed;
  r.handed_back = handed_back;
  return r;
}

}  // namespace

TEST_CASE("quality rows are sorted by misroute rate, then by size") {
  std::vector<QualityRow> rows = {Row("a", 10, 1), Row("b", 4, 2), Row("c", 20, 2), Row("d", 0, 0),
                                  Row("e", 8, 4)};
  SortByMisrouteRate(rows);
  std::vector<std::string> keys;
  for (const auto& r : rows)
    keys.push_back(r.key);
  // b and e both 50 %: more tickets first; a and c both 10 %: c first.
  CHECK(keys == std::vector<std::string>{"e", "b", "c", "a", "d"});
  CHECK(rows[4].MisrouteRate() == 0.0);  // no tickets: no division by zero
}

TEST_CASE("durations are shown in the largest sensible unit") {
  CHECK(FormatDuration(std::nullopt) == "-");
  CHECK(FormatDuration(42.4) == "42 s");
  CHECK(FormatDuration(600) == "10 min");
  CHECK(FormatDuration(3 * 3600 + 1800) == "3.5 h");
  CHECK(FormatDuration(2.5 * 86400) == "2.5 d");
}

TEST_CASE("the text table aligns its columns and names the default department") {
  RoutingQuality q;
  q.rules = {Row("laterne-licht", 3, 1), Row("", 12, 0)};
  q.rules[0].accept_p50 = 7200;
  q.departments = {Row("strassenbeleuchtung", 3, 1)};
  std::string text = QualityToText(q);
  INFO(text);
  CHECK(text.find("since the start") != std::string::npos);
  CHECK(text.find("(default department)") != std::string::npos);
  CHECK(text.find("33.3 %") != std::string::npos);
  CHECK(text.find("2.0 h") != std::string::npos);
  // Every line of the rules table has its "routed" figure ending in the same column.
  auto header = text.find("rule ");
  REQUIRE(header != std::string::npos);
  auto line_end = text.find('\n', header);
  std::string head = text.substr(header, line_end - header);
  size_t routed_end = head.find("routed") + 6;
  auto next = text.find('\n', line_end + 1);
  std::string first = text.substr(line_end + 1, next - line_end - 1);
  REQUIRE(first.size() > routed_end);
  CHECK(first[routed_end - 1] == '3');
  CHECK(first[routed_end] == ' ');
}

TEST_CASE("the JSON has null for the default rule and for unknown quantiles") {
  RoutingQuality q;
  q.since = 1790000000;
  q.rules = {Row("", 5, 1)};
  q.rules[0].done_p90 = 90.0;
  auto j = QualityToJson(q);
  CHECK(j["since"] == "2026-09-21T14:13:20Z");
  CHECK(j["until"].is_null());
  CHECK(j["rules"][0]["rule"].is_null());
  CHECK(j["rules"][0]["misroute_rate"].get<double>() == Approx(0.2));
  CHECK(j["rules"][0]["accept_seconds"]["p50"].is_null());
  CHECK(j["rules"][0]["done_seconds"]["p90"] == 90.0);
  CHECK(j["departments"].empty());
}

}  // namespace quality_test
