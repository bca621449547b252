// `meldestelle report`: figures for the council and the managers.
#include "tickets/report.hpp"

#include <iostream>

#include "app/command.hpp"
#include "routing/settings.hpp"

namespace meldestelle::app {

namespace {

const char* kReportHelp =
    R"HELP(Usage: meldestelle report [--by category|district|department|channel] [--period week|month]
                          [--since DATE] [--until DATE] [--format table|csv|json]
                          [--config FILE]

Figures of the reports received in the period, one row per category (default), district (the
configured routing areas: a report counts in every area its place lies in, "(no district)"
without a place in any), department (the one that has the ticket now) or channel; with
--period one row per week (its Monday) or month as well, in town.timezone:
  received     reports, also those linked to an earlier one as duplicates
  duplicates   of them, linked to an earlier report (worked as that one; not counted below)
  open, done, rejected   the others by their status now
  reopened     a citizen said "not fixed" after done
  forwarded    left their first department (handed back, forwarded, escalated, re-routed)
  accept p50/p90, done p50/p90  median and 90th percentile of the time from receipt to
               acceptance and to done, without the time a question waited for the citizen
Reads in one READ ONLY transaction. DATE as for `stats` (2026-11-01 is midnight in
town.timezone; --until includes a bare date's whole day).
--format csv   RFC 4180 with a header line, times in seconds (for a spreadsheet)
--format json  {"by", "period", "since", "until", "rows": [{<by>, "period"?, "received",
               "duplicates", "open", "done", "rejected", "reopened", "forwarded",
               "accept_seconds": {"p50", "p90"}, "done_seconds": {"p50", "p90"}}]}
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error.
)HELP";

}  // namespace

int RunReport(const Args& args) {
  if (args.help) {
    std::cout << kReportHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kReportHelp, "report"))
    return kExitUsage;
  auto usage = [](const std::string& problem) {
    std::cerr << "meldestelle report: " << problem << "\n" << kReportHelp;
    return kExitUsage;
  };
  if (!args.positional.empty())
    return usage("unexpected argument " + args.positional[0]);
  tickets::ReportQuery q;
  q.by = args.by.empty() ? "category" : args.by;
  if (q.by != "category" && q.by != "district" && q.by != "department" && q.by != "channel")
    return usage("--by must be category, district, department or channel, not \"" + q.by + "\"");
  q.period = args.period;
  if (!q.period.empty() && q.period != "week" && q.period != "month")
    return usage("--period must be week or month, not \"" + q.period + "\"");
  const std::string format = args.format == "text" ? "table" : args.format;
  if (format != "table" && format != "csv" && format != "json")
    return usage("--format must be table, csv or json, not \"" + args.format + "\"");
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (!ParseTimes(
          "report", *cfg,
          {{"--since", &args.since, &q.since, false}, {"--until", &args.until, &q.until, true}})) {
    return kExitUsage;
  }
  if (q.since && q.until && *q.until <= *q.since) {
    std::cerr << "meldestelle report: --until must be later than --since\n";
    return kExitUsage;
  }
  q.timezone = cfg->town.timezone.empty() ? "UTC" : cfg->town.timezone;
  if (q.by == "district") {
    for (const auto& a : cfg->Get<routing::Settings>().areas) {
      auto g = routing::LoadGeoJson(a.file, a.name);
      if (!g) {
        std::cerr << "meldestelle report: area " << a.name << ": " << g.error().message << "\n";
        return kExitUsage;
      }
      if (g->IsArea())
        q.districts.emplace_back(a.name, std::move(*g));
    }
  }
  auto rows = tickets::ReadReport(cfg->database.url, q);
  if (!rows) {
    std::cerr << "meldestelle report: " << rows.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << rows.error().detail << "\n";
    return kExitFailure;
  }
  if (format == "json")
    std::cout << tickets::ReportToJson(q, *rows);
  else if (format == "csv")
    std::cout << tickets::ReportToCsv(q, *rows);
  else
    std::cout << tickets::ReportToTable(q, *rows);
  return kExitOk;
}

}  // namespace meldestelle::app
