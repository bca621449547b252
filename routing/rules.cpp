// The matcher: evaluates rules against a report, and explains the result.
#include "routing/rules.hpp"

#include <re2/re2.h>

#include <cmath>
#include <cstdio>

#include "core/text.hpp"

namespace meldestelle::routing {

namespace {

constexpr size_t kShortList = 6;
constexpr size_t kMaxSeenChars = 80;
const char* const kWeekdayNames[] = {"mo", "di", "mi", "do", "fr", "sa", "so"};

std::string JoinList(const std::vector<std::string>& v, bool full) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (!full && i == kShortList) {
      out += ", … (" + std::to_string(v.size()) + " in all)";
      break;
    }
    out += (i == 0 ? "" : ", ") + v[i];
  }
  return out + "]";
}

std::string HhMm(int minute) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

std::string Metres(double m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f m", m);
  return buf;
}

std::string Quote(std::string_view s) {
  // Cut on a UTF-8 boundary so the explanation stays valid UTF-8.
  if (s.size() > kMaxSeenChars) {
    size_t cut = kMaxSeenChars;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    return "\"" + std::string(s.substr(0, cut)) + "…\"";
  }
  return "\"" + std::string(s) + "\"";
}

bool HasPhoto(const Report& r) {
  for (const auto& a : r.attachments) {
    if (a.media_type.rfind("image/", 0) == 0) {
      return true;
    }
  }
  return false;
}

// Per-report state for one Route/Explain call: the folded text and local time are computed at
// most once, and only if a rule asks for them.
class Context {
 public:
  Context(const RuleSet& rs, const Report& r) : rs_(rs), report_(r) {}

  const Report& report() const { return report_; }
  const RuleSet& rules() const { return rs_; }

  const Words& TextWords() {
    if (!words_ready_) {
      words_ready_ = true;
      if (IsValidUtf8(report_.text)) {
        words_ = SplitAndStem(FoldGerman(report_.text));
      }
    }
    return words_;
  }

  // The citizen's category, else the classifier's (computed once, on first use).
  const std::string& Category() {
    if (!report_.category.empty()) {
      return report_.category;
    }
    if (!classified_ && rs_.classifier.enabled()) {
      classified_ = true;
      classification_ = rs_.classifier.Classify(TextWords());
    }
    return classification_ ? classification_->category : report_.category;
  }
  const std::optional<Classification>& classification() {
    Category();
    return classification_;
  }

  std::optional<LonLat> Location() const {
    const auto& l = report_.location;
    if (!l.lat || !l.lon || !ValidLonLat(*l.lon, *l.lat)) {
      return std::nullopt;
    }
    return LonLat{*l.lon, *l.lat};
  }

  std::optional<LocalTime> Local() {
    if (!time_ready_) {
      time_ready_ = true;
      if (auto t = ParseRfc3339(report_.received_at)) {
        local_ = ToLocal(rs_.timezone, *t);
      }
    }
    return local_;
  }

  // Filled while tracing the matched rule.
  std::vector<std::string> found_keywords;
  bool category_matched = false;

 private:
  const RuleSet& rs_;
  const Report& report_;
  bool words_ready_ = false;
  Words words_;
  bool time_ready_ = false;
  std::optional<LocalTime> local_;
  bool classified_ = false;
  std::optional<Classification> classification_;
};

bool InList(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v) {
    if (x == s) {
      return true;
    }
  }
  return false;
}

std::string Confidence(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", c);
  return buf;
}

std::string CategorySeen(Context& ctx) {
  const std::string& category = ctx.Category();
  if (!ctx.report().category.empty()) {
    return category + " (chosen by the citizen)";
  }
  const auto& c = ctx.classification();
  if (!c) {
    return "no category";
  }
  if (!category.empty()) {
    return category + " (classifier, confidence " + Confidence(c->confidence) + ")";
  }
  return std::string("no category (") + kFlagCategoryUncertain + ")";
}

bool TimeHolds(const Condition& c, const LocalTime& t) {
  int m = t.minute_of_day;
  auto day_ok = [&](int weekday) { return (c.weekdays >> weekday) & 1u; };
  if (c.from_minute < c.to_minute) {
    return m >= c.from_minute && m < c.to_minute && day_ok(t.weekday);
  }
  // Spans midnight: the part after midnight belongs to the window that began the day before.
  if (m >= c.from_minute) {
    return day_ok(t.weekday);
  }
  return m < c.to_minute && day_ok((t.weekday + 6) % 7);
}

// The leaf conditions. `seen`, if given, receives the value the condition looked at.

bool CategoryHolds(const Condition& c, Context& ctx, std::string* seen, bool trace) {
  const std::string& category = ctx.Category();
  bool held =
      !category.empty() && InList(c.kind == CondKind::kCategory ? c.values : c.codes, category);
  if (seen != nullptr) {
    *seen = CategorySeen(ctx);
  }
  if (trace && held) {
    ctx.category_matched = true;
  }
  return held;
}

bool KeywordsHold(const Condition& c, Context& ctx, std::string* seen, bool trace) {
  const Words& words = ctx.TextWords();
  std::vector<std::string> found;
  for (const auto& kw : c.keywords) {
    if (ContainsPhrase(words, kw.words)) {
      if (seen == nullptr && !trace) {
        return true;
      }
      found.push_back(kw.written);
    }
  }
  if (seen != nullptr) {
    *seen = words.words.empty() ? "empty text"
            : found.empty()     ? "none found in " + Quote(ctx.report().text)
                                : "found " + JoinList(found, true);
  }
  if (trace) {
    ctx.found_keywords.insert(ctx.found_keywords.end(), found.begin(), found.end());
  }
  return !found.empty();
}

bool RegexHolds(const Condition& c, const Report& r, std::string* seen) {
  re2::StringPiece match;
  bool held =
      c.regex != nullptr && c.regex->Match(r.text, 0, r.text.size(), RE2::UNANCHORED, &match, 1);
  if (seen != nullptr) {
    *seen = r.text.empty() ? "empty text"
            : held         ? "matched " + Quote(std::string_view(match.data(), match.size()))
                           : "no match in " + Quote(r.text);
  }
  return held;
}

bool AreaHolds(const Condition& c, Context& ctx, std::string* seen) {
  auto p = ctx.Location();
  const auto& geos = ctx.rules().geometries;
  bool held = p && c.geometry >= 0 && Contains(geos[static_cast<size_t>(c.geometry)], *p);
  if (seen != nullptr) {
    char buf[64];
    if (p) {
      std::snprintf(buf, sizeof buf, "%.6f, %.6f", p->lat, p->lon);
    }
    *seen = !p ? std::string("no location")
               : std::string(buf) + (held ? " inside " : " outside ") + c.geometry_name;
  }
  return held;
}

bool NearHolds(const Condition& c, Context& ctx, std::string* seen) {
  auto p = ctx.Location();
  if (!p) {
    if (seen != nullptr) {
      *seen = "no location";
    }
    return false;
  }
  if (!c.near_bbox.Contains(*p) && seen == nullptr) {
    return false;  // quick reject
  }
  double d = std::numeric_limits<double>::infinity();
  if (c.near_point) {
    d = HaversineMetres(*p, *c.near_point);
  } else if (c.geometry >= 0) {
    d = DistanceMetres(ctx.rules().geometries[static_cast<size_t>(c.geometry)], *p);
  }
  if (seen != nullptr) {
    *seen = "distance " + Metres(d) + " to " + c.geometry_name;
  }
  return d <= c.within_m;
}

bool TimeHoldsAt(const Condition& c, Context& ctx, std::string* seen) {
  auto t = ctx.Local();
  if (seen != nullptr) {
    *seen = !t ? "no valid received_at (" + Quote(ctx.report().received_at) + ")"
               : std::string(kWeekdayNames[t->weekday]) + " " + HhMm(t->minute_of_day) + " " +
                     ctx.rules().timezone.name();
  }
  return t && TimeHolds(c, *t);
}

// A yes/no fact of the report (has_photo, has_location) against the condition's flag.
bool FactHolds(const Condition& c, bool fact, const char* yes, const char* no, std::string* seen) {
  if (seen != nullptr) {
    *seen = fact ? yes : no;
  }
  return fact == c.flag;
}

// Evaluates a leaf condition. `seen`, if given, receives the value it looked at.
bool Leaf(const Condition& c, Context& ctx, std::string* seen, bool trace) {
  const Report& r = ctx.report();
  switch (c.kind) {
    case CondKind::kCategory:
    case CondKind::kCategoryGroup:
      return CategoryHolds(c, ctx, seen, trace);
    case CondKind::kKeywords:
      return KeywordsHold(c, ctx, seen, trace);
    case CondKind::kRegex:
      return RegexHolds(c, r, seen);
    case CondKind::kArea:
      return AreaHolds(c, ctx, seen);
    case CondKind::kNear:
      return NearHolds(c, ctx, seen);
    case CondKind::kChannel:
      if (seen != nullptr) {
        *seen = r.channel.empty() ? "no channel" : r.channel;
      }
      return InList(c.values, r.channel);
    case CondKind::kTime:
      return TimeHoldsAt(c, ctx, seen);
    case CondKind::kHasPhoto:
      return FactHolds(c, HasPhoto(r), "has a photo", "no photo", seen);
    case CondKind::kHasLocation:
      return FactHolds(c, ctx.Location().has_value(), "has a location", "no location", seen);
    case CondKind::kAll:
    case CondKind::kAny:
    case CondKind::kNot:
      break;
  }
  return false;
}

// Evaluates a condition tree; with `trace`, records every evaluated node depth-first.
bool Eval(const Condition& c, Context& ctx, std::vector<ConditionTrace>* trace, int depth) {
  size_t at = 0;
  if (trace != nullptr) {
    at = trace->size();
    trace->push_back({ToString(c.kind), depth, false, c.Describe(), ""});
  }
  bool held = false;
  switch (c.kind) {
    case CondKind::kAll:
      held = true;
      for (const auto& child : c.children) {
        if (!Eval(child, ctx, trace, depth + 1)) {
          held = false;
          break;
        }
      }
      break;
    case CondKind::kAny:
      for (const auto& child : c.children) {
        if (Eval(child, ctx, trace, depth + 1)) {
          held = true;
          break;
        }
      }
      break;
    case CondKind::kNot:
      held = !Eval(c.children[0], ctx, trace, depth + 1);
      break;
    default: {
      std::string seen;
      held = Leaf(c, ctx, trace != nullptr ? &seen : nullptr, trace != nullptr);
      if (trace != nullptr) {
        (*trace)[at].seen = std::move(seen);
      }
    }
  }
  if (trace != nullptr) {
    (*trace)[at].held = held;
  }
  return held;
}

// Why `c` does not hold (called only when it does not): the first failing condition.
std::string FailReason(const Condition& c, Context& ctx) {
  switch (c.kind) {
    case CondKind::kAll:
      for (const auto& child : c.children) {
        if (!Eval(child, ctx, nullptr, 0)) {
          return FailReason(child, ctx);
        }
      }
      return "all of its conditions held";  // not reached
    case CondKind::kAny: {
      std::string out = "none of: ";
      for (size_t i = 0; i < c.children.size(); ++i) {
        out += (i == 0 ? "" : "; ") + FailReason(c.children[i], ctx);
      }
      return out;
    }
    case CondKind::kNot: {
      std::vector<ConditionTrace> inner;
      Eval(c.children[0], ctx, &inner, 0);
      return "not (" + c.children[0].Describe() + "), but it held: " + inner[0].seen;
    }
    default: {
      std::string seen;
      Leaf(c, ctx, &seen, false);
      return c.Describe() + ": " + seen;
    }
  }
}

Decision Matched(const RuleSet& rs, const Rule* rule, Context& ctx) {
  Decision d;
  d.ruleset_version = rs.version;
  d.category = ctx.Category();
  d.classification = ctx.classification();
  d.category_source = !ctx.report().category.empty() ? "citizen"
                      : !d.category.empty()          ? "classifier"
                                                     : "none";
  if (d.classification && d.category.empty()) {
    d.flags.emplace_back(kFlagCategoryUncertain);
  }
  if (rule == nullptr) {
    d.department = rs.default_department;
    return d;
  }
  d.department = rule->department;
  d.rule_id = rule->id;
  d.priority = rule->priority;
  d.tags = rule->tags;
  d.forward = rule->forward;
  if (rule->when) {
    Eval(*rule->when, ctx, &d.conditions, 0);
    d.matched_keywords = std::move(ctx.found_keywords);
    d.matched_category = ctx.category_matched;
  }
  return d;
}

// The outside-the-town check, before the rules. Returns the LocationCheck to record (nullopt:
// no location or no checks configured).
std::optional<LocationCheck> CheckTown(const RuleSet& rs, const Context& ctx) {
  const LocationChecks& lc = rs.location;
  if (lc.town_area < 0 && lc.districts.empty()) {
    return std::nullopt;
  }
  auto p = ctx.Location();
  if (!p) {
    return std::nullopt;
  }
  LocationCheck check;
  if (lc.town_area >= 0) {
    check.town_area = lc.town_area_name;
    check.outside = !Contains(rs.geometries[static_cast<size_t>(lc.town_area)], *p);
    if (check.outside) {
      check.action = lc.outside_action;
      if (lc.outside_action == "ask") {
        check.message = lc.outside_message;
      }
    }
  }
  return check;
}

// The department a rule gives (a forward is handed over by its department).
const std::string& DepartmentOf(const RuleSet& rs, const Rule* rule) {
  return rule == nullptr ? rs.default_department : rule->department;
}

// A point just inside `district` (and outside `home`), across the boundary nearest to `p`.
std::optional<LonLat> AcrossBoundary(const Geometry& district, const Geometry& home, LonLat p,
                                     LonLat nearest, double distance_m) {
  constexpr double kMetresPerDegree = 111320.0;
  double coslat = std::max(std::cos(p.lat * 3.14159265358979323846 / 180.0), 1e-6);
  auto ok = [&](LonLat q) { return Contains(district, q) && !Contains(home, q); };
  // Direction in metres (east, north).
  std::vector<std::pair<double, double>> dirs;
  if (distance_m > 0.01) {
    double ex = (nearest.lon - p.lon) * coslat * kMetresPerDegree;
    double ny = (nearest.lat - p.lat) * kMetresPerDegree;
    double len = std::hypot(ex, ny);
    dirs.emplace_back(ex / len, ny / len);
  }
  for (int i = 0; i < 8; ++i) {
    double a = i * 3.14159265358979323846 / 4;
    dirs.emplace_back(std::cos(a), std::sin(a));
  }
  for (double step : {0.5, 1.0, 2.0, 4.0}) {
    for (const auto& [ex, ny] : dirs) {
      LonLat q{nearest.lon + ex * step / (coslat * kMetresPerDegree),
               nearest.lat + ny * step / kMetresPerDegree};
      if (ok(q)) {
        return q;
      }
    }
  }
  return std::nullopt;
}

// The "Grenzlage" check, after the rules: for every other district within border_distance_m
// (bounding-box prefilter first), route the report as if it lay just across that boundary.
void CheckBorders(const RuleSet& rs, const Report& report, LonLat p, Decision& d) {
  const LocationChecks& lc = rs.location;
  if (lc.districts.empty() || lc.border_distance_m <= 0) {
    return;
  }
  size_t near = 0;
  for (const auto& dist : lc.districts) {
    near += dist.near_bbox.Contains(p) ? 1 : 0;
  }
  if (near < 2) {
    return;  // quick reject: not near two districts
  }
  const LocationChecks::District* home = nullptr;
  for (const auto& dist : lc.districts) {
    if (dist.near_bbox.Contains(p) &&
        Contains(rs.geometries[static_cast<size_t>(dist.geometry)], p)) {
      home = &dist;
      break;
    }
  }
  if (home == nullptr) {
    return;
  }
  d.location->district = home->name;
  const Geometry& home_g = rs.geometries[static_cast<size_t>(home->geometry)];
  for (const auto& dist : lc.districts) {
    if (&dist == home || !dist.near_bbox.Contains(p)) {
      continue;
    }
    const Geometry& g = rs.geometries[static_cast<size_t>(dist.geometry)];
    double metres = 0;
    auto nearest = NearestBoundaryPoint(g, p, &metres);
    if (!nearest || metres > lc.border_distance_m) {
      continue;
    }
    auto department_at = [&](LonLat q) -> const std::string& {
      Report moved = report;
      moved.location.lat = q.lat;
      moved.location.lon = q.lon;
      return DepartmentOf(rs, FirstMatch(rs, moved));
    };
    if (auto q = AcrossBoundary(g, home_g, p, *nearest, metres)) {
      const std::string& other = department_at(*q);
      if (other != d.department) {
        d.location->grenzlage.push_back({home->name, d.department, dist.name, other, metres});
      }
    }
    // On the shared boundary itself the point lies in both districts and the rules may have
    // decided by the neighbour: also route it just inside the home district.
    if (Contains(g, p)) {
      if (auto q = AcrossBoundary(home_g, g, p, p, 0)) {
        const std::string& other = department_at(*q);
        if (other != d.department) {
          d.location->grenzlage.push_back({dist.name, d.department, home->name, other, 0});
        }
      }
    }
  }
  if (!d.location->grenzlage.empty()) {
    d.flags.emplace_back(kFlagBorder);
  }
}

// Records the location checks on a decision made by the rules (or forwarded before them).
void ApplyLocation(const RuleSet& rs, const Report& report, const Context& ctx,
                   std::optional<LocationCheck> check, Decision& d) {
  if (!check) {
    return;
  }
  d.location = std::move(check);
  if (d.location->outside) {
    if (d.location->action == "ask") {
      d.flags.emplace_back(kFlagOutside);
      d.needs_location_confirmation = true;
    }
    return;  // outside the town: no district boundaries to check
  }
  CheckBorders(rs, report, *ctx.Location(), d);
}

// A located report outside the town with action forward: no rule is evaluated.
bool ForwardsOutside(const std::optional<LocationCheck>& check) {
  return check && check->outside && check->action == "forward";
}

Decision ForwardedOutside(const RuleSet& rs, Context& ctx, LocationCheck check) {
  Decision d = Matched(rs, nullptr, ctx);
  d.forward = rs.location.outside_forward;
  d.flags.emplace_back(kFlagOutside);
  d.location = std::move(check);
  return d;
}

// Records a re-routing's exclusions on the decision.
void NoteExclusions(const RuleSet& rs, const std::vector<std::string>& excluded,
                    std::vector<std::string> skipped, Decision& d) {
  if (excluded.empty()) {
    return;
  }
  d.excluded_departments = excluded;
  d.skipped_rules = std::move(skipped);
  d.default_excluded = InList(excluded, rs.default_department);
}

}  // namespace

const char* ToString(CondKind k) {
  switch (k) {
    case CondKind::kAll: return "all";
    case CondKind::kAny: return "any";
    case CondKind::kNot: return "not";
    case CondKind::kCategory: return "category";
    case CondKind::kCategoryGroup: return "category_group";
    case CondKind::kKeywords: return "keywords";
    case CondKind::kRegex: return "regex";
    case CondKind::kArea: return "area";
    case CondKind::kNear: return "near";
    case CondKind::kChannel: return "channel";
    case CondKind::kTime: return "time";
    case CondKind::kHasPhoto: return "has_photo";
    case CondKind::kHasLocation: return "has_location";
  }
  return "?";
}

std::string Condition::Describe(bool full) const {
  switch (kind) {
    case CondKind::kAll:
    case CondKind::kAny: {
      std::string out = std::string(kind == CondKind::kAll ? "all of" : "any of") + " (";
      for (size_t i = 0; i < children.size(); ++i) {
        out += (i == 0 ? "" : "; ") + children[i].Describe(full);
      }
      return out + ")";
    }
    case CondKind::kNot:
      return "not (" + children[0].Describe(full) + ")";
    case CondKind::kCategory: return "category in " + JoinList(values, full);
    case CondKind::kCategoryGroup: return "category group in " + JoinList(values, full);
    case CondKind::kKeywords: return "text contains one of " + JoinList(values, full);
    case CondKind::kRegex: return "text matches /" + pattern + "/";
    case CondKind::kArea: return "location in area " + geometry_name;
    case CondKind::kNear: return "location within " + Metres(within_m) + " of " + geometry_name;
    case CondKind::kChannel: return "channel in " + JoinList(values, full);
    case CondKind::kTime: {
      std::string out = "received " + HhMm(from_minute) + "–" + HhMm(to_minute);
      if (weekdays != 0x7f) {
        std::vector<std::string> days;
        for (int i = 0; i < 7; ++i) {
          if ((weekdays >> i) & 1u) {
            days.emplace_back(kWeekdayNames[i]);
          }
        }
        out += " on " + JoinList(days, true);
      }
      return out + (from_minute > to_minute ? " (spans midnight)" : "");
    }
    case CondKind::kHasPhoto: return flag ? "has a photo" : "has no photo";
    case CondKind::kHasLocation: return flag ? "has a location" : "has no location";
  }
  return "?";
}

Decision Route(const RuleSet& rs, const Report& report) { return Route(rs, report, {}); }

Decision Route(const RuleSet& rs, const Report& report, const std::vector<std::string>& excluded) {
  Context ctx(rs, report);
  auto check = CheckTown(rs, ctx);
  if (ForwardsOutside(check)) {
    Decision d = ForwardedOutside(rs, ctx, std::move(*check));
    NoteExclusions(rs, excluded, {}, d);
    return d;
  }
  const Rule* matched = nullptr;
  std::vector<std::string> skipped;
  for (const auto& rule : rs.rules) {
    if (!excluded.empty() && InList(excluded, rule.department)) {
      skipped.push_back(rule.id);
      continue;
    }
    if (!rule.when || Eval(*rule.when, ctx, nullptr, 0)) {
      matched = &rule;
      break;
    }
  }
  Decision d = Matched(rs, matched, ctx);
  NoteExclusions(rs, excluded, std::move(skipped), d);
  ApplyLocation(rs, report, ctx, std::move(check), d);
  return d;
}

const Rule* FirstMatch(const RuleSet& rs, const Report& report) {
  Context ctx(rs, report);
  for (const auto& rule : rs.rules) {
    if (!rule.when || Eval(*rule.when, ctx, nullptr, 0)) {
      return &rule;
    }
  }
  return nullptr;
}

Explanation Explain(const RuleSet& rs, const Report& report,
                    const std::vector<std::string>& excluded) {
  Explanation e;
  Context ctx(rs, report);
  auto check = CheckTown(rs, ctx);
  if (ForwardsOutside(check)) {
    e.decision = ForwardedOutside(rs, ctx, std::move(*check));
    NoteExclusions(rs, excluded, {}, e.decision);
    return e;
  }
  const Rule* matched = nullptr;
  std::vector<std::string> skipped;
  for (const auto& rule : rs.rules) {
    if (!excluded.empty() && InList(excluded, rule.department)) {
      skipped.push_back(rule.id);
      e.rejected.push_back({rule.id, "department " + rule.department +
                                         " is excluded (it handed the ticket back)"});
      continue;
    }
    if (!rule.when || Eval(*rule.when, ctx, nullptr, 0)) {
      matched = &rule;
      break;
    }
    e.rejected.push_back({rule.id, FailReason(*rule.when, ctx)});
  }
  e.decision = Matched(rs, matched, ctx);
  NoteExclusions(rs, excluded, std::move(skipped), e.decision);
  ApplyLocation(rs, report, ctx, std::move(check), e.decision);
  return e;
}

bool ContainsKeyword(std::string_view text, std::string_view kw) {
  if (kw.empty()) {
    return false;
  }
  size_t pos = 0;
  while ((pos = text.find(kw, pos)) != std::string_view::npos) {
    if (pos == 0 || text[pos - 1] == ' ') {
      return true;
    }
    ++pos;
  }
  return false;
}

}  // namespace meldestelle::routing
