// Explanations as JSON (stored on the ticket, `rules explain --format json`) and as text.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "routing/rules.hpp"

namespace meldestelle::routing {

namespace {

// "confidence 0.75: STR-01 3 [schlagloch, fahrbahn], STR-02 1 [gehweg]"
std::string ClassifierLine(const Classification& c) {
  if (c.top.empty()) {
    return "no keyword found";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "confidence %.2f:", c.confidence);
  std::string out = buf;
  for (size_t i = 0; i < c.top.size(); ++i) {
    std::snprintf(buf, sizeof buf, " %s %g [", c.top[i].category.c_str(), c.top[i].score);
    out += (i == 0 ? "" : ",") + std::string(buf);
    for (size_t k = 0; k < c.top[i].keywords.size(); ++k) {
      out += (k == 0 ? "" : ", ") + c.top[i].keywords[k];
    }
    out += "]";
  }
  return out;
}

}  // namespace

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
  j["flags"] = d.flags;
  j["needs_location_confirmation"] = d.needs_location_confirmation;
  j["location"] = nullptr;
  if (d.location) {
    const LocationCheck& l = *d.location;
    nlohmann::json border = nlohmann::json::array();
    for (const auto& b : l.grenzlage) {
      border.push_back({{"district", b.district},
                        {"department", b.department},
                        {"neighbour", b.neighbour},
                        {"neighbour_department", b.neighbour_department},
                        {"distance_m", std::round(b.distance_m * 10) / 10}});
    }
    auto str_or_null = [](const std::string& s) {
      return s.empty() ? nlohmann::json() : nlohmann::json(s);
    };
    j["location"] = {{"town_area", str_or_null(l.town_area)},
                     {"outside", l.outside},
                     {"action", str_or_null(l.action)},
                     {"message", str_or_null(l.message)},
                     {"district", str_or_null(l.district)},
                     {"grenzlage", std::move(border)}};
  }
  if (!d.excluded_departments.empty()) {
    // Re-routing after a hand-back (docs/departments.md, "Re-routing, acceptance deadlines").
    j["excluded"] = {{"departments", d.excluded_departments},
                     {"skipped_rules", d.skipped_rules},
                     {"default_excluded", d.default_excluded}};
  }
  j["place"] = nullptr;
  if (d.place) {
    j["place"] = {{"from", d.place->from},
                  {"kind", d.place->kind},
                  {"street", d.place->street},
                  {"house_number", d.place->house_number},
                  {"matched_text", d.place->matched_text},
                  {"confidence", std::round(d.place->confidence * 100) / 100},
                  {"used", d.place->used}};
  }
  j["classifier"] = nullptr;
  if (d.classification) {
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& s : d.classification->top) {
      scores.push_back({{"category", s.category}, {"score", s.score}, {"keywords", s.keywords}});
    }
    j["classifier"] = {{"category", d.classification->category.empty()
                                        ? nlohmann::json()
                                        : nlohmann::json(d.classification->category)},
                       {"confidence", d.classification->confidence},
                       {"scores", std::move(scores)}};
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

namespace {

// "a, b, c"
void JoinedLine(std::ostream& out, const char* label, const std::vector<std::string>& items) {
  out << label;
  for (size_t i = 0; i < items.size(); ++i) {
    out << (i == 0 ? "" : ", ") << items[i];
  }
}

// The location checks: inside or outside the town, the question for the citizen, the district
// and the Grenzlage.
void LocationLines(std::ostream& out, const Decision& d) {
  const LocationCheck& l = *d.location;
  if (!l.town_area.empty()) {
    out << "location:    " << (l.outside ? "outside " : "inside ") << l.town_area;
    if (l.outside && !l.action.empty()) {
      out << " (action " << l.action << ")";
    }
    out << "\n";
  }
  if (d.needs_location_confirmation) {
    out << "ask citizen: " << (l.message.empty() ? "(confirm the location)" : l.message) << "\n";
  }
  if (!l.district.empty()) {
    out << "district:    " << l.district << "\n";
  }
  for (const auto& b : l.grenzlage) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f m", b.distance_m);
    out << "grenzlage:   " << b.district << " → " << b.department << ", " << buf << " from "
        << b.neighbour << " → " << b.neighbour_department << "\n";
  }
}

// The conditions of the deciding rule, indented by depth, and the rules before it.
void TraceLines(std::ostream& out, const Explanation& e) {
  if (!e.decision.conditions.empty()) {
    out << "conditions:\n";
    for (const auto& c : e.decision.conditions) {
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
}

}  // namespace

std::string ExplanationToText(const Explanation& e) {
  const Decision& d = e.decision;
  std::ostringstream out;
  out << "department:  " << d.department << "\n";
  if (d.forward) {
    out << "forward to:  " << d.forward->authority << " <" << d.forward->email << ">\n";
  }
  bool forwarded_outside = d.location && d.location->outside && d.location->action == "forward";
  out << "rule:        "
      << (forwarded_outside ? "(none evaluated: location outside " + d.location->town_area + ")"
          : d.rule_id.empty() ? "(none matched: default department)"
                              : d.rule_id)
      << "\n";
  out << "category:    "
      << (d.category.empty() ? "(none)" : d.category + " (" + d.category_source + ")") << "\n";
  if (d.classification) {
    out << "classifier:  " << ClassifierLine(*d.classification) << "\n";
  }
  if (!d.flags.empty()) {
    JoinedLine(out, "flags:       ", d.flags);
    out << "\n";
  }
  if (!d.excluded_departments.empty()) {
    JoinedLine(out, "excluded:    ", d.excluded_departments);
    out << " (handed back; " << d.skipped_rules.size() << " rule(s) skipped"
        << (d.default_excluded ? ", the default department too" : "") << ")\n";
  }
  if (d.place) {
    out << "place:       " << d.place->street
        << (d.place->house_number.empty() ? "" : " " + d.place->house_number) << " from the "
        << d.place->from << " \"" << d.place->matched_text << "\" ("
        << static_cast<int>(std::lround(d.place->confidence * 100)) << " %"
        << (d.place->used ? "" : ", too unsure: kept as text") << ")\n";
  }
  if (d.location) {
    LocationLines(out, d);
  }
  out << "priority:    " << d.priority << "\n";
  if (!d.tags.empty()) {
    JoinedLine(out, "tags:        ", d.tags);
    out << "\n";
  }
  out << "rule set:    " << d.ruleset_version << "\n";
  TraceLines(out, e);
  return out.str();
}

}  // namespace meldestelle::routing
