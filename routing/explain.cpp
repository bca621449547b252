// Explanations as JSON (stored on the ticket, `rules explain --format json`) and as text.
#include <nlohmann/json.hpp>

#include <sstream>

#include "routing/rules.hpp"

namespace meldestelle::routing {

nlohmann::json DecisionToJson(const Decision& d) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& c : d.conditions) {
    conditions.push_back({{"condition", c.condition},
                          {"depth", c.depth},
                          {"held", c.held},
                          {"expected", c.expected},
                          {"seen", c.seen}});
  }
  nlohmann::json j{{"department", d.department},
                   {"category", d.category},
                   {"category_source", d.category_source},
                   {"rule", d.rule_id.empty() ? nlohmann::json() : nlohmann::json(d.rule_id)},
                   {"ruleset_version", d.ruleset_version},
                   {"priority", d.priority},
                   {"tags", d.tags},
                   {"forward", nullptr},
                   {"conditions", std::move(conditions)}};
  if (d.forward) {
    j["forward"] = {{"authority", d.forward->authority}, {"email", d.forward->email}};
  }
  return j;
}

nlohmann::json ExplanationToJson(const Explanation& e) {
  nlohmann::json j = DecisionToJson(e.decision);
  nlohmann::json rejected = nlohmann::json::array();
  for (const auto& r : e.rejected) {
    rejected.push_back({{"rule", r.rule}, {"reason", r.reason}});
  }
  j["rejected"] = std::move(rejected);
  return j;
}

std::string ExplanationToText(const Explanation& e) {
  const Decision& d = e.decision;
  std::ostringstream out;
  out << "department:  " << d.department << "\n";
  if (d.forward) {
    out << "forward to:  " << d.forward->authority << " <" << d.forward->email << ">\n";
  }
  out << "rule:        " << (d.rule_id.empty() ? "(none matched: default department)" : d.rule_id)
      << "\n";
  out << "category:    "
      << (d.category.empty() ? "(none)" : d.category + " (" + d.category_source + ")") << "\n";
  out << "priority:    " << d.priority << "\n";
  if (!d.tags.empty()) {
    out << "tags:        ";
    for (size_t i = 0; i < d.tags.size(); ++i) {
      out << (i == 0 ? "" : ", ") << d.tags[i];
    }
    out << "\n";
  }
  out << "rule set:    " << d.ruleset_version << "\n";
  if (!d.conditions.empty()) {
    out << "conditions:\n";
    for (const auto& c : d.conditions) {
      out << "  " << std::string(static_cast<size_t>(c.depth) * 2, ' ')
          << (c.held ? "[held]   " : "[failed] ") << c.expected;
      if (!c.seen.empty()) {
        out << " — " << c.seen;
      }
      out << "\n";
    }
  }
  if (!e.rejected.empty()) {
    out << "earlier rules that did not match:\n";
    for (const auto& r : e.rejected) {
      out << "  " << r.rule << ": " << r.reason << "\n";
    }
  }
  return out.str();
}

}  // namespace meldestelle::routing
