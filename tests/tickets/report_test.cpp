// The figures of `meldestelle report` (tickets/report): the percentile and the three output forms.
#include "tickets/report.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace report_test {

using namespace meldestelle::tickets;

TEST_CASE("the percentile interpolates as PostgreSQL's percentile_cont", "[report]") {
  std::vector<double> none;
  CHECK(!Percentile(none, 0.5));
  std::vector<double> one = {42};
  CHECK(*Percentile(one, 0.9) == 42);
  std::vector<double> v = {40, 10, 30, 20};  // unsorted on purpose
  CHECK(*Percentile(v, 0.5) == Approx(25));
  CHECK(*Percentile(v, 0.9) == Approx(37));
  CHECK(*Percentile(v, 0.0) == 10);
  CHECK(*Percentile(v, 1.0) == 40);
}

ReportRow Row(std::string period, std::string key, int64_t received) {
  ReportRow r;
  r.period = std::move(period);
  r.key = std::move(key);
  r.received = received;
  r.done = 1;
  r.done_p50 = 3 * 3600;
  return r;
}

TEST_CASE("the report as a table, as CSV for a spreadsheet and as JSON", "[report]") {
  ReportQuery q;
  q.by = "district";
  q.period = "month";
  std::vector<ReportRow> rows = {Row("2026-11", "altstadt", 12), Row("2026-11", "", 3),
                                 Row("2026-12", "Nord, \"alt\"", 1)};
  std::string table = ReportToTable(q, rows);
  CHECK(table.rfind("month    district", 0) == 0);
  CHECK(table.find("(no district)") != std::string::npos);
  CHECK(table.find("3.0 h") != std::string::npos);
  CHECK(ReportToTable(q, {}).find("(no reports in the period)") != std::string::npos);

  std::string csv = ReportToCsv(q, rows);
  CHECK(csv.rfind("month,district,received,duplicates,open,done,rejected,reopened,forwarded,"
                  "accept_p50_seconds,accept_p90_seconds,done_p50_seconds,done_p90_seconds\r\n",
                  0) == 0);
  CHECK(csv.find("\r\n2026-11,altstadt,12,0,0,1,0,0,0,,,10800,\r\n") != std::string::npos);
  // A comma or a quote in a name is quoted, the quote doubled (RFC 4180).
  CHECK(csv.find("\r\n2026-12,\"Nord, \"\"alt\"\"\",1,") != std::string::npos);

  auto j = nlohmann::json::parse(ReportToJson(q, rows));
  CHECK(j["by"] == "district");
  CHECK(j["period"] == "month");
  REQUIRE(j["rows"].size() == 3);
  CHECK(j["rows"][0]["district"] == "altstadt");
  CHECK(j["rows"][0]["period"] == "2026-11");
  CHECK(j["rows"][1]["district"].is_null());
  CHECK(j["rows"][0]["done_seconds"]["p50"] == 10800);
  CHECK(j["rows"][0]["accept_seconds"]["p50"].is_null());
  q.period.clear();
  CHECK(!nlohmann::json::parse(ReportToJson(q, rows))["rows"][0].contains("period"));
}

}  // namespace report_test
