#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/report.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"

// The operator's fixture file (docs/routing.md, "Fixtures"): reports with the department (and
// optionally the rule) they must go to. `rules check` runs it, and so does every reload.
namespace meldestelle::routing {

struct FixtureCase {
  int index = 0;  // 1-based position in the file
  int line = 0;
  Report report;
  std::string expect_department;  // empty: not checked
  std::string expect_rule;        // empty: not checked; "default" = no rule matched
};

struct FixtureFailure {
  FixtureCase fixture;
  std::string got_department;
  std::string got_rule;  // empty when the default department was used
};

// The fixture file that belongs to a rule file: `rules.yaml` → `rules-tests.yaml`, in the same
// directory (`rules.candidate.yaml` → `rules.candidate-tests.yaml`).
std::filesystem::path FixturesBeside(const std::filesystem::path& rules_file);

// Parses a fixture file: a list of {report: {description, category, lat, lon, channel,
// has_photo, received_at}, expect: {department, rule}}. Errors as "file:line: key: reason".
Result<std::vector<FixtureCase>> LoadFixtures(const std::filesystem::path& file,
                                              const Config* config);
Result<std::vector<FixtureCase>> ParseFixtures(const std::string& yaml_text,
                                               const std::string& file_name,
                                               const Config* config);

// Routes every case; returns those that went elsewhere than expected. Pure, thread-safe.
std::vector<FixtureFailure> RunFixtures(const RuleSet& rules,
                                        const std::vector<FixtureCase>& cases);

// "FILE:LINE: case N: expected …, got … (rule …)", one line per failure.
std::string DescribeFailures(const std::string& fixture_file,
                             const std::vector<FixtureFailure>& failures);

// The full check used by `rules check`, reloads and `rules promote`: loads and validates the rule
// file, then runs its fixture file if there is one (`tests`, else FixturesBeside). The error
// lists every problem; `fixture_count` (if given) receives the number of cases that ran.
Result<std::shared_ptr<const RuleSet>> LoadCheckedRuleSet(const std::filesystem::path& rules_file,
                                                          const Config* config,
                                                          const std::filesystem::path& tests = {},
                                                          size_t* fixture_count = nullptr);

}  // namespace meldestelle::routing
