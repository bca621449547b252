#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/report.hpp"
#include "core/result.hpp"
#include "routing/classifier.hpp"
#include "routing/geo.hpp"
#include "routing/german.hpp"
#include "routing/timezone.hpp"

namespace re2 {
class RE2;
}

// The routing rule language (docs/routing.md): model, loader, matcher and explanations. Pure: no
// I/O except reading the rule file, the GeoJSON files and the time zone when loading.
namespace meldestelle::routing {

enum class CondKind {
  kAll, kAny, kNot,
  kCategory, kCategoryGroup, kKeywords, kRegex, kArea, kNear, kChannel, kTime, kHasPhoto,
  kHasLocation,
};
const char* ToString(CondKind k);

// One node of a rule's condition tree. Built by the loader, immutable afterwards.
struct Condition {
  CondKind kind = CondKind::kAll;
  int line = 0;
  std::vector<Condition> children;  // all / any (≥ 1), not (exactly 1)
  std::vector<std::string> values;  // category codes, group names, channels: as written
  std::vector<std::string> codes;   // category_group: the groups' category codes
  std::vector<Keyword> keywords;
  std::string pattern;                  // regex, as written
  std::shared_ptr<const re2::RE2> regex;
  int geometry = -1;                    // area / near NAME: index into RuleSet::geometries
  std::string geometry_name;
  std::optional<LonLat> near_point;     // near: {point: [lon, lat]}
  double within_m = 0;
  BBox near_bbox;                       // the target's box widened by within_m: quick reject
  int from_minute = 0;                  // time: [from, to) in local minutes of the day
  int to_minute = 24 * 60;
  uint8_t weekdays = 0x7f;              // bit 0 = Monday
  bool flag = true;                     // has_photo / has_location

  // Human-readable form, e.g. "category in [STR-01]". `full` lists every keyword (used to
  // compare conditions); otherwise long lists are shortened.
  std::string Describe(bool full = false) const;
};

struct Forward {
  std::string authority;
  std::string email;
};

struct Rule {
  std::string id;
  std::string description;
  int line = 0;
  std::optional<Condition> when;  // none: matches every report
  std::string department;         // for forwards: who hands the report over (default dept.)
  std::string priority = "normal";
  std::vector<std::string> tags;
  std::optional<Forward> forward;
  bool AlwaysMatches() const { return !when.has_value(); }
};

// The location checks of the config (routing.town_area, outside, districts, border_distance_m),
// resolved to geometries. Evaluated around the rules: docs/routing.md, "Location checks".
struct LocationChecks {
  int town_area = -1;           // index into RuleSet::geometries; -1 = no town check
  std::string town_area_name;
  std::string outside_action;   // "forward", "ask" or empty (not configured)
  Forward outside_forward;      // for "forward"
  std::string outside_message;  // for "ask" (the acknowledgement's question), may be empty
  struct District {
    int geometry = -1;
    std::string name;
    BBox near_bbox;  // the district's box widened by border_distance_m: quick reject
  };
  std::vector<District> districts;
  double border_distance_m = 25;
};

// Immutable after loading; shared between threads through shared_ptr<const RuleSet>.
struct RuleSet {
  std::string version;  // "sha256:<hex>" of the rule file's bytes
  std::string file;
  std::string default_department;
  std::vector<Rule> rules;
  std::vector<Geometry> geometries;  // from the config's routing.areas
  TimeZone timezone = TimeZone::Utc();
  Classifier classifier;  // from the config's categories[].keywords and classifier section
  LocationChecks location;
};

// The flag on a report without a category the classifier could not decide.
inline constexpr const char* kFlagCategoryUncertain = "Kategorie unsicher";
// A located report outside routing.town_area (action ask: the citizen is asked to confirm).
inline constexpr const char* kFlagOutside = "Ort außerhalb";
// A report near the boundary of two districts whose rules give different departments.
inline constexpr const char* kFlagBorder = "Grenzlage";

// One neighbouring district within routing.border_distance_m whose department differs.
struct BorderNeighbour {
  std::string district;    // the district the report lies in
  std::string department;  // the department the report got
  std::string neighbour;   // the other district
  std::string neighbour_department;  // the department it would get just across the boundary
  double distance_m = 0;   // from the report's location to the neighbour's boundary
};

// What the location checks saw; set when the report has a valid location and the config has a
// town_area or districts.
struct LocationCheck {
  std::string town_area;  // empty: no town check configured
  bool outside = false;   // outside town_area
  std::string action;     // outside: "forward" or "ask"
  std::string message;    // outside + ask: the question for the citizen
  // The first configured district containing the location; only looked up when the location
  // is near (bounding box widened by border_distance_m) two or more districts.
  std::string district;
  std::vector<BorderNeighbour> grenzlage;  // non-empty: flagged kFlagBorder
};

// What one condition saw while it was evaluated (for explanations).
struct ConditionTrace {
  std::string condition;  // "category", "keywords", "all", …
  int depth = 0;          // 0 = the rule's top-level condition
  bool held = false;
  std::string expected;   // Describe()
  std::string seen;       // the value it looked at, e.g. "STR-01 (chosen by the citizen)"
};

struct Decision {
  std::string department;
  std::string rule_id;  // empty when the default department was used
  std::string ruleset_version;
  std::string priority = "normal";
  std::vector<std::string> tags;
  std::optional<Forward> forward;
  std::string category;         // the citizen's or the inferred category code, empty if none
  std::string category_source;  // "citizen", "classifier" or "none"
  // Set when the citizen gave no category and the classifier is enabled (it ran).
  std::optional<Classification> classification;
  std::vector<std::string> flags;  // for staff, e.g. kFlagCategoryUncertain
  std::vector<std::string> matched_keywords;  // as written in the rule
  bool matched_category = false;
  std::vector<ConditionTrace> conditions;  // of the matched rule, depth-first
  std::optional<LocationCheck> location;
  // Outside the town with action ask: the acknowledgement asks the citizen to confirm the place.
  bool needs_location_confirmation = false;
  // Re-routing after a hand-back: the departments that may not get the report, and the rules
  // skipped (not evaluated) because their department is one of them, in rule order.
  std::vector<std::string> excluded_departments;
  std::vector<std::string> skipped_rules;
  // The default department is one of the excluded: the caller must decide (triage).
  bool default_excluded = false;
  // A report without a position whose address or text named a place of the street list (set
  // by the admit step before routing, docs/routing.md "Places from the street list"): what was
  // found, and whether it was sure enough to become the report's position (`used`).
  struct Place {
    std::string from;  // "address" or "text"
    std::string kind, street, house_number, matched_text;
    double confidence = 0;
    bool used = false;
  };
  std::optional<Place> place;
};

struct Rejection {
  std::string rule;
  std::string reason;  // the first condition that failed, with the value seen
};

struct Explanation {
  Decision decision;
  std::vector<Rejection> rejected;  // every rule before the matching one, in order
};

// Parses and validates a rule file. With a config, departments, categories, groups and areas are
// checked against it, the config's GeoJSON areas and town.timezone are loaded. The error
// message lists every problem as "file:line: key: reason", one per line.
Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::filesystem::path& file,
                                                   const Config* config);
Result<std::shared_ptr<const RuleSet>> ParseRuleSet(const std::string& yaml_text,
                                                    const std::string& file_name,
                                                    const Config* config);

// First matching rule wins; otherwise the default department. A report without a category gets
// the classifier's (if it is sure) before any rule is evaluated, so `category` conditions see
// it; if it is unsure the report stays without a category and is flagged "Kategorie unsicher".
// Fills the explanation of the matched rule (conditions) but not the rejections. Thread-safe.
// Location checks (docs/routing.md): a located report outside routing.town_area with action
// forward is forwarded before any rule is evaluated (rule_id empty, department = default
// department); with action ask it is flagged and routed normally. After the rules, a report
// within border_distance_m of another district is routed once more as if it lay just across
// that boundary; if the department differs it is flagged "Grenzlage".
Decision Route(const RuleSet& rules, const Report& report);
// Route for re-routing a ticket a department handed back: rules whose department is in
// `excluded_departments` are skipped without being evaluated (recorded in skipped_rules), and
// default_excluded says whether the fallback, the default department, is excluded too.
Decision Route(const RuleSet& rules, const Report& report,
               const std::vector<std::string>& excluded_departments);
// Only the first matching rule (nullptr: the default department), without any explanation: for
// replaying many stored reports, where building the trace would cost more than matching.
// Ignores the location checks. Thread-safe.
const Rule* FirstMatch(const RuleSet& rules, const Report& report);
// Route plus, for every earlier rule, why it did not match (a rule of an excluded department:
// "department X is excluded").
Explanation Explain(const RuleSet& rules, const Report& report,
                    const std::vector<std::string>& excluded_departments = {});

// {"department", "category", "category_source", "rule", "ruleset_version", "priority", "tags",
//  "forward", "flags", "needs_location_confirmation", "location": null | {"town_area",
//  "outside", "action", "message", "district", "grenzlage": [{"district", "department",
//  "neighbour", "neighbour_department", "distance_m"}]}, "classifier": null | {"category", "confidence", "scores": [{"category",
//  "score", "keywords"}]}, "conditions": [{"condition", "depth", "held", "expected", "seen"}]};
// Explain's form adds "rejected": [{"rule", "reason"}].
nlohmann::json DecisionToJson(const Decision& d);
nlohmann::json ExplanationToJson(const Explanation& e);
// Human-readable, English, one fact per line.
std::string ExplanationToText(const Explanation& e);

// v1 helper kept for callers: true if `folded_keyword` occurs in `folded_text` starting at a word
// boundary.
bool ContainsKeyword(std::string_view folded_text, std::string_view folded_keyword);

}  // namespace meldestelle::routing
