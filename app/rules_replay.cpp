// `meldestelle rules replay`: stored tickets re-routed with a candidate rule set (app/replay.cpp).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/command.hpp"
#include "app/replay.hpp"
#include "routing/rules.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::app {

namespace {

const char* kReplayHelp =
    R"(Usage: meldestelle rules replay --rules CANDIDATE.yaml [--config FILE] [--since DATE]
                               [--until DATE] [--format text|json] [--examples N] [--quiet]

Re-routes the tickets stored in database.url with the candidate rule set and prints how many
would move from which department to which, by the candidate's rule, with up to N (default 3)
example references per line, and the totals (unchanged / moved). Changes nothing: the tickets
are read in one READ ONLY, REPEATABLE READ transaction and streamed, so memory stays small for
any number of tickets.

--rules FILE     the candidate rule file; it is checked like `rules check` first (exit 2 with
                 every problem if it fails). Areas and departments come from the config.
--since DATE     only tickets received at or after DATE
--until DATE     only tickets received before DATE; a bare date includes that whole day
                 DATE is ISO 8601: 2026-11-01 (midnight in town.timezone), 2026-11-01T08:00,
                 2026-11-01T08:00:00Z or 2026-11-01T08:00:00+01:00 (no offset = town time)
--format json    {"total", "unchanged", "moved", "moves": [{"from", "to", "rule", "count",
                 "examples"}], "ruleset_version", "since", "until", "seconds", ...}
--examples N     example references per line (0 = none)
--quiet          no progress on stderr (progress is shown only when stderr is a terminal)
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error or invalid candidate.
)";

// Progress on stderr, rewritten in place once a second: only for a terminal, where a person
// waits; in logs and pipes it would only be noise.
void PrintProgress(int64_t rows, double seconds) {
  std::fprintf(stderr, "\rreplay: %lld reports, %.0f/s, %.0f s ", static_cast<long long>(rows),
               seconds > 0 ? static_cast<double>(rows) / seconds : 0.0, seconds);
  std::fflush(stderr);
}

}  // namespace

int RunReplay(const Args& args) {
  if (args.help) {
    std::cout << kReplayHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kReplayHelp, "rules replay"))
    return kExitUsage;
  if (args.rules.empty() || args.positional.size() != 1) {
    std::cerr << "meldestelle rules replay: "
              << (args.rules.empty() ? "--rules CANDIDATE.yaml is required"
                                     : "unexpected argument " + args.positional[1])
              << "\n"
              << kReplayHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  auto rules = routing::LoadRuleSet(args.rules, &*cfg);
  if (!rules) {
    std::cerr << "meldestelle rules replay: the candidate rules are invalid:\n"
              << rules.error().message;
    return kExitUsage;
  }
  ReplayOptions options;
  options.examples = static_cast<size_t>(args.examples);
  const routing::TimeZone& tz = (*rules)->timezone;
  for (auto [flag, text, target, end] :
       {std::tuple{"--since", &args.since, &options.since, false},
        std::tuple{"--until", &args.until, &options.until, true}}) {
    if (text->empty())
      continue;
    auto t = routing::ParseTownTime(*text, tz, end);
    if (!t) {
      std::cerr << "meldestelle rules replay: " << flag << ": " << t.error().message << "\n";
      return kExitUsage;
    }
    *target = *t;
  }
  if (options.since && options.until && *options.until <= *options.since) {
    std::cerr << "meldestelle rules replay: --until must be later than --since\n";
    return kExitUsage;
  }
  bool progress = !args.quiet && isatty(STDERR_FILENO) != 0;
  if (progress) {
    options.progress = PrintProgress;
  }
  auto result = Replay(cfg->database.url, **rules, options);
  if (progress) {
    std::cerr << "\r\033[K" << std::flush;
  }
  if (!result) {
    std::cerr << "meldestelle rules replay: " << result.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << result.error().detail << "\n";
    return kExitFailure;
  }
  if (args.format == "json") {
    std::cout << ReplayToJson(*result).dump(2) << "\n";
  } else {
    std::cout << ReplayToText(*result);
  }
  return kExitOk;
}

}  // namespace meldestelle::app
