#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/result.hpp"
#include "routing/geo.hpp"

// Figures for the council and the managers (docs/departments.md, "Figures: meldestelle report"):
// reports received, open, done, the times to accept and to done, reopened and forwarded, grouped
// by category, district, department or channel, optionally per week or month. Read by
// `meldestelle report`.
namespace meldestelle::tickets {

struct ReportQuery {
  std::string by = "category";          // category, district, department, channel
  std::string period;                   // "", week, month: a row per period (in `timezone`)
  std::optional<int64_t> since, until;  // Unix seconds on received_at: [since, until)
  std::string timezone = "UTC";
  std::string department;  // only the tickets this department has now; "" = all
  // by district: the configured areas; a report counts in every area its place lies in.
  std::vector<std::pair<std::string, routing::Geometry>> districts;
};

struct ReportRow {
  std::string period;      // "2026-11-30" (the week's Monday) or "2026-11" (the month); "" without
  std::string key;         // the category code, area, department id or channel; "" = none
  int64_t received = 0;    // reports, also those linked to another as duplicates
  int64_t duplicates = 0;  // … of them linked to an earlier report
  int64_t open = 0;        // of the others: not closed yet
  int64_t done = 0, rejected = 0;
  int64_t reopened = 0;   // a citizen said "not fixed" (or an Open311 client "still broken")
  int64_t forwarded = 0;  // left their first department (hand-back, forward, escalation)
  // Seconds from receipt to acceptance / to done, without the time spent waiting for the
  // citizen's answer to a question; nullopt without any.
  std::optional<double> accept_p50, accept_p90, done_p50, done_p90;
};

// One row per (period, key), periods oldest first, keys by received (most first). Throws
// libpqxx errors; wrap in db::Guard.
std::vector<ReportRow> LoadReport(db::Tx& tx, const ReportQuery& q);
Result<std::vector<ReportRow>> ReadReport(const std::string& database_url, const ReportQuery& q);

// The `n` categories with the most reports in each district (the configured areas, as by
// district), most first; the key of ReportRow is "district\tcategory", only `received` is set.
std::vector<ReportRow> TopCategoriesPerDistrict(db::Tx& tx, const ReportQuery& q, int n);

// The continuous percentile (as PostgreSQL's percentile_cont) of `values`; nullopt if empty.
// Sorts `values`. Pure.
std::optional<double> Percentile(std::vector<double>& values, double fraction);

// The three output forms. Pure.
std::string ReportToTable(const ReportQuery& q, const std::vector<ReportRow>& rows);
// RFC 4180: a header line, CRLF line ends, fields with , " or a line break quoted.
std::string ReportToCsv(const ReportQuery& q, const std::vector<ReportRow>& rows);
std::string ReportToJson(const ReportQuery& q, const std::vector<ReportRow>& rows);

}  // namespace meldestelle::tickets
