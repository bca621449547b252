#pragma once

// The web form's and the app API's settings (docs/configuration.md, `webform:`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace meldestelle::webform {

// The limits of a submission and the form token's key and ages.
struct Settings {
  static constexpr std::string_view kKey = "webform";
  static constexpr bool kRequired = false;

  int max_photos = 5;
  int64_t max_photo_bytes = 10 * 1024 * 1024;
  int max_description_chars = 4000;
  // The long edge (pixels) the form's script scales photos to before sending; 0 = send them as
  // chosen. The server's limits and stripping apply either way.
  int photo_scale_edge = 2048;
  std::string token_secret;      // from the environment; empty if unset
  std::string token_secret_var;  // the variable's name, for error messages
  int token_min_age_seconds = 3;
  int token_max_age_seconds = 7200;
  // The map on the citizens' pages (`webform.map`): the status page shows the place on it. The
  // map library is served by the gateway (/assets/leaflet/); only the tiles come from
  // `tile_url` ({z}, {x}, {y}; https or http). Off: the pages show no map and ask for no tile.
  struct Map {
    bool enabled = true;
    std::string tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
    std::string attribution = "© OpenStreetMap-Mitwirkende";
    std::string attribution_url = "https://www.openstreetmap.org/copyright";
    int max_zoom = 19;
    // Where the form's map starts (`center: [lat, lon]`, `zoom`); unset: the middle of the
    // street list (routing.gazetteer_file).
    std::optional<double> center_lat, center_lon;
    int zoom = 15;
  } map;
  // The public map and list of reports (GET /meldungen, docs/intake-api.md): public categories
  // only, the text staff released, places of reports not filed through Open311 rounded to about
  // 100 m; done reports for `done_days` after their closing.
  struct PublicReports {
    bool enabled = true;
    int page_size = 25;
    int done_days = 30;
  } public_reports;
  // The accessibility statement (GET /barrierefreiheit, BITV 2.0 § 12b): where citizens report
  // barriers, the enforcement procedure, and when the statement was prepared.
  struct Accessibility {
    std::string feedback_email, feedback_phone;
    std::string enforcement =
        "die Schlichtungsstelle nach § 16 des Behindertengleichstellungsgesetzes (BGG) beim "
        "Beauftragten der Bundesregierung für die Belange von Menschen mit Behinderungen, "
        "https://www.schlichtungsstelle-bgg.de, oder die Stelle, die das Landesrecht Ihres "
        "Landes dafür bestimmt";
    std::string prepared_on = "2026-12-04";  // YYYY-MM-DD
  } accessibility;

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::webform
