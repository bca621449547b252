// The rule file loader: YAML → RuleSet, collecting every problem as "file:line: key: reason".
#include <re2/re2.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/yaml_reader.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"

namespace meldestelle::routing {

namespace {

constexpr int kMaxRegexProgramSize = 2000;  // RE2 program instructions
constexpr int64_t kMaxRegexMemory = 1 << 20;
constexpr size_t kMaxRegexLength = 1000;
constexpr double kMetresPerDegreeLat = 111320.0;

const std::map<std::string, int>& WeekdayNames() {
  static const std::map<std::string, int> k = {
      {"mo", 0},  {"di", 1},  {"mi", 2},  {"do", 3},  {"fr", 4},  {"sa", 5},  {"so", 6},
      {"mon", 0}, {"tue", 1}, {"wed", 2}, {"thu", 3}, {"fri", 4}, {"sat", 5}, {"sun", 6}};
  return k;
}

std::optional<int> ParseHhMm(const std::string& s) {
  static const std::regex kHhMm("^([01][0-9]|2[0-3]):([0-5][0-9])$");
  std::smatch m;
  if (s == "24:00") {
    return 24 * 60;
  }
  if (!std::regex_match(s, m, kHhMm)) {
    return std::nullopt;
  }
  return std::stoi(m[1]) * 60 + std::stoi(m[2]);
}

class Loader {
 public:
  Loader(YamlReader& rd, const Config* config, const RuleSet& rs)
      : rd_(rd), config_(config), rs_(rs) {}

  // Parses a condition mapping; several keys in one mapping mean all of them (the v1 form
  // `when: {category: …, keywords: …}`).
  std::optional<Condition> Map(const YAML::Node& node, const std::string& key) {
    static const std::set<std::string> kKeys = {
        "all",  "any",  "not",  "category", "category_group", "keywords",    "regex",
        "area", "near", "time", "channel",  "has_photo",      "has_location"};
    if (!rd_.ExpectMap(node, key,
                       {"all", "any", "not", "category", "category_group", "keywords", "regex",
                        "area", "near", "channel", "time", "has_photo", "has_location"})) {
      return std::nullopt;
    }
    std::vector<Condition> parts;
    bool ok = true;
    for (const auto& kv : node) {
      std::string name = kv.first.Scalar();
      if (kKeys.count(name) == 0) {
        ok = false;  // reported by ExpectMap; the other keys are still checked
        continue;
      }
      auto c = One(name, kv.second, key + "." + name);
      if (c) {
        c->line = YamlReader::Line(kv.first);
        parts.push_back(std::move(*c));
      } else {
        ok = false;
      }
    }
    if (!ok) {
      return std::nullopt;
    }
    if (parts.empty()) {
      rd_.Fail(node, key, "has no condition (omit `when` for a catch-all rule)");
      return std::nullopt;
    }
    if (parts.size() == 1) {
      return std::move(parts[0]);
    }
    Condition all;
    all.kind = CondKind::kAll;
    all.line = YamlReader::Line(node);
    all.children = std::move(parts);
    return all;
  }

 private:
  std::optional<Condition> One(const std::string& name, const YAML::Node& v,
                               const std::string& key) {
    Condition c;
    c.line = YamlReader::Line(v);
    if (name == "all" || name == "any") {
      c.kind = name == "all" ? CondKind::kAll : CondKind::kAny;
      if (!rd_.ExpectSequence(v, key)) {
        return std::nullopt;
      }
      if (v.size() == 0) {
        rd_.Fail(v, key, "needs at least one condition");
        return std::nullopt;
      }
      bool ok = true;
      for (size_t i = 0; i < v.size(); ++i) {
        auto child = Map(v[i], key + "[" + std::to_string(i) + "]");
        if (child) {
          c.children.push_back(std::move(*child));
        } else {
          ok = false;
        }
      }
      return ok ? std::optional<Condition>(std::move(c)) : std::nullopt;
    }
    if (name == "not") {
      c.kind = CondKind::kNot;
      auto child = Map(v, key);
      if (!child) {
        return std::nullopt;
      }
      c.children.push_back(std::move(*child));
      return c;
    }
    if (name == "category" || name == "category_group" || name == "channel") {
      return List(name, v, key, std::move(c));
    }
    if (name == "keywords") {
      return Keywords(v, key, std::move(c));
    }
    if (name == "regex") {
      return Regex(v, key, std::move(c));
    }
    if (name == "area") {
      c.kind = CondKind::kArea;
      if (!Scalar(v, key, &c.geometry_name)) {
        return std::nullopt;
      }
      c.geometry = FindGeometry(v, key, c.geometry_name, true);
      return c.geometry >= 0 || config_ == nullptr ? std::optional<Condition>(std::move(c))
                                                   : std::nullopt;
    }
    if (name == "near") {
      return Near(v, key, std::move(c));
    }
    if (name == "time") {
      return Time(v, key, std::move(c));
    }
    // has_photo / has_location
    c.kind = name == "has_photo" ? CondKind::kHasPhoto : CondKind::kHasLocation;
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
      rd_.Fail(v, key, "must be true or false");
      return std::nullopt;
    }
    c.flag = v.Scalar() == "true";
    return c;
  }

  bool Scalar(const YAML::Node& v, const std::string& key, std::string* out) {
    if (!v.IsScalar() || v.Scalar().empty()) {
      rd_.Fail(v, key, "must be a non-empty string");
      return false;
    }
    *out = v.Scalar();
    return true;
  }

  bool StringList(const YAML::Node& v, const std::string& key, std::vector<std::string>* out) {
    if (!v.IsSequence() || v.size() == 0) {
      rd_.Fail(v, key, "must be a non-empty list");
      return false;
    }
    for (const auto& item : v) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        rd_.Fail(item, key, "entries must be non-empty strings");
        return false;
      }
      out->push_back(item.Scalar());
    }
    return true;
  }

  std::optional<Condition> List(const std::string& name, const YAML::Node& v,
                                const std::string& key, Condition c) {
    c.kind = name == "category"         ? CondKind::kCategory
             : name == "category_group" ? CondKind::kCategoryGroup
                                        : CondKind::kChannel;
    if (!StringList(v, key, &c.values)) {
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& value : c.values) {
      if (c.kind == CondKind::kCategory && config_ != nullptr &&
          config_->FindCategory(value) == nullptr) {
        rd_.Fail(v, key, "unknown category \"" + value + "\"");
        ok = false;
      }
      if (c.kind == CondKind::kChannel && config_ != nullptr &&
          !config_->channel_names.empty() && config_->channel_names.count(value) == 0) {
        std::string names;
        for (const auto& [channel, shown] : config_->channel_names)
          names += (names.empty() ? "" : ", ") + channel;
        rd_.Fail(v, key, "unknown channel \"" + value + "\" (" + names + ")");
        ok = false;
      }
      if (c.kind == CondKind::kCategoryGroup && config_ != nullptr) {
        size_t before = c.codes.size();
        for (const auto& cat : config_->categories) {
          if (cat.group == value) {
            c.codes.push_back(cat.code);
          }
        }
        if (c.codes.size() == before) {
          rd_.Fail(v, key, "unknown category group \"" + value + "\"");
          ok = false;
        }
      }
    }
    return ok ? std::optional<Condition>(std::move(c)) : std::nullopt;
  }

  std::optional<Condition> Keywords(const YAML::Node& v, const std::string& key, Condition c) {
    c.kind = CondKind::kKeywords;
    if (!StringList(v, key, &c.values)) {
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& kw : c.values) {
      Keyword k = PrepareKeyword(kw);
      if (k.words.words.empty()) {
        rd_.Fail(v, key, "keyword \"" + kw + "\" is empty after normalisation");
        ok = false;
      }
      c.keywords.push_back(std::move(k));
    }
    return ok ? std::optional<Condition>(std::move(c)) : std::nullopt;
  }

  std::optional<Condition> Regex(const YAML::Node& v, const std::string& key, Condition c) {
    c.kind = CondKind::kRegex;
    if (!Scalar(v, key, &c.pattern)) {
      return std::nullopt;
    }
    if (c.pattern.size() > kMaxRegexLength) {
      rd_.Fail(v, key, "pattern longer than " + std::to_string(kMaxRegexLength) + " characters");
      return std::nullopt;
    }
    RE2::Options opt;
    opt.set_case_sensitive(false);
    opt.set_log_errors(false);
    opt.set_max_mem(kMaxRegexMemory);
    auto re = std::make_shared<RE2>(c.pattern, opt);
    if (!re->ok()) {
      rd_.Fail(v, key, "invalid regular expression: " + re->error());
      return std::nullopt;
    }
    if (re->ProgramSize() > kMaxRegexProgramSize) {
      rd_.Fail(v, key,
               "regular expression too large (program size " + std::to_string(re->ProgramSize()) +
                   ", at most " + std::to_string(kMaxRegexProgramSize) + ")");
      return std::nullopt;
    }
    c.regex = std::move(re);
    return c;
  }

  std::optional<Condition> Near(const YAML::Node& v, const std::string& key, Condition c) {
    c.kind = CondKind::kNear;
    if (!rd_.ExpectMap(v, key, {"point", "line", "within_m"})) {
      return std::nullopt;
    }
    YAML::Node point = v["point"];
    YAML::Node line = v["line"];
    if (static_cast<bool>(point) == static_cast<bool>(line)) {
      rd_.Fail(v, key, "needs exactly one of point or line");
      return std::nullopt;
    }
    YAML::Node within = v["within_m"];
    double m = -1;
    if (!within || !within.IsScalar() || !YAML::convert<double>::decode(within, m) ||
        !std::isfinite(m) || m <= 0 || m > 100000) {
      rd_.Fail(within ? within : v, key + ".within_m",
               "must be a number of metres, 0 < m ≤ 100000");
      return std::nullopt;
    }
    c.within_m = m;
    BBox target;
    if (point && point.IsSequence()) {
      double lon = 0, lat = 0;
      if (point.size() != 2 || !YAML::convert<double>::decode(point[0], lon) ||
          !YAML::convert<double>::decode(point[1], lat) || !ValidLonLat(lon, lat)) {
        rd_.Fail(point, key + ".point", "must be [lon, lat] in range or the name of a point");
        return std::nullopt;
      }
      c.near_point = LonLat{lon, lat};
      c.geometry_name = "[" + point[0].Scalar() + ", " + point[1].Scalar() + "]";
      target = BBox{lon, lat, lon, lat};
    } else {
      const YAML::Node& ref = point ? point : line;
      std::string sub = key + (point ? ".point" : ".line");
      if (!Scalar(ref, sub, &c.geometry_name)) {
        return std::nullopt;
      }
      c.geometry = FindGeometry(ref, sub, c.geometry_name, false);
      if (c.geometry < 0) {
        return config_ == nullptr ? std::optional<Condition>(std::move(c)) : std::nullopt;
      }
      const Geometry& g = rs_.geometries[static_cast<size_t>(c.geometry)];
      if (point && g.points.empty()) {
        rd_.Fail(ref, sub, "\"" + c.geometry_name + "\" contains no Point");
        return std::nullopt;
      }
      if (line && g.lines.empty()) {
        rd_.Fail(ref, sub, "\"" + c.geometry_name + "\" contains no LineString");
        return std::nullopt;
      }
      target = g.bbox;
    }
    // Widen generously (cos(lat) shrinks degrees of longitude; use the pole-ward edge).
    double dlat = m / kMetresPerDegreeLat;
    double coslat = std::cos(
        std::min(89.0, std::max(std::fabs(target.min_lat), std::fabs(target.max_lat)) + dlat) *
        3.14159265358979323846 / 180.0);
    double dlon = m / (kMetresPerDegreeLat * std::max(coslat, 1e-6));
    c.near_bbox = BBox{target.min_lon - dlon, target.min_lat - dlat, target.max_lon + dlon,
                       target.max_lat + dlat};
    return c;
  }

  std::optional<Condition> Time(const YAML::Node& v, const std::string& key, Condition c) {
    c.kind = CondKind::kTime;
    if (!rd_.ExpectMap(v, key, {"from", "to", "weekdays"})) {
      return std::nullopt;
    }
    bool ok = true;
    for (const char* field : {"from", "to"}) {
      YAML::Node n = v[field];
      if (!n) {
        continue;
      }
      auto minute = n.IsScalar() ? ParseHhMm(n.Scalar()) : std::nullopt;
      if (!minute || (std::string(field) == "from" && *minute == 24 * 60)) {
        rd_.Fail(n, key + "." + field, "must be \"HH:MM\" (00:00–23:59, to may be 24:00)");
        ok = false;
        continue;
      }
      (std::string(field) == "from" ? c.from_minute : c.to_minute) = *minute;
    }
    if (ok && c.from_minute == c.to_minute) {
      rd_.Fail(v, key, "from and to are equal (omit both for the whole day)");
      ok = false;
    }
    if (YAML::Node w = v["weekdays"]) {
      std::vector<std::string> days;
      if (!StringList(w, key + ".weekdays", &days)) {
        return std::nullopt;
      }
      c.weekdays = 0;
      for (const auto& d : days) {
        auto it = WeekdayNames().find(d);
        if (it == WeekdayNames().end()) {
          rd_.Fail(w, key + ".weekdays",
                   "unknown weekday \"" + d + "\" (mo di mi do fr sa so, or mon … sun)");
          ok = false;
        } else {
          c.weekdays = static_cast<uint8_t>(c.weekdays | (1u << it->second));
        }
      }
      c.values = days;
    }
    if (!v["from"] && !v["to"] && !v["weekdays"]) {
      rd_.Fail(v, key, "needs from/to or weekdays");
      ok = false;
    }
    return ok ? std::optional<Condition>(std::move(c)) : std::nullopt;
  }

  int FindGeometry(const YAML::Node& at, const std::string& key, const std::string& name,
                   bool area) {
    for (size_t i = 0; i < rs_.geometries.size(); ++i) {
      const Geometry& g = rs_.geometries[i];
      if (g.name == name) {
        if (area && !g.IsArea()) {
          rd_.Fail(at, key, "\"" + name + "\" is not an area (no Polygon or MultiPolygon)");
          return -1;
        }
        return static_cast<int>(i);
      }
    }
    if (config_ != nullptr) {
      bool configured = false;
      for (const auto& a : config_->Get<Settings>().areas) {
        configured = configured || a.name == name;
      }
      // A configured file that failed to load was reported already.
      if (!configured) {
        rd_.Fail(at, key,
                 std::string("unknown ") + (area ? "area" : "point or line") + " \"" + name +
                     "\" (not in routing.areas of the config)");
      }
    }
    return -1;
  }

  YamlReader& rd_;
  const Config* config_;
  const RuleSet& rs_;
};

const std::set<std::string>& Priorities() {
  static const std::set<std::string> k = {"low", "normal", "high", "urgent"};
  return k;
}

// `b` widened by `m` metres on every side (generously: degrees of longitude shrink with cos(lat),
// so the pole-ward edge is used).
BBox Widen(const BBox& b, double m) {
  double dlat = m / kMetresPerDegreeLat;
  double coslat =
      std::cos(std::min(89.0, std::max(std::fabs(b.min_lat), std::fabs(b.max_lat)) + dlat) *
               3.14159265358979323846 / 180.0);
  double dlon = m / (kMetresPerDegreeLat * std::max(coslat, 1e-6));
  return BBox{b.min_lon - dlon, b.min_lat - dlat, b.max_lon + dlon, b.max_lat + dlat};
}

// routing.town_area / outside / districts → RuleSet::location. The config loader checked that
// the names are in routing.areas; here they must also be areas (polygons). An area whose file
// failed to load was reported already.
void ResolveLocationChecks(const Config& config, RuleSet& rs, YamlReader& cfg_rd) {
  auto find = [&](const std::string& name, int line, const std::string& key) {
    for (size_t i = 0; i < rs.geometries.size(); ++i) {
      if (rs.geometries[i].name == name) {
        if (!rs.geometries[i].IsArea()) {
          cfg_rd.FailAtLine(line, key,
                            "\"" + name + "\" is not an area (no Polygon or MultiPolygon)");
          return -1;
        }
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  const auto& r = config.Get<Settings>();
  LocationChecks& lc = rs.location;
  if (!r.town_area.empty()) {
    lc.town_area = find(r.town_area, r.town_area_line, "routing.town_area");
    lc.town_area_name = r.town_area;
  }
  lc.outside_action = r.outside.action;
  lc.outside_forward = Forward{r.outside.authority, r.outside.email};
  lc.outside_message = r.outside.message;
  lc.border_distance_m = r.border_distance_m;
  for (const auto& name : r.districts) {
    int g = find(name, r.districts_line, "routing.districts");
    if (g >= 0) {
      lc.districts.push_back(
          {g, name, Widen(rs.geometries[static_cast<size_t>(g)].bbox, r.border_distance_m)});
    }
  }
}

// Loads the config's GeoJSON files and time zone; problems are reported against the config.
void LoadConfigParts(const Config& config, RuleSet& rs, YamlReader& cfg_rd) {
  for (const auto& a : config.Get<Settings>().areas) {
    auto g = LoadGeoJson(a.file, a.name);
    if (!g) {
      cfg_rd.FailAtLine(a.line, "routing.areas[" + a.name + "].file",
                        a.file.string() + ": " + g.error().message);
      continue;
    }
    rs.geometries.push_back(std::move(*g));
  }
  for (const auto& cat : config.categories) {
    for (const auto& kw : cat.keywords) {
      if (PrepareKeyword(kw.text).words.words.empty()) {
        cfg_rd.FailAtLine(kw.line, "categories[" + cat.code + "].keywords",
                          "keyword \"" + kw.text + "\" is empty after normalisation");
      }
    }
  }
  rs.classifier = Classifier(config);
  ResolveLocationChecks(config, rs, cfg_rd);
  auto tz = TimeZone::Load(config.town.timezone);
  if (!tz) {
    cfg_rd.FailAtLine(0, "town.timezone", tz.error().message);
  } else {
    rs.timezone = std::move(*tz);
  }
}

void ReadResult(YamlReader& rd, const YAML::Node& node, const std::string& key, Rule& r,
                const Config* config) {
  rd.String(node, "department", &r.department, false, key);
  rd.String(node, "priority", &r.priority, false, key);
  if (Priorities().count(r.priority) == 0) {
    rd.Fail(node["priority"], key + ".priority", "must be low, normal, high or urgent");
  }
  rd.StringList(node, "tags", &r.tags, key);
  if (YAML::Node f = node["forward"]) {
    if (rd.ExpectMap(f, key + ".forward", {"authority", "email"})) {
      Forward fw;
      rd.String(f, "authority", &fw.authority, true, key + ".forward");
      rd.String(f, "email", &fw.email, true, key + ".forward");
      if (!fw.email.empty() && fw.email.find('@') == std::string::npos) {
        rd.Fail(f["email"], key + ".forward.email", "is not an e-mail address");
      }
      r.forward = fw;
    }
  } else if (r.department.empty()) {
    rd.Fail(node, key, "needs a department or a forward");
  }
  if (config != nullptr && !r.department.empty() &&
      config->FindDepartment(r.department) == nullptr) {
    rd.Fail(node["department"], key + ".department", "unknown department \"" + r.department + "\"");
  }
}

// The rules, in order: ids unique, conditions parsed, and none unreachable (after a rule that
// matches every report, or with the same condition as an earlier one).
void ReadRules(YamlReader& rd, const YAML::Node& rules, Loader& loader, const Config* config,
               RuleSet& rs) {
  static const std::regex kId("^[a-z0-9_-]+$");
  std::set<std::string> ids;
  std::map<std::string, std::string> seen_conditions;  // Describe(full) → "id (line n)"
  std::string catch_all;  // "id (line n)" of the first rule without conditions
  for (const auto& node : rules) {
    if (!rd.ExpectMap(node, "rules[]",
                      {"id", "description", "when", "department", "priority", "tags", "forward"})) {
      continue;
    }
    Rule r;
    r.line = YamlReader::Line(node);
    rd.String(node, "id", &r.id, true, "rules[]");
    rd.String(node, "description", &r.description, false, "rules[]");
    std::string key = "rules[" + r.id + "]";
    if (!r.id.empty() && !std::regex_match(r.id, kId)) {
      rd.Fail(node["id"], key + ".id", "must match [a-z0-9_-]+");
    }
    if (!r.id.empty() && !ids.insert(r.id).second) {
      rd.Fail(node["id"], key + ".id", "duplicate rule id");
    }
    ReadResult(rd, node, key, r, config);
    if (r.forward && r.department.empty()) {
      r.department = rs.default_department;
    }
    bool condition_ok = true;
    if (auto when = node["when"]; when && !when.IsNull()) {
      r.when = loader.Map(when, key + ".when");
      condition_ok = r.when.has_value();
    }
    std::string self = "\"" + r.id + "\" (line " + std::to_string(r.line) + ")";
    if (!catch_all.empty()) {
      rd.Fail(node, key, "is unreachable: rule " + catch_all + " matches every report first");
    } else if (r.AlwaysMatches() && condition_ok) {
      catch_all = self;
    } else if (r.when) {
      auto [it, fresh] = seen_conditions.emplace(r.when->Describe(true), self);
      if (!fresh) {
        rd.Fail(node, key,
                "is unreachable: rule " + it->second + " has the same condition and comes first");
      }
    }
    rs.rules.push_back(std::move(r));
  }
}

}  // namespace

Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::filesystem::path& file,
                                                   const Config* config) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(errors::kRulesInvalid, file.string() + ":0: (file): cannot be read\n");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseRuleSet(ss.str(), file.string(), config);
}

Result<std::shared_ptr<const RuleSet>> ParseRuleSet(const std::string& text,
                                                    const std::string& file_name,
                                                    const Config* config) {
  YamlReader rd(file_name);
  YamlReader cfg_rd(config != nullptr ? config->file.string() : "(config)");
  auto rs = std::make_shared<RuleSet>();
  rs->file = file_name;
  rs->version = "sha256:" + Sha256Hex(text);
  if (config != nullptr) {
    LoadConfigParts(*config, *rs, cfg_rd);
  }
  auto fail = [&] {
    std::string all = cfg_rd.ok() ? "" : cfg_rd.JoinedErrors();
    return MakeError(errors::kRulesInvalid, all + rd.JoinedErrors());
  };
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    rd.FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
    return fail();
  }
  if (!root || !root.IsMap()) {
    rd.FailAtLine(1, "(file)", "must be a mapping with default_department and rules");
    return fail();
  }
  rd.CheckDuplicateKeys(root);
  rd.ExpectMap(root, "", {"default_department", "rules"});
  rd.String(root, "default_department", &rs->default_department, true);
  if (config != nullptr && !rs->default_department.empty() &&
      config->FindDepartment(rs->default_department) == nullptr) {
    rd.Fail(root["default_department"], "default_department",
            "unknown department \"" + rs->default_department + "\"");
  }
  Loader loader(rd, config, *rs);
  YAML::Node rules = root["rules"];
  if (!rules) {
    rd.Fail(root, "rules", "is required");
  } else if (rd.ExpectSequence(rules, "rules")) {
    ReadRules(rd, rules, loader, config, *rs);
  }
  if (!rd.ok() || !cfg_rd.ok()) {
    return fail();
  }
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

}  // namespace meldestelle::routing
