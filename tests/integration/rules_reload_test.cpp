// Hot reload, SIGHUP, shadow mode, promote and rollback against the real broker and database.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace rules_reload_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

const char* kV1 =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: muell\n"
    "    when: {keywords: [müll]}\n"
    "    department: abfallwirtschaft\n";
const char* kV2 =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: muell-v2\n"
    "    when: {keywords: [müll]}\n"
    "    department: ordnungsamt\n";
// Valid YAML, but the check refuses it: the department does not exist.
const char* kBroken =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: muell-kaputt\n"
    "    when: {keywords: [müll]}\n"
    "    department: nirgendwo\n";

std::string Version(const std::string& text) { return "sha256:" + Sha256Hex(text); }

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
}

// Sends reports from a second thread until stopped; keeps every reference it was given.
class Sender {
 public:
  explicit Sender(Stack& s) : stack_(s), thread_([this] { Loop(); }) {}
  ~Sender() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> references() {
    std::lock_guard<std::mutex> lock(mu_);
    return refs_;
  }
  int failures() const { return failures_.load(); }

 private:
  void Loop() {
    auto client = stack_.Client();
    for (int i = 0; !stop_.load(); ++i) {
      auto res = client.Post("/api/v1/reports",
                             json{{"description", "Wilder Müll Nr. " + std::to_string(i)}}.dump(),
                             "application/json");
      if (!res || res->status != 202) {
        failures_.fetch_add(1);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      refs_.push_back(json::parse(res->body)["reference"].get<std::string>());
    }
  }
  Stack& stack_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::mutex mu_;  // guards refs_
  std::vector<std::string> refs_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("hot reload under load: a broken file is refused and a valid one goes live with none lost") {
  StackOptions options;
  options.workers = 2;
  options.rules_yaml = kV1;
  Stack s(options);
  const char* kAccepted =
      "SELECT count(*) FROM ruleset_swaps WHERE accepted AND source = 'file_change' AND version = ";
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'startup'", 2));
  Sender sender(s);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 20, std::chrono::seconds(60)));

  WriteFile(s.rules_file(), kBroken);
  // Each worker refuses it and says so.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE NOT accepted AND"
                         " source = 'file_change' AND error LIKE '%nirgendwo%'",
                         2));
  long long after_broken = s.Count("SELECT count(*) FROM tickets");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", after_broken + 20,
                         std::chrono::seconds(60)));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell-kaputt'") == 0);

  WriteFile(s.rules_file(), kV2);
  REQUIRE(s.WaitForCount(kAccepted + Q(Version(kV2)), 2));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE rule_id = 'muell-v2'", 20,
                         std::chrono::seconds(60)));
  sender.Stop();
  CHECK(sender.failures() == 0);

  // None lost: every accepted report became exactly one ticket.
  auto refs = sender.references();
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", static_cast<long long>(refs.size()),
                         std::chrono::seconds(60)));
  CHECK(s.Count("SELECT count(*) FROM tickets") == static_cast<long long>(refs.size()));
  std::set<std::string> stored;
  for (const auto& row : s.Query("SELECT reference FROM tickets")) {
    stored.insert(row[0].as<std::string>());
  }
  for (const auto& r : refs) {
    CHECK(stored.count(r) == 1);
  }
  CHECK(s.QueueDepth(s.queue()) == 0);
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
  // Every ticket was routed by one complete set: version, rule and department belong together,
  // and the broken set routed none.
  auto mixed = s.Count(
      "SELECT count(*) FROM tickets WHERE NOT ("
      "(ruleset_version = " + Q(Version(kV1)) + " AND rule_id = 'muell' AND"
      " department_id = 'abfallwirtschaft') OR (ruleset_version = " + Q(Version(kV2)) +
      " AND rule_id = 'muell-v2' AND department_id = 'ordnungsamt'))");
  CHECK(mixed == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE ruleset_version = " + Q(Version(kV1))) > 0);
  // The refusal kept the V1 set live: the swap to V2 names it as the previous version.
  CHECK(s.Count(kAccepted + Q(Version(kV2)) + " AND previous_version = " + Q(Version(kV1))) == 2);
  CHECK_THAT(s.WorkerLogs(), Catch::Contains("rule set rejected; the previous set stays live"));
}

TEST_CASE("SIGHUP reloads the rules and the swap is recorded and counted") {
  StackOptions options;
  options.rules_yaml = kV1;
  options.reload_interval_ms = 0;  // no polling: only the signal reloads
  options.worker_metrics_port = FreePort();
  Stack s(options);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'startup'", 1));
  WriteFile(s.rules_file(), kV2);
  std::string before = PostText(s, "Müll vor der Tür");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell' AND reference = " +
                Q(before)) == 1);

  s.SignalWorkers(SIGHUP);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'sighup' AND"
                         " accepted AND version = " + Q(Version(kV2)) +
                         " AND previous_version = " + Q(Version(kV1)),
                         1));
  std::string after = PostText(s, "Müll neben der Tür");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell-v2' AND"
                " department_id = 'ordnungsamt' AND reference = " + Q(after)) == 1);
  auto row = s.Query("SELECT worker FROM ruleset_swaps WHERE source = 'sighup'");
  CHECK_THAT(row[0][0].as<std::string>(), Catch::Matches(".+:[0-9]+"));

  // A broken file on SIGHUP is refused; the V2 set stays.
  WriteFile(s.rules_file(), kBroken);
  s.SignalWorkers(SIGHUP);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM ruleset_swaps WHERE source = 'sighup' AND NOT accepted", 1));
  std::string third = PostText(s, "Noch mehr Müll");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 3));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell-v2' AND reference = " +
                Q(third)) == 1);

  httplib::Client worker("127.0.0.1", options.worker_metrics_port);
  auto m = worker.Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body, Catch::Contains("meldestelle_ruleset_reloads_total{set=\"live\","
                                      "source=\"sighup\",outcome=\"accepted\"} 1"));
  CHECK_THAT(m->body, Catch::Contains("meldestelle_ruleset_reloads_total{set=\"live\","
                                      "source=\"sighup\",outcome=\"rejected\"} 1"));

  // `rules check` runs the fixtures and lists a failing one.
  WriteFile(s.rules_file(), kV1);
  WriteFile(s.dir() / "bad-tests.yaml",
            "- report: {description: Müll}\n  expect: {department: abfallwirtschaft}\n"
            "- report: {description: Müll am Markt}\n  expect: {department: ordnungsamt}\n");
  int status = -1;
  std::string out =
      s.RunCommand({"rules", "check", "--tests", (s.dir() / "bad-tests.yaml").string()}, &status);
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("bad-tests.yaml:3: case 2: expected department ordnungsamt, "
                                  "got abfallwirtschaft (rule muell)"));
  CHECK_THAT(out, Catch::Contains("1 of 2 fixture(s) failed"));
}

TEST_CASE("shadow mode records disagreements and promote and rollback swap the live set") {
  StackOptions options;
  options.rules_yaml = kV1;
  options.shadow_rules_yaml = kV2;
  options.worker_metrics_port = FreePort();
  Stack s(options);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'startup' AND"
                         " rule_set = 'shadow' AND accepted",
                         1));
  std::vector<std::string> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(PostText(s, "Müll Nr. " + std::to_string(i)));
  PostText(s, "Laterne kaputt");  // both sets agree: the default department
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 4));
  // Routed by the live set; the candidate's other opinion is recorded with the ticket.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE department_id = 'abfallwirtschaft'") == 3);
  auto d = s.Query("SELECT reference, live_department, live_rule, candidate_department,"
                   " candidate_rule, candidate_version FROM shadow_disagreements ORDER BY id");
  REQUIRE(d.size() == 3);
  CHECK(d[0][1].as<std::string>() == "abfallwirtschaft");
  CHECK(d[0][2].as<std::string>() == "muell");
  CHECK(d[0][3].as<std::string>() == "ordnungsamt");
  CHECK(d[0][4].as<std::string>() == "muell-v2");
  CHECK(d[0][5].as<std::string>() == Version(kV2));

  int status = -1;
  std::string text = s.RunCommand({"rules", "shadow-report"}, &status);
  CHECK(status == 0);
  CHECK_THAT(text, Catch::Contains("shadow disagreements: 3"));
  CHECK_THAT(text, Catch::Contains("3  abfallwirtschaft -> ordnungsamt  (candidate rule muell-v2)"));
  CHECK_THAT(text, Catch::Contains(refs[0]));
  std::string js = s.RunCommand({"rules", "shadow-report", "--format", "json", "--since",
                                 "2000-01-01"},
                                &status);
  CHECK(status == 0);
  json report = json::parse(js);
  CHECK(report["total"] == 3);
  CHECK(report["groups"][0]["candidate_department"] == "ordnungsamt");
  CHECK(report["groups"][0]["examples"].size() == 3);
  std::string none = s.RunCommand({"rules", "shadow-report", "--since", "2999-01-01"}, &status);
  CHECK_THAT(none, Catch::Contains("shadow disagreements since 2999-01-01: 0"));

  httplib::Client worker("127.0.0.1", options.worker_metrics_port);
  auto m = worker.Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body, Catch::Contains("meldestelle_shadow_disagreements_total 3"));
  CHECK_THAT(m->body, Catch::Contains("meldestelle_shadow_evaluated_total 4"));

  // With the database out of reach, a swap could not be recorded: nothing changes.
  const std::string unreachable =
      "MELDESTELLE_DATABASE_URL=postgresql://postgres@127.0.0.1:" + std::to_string(FreePort()) +
      "/meldestelle";
  std::string out = s.RunCommand({"rules", "promote"}, &status, {unreachable});
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("cannot be recorded in ruleset_swaps, nothing changed"));
  CHECK(ReadFile(s.rules_file()) == kV1);
  CHECK_FALSE(std::filesystem::exists(s.dir() / "rules.yaml.previous"));

  // Promote: the candidate becomes rules.yaml, the old one is kept; the worker reloads it.
  out = s.RunCommand({"rules", "promote"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(ReadFile(s.rules_file()) == kV2);
  CHECK(ReadFile(s.dir() / "rules.yaml.previous") == kV1);
  CHECK(s.Count("SELECT count(*) FROM ruleset_swaps WHERE source = 'promote' AND version = " +
                Q(Version(kV2)) + " AND previous_version = " + Q(Version(kV1))) == 1);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'file_change' AND"
                         " rule_set = 'live' AND accepted AND version = " + Q(Version(kV2)),
                         1));
  // The history of swaps, newest first, as the routing console shows it.
  out = s.RunCommand({"rules", "history", "--format", "json"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(out.find('[') != std::string::npos);
  json history = json::parse(out.substr(out.find('[')), nullptr, false);
  REQUIRE(history.is_array());
  REQUIRE(history.size() >= 3);
  bool promote_listed = false;
  for (const auto& h : history)
    promote_listed = promote_listed || (h["source"] == "promote" && h["version"] == Version(kV2) &&
                                        h["previous_version"] == Version(kV1) && h["accepted"]);
  CHECK(promote_listed);
  out = s.RunCommand({"rules", "history", "--limit", "1"}, &status);
  REQUIRE(status == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  std::string promoted = PostText(s, "Müll nach der Beförderung");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 5));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell-v2' AND reference = " +
                Q(promoted)) == 1);
  CHECK(s.Count("SELECT count(*) FROM shadow_disagreements") == 3);  // now they agree

  // Rollback: likewise refused while nothing could record it.
  out = s.RunCommand({"rules", "rollback"}, &status, {unreachable});
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("cannot be recorded in ruleset_swaps, nothing changed"));
  CHECK(ReadFile(s.rules_file()) == kV2);

  // Rollback: V1 is live again.
  out = s.RunCommand({"rules", "rollback"}, &status);
  REQUIRE(status == 0);
  CHECK(ReadFile(s.rules_file()) == kV1);
  CHECK(ReadFile(s.dir() / "rules.yaml.previous") == kV2);
  CHECK(s.Count("SELECT count(*) FROM ruleset_swaps WHERE source = 'rollback' AND version = " +
                Q(Version(kV1))) == 1);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ruleset_swaps WHERE source = 'file_change' AND"
                         " rule_set = 'live' AND accepted AND version = " + Q(Version(kV1)),
                         1));
  std::string rolled = PostText(s, "Müll nach dem Rückzug");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 6));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE rule_id = 'muell' AND reference = " +
                Q(rolled)) == 1);

  // A candidate that fails its check is not promoted.
  WriteFile(s.shadow_rules_file(), kBroken);
  out = s.RunCommand({"rules", "promote"}, &status);
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("nirgendwo"));
  CHECK(ReadFile(s.rules_file()) == kV1);
}

}  // namespace rules_reload_test
