// The operators' side of rule set changes (docs/routing.md): `rules shadow-report`, `rules promote`
// and `rules rollback`. The workers' own log of swaps is workers/rule_history.
#include "app/rule_changes.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/sql.hpp"
#include "routing/fixtures.hpp"
#include "routing/settings.hpp"
#include "workers/rule_history.hpp"

namespace meldestelle::app {

using workers::CheckSwapsWritable;
using workers::RecordSwap;
using workers::SwapRecord;

Result<long long> ShadowReport(const std::string& database_url, const std::string& since,
                               const std::string& format, std::ostream& out) {
  auto conn = db::Connect(database_url);
  if (!conn) {
    return conn.error();
  }
  return db::Guard<long long>([&]() -> long long {
    db::ReadTx tx(**conn);
    auto rows = tx.exec_params(
        "SELECT live_department, candidate_department, coalesce(candidate_rule, ''),"
        " count(*), (array_agg(reference ORDER BY at))[1:3]::text[],"
        " min(at)::text, max(at)::text"
        " FROM shadow_disagreements"
        " WHERE ($1::timestamptz IS NULL OR at >= $1::timestamptz)"
        " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3",
        since.empty() ? std::nullopt : std::optional<std::string>(since));
    long long total = 0;
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& row : rows) {
      long long n = row[3].as<long long>();
      total += n;
      std::vector<std::string> examples;
      auto arr = row[4].as_array();
      for (auto item = arr.get_next(); item.first != pqxx::array_parser::juncture::done;
           item = arr.get_next()) {
        if (item.first == pqxx::array_parser::juncture::string_value) {
          examples.push_back(item.second);
        }
      }
      groups.push_back({{"live_department", row[0].as<std::string>()},
                        {"candidate_department", row[1].as<std::string>()},
                        {"candidate_rule", row[2].as<std::string>()},
                        {"count", n},
                        {"examples", examples}});
    }
    if (format == "json") {
      out << nlohmann::json{{"since", since}, {"total", total}, {"groups", groups}}.dump(2) << "\n";
      return total;
    }
    out << "shadow disagreements" << (since.empty() ? "" : " since " + since) << ": " << total
        << "\n";
    for (const auto& g : groups) {
      std::string rule = g["candidate_rule"].get<std::string>();
      out << "  " << g["count"].get<long long>() << "  " << g["live_department"].get<std::string>()
          << " -> " << g["candidate_department"].get<std::string>() << "  (candidate rule "
          << (rule.empty() ? "default" : rule) << ")  e.g.";
      for (const auto& ex : g["examples"]) {
        out << " " << ex.get<std::string>();
      }
      out << "\n";
    }
    return total;
  });
}

namespace {

namespace fs = std::filesystem;

std::optional<std::string> Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to a temporary file beside `to`, flushes it and renames it over `to`: a reader
// (a worker's reload) sees the old or the new file, never a half-written one.
Status WriteAtomic(const fs::path& to, const std::string& text) {
  fs::path tmp =
      to.parent_path() / ("." + to.filename().string() + ".tmp-" + std::to_string(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      return MakeError(errors::kIoError, tmp.string() + ": cannot be written");
    }
  }
  std::error_code ec;
  fs::rename(tmp, to, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return MakeError(errors::kIoError, to.string() + ": cannot be replaced: " + ec.message());
  }
  return Ok{};
}

fs::path Previous(const fs::path& p) { return fs::path(p.string() + ".previous"); }

// Before any file changes: a swap that cannot be recorded is not made.
Status CheckRecordable(const Config& config, const char* what) {
  if (auto st = CheckSwapsWritable(config.database.url); !st) {
    return MakeError(
        st.error().code,
        std::string("the ") + what + " cannot be recorded in ruleset_swaps, nothing changed: " +
            st.error().message + (st.error().detail.empty() ? "" : ": ") + st.error().detail);
  }
  return Ok{};
}

// After the swap: the files are live (the workers load them), but the database failed since the
// check. The command then fails, saying so.
Status Record(const Config& config, SwapRecord rec) {
  if (auto st = RecordSwap(config.database.url, rec); !st) {
    return MakeError(st.error().code, "the " + rec.source +
                                          " is done (the files are swapped) but was not recorded"
                                          " in ruleset_swaps: " +
                                          st.error().message +
                                          (st.error().detail.empty() ? "" : ": ") +
                                          st.error().detail);
  }
  return Ok{};
}

}  // namespace

Status PromoteRules(const Config& config, const fs::path& candidate, std::ostream& out) {
  const fs::path& live = config.Get<routing::Settings>().rules_file;
  fs::path live_tests = routing::FixturesBeside(live);
  fs::path cand_tests = routing::FixturesBeside(candidate);
  std::error_code ec;
  bool own_tests = fs::exists(cand_tests, ec);
  fs::path tests = own_tests ? cand_tests : live_tests;
  size_t fixtures = 0;
  auto checked = routing::LoadCheckedRuleSet(candidate, &config,
                                             fs::exists(tests, ec) ? tests : fs::path(), &fixtures);
  if (!checked) {
    return MakeError(errors::kRulesInvalid,
                     "the candidate fails its check, nothing changed:\n" + checked.error().message);
  }
  auto cand_text = Slurp(candidate);
  auto live_text = Slurp(live);
  if (!cand_text) {
    return MakeError(errors::kIoError, candidate.string() + ": cannot be read");
  }
  if (auto st = CheckRecordable(config, "promotion"); !st)
    return st;
  std::string previous_version = live_text ? "sha256:" + Sha256Hex(*live_text) : "";
  // Keep what is live now, then replace it: fixtures first, so the rule file that triggers the
  // workers' reload meets the fixtures it was checked with.
  if (live_text) {
    if (auto st = WriteAtomic(Previous(live), *live_text); !st)
      return st;
  }
  if (auto live_tests_text = Slurp(live_tests)) {
    if (auto st = WriteAtomic(Previous(live_tests), *live_tests_text); !st)
      return st;
  }
  if (own_tests) {
    auto t = Slurp(cand_tests);
    if (!t)
      return MakeError(errors::kIoError, cand_tests.string() + ": cannot be read");
    if (auto st = WriteAtomic(live_tests, *t); !st)
      return st;
  }
  if (auto st = WriteAtomic(live, *cand_text); !st)
    return st;
  out << "promoted " << candidate.string() << " (" << (*checked)->version << ", " << fixtures
      << " fixture(s) passed) to " << live.string() << "\n";
  if (live_text) {
    out << "previous rule set kept as " << Previous(live).string() << " (" << previous_version
        << "); `meldestelle rules rollback` restores it\n";
  }
  SwapRecord rec;
  rec.version = (*checked)->version;
  rec.previous_version = previous_version;
  rec.source = "promote";
  return Record(config, rec);
}

Status RollbackRules(const Config& config, std::ostream& out) {
  const fs::path& live = config.Get<routing::Settings>().rules_file;
  fs::path live_tests = routing::FixturesBeside(live);
  auto prev_text = Slurp(Previous(live));
  if (!prev_text) {
    return MakeError(errors::kNoPrevious,
                     Previous(live).string() + " does not exist: nothing to roll back to");
  }
  auto prev_tests_text = Slurp(Previous(live_tests));
  std::error_code ec;
  fs::path tests = prev_tests_text ? Previous(live_tests) : live_tests;
  auto checked = routing::LoadCheckedRuleSet(Previous(live), &config,
                                             fs::exists(tests, ec) ? tests : fs::path());
  if (!checked) {
    return MakeError(
        errors::kRulesInvalid,
        "the previous rule set fails its check, nothing changed:\n" + checked.error().message);
  }
  if (auto st = CheckRecordable(config, "rollback"); !st)
    return st;
  auto live_text = Slurp(live);
  auto live_tests_text = Slurp(live_tests);
  // Exchange live and previous, so a second rollback undoes the first.
  if (live_text) {
    if (auto st = WriteAtomic(Previous(live), *live_text); !st)
      return st;
  }
  if (prev_tests_text) {
    if (live_tests_text) {
      if (auto st = WriteAtomic(Previous(live_tests), *live_tests_text); !st)
        return st;
    }
    if (auto st = WriteAtomic(live_tests, *prev_tests_text); !st)
      return st;
  }
  if (auto st = WriteAtomic(live, *prev_text); !st)
    return st;
  std::string current = live_text ? "sha256:" + Sha256Hex(*live_text) : "";
  out << "rolled back " << live.string() << " to " << (*checked)->version << " (was " << current
      << ")\n";
  SwapRecord rec;
  rec.version = (*checked)->version;
  rec.previous_version = current;
  rec.source = "rollback";
  return Record(config, rec);
}

}  // namespace meldestelle::app
