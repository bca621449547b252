// The operator's fixture file: report → expected department (and rule).
#include "routing/fixtures.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/yaml_reader.hpp"

namespace meldestelle::routing {

namespace fs = std::filesystem;

namespace {

// A fixed, ordinary time (a Wednesday, 10:00 in Berlin) unless the case names one: fixtures must
// not depend on when they run.
constexpr const char* kDefaultReceivedAt = "2025-06-11T08:00:00.000Z";

bool Coordinate(YamlReader& rd, const YAML::Node& map, const char* name, const std::string& key,
                double min, double max, std::optional<double>* out) {
  YAML::Node n = map[name];
  if (!n) {
    return true;
  }
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < min ||
      v > max) {
    rd.Fail(n, key + "." + name, "must be a number in range");
    return false;
  }
  *out = v;
  return true;
}

void ReadReport(YamlReader& rd, const YAML::Node& node, const std::string& key,
                const Config* config, FixtureCase& c) {
  if (!rd.ExpectMap(
          node, key,
          {"description", "category", "lat", "lon", "channel", "has_photo", "received_at"})) {
    return;
  }
  Report& r = c.report;
  rd.String(node, "description", &r.text, false, key);
  rd.String(node, "category", &r.category, false, key);
  rd.String(node, "channel", &r.channel, false, key);
  rd.String(node, "received_at", &r.received_at, false, key);
  if (!IsValidUtf8(r.text)) {
    rd.Fail(node["description"], key + ".description", "is not valid UTF-8");
  }
  if (config != nullptr && !r.category.empty() && config->FindCategory(r.category) == nullptr) {
    rd.Fail(node["category"], key + ".category", "unknown category \"" + r.category + "\"");
  }
  bool ok = Coordinate(rd, node, "lat", key, -90, 90, &r.location.lat);
  ok = Coordinate(rd, node, "lon", key, -180, 180, &r.location.lon) && ok;
  if (ok && r.location.lat.has_value() != r.location.lon.has_value()) {
    rd.Fail(node, key, "lat and lon go together");
  } else if (r.location.lat) {
    r.location.source = LocationSource::kDevice;
  }
  if (YAML::Node p = node["has_photo"]) {
    if (!p.IsScalar() || (p.Scalar() != "true" && p.Scalar() != "false")) {
      rd.Fail(p, key + ".has_photo", "must be true or false");
    } else if (p.Scalar() == "true") {
      r.attachments.push_back({std::string(64, '0'), "image/jpeg", 0, "photo.jpg"});
    }
  }
}

}  // namespace

fs::path FixturesBeside(const fs::path& rules_file) {
  return rules_file.parent_path() /
         (rules_file.stem().string() + "-tests" + rules_file.extension().string());
}

Result<std::vector<FixtureCase>> LoadFixtures(const fs::path& file, const Config* config) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(errors::kFixturesInvalid, file.string() + ":0: (file): cannot be read\n");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseFixtures(ss.str(), file.string(), config);
}

Result<std::vector<FixtureCase>> ParseFixtures(const std::string& text,
                                               const std::string& file_name, const Config* config) {
  YamlReader rd(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    rd.FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
    return MakeError(errors::kFixturesInvalid, rd.JoinedErrors());
  }
  if (!root || !root.IsSequence()) {
    rd.FailAtLine(1, "(file)", "must be a list of {report, expect} cases");
    return MakeError(errors::kFixturesInvalid, rd.JoinedErrors());
  }
  rd.CheckDuplicateKeys(root);
  std::vector<FixtureCase> cases;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& node = root[i];
    std::string key = "[" + std::to_string(i + 1) + "]";
    FixtureCase c;
    c.index = static_cast<int>(i + 1);
    c.line = YamlReader::Line(node);
    c.report.channel = "webform";
    c.report.received_at = kDefaultReceivedAt;
    c.report.reference = "case-" + std::to_string(i + 1);
    if (!rd.ExpectMap(node, key, {"report", "expect"})) {
      continue;
    }
    if (YAML::Node r = node["report"]) {
      ReadReport(rd, r, key + ".report", config, c);
    } else {
      rd.Fail(node, key + ".report", "is required");
    }
    YAML::Node e = node["expect"];
    if (!e) {
      rd.Fail(node, key + ".expect", "is required");
    } else if (rd.ExpectMap(e, key + ".expect", {"department", "rule"})) {
      rd.String(e, "department", &c.expect_department, false, key + ".expect");
      rd.String(e, "rule", &c.expect_rule, false, key + ".expect");
      if (c.expect_department.empty() && c.expect_rule.empty()) {
        rd.Fail(e, key + ".expect", "needs a department or a rule");
      }
      if (config != nullptr && !c.expect_department.empty() &&
          config->FindDepartment(c.expect_department) == nullptr) {
        rd.Fail(e["department"], key + ".expect.department",
                "unknown department \"" + c.expect_department + "\"");
      }
    }
    cases.push_back(std::move(c));
  }
  if (!rd.ok()) {
    return MakeError(errors::kFixturesInvalid, rd.JoinedErrors());
  }
  return cases;
}

std::vector<FixtureFailure> RunFixtures(const RuleSet& rules,
                                        const std::vector<FixtureCase>& cases) {
  std::vector<FixtureFailure> failures;
  for (const auto& c : cases) {
    Decision d = Route(rules, c.report);
    std::string got_rule = d.rule_id.empty() ? "default" : d.rule_id;
    bool dept_ok = c.expect_department.empty() || c.expect_department == d.department;
    bool rule_ok = c.expect_rule.empty() || c.expect_rule == got_rule;
    if (!dept_ok || !rule_ok) {
      failures.push_back({c, d.department, d.rule_id});
    }
  }
  return failures;
}

std::string DescribeFailures(const std::string& fixture_file,
                             const std::vector<FixtureFailure>& failures) {
  std::ostringstream out;
  for (const auto& f : failures) {
    const FixtureCase& c = f.fixture;
    out << fixture_file << ":" << c.line << ": case " << c.index << ": expected ";
    if (!c.expect_department.empty()) {
      out << "department " << c.expect_department;
    }
    if (!c.expect_rule.empty()) {
      out << (c.expect_department.empty() ? "" : " ") << "(rule " << c.expect_rule << ")";
    }
    out << ", got " << f.got_department << " ("
        << (f.got_rule.empty() ? "no rule matched: default department" : "rule " + f.got_rule)
        << ")";
    std::string text = c.report.text.substr(0, 60);
    if (!text.empty()) {
      out << " for \"" << text << (c.report.text.size() > 60 ? "…" : "") << "\"";
    }
    out << "\n";
  }
  return out.str();
}

Result<std::shared_ptr<const RuleSet>> LoadCheckedRuleSet(const fs::path& rules_file,
                                                          const Config* config,
                                                          const fs::path& tests,
                                                          size_t* fixture_count) {
  auto rules = LoadRuleSet(rules_file, config);
  if (!rules) {
    return rules.error();
  }
  fs::path fixtures = tests.empty() ? FixturesBeside(rules_file) : tests;
  std::error_code ec;
  if (tests.empty() && !fs::exists(fixtures, ec)) {
    if (fixture_count != nullptr) {
      *fixture_count = 0;
    }
    return rules;
  }
  auto cases = LoadFixtures(fixtures, config);
  if (!cases) {
    return cases.error();
  }
  if (fixture_count != nullptr) {
    *fixture_count = cases->size();
  }
  auto failures = RunFixtures(**rules, *cases);
  if (!failures.empty()) {
    return MakeError(errors::kFixturesFailed, DescribeFailures(fixtures.string(), failures) +
                                                  std::to_string(failures.size()) + " of " +
                                                  std::to_string(cases->size()) +
                                                  " fixture(s) failed\n");
  }
  return rules;
}

}  // namespace meldestelle::routing
