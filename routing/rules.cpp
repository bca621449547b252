#include "routing/rules.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "core/yaml_reader.hpp"

namespace meldestelle::routing {

bool ContainsKeyword(std::string_view text, std::string_view kw) {
  if (kw.empty()) return false;
  size_t pos = 0;
  while ((pos = text.find(kw, pos)) != std::string_view::npos) {
    if (pos == 0 || text[pos - 1] == ' ') {
      return true;
    }
    ++pos;
  }
  return false;
}

Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::filesystem::path& file,
                                                   const Config* config) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError("rules_invalid", file.string() + ":0: (file): cannot be read\n");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseRuleSet(ss.str(), file.string(), config);
}

Result<std::shared_ptr<const RuleSet>> ParseRuleSet(const std::string& text,
                                                    const std::string& file_name,
                                                    const Config* config) {
  static const std::regex kId("^[a-z0-9_-]+$");
  YamlReader rd(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    rd.FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
    return MakeError("rules_invalid", rd.JoinedErrors());
  }
  if (!root || !root.IsMap()) {
    rd.FailAtLine(1, "(file)", "must be a mapping with default_department and rules");
    return MakeError("rules_invalid", rd.JoinedErrors());
  }
  auto rs = std::make_shared<RuleSet>();
  rs->file = file_name;
  rs->version = "sha256:" + Sha256Hex(text);
  rd.ExpectMap(root, "", {"default_department", "rules"});
  rd.String(root, "default_department", &rs->default_department, true);
  auto check_department = [&](const YAML::Node& at, const std::string& key,
                              const std::string& id) {
    if (config != nullptr && !id.empty() && config->FindDepartment(id) == nullptr) {
      rd.Fail(at, key, "unknown department \"" + id + "\"");
    }
  };
  check_department(root["default_department"], "default_department", rs->default_department);

  YAML::Node rules = root["rules"];
  if (!rules) {
    rd.Fail(root, "rules", "is required");
  } else if (rd.ExpectSequence(rules, "rules")) {
    std::set<std::string> ids;
    std::string catch_all;  // "id (line n)" of the first rule without conditions
    for (const auto& node : rules) {
      if (!rd.ExpectMap(node, "rules[]", {"id", "description", "when", "department"})) continue;
      Rule r;
      r.line = YamlReader::Line(node);
      rd.String(node, "id", &r.id, true, "rules[]");
      rd.String(node, "description", &r.description, false, "rules[]");
      rd.String(node, "department", &r.department, true, "rules[" + r.id + "]");
      std::string key = "rules[" + r.id + "]";
      if (!r.id.empty() && !std::regex_match(r.id, kId)) {
        rd.Fail(node["id"], key + ".id", "must match [a-z0-9_-]+");
      }
      if (!r.id.empty() && !ids.insert(r.id).second) {
        rd.Fail(node["id"], key + ".id", "duplicate rule id");
      }
      check_department(node["department"], key + ".department", r.department);
      if (auto when = node["when"]; when && !when.IsNull()) {
        if (rd.ExpectMap(when, key + ".when", {"category", "keywords"})) {
          rd.StringList(when, "category", &r.categories, key + ".when");
          rd.StringList(when, "keywords", &r.keywords, key + ".when");
          for (const auto& code : r.categories) {
            if (config != nullptr && config->FindCategory(code) == nullptr) {
              rd.Fail(when["category"], key + ".when.category",
                      "unknown category \"" + code + "\"");
            }
          }
          for (const auto& kw : r.keywords) {
            std::string folded = IsValidUtf8(kw) ? FoldGerman(kw) : "";
            if (folded.empty()) {
              rd.Fail(when["keywords"], key + ".when.keywords",
                      "keyword \"" + kw + "\" is empty after normalisation");
            }
            r.folded_keywords.push_back(folded);
          }
          if (r.AlwaysMatches()) {
            rd.Fail(when, key + ".when", "has no condition (omit `when` for a catch-all rule)");
          }
        }
      }
      if (!catch_all.empty()) {
        rd.Fail(node, key, "is unreachable: rule " + catch_all + " matches every report first");
      } else if (r.AlwaysMatches()) {
        catch_all = "\"" + r.id + "\" (line " + std::to_string(r.line) + ")";
      }
      rs->rules.push_back(std::move(r));
    }
  }
  if (!rd.ok()) {
    return MakeError("rules_invalid", rd.JoinedErrors());
  }
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

Decision Route(const RuleSet& rules, const Report& report) {
  Decision d;
  d.ruleset_version = rules.version;
  std::string folded = FoldGerman(report.text);
  for (const auto& rule : rules.rules) {
    bool category_ok = rule.categories.empty();
    for (const auto& code : rule.categories) {
      category_ok = category_ok || code == report.category;
    }
    if (!category_ok) continue;
    std::vector<std::string> found;
    for (size_t i = 0; i < rule.folded_keywords.size(); ++i) {
      if (ContainsKeyword(folded, rule.folded_keywords[i])) {
        found.push_back(rule.keywords[i]);
      }
    }
    if (!rule.keywords.empty() && found.empty()) continue;
    d.department = rule.department;
    d.rule_id = rule.id;
    d.matched_keywords = std::move(found);
    d.matched_category = !rule.categories.empty();
    return d;
  }
  d.department = rules.default_department;
  return d;
}

}  // namespace meldestelle::routing
