#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/result.hpp"

// Routing quality (docs/departments.md, "Re-routing, acceptance deadlines", "Routing quality"): per
// rule and per department, how many tickets were routed, how many the department handed back (the
// misroute rate), how many missed their acceptance deadline, and how long acceptance and completion
// took. Read by `meldestelle stats` and the worker's /metrics gauges.
namespace meldestelle::tickets {

struct QualityRow {
  std::string key;          // rule id ("" = the default department) or department id
  int64_t routed = 0;       // tickets first routed here (by this rule / to this department)
  int64_t handed_back = 0;  // … that left the first department: handed back, forwarded (by an
                            // operator or triage), or routed elsewhere after a change of category
  int64_t recategorised = 0;  // … whose category staff changed
  int64_t escalated = 0;    // rules: … reassigned to triage for a missed deadline (any
                            // department); departments: tickets this department let escalate
  int64_t accepted = 0;     // with accepted_at (departments: the current department)
  int64_t done = 0;         // status done
  // Departments: the citizens' answers to "Ist es behoben?" about the tickets this department
  // closed (tickets/fix_answers.hpp): yes, and no (each "no" reopened the ticket).
  int64_t fixed_yes = 0, fixed_no = 0;
  // Seconds from the ticket's creation to acceptance / to done; nullopt without any.
  std::optional<double> accept_p50, accept_p90, done_p50, done_p90;
  double MisrouteRate() const {
    return routed > 0 ? static_cast<double>(handed_back) / static_cast<double>(routed) : 0.0;
  }
};

struct RoutingQuality {
  std::optional<int64_t> since, until;  // Unix seconds on received_at: [since, until)
  std::vector<QualityRow> rules;
  std::vector<QualityRow> departments;
};

// Reads the figures of the tickets received in [since, until) (linked duplicates do not count:
// they were never routed on their own). Throws libpqxx errors; wrap in db::Guard.
RoutingQuality LoadRoutingQuality(db::Tx& tx, std::optional<int64_t> since,
                                  std::optional<int64_t> until);
// The same in one READ ONLY transaction of its own.
Result<RoutingQuality> ReadRoutingQuality(const std::string& database_url,
                                          std::optional<int64_t> since,
                                          std::optional<int64_t> until);

// Highest misroute rate first, then most tickets, then by key. Pure.
void SortByMisrouteRate(std::vector<QualityRow>& rows);
// "-", "45 s", "12 min", "3.5 h", "2.1 d". Pure.
std::string FormatDuration(std::optional<double> seconds);
// Two aligned tables (rules, departments). Pure.
std::string QualityToText(const RoutingQuality& q);
// {"since", "until", "rules": [{"rule", "routed", "handed_back", "misroute_rate", "escalated",
//  "recategorised",
//  "accepted", "accept_seconds": {"p50", "p90"}, "done", "done_seconds": {"p50", "p90"}}],
//  "departments": [{"department", …the same, "fix_answers": {"fixed", "not_fixed"}}]}; unknown
//  quantiles are null. Pure.
nlohmann::json QualityToJson(const RoutingQuality& q);

}  // namespace meldestelle::tickets
