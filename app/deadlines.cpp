// `meldestelle deadlines run`: one pass of the ticket jobs at a given time.
#include <chrono>
#include <iostream>
#include <memory>

#include "app/command.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"
#include "routing/timezone.hpp"
#include "tickets/jobs.hpp"

namespace meldestelle::app {

namespace {

const char* kDeadlinesHelp = R"(Usage: meldestelle deadlines run [--now TIME] [--config FILE]

Runs one pass of the ticket jobs every worker runs every tickets.jobs_interval_ms, as if the time
were TIME (default: now), and prints what it did, one ticket per line:
- handed-back tickets are routed again by the live rules (routing.rules_file) without the
  departments that handed them back; if no rule of another department matches, they go to
  tickets.triage_department (default: the rules' default department);
- a department that has not accepted a ticket within remind_after (its own, else tickets:) is
  reminded; after reassign_after the ticket goes to the triage department.
Each change is recorded in the ticket's history, with the department's delivery and the
citizens' notification queued in the outbox. Running it twice at the same TIME changes nothing.
TIME is ISO 8601: 2026-12-01T15:00, 2026-12-01T15:00:00+01:00 or ...Z (no offset = town time).
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error.
)";

}  // namespace

int RunDeadlines(const Args& args) {
  if (args.help) {
    std::cout << kDeadlinesHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kDeadlinesHelp, "deadlines"))
    return kExitUsage;
  if (args.positional.size() != 1 || args.positional[0] != "run") {
    std::cerr << "meldestelle deadlines: expected run\n" << kDeadlinesHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  std::optional<int64_t> now;
  if (!ParseTimes("deadlines run", *cfg, {{"--now", &args.now, &now, false}}))
    return kExitUsage;
  if (!now) {
    now = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  auto rules = routing::LoadRuleSet(cfg->Get<routing::Settings>().rules_file, &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitUsage;
  }
  std::shared_ptr<const routing::RuleSet> live = *rules;
  tickets::TicketJobs jobs(
      *cfg, [&] { return live; }, nullptr);
  auto actions = jobs.RunOnce(*now);
  if (!actions) {
    std::cerr << "meldestelle deadlines run: " << actions.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << actions.error().detail << "\n";
    return kExitFailure;
  }
  for (const auto& a : *actions) {
    std::cout << a.reference << "  " << a.action << "  " << a.from_department << " -> "
              << a.to_department << "  (" << a.detail << ")\n";
  }
  std::cout << actions->size() << " ticket(s) changed at " << routing::FormatUnixSeconds(*now)
            << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
