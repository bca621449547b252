#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/report.hpp"
#include "core/result.hpp"

// The routing rule model and matcher: pure, no I/O except loading the file.
namespace meldestelle::routing {

struct Rule {
  std::string id;
  std::string description;
  int line = 0;
  std::vector<std::string> categories;      // any of these codes (empty = no condition)
  std::vector<std::string> keywords;        // as written
  std::vector<std::string> folded_keywords; // FoldGerman(keywords)
  std::string department;
  bool AlwaysMatches() const { return categories.empty() && keywords.empty(); }
};

// Immutable after loading; shared between threads through shared_ptr<const RuleSet>.
struct RuleSet {
  std::string version;  // "sha256:<hex>" of the file's bytes
  std::string file;
  std::string default_department;
  std::vector<Rule> rules;
};

struct Decision {
  std::string department;
  std::string rule_id;  // empty when the default department was used
  std::string ruleset_version;
  std::vector<std::string> matched_keywords;
  bool matched_category = false;
};

// Parses and validates a rule file. With a config, departments and categories are checked
// against it. The error message lists every problem as "file:line: key: reason".
Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::filesystem::path& file,
                                                   const Config* config);
Result<std::shared_ptr<const RuleSet>> ParseRuleSet(const std::string& yaml_text,
                                                    const std::string& file_name,
                                                    const Config* config);

// First matching rule wins; otherwise the default department.
Decision Route(const RuleSet& rules, const Report& report);

// True if `folded_keyword` occurs in `folded_text` starting at a word boundary (so "laterne"
// matches "laternen", but "rat" does not match "strasse").
bool ContainsKeyword(std::string_view folded_text, std::string_view folded_keyword);

}  // namespace meldestelle::routing
