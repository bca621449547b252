// `meldestelle rules replay` against tickets created through the real pipeline.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace replay_test {

using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// The example rules with one rule in front that sends graffiti to the waste department.
std::filesystem::path WriteCandidate(const Stack& s) {
  std::string rules =
      ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/rules.yaml");
  const std::string anchor = "\nrules:\n";
  auto pos = rules.find(anchor);
  REQUIRE(pos != std::string::npos);
  rules.insert(pos + anchor.size(),
               "  - id: graffiti-reinigung\n"
               "    description: Graffiti entfernt künftig die Stadtreinigung\n"
               "    when:\n"
               "      keywords: [graffiti]\n"
               "    department: abfallwirtschaft\n\n");
  auto file = s.dir() / "candidate.yaml";
  std::ofstream(file) << rules;
  return file;
}

std::map<std::string, std::string> Departments(Stack& s) {
  std::map<std::string, std::string> out;
  for (const auto& row : s.Query("SELECT reference, department_id FROM tickets")) {
    out[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return out;
}

}  // namespace

TEST_CASE("rules replay shows which stored tickets a candidate rule set would move") {
  Stack s;
  std::string laterne = PostText(s, "Die Laterne vor Hausnummer 7 brennt seit Tagen nicht");
  std::string graffiti = PostText(s, "Graffiti an der Wand der Grundschule");
  std::string sperrmuell = PostText(s, "Sperrmüll am Straßenrand seit einer Woche");
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 3));
  auto before = Departments(s);
  REQUIRE(before.size() == 3);
  REQUIRE(before[graffiti] == "ordnungsamt");
  std::string candidate = WriteCandidate(s).string();

  SECTION("JSON: one ticket moves, by the new rule, with its reference") {
    int status = -1;
    std::string out =
        s.RunCommand({"rules", "replay", "--rules", candidate, "--format", "json"}, &status);
    INFO(out);
    REQUIRE(status == 0);
    json j = ParseJsonOutput(out);
    CHECK(j["total"] == 3);
    CHECK(j["moved"] == 1);
    CHECK(j["unchanged"] == 2);
    REQUIRE(j["moves"].size() == 1);
    CHECK(j["moves"][0]["from"] == "ordnungsamt");
    CHECK(j["moves"][0]["to"] == "abfallwirtschaft");
    CHECK(j["moves"][0]["rule"] == "graffiti-reinigung");
    CHECK(j["moves"][0]["count"] == 1);
    CHECK(j["moves"][0]["examples"] == json::array({graffiti}));
    CHECK(j["ruleset_version"].get<std::string>().rfind("sha256:", 0) == 0);
  }
  SECTION("text: the table and the totals") {
    int status = -1;
    std::string out = s.RunCommand({"rules", "replay", "--rules", candidate}, &status);
    INFO(out);
    REQUIRE(status == 0);
    CHECK_THAT(out, Catch::Contains("replay of 3 stored report(s)"));
    CHECK_THAT(out, Catch::Contains("unchanged: 2\n"));
    CHECK_THAT(out, Catch::Contains("moved:     1\n"));
    CHECK_THAT(out,
               Catch::Matches("[\\s\\S]*ordnungsamt +abfallwirtschaft +graffiti-reinigung +1  " +
                              graffiti + "\n[\\s\\S]*"));
  }
  SECTION("the live rules themselves move nothing; a period in the future holds no ticket") {
    int status = -1;
    std::string rules = std::string(MELDESTELLE_SOURCE_DIR) + "/config/example/rules.yaml";
    json same = ParseJsonOutput(
        s.RunCommand({"rules", "replay", "--rules", rules, "--format", "json"}, &status));
    CHECK(status == 0);
    CHECK(same["total"] == 3);
    CHECK(same["moved"] == 0);
    json none = ParseJsonOutput(s.RunCommand(
        {"rules", "replay", "--rules", candidate, "--since", "2999-01-01", "--format", "json"},
        &status));
    CHECK(status == 0);
    CHECK(none["total"] == 0);
    CHECK(none["since"] == "2998-12-31T23:00:00Z");
    json until = ParseJsonOutput(s.RunCommand({"rules", "replay", "--rules", candidate, "--until",
                                               "2999-01-01T00:00:00Z", "--format", "json"},
                                              &status));
    CHECK(until["total"] == 3);
    CHECK(until["moved"] == 1);
  }
  SECTION("an invalid candidate, a bad date and an unreachable database are refused clearly") {
    auto broken = s.dir() / "broken.yaml";
    std::ofstream(broken) << "default_department: buergerservice\nrules:\n"
                             "  - id: x\n    when: {keywords: [a]}\n    department: nirgendwo\n";
    int status = -1;
    std::string out = s.RunCommand({"rules", "replay", "--rules", broken.string()}, &status);
    CHECK(status == 2);
    CHECK_THAT(out, Catch::Contains("candidate rules are invalid"));
    CHECK_THAT(out, Catch::Contains("broken.yaml:5"));
    CHECK_THAT(out, Catch::Contains("nirgendwo"));

    out = s.RunCommand({"rules", "replay", "--rules", candidate, "--since", "1.11.2026"}, &status);
    CHECK(status == 2);
    CHECK_THAT(out, Catch::Contains("--since"));
    CHECK_THAT(out, Catch::Contains("ISO 8601"));

    out = s.RunCommand({"rules", "replay", "--rules", candidate}, &status,
                       {"MELDESTELLE_DATABASE_URL=postgresql://postgres:secret@127.0.0.1:" +
                        std::to_string(FreePort()) + "/meldestelle"});
    CHECK(status == 1);
    CHECK_THAT(out, Catch::Contains("database unavailable"));
    CHECK(out.find("secret") == std::string::npos);
  }
  // Replay changed nothing.
  CHECK(s.Count(kTickets) == 3);
  CHECK(Departments(s) == before);
}

}  // namespace replay_test
