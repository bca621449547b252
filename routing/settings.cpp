#include "routing/settings.hpp"

#include <regex>
#include <set>

#include "core/config_section.hpp"

namespace meldestelle::routing {

namespace {

// routing.areas: a list of {name, file}.
void ReadAreas(YamlReader& rd, const YAML::Node& n, const Config& config, Settings& out) {
  static const std::regex kName("^[a-z0-9_-]+$");
  YAML::Node areas = n["areas"];
  if (!areas || !rd.ExpectSequence(areas, "routing.areas"))
    return;
  std::set<std::string> names;
  for (const auto& node : areas) {
    if (!rd.ExpectMap(node, "routing.areas[]", {"name", "file"}))
      continue;
    GeoFile g;
    g.line = YamlReader::Line(node);
    std::string path;
    rd.String(node, "name", &g.name, true, "routing.areas[]");
    rd.String(node, "file", &path, true, "routing.areas[" + g.name + "]");
    if (!g.name.empty() && !std::regex_match(g.name, kName)) {
      rd.Fail(node["name"], "routing.areas[].name", "must match [a-z0-9_-]+");
    } else if (!g.name.empty() && !names.insert(g.name).second) {
      rd.Fail(node["name"], "routing.areas[].name", "duplicate area name \"" + g.name + "\"");
    }
    if (!path.empty())
      g.file = ResolveBeside(config, path);
    out.areas.push_back(std::move(g));
  }
}

// routing.outside: what happens to a located report outside the town boundary.
void ReadOutside(YamlReader& rd, const YAML::Node& o, Settings& s) {
  auto& out = s.outside;
  out.line = YamlReader::Line(o);
  if (!rd.ExpectMap(o, "routing.outside", {"action", "authority", "email", "message"}))
    return;
  rd.String(o, "action", &out.action, true, "routing.outside");
  rd.String(o, "authority", &out.authority, false, "routing.outside");
  rd.String(o, "email", &out.email, false, "routing.outside");
  rd.String(o, "message", &out.message, false, "routing.outside");
  if (!out.action.empty() && out.action != "forward" && out.action != "ask") {
    rd.Fail(o["action"], "routing.outside.action",
            "must be forward or ask, got \"" + out.action + "\"");
    out.action.clear();
  }
  if (out.action == "forward") {
    if (out.authority.empty()) {
      rd.Fail(o, "routing.outside.authority", "is required for action forward");
    }
    if (out.email.empty() || out.email.find('@') == std::string::npos) {
      rd.Fail(o["email"] ? o["email"] : o, "routing.outside.email",
              "needs an e-mail address for action forward");
    }
  }
  if (s.town_area.empty()) {
    rd.Fail(o, "routing.outside", "needs routing.town_area (the town boundary)");
  }
}

// routing.town_area / outside / districts / border_distance_m (docs/configuration.md). Area names
// must be in routing.areas; that they are polygons is checked when the GeoJSON is loaded.
void ReadLocationChecks(YamlReader& rd, const YAML::Node& n, Settings& s) {
  if (YAML::Node t = n["town_area"]) {
    s.town_area_line = YamlReader::Line(t);
    rd.String(n, "town_area", &s.town_area, false, "routing");
    if (!s.town_area.empty() && s.FindArea(s.town_area) == nullptr) {
      rd.Fail(t, "routing.town_area",
              "unknown area \"" + s.town_area + "\" (not in routing.areas)");
    }
  }
  if (YAML::Node o = n["outside"])
    ReadOutside(rd, o, s);
  if (YAML::Node d = n["districts"]) {
    s.districts_line = YamlReader::Line(d);
    rd.StringList(n, "districts", &s.districts, "routing");
    std::set<std::string> seen;
    for (const auto& name : s.districts) {
      if (s.FindArea(name) == nullptr) {
        rd.Fail(d, "routing.districts", "unknown area \"" + name + "\" (not in routing.areas)");
      } else if (!seen.insert(name).second) {
        rd.Fail(d, "routing.districts", "duplicate district \"" + name + "\"");
      }
    }
  }
  rd.Double(n, "border_distance_m", &s.border_distance_m, 0.0, 1000.0, "routing");
}

// A file named at n[key], resolved beside the config file; empty if unset.
std::filesystem::path ReadFile(YamlReader& rd, const YAML::Node& n, const char* key, bool required,
                               const Config& config) {
  std::string path;
  rd.String(n, key, &path, required, "routing");
  return path.empty() ? std::filesystem::path() : ResolveBeside(config, path);
}

}  // namespace

const GeoFile* Settings::FindArea(std::string_view name) const {
  for (const auto& a : areas) {
    if (a.name == name)
      return &a;
  }
  return nullptr;
}

void ClassifierSettings::Read(YamlReader& rd, const YAML::Node& n, Config&,
                              ClassifierSettings& out) {
  if (!n || !rd.ExpectMap(n, "classifier", {"min_score", "min_confidence"}))
    return;
  rd.Double(n, "min_score", &out.min_score, 0.0, 10000.0, "classifier");
  rd.Double(n, "min_confidence", &out.min_confidence, 0.0, 1.0, "classifier");
}

void Settings::Read(YamlReader& rd, const YAML::Node& n, Config& config, Settings& out) {
  if (!n ||
      !rd.ExpectMap(n, "routing",
                    {"rules_file", "areas", "shadow_rules_file", "reload_interval_ms", "town_area",
                     "outside", "districts", "border_distance_m", "gazetteer_file",
                     "place_min_confidence", "geocoder_url", "geocoder_timeout_ms"})) {
    return;
  }
  out.rules_file = ReadFile(rd, n, "rules_file", true, config);
  out.shadow_rules_file = ReadFile(rd, n, "shadow_rules_file", false, config);
  out.gazetteer_file = ReadFile(rd, n, "gazetteer_file", false, config);
  rd.Double(n, "place_min_confidence", &out.place_min_confidence, 0.0, 1.0, "routing");
  rd.String(n, "geocoder_url", &out.geocoder_url, false, "routing");
  rd.Int(n, "geocoder_timeout_ms", &out.geocoder_timeout_ms, 100, 60000, "routing");
  if (!out.geocoder_url.empty() && out.geocoder_url.rfind("https://", 0) != 0 &&
      out.geocoder_url.rfind("http://", 0) != 0) {
    rd.Fail(n["geocoder_url"], "routing.geocoder_url",
            "must be an https:// (or http://) URL, e.g. https://nominatim.example.org");
  }
  rd.Int(n, "reload_interval_ms", &out.reload_interval_ms, 0, 3'600'000, "routing");
  ReadAreas(rd, n, config, out);
  ReadLocationChecks(rd, n, out);
}

ConfigSections Sections() { return {SectionOf<ClassifierSettings>(), SectionOf<Settings>()}; }

}  // namespace meldestelle::routing
