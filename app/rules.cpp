// `meldestelle rules check|explain|shadow-report|promote|rollback` (replay: app/rules_replay.cpp).
#include "routing/rules.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/command.hpp"
#include "app/rule_changes.hpp"
#include "core/db.hpp"
#include "core/errors.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "routing/fixtures.hpp"
#include "routing/geo.hpp"
#include "routing/settings.hpp"

namespace meldestelle::app {

namespace {

const char* kRulesHelp = R"(Usage: meldestelle rules check [FILE] [--tests FILE] [--config FILE]
       meldestelle rules explain [--format text|json] [--config FILE] REPORT.json
       meldestelle rules shadow-report [--since DATE] [--format text|json] [--config FILE]
       meldestelle rules promote [CANDIDATE] [--config FILE]
       meldestelle rules rollback [--config FILE]
       meldestelle rules history [--limit N] [--format text|json] [--config FILE]

check    validates a routing rule file (default: routing.rules_file of the config): syntax,
         unknown keys, duplicate ids, unknown departments, categories, category groups, areas,
         points and lines, invalid regular expressions, invalid GeoJSON polygons (routing.areas),
         unreachable rules. Then runs the fixture file (--tests FILE, default: rules-tests.yaml
         beside rules.yaml, i.e. NAME-tests.yaml beside NAME.yaml) and lists every case routed
         elsewhere than expected. Prints every problem as FILE:LINE: KEY: REASON and exits 1 if
         there is any, 0 if the rules are valid and every fixture passes.
explain  routes one report with the configured rules and prints the department, the matching
         rule, the conditions that held with the values they saw, and for each earlier rule why
         it did not match. REPORT.json is a normalized report (docs/report-schema.md) or just
         {"description", "lat", "lon", "channel", "category", "received_at", "photo"}; all keys
         are optional. --format json prints {"department", "category", "rule",
         "ruleset_version", "conditions": [...], "rejected": [{"rule", "reason"}], ...}.
shadow-report  counts the tickets the candidate set (routing.shadow_rules_file) would have
         routed elsewhere, by live department -> candidate department and candidate rule, with
         example references; --since DATE (e.g. 2025-06-01) limits the period.
promote  checks the candidate (default routing.shadow_rules_file) with its fixtures, keeps the
         live rules.yaml (and rules-tests.yaml) as *.previous and puts the candidate in its
         place; running workers reload it. Recorded in ruleset_swaps; with the database out
         of reach nothing is changed (exit 1).
rollback exchanges rules.yaml with rules.yaml.previous (after checking it). Recorded too,
         and likewise refused while the database is out of reach.
history  the latest swaps of the rule sets (default 20, newest first): when, live or shadow,
         version, the version before, why (startup, file_change, sighup, promote, rollback),
         which worker, whether it was taken (or the error). The inbox's routing console shows
         the same.
Exit codes: 0 success, 1 invalid rules, failed fixtures or a swap not recorded, 2 usage error or
unreadable report.

See also `meldestelle rules replay --help`.
)";

// Reads REPORT.json for `rules explain`: a normalized report, or the short form.
Result<Report> ReadReportFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(errors::kUsage, path + ": cannot be read");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(errors::kUsage, path + ": not a JSON object");
  }
  if (j.contains("schema_version")) {
    auto r = ReportFromJson(j);
    if (!r) {
      return MakeError(errors::kUsage, path + ": not a valid report: " + r.error().message);
    }
    return r;
  }
  Report r;
  static const std::set<std::string> kShort = {"description", "text",     "lat",         "lon",
                                               "channel",     "category", "received_at", "photo"};
  for (const auto& [key, value] : j.items()) {
    if (kShort.count(key) == 0) {
      return MakeError(errors::kUsage, path + ": unknown key \"" + key +
                                           "\" (description, lat, lon, channel, category, "
                                           "received_at, photo; or a normalized report)");
    }
    bool is_text = key != "lat" && key != "lon" && key != "photo";
    if (is_text && !value.is_string()) {
      return MakeError(errors::kUsage, path + ": " + key + " must be a string");
    }
  }
  auto str = [&](const char* k) { return j.contains(k) ? j[k].get<std::string>() : ""; };
  r.text = j.contains("description") ? str("description") : str("text");
  r.channel = j.contains("channel") ? str("channel") : "webform";
  r.category = str("category");
  r.received_at = j.contains("received_at") ? str("received_at") : NowTimestamp();
  if (!IsValidUtf8(r.text)) {
    return MakeError(errors::kUsage, path + ": description is not valid UTF-8");
  }
  if (j.contains("lat") != j.contains("lon")) {
    return MakeError(errors::kUsage, path + ": lat and lon go together");
  }
  if (j.contains("lat")) {
    if (!j["lat"].is_number() || !j["lon"].is_number() ||
        !routing::ValidLonLat(j["lon"].get<double>(), j["lat"].get<double>())) {
      return MakeError(errors::kUsage, path + ": lat/lon must be numbers in range");
    }
    r.location.lat = j["lat"].get<double>();
    r.location.lon = j["lon"].get<double>();
    r.location.source = LocationSource::kDevice;
  }
  if (j.contains("photo")) {
    if (!j["photo"].is_boolean()) {
      return MakeError(errors::kUsage, path + ": photo must be true or false");
    }
    if (j["photo"].get<bool>()) {
      r.attachments.push_back({std::string(64, '0'), "image/jpeg", 0, "photo.jpg"});
    }
  }
  return r;
}

// `rules check`: the rule file, then its fixtures; every problem listed, exit 1 if any.
int RunRulesCheck(const std::filesystem::path& file, const std::string& tests_flag,
                  const Config& cfg) {
  auto rules = routing::LoadRuleSet(file, &cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitFailure;
  }
  std::filesystem::path tests =
      tests_flag.empty() ? routing::FixturesBeside(file) : std::filesystem::path(tests_flag);
  std::error_code ec;
  std::string fixtures_note = "no fixture file (" + tests.string() + ")";
  if (!tests_flag.empty() || std::filesystem::exists(tests, ec)) {
    auto cases = routing::LoadFixtures(tests, &cfg);
    if (!cases) {
      std::cerr << cases.error().message;
      return kExitFailure;
    }
    auto failures = routing::RunFixtures(**rules, *cases);
    if (!failures.empty()) {
      std::cerr << routing::DescribeFailures(tests.string(), failures) << failures.size() << " of "
                << cases->size() << " fixture(s) failed\n";
      return kExitFailure;
    }
    fixtures_note = std::to_string(cases->size()) + " fixture(s) passed (" + tests.string() + ")";
  }
  std::cout << file.string() << ": ok, " << (*rules)->rules.size() << " rules, "
            << (*rules)->geometries.size() << " areas, version " << (*rules)->version << "; "
            << fixtures_note << "\n";
  return kExitOk;
}

// `rules shadow-report`, `rules promote`, `rules rollback`.
int RunRulesChange(const Args& args, const Config& cfg) {
  const std::string& action = args.positional[0];
  if (action == "shadow-report") {
    // ISO 8601 as for stats and report, checked before the database reads it (a wrong one was
    // the database's error, exit 1).
    std::optional<int64_t> since;
    if (!ParseTimes("rules shadow-report", cfg, {{"--since", &args.since, &since, false}}))
      return kExitUsage;
    auto n = ShadowReport(cfg.database.url, args.since, args.format, std::cout);
    if (!n) {
      std::cerr << "meldestelle rules shadow-report: " << n.error().message << ": "
                << n.error().detail << "\n";
      return kExitFailure;
    }
    return kExitOk;
  }
  if (action == "history") {
    db::Session db(cfg.database.url);
    auto rows = db.Run<pqxx::result>([&](db::Connection& c) {
      db::ReadTx tx(c);
      return tx.exec_params(
          "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), rule_set,"
          " version, coalesce(previous_version, ''), source, worker, accepted,"
          " coalesce(error, '') FROM ruleset_swaps ORDER BY id DESC LIMIT $1",
          args.limit);
    });
    if (!rows) {
      std::cerr << "meldestelle rules history: " << rows.error().message << ": "
                << rows.error().detail << "\n";
      return kExitFailure;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rows) {
      if (args.format == "json") {
        out.push_back({{"at", r[0].as<std::string>()},
                       {"rule_set", r[1].as<std::string>()},
                       {"version", r[2].as<std::string>()},
                       {"previous_version", r[3].as<std::string>()},
                       {"source", r[4].as<std::string>()},
                       {"worker", r[5].as<std::string>()},
                       {"accepted", r[6].as<bool>()},
                       {"error", r[7].as<std::string>()}});
      } else {
        std::cout << r[0].as<std::string>() << "  " << r[1].as<std::string>() << "  "
                  << r[2].as<std::string>().substr(0, 19) << "  " << r[4].as<std::string>() << "  "
                  << r[5].as<std::string>() << "  "
                  << (r[6].as<bool>() ? "taken" : "refused: " + r[7].as<std::string>()) << "\n";
      }
    }
    if (args.format == "json")
      std::cout << out.dump(2) << "\n";
    else if (rows->empty())
      std::cout << "(no swaps recorded)\n";
    return kExitOk;
  }
  Status st = Ok{};
  if (action == "promote") {
    std::filesystem::path candidate = args.positional.size() == 2
                                          ? std::filesystem::path(args.positional[1])
                                          : cfg.Get<routing::Settings>().shadow_rules_file;
    if (candidate.empty()) {
      std::cerr << "meldestelle rules promote: no CANDIDATE given and no "
                   "routing.shadow_rules_file configured\n";
      return kExitUsage;
    }
    st = PromoteRules(cfg, candidate, std::cout);
  } else {
    st = RollbackRules(cfg, std::cout);
  }
  if (!st) {
    std::cerr << "meldestelle rules " << action << ": " << st.error().message << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int RunRules(const Args& args) {
  if (!args.positional.empty() && args.positional[0] == "replay") {
    return RunReplay(args);
  }
  if (args.help || args.positional.empty()) {
    std::cout << kRulesHelp;
    return args.help ? kExitOk : kExitUsage;
  }
  if (!TakesOptions(args, kRulesHelp, "rules"))
    return kExitUsage;
  const std::string& action = args.positional[0];
  bool check = action == "check" && args.positional.size() <= 2;
  bool explain = action == "explain" && args.positional.size() == 2;
  bool other = ((action == "shadow-report" || action == "rollback" || action == "history") &&
                args.positional.size() == 1) ||
               (action == "promote" && args.positional.size() <= 2);
  if (!check && !explain && !other) {
    std::cerr << "meldestelle rules: expected check [FILE], explain REPORT, shadow-report, "
                 "promote [CANDIDATE], rollback or history\n"
              << kRulesHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (other) {
    return RunRulesChange(args, *cfg);
  }
  std::filesystem::path file = check && args.positional.size() == 2
                                   ? std::filesystem::path(args.positional[1])
                                   : cfg->Get<routing::Settings>().rules_file;
  if (check) {
    return RunRulesCheck(file, args.tests, *cfg);
  }
  auto rules = routing::LoadRuleSet(file, &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitUsage;
  }
  auto report = ReadReportFile(args.positional[1]);
  if (!report) {
    std::cerr << "meldestelle rules explain: " << report.error().message << "\n";
    return kExitUsage;
  }
  routing::Explanation e = routing::Explain(**rules, *report);
  if (args.format == "json") {
    std::cout << routing::ExplanationToJson(e).dump(2) << "\n";
  } else {
    std::cout << routing::ExplanationToText(e);
  }
  return kExitOk;
}

}  // namespace meldestelle::app
