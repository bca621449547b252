// `meldestelle stats`: routing quality per rule and department.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/command.hpp"
#include "tickets/quality.hpp"

namespace meldestelle::app {

namespace {

const char* kStatsHelp =
    R"(Usage: meldestelle stats [--since DATE] [--until DATE] [--format text|json] [--config FILE]

Routing quality of the tickets received in the period, per rule (the rule that first routed the
ticket) and per department (the department it was first routed to; the times by the department
that has it now), sorted by misroute rate:
  routed       tickets (linked duplicates do not count)
  moved        of those, tickets that left their first department: handed back, forwarded,
               or routed elsewhere after a change of category
  misroute     moved / routed: the rule to fix is at the top
  recategorised  tickets whose category staff changed
  escalated    rules: tickets moved to triage for a missed acceptance deadline; departments:
               tickets this department let escalate
  accept p50/p90, done p50/p90  median and 90th percentile of the time from the ticket's
               creation to its acceptance, and to done
  fixed: yes, no  departments: the citizens' answers to "Ist es behoben?" about the tickets
               the department closed ("no" reopened the ticket)
Reads in one READ ONLY transaction. DATE as for `rules replay` (2026-11-01, midnight in
town.timezone; --until includes a bare date's whole day).
--format json  {"since", "until", "rules": [{"rule", "routed", "handed_back", "misroute_rate",
               "escalated", "accepted", "accept_seconds": {"p50", "p90"}, "done",
               "done_seconds": {"p50", "p90"}}], "departments": [{"department", ...,
               "fix_answers": {"fixed", "not_fixed"}}]}
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error.
)";

}  // namespace

int RunStats(const Args& args) {
  if (args.help) {
    std::cout << kStatsHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kStatsHelp, "stats"))
    return kExitUsage;
  if (!args.positional.empty()) {
    std::cerr << "meldestelle stats: unexpected argument " << args.positional[0] << "\n"
              << kStatsHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  std::optional<int64_t> since, until;
  if (!ParseTimes(
          "stats", *cfg,
          {{"--since", &args.since, &since, false}, {"--until", &args.until, &until, true}})) {
    return kExitUsage;
  }
  if (since && until && *until <= *since) {
    std::cerr << "meldestelle stats: --until must be later than --since\n";
    return kExitUsage;
  }
  auto q = tickets::ReadRoutingQuality(cfg->database.url, since, until);
  if (!q) {
    std::cerr << "meldestelle stats: " << q.error().message << " (" << RedactUrl(cfg->database.url)
              << "): " << q.error().detail << "\n";
    return kExitFailure;
  }
  if (args.format == "json") {
    std::cout << tickets::QualityToJson(*q).dump(2) << "\n";
  } else {
    std::cout << tickets::QualityToText(*q);
  }
  return kExitOk;
}

}  // namespace meldestelle::app
