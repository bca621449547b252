#pragma once

// The routing library's settings (docs/configuration.md, `routing:` and `classifier:`).
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::routing {

// The automatic category for reports without one (docs/routing.md, "Automatic category").
struct ClassifierSettings {
  static constexpr std::string_view kKey = "classifier";
  static constexpr bool kRequired = false;
  double min_score = 1.0;       // the best category needs at least this sum of weights
  double min_confidence = 0.5;  // and at least this share of all categories' scores
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, ClassifierSettings& out);
};

// A named GeoJSON geometry used by routing conditions (`area:`, `near:`); the file is parsed
// and validated by the routing library when the rule set is loaded.
struct GeoFile {
  std::string name;            // [a-z0-9_-]+, unique; referenced by rules
  std::filesystem::path file;  // resolved against the config file's directory
  int line = 0;                // line of the entry in the config file, for error messages
};

// The rule set, its areas and the location checks. Required.
struct Settings {
  static constexpr std::string_view kKey = "routing";
  static constexpr bool kRequired = true;
  std::filesystem::path rules_file;  // resolved against the config file's directory
  std::vector<GeoFile> areas;        // polygons, points and lines, by name
  // A candidate rule set evaluated beside the live one (shadow mode); empty = none.
  std::filesystem::path shadow_rules_file;
  // How often workers look for changed rule, fixture and area files; 0 = only on SIGHUP.
  int reload_interval_ms = 2000;
  // Location checks (docs/routing.md, "Location checks"), evaluated before the rules.
  // The town boundary: a located report outside it gets `outside`. Empty = no check.
  std::string town_area;
  int town_area_line = 0;
  struct Outside {
    std::string action;     // "forward" or "ask"; empty = not configured
    std::string authority;  // forward: who receives the report
    std::string email;
    std::string message;  // ask: the question for the citizen
    int line = 0;
  } outside;
  // The districts whose shared boundaries are checked for "Grenzlage"; empty = no check.
  std::vector<std::string> districts;
  int districts_line = 0;
  double border_distance_m = 25;
  // The street list and landmarks for finding a place in text (phone transcripts, e-mail);
  // empty = none. Resolved against the config file's directory.
  std::filesystem::path gazetteer_file;
  // A report without a position gets one from the street list when the place found in its
  // address (or text) is at least this sure; below, the address stays text and is flagged.
  double place_min_confidence = 0.6;
  // A Nominatim-compatible search API for addresses the street list does not know (the admit
  // step, workers/geocoder.hpp); empty = none. Asked with the typed address only.
  std::string geocoder_url;
  int geocoder_timeout_ms = 3000;

  const GeoFile* FindArea(std::string_view name) const;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::routing
