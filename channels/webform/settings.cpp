#include "channels/webform/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::webform {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out) {
  if (!node || !rd.ExpectMap(node, "webform",
                             {"max_photos", "max_photo_bytes", "max_description_chars",
                              "photo_scale_edge", "token_secret", "token_min_age_seconds",
                              "token_max_age_seconds", "map", "accessibility", "public_reports"}))
    return;
  const YAML::Node& n = node;

  rd.Int(n, "max_photos", &out.max_photos, 0, 20, "webform");
  rd.Int(n, "max_photo_bytes", &out.max_photo_bytes, 1024, int64_t{1} << 30, "webform");
  rd.Int(n, "max_description_chars", &out.max_description_chars, 1, 100000, "webform");
  rd.Int(n, "photo_scale_edge", &out.photo_scale_edge, 0, 16384, "webform");
  if (out.photo_scale_edge > 0 && out.photo_scale_edge < 640)
    rd.Fail(n["photo_scale_edge"], "webform.photo_scale_edge",
            "must be 0 (off) or at least 640 pixels: smaller photos show too little");
  rd.Int(n, "token_min_age_seconds", &out.token_min_age_seconds, 0, 3600, "webform");
  rd.Int(n, "token_max_age_seconds", &out.token_max_age_seconds, 10, 7 * 86400, "webform");
  ReadSecret(rd, n, "token_secret", "webform", "MELDESTELLE_FORM_SECRET", &out.token_secret,
             &out.token_secret_var);
  if (const YAML::Node m = n["map"];
      m && rd.ExpectMap(m, "webform.map",
                        {"enabled", "tile_url", "attribution", "attribution_url", "max_zoom",
                         "center", "zoom"})) {
    rd.Bool(m, "enabled", &out.map.enabled, "webform.map");
    rd.String(m, "tile_url", &out.map.tile_url, false, "webform.map");
    rd.String(m, "attribution", &out.map.attribution, false, "webform.map");
    rd.String(m, "attribution_url", &out.map.attribution_url, false, "webform.map");
    rd.Int(m, "max_zoom", &out.map.max_zoom, 1, 22, "webform.map");
    rd.Int(m, "zoom", &out.map.zoom, 1, 22, "webform.map");
    if (const YAML::Node c = m["center"]) {
      double lat = 0, lon = 0;
      if (!c.IsSequence() || c.size() != 2 || !rd.ScalarDouble(c[0], &lat) ||
          !rd.ScalarDouble(c[1], &lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
        rd.Fail(c, "webform.map.center", "must be [latitude, longitude] in WGS84 degrees");
      } else {
        out.map.center_lat = lat;
        out.map.center_lon = lon;
      }
    }
    if (out.map.enabled) {
      const std::string& url = out.map.tile_url;
      bool web = url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
      if (!web || url.find("{z}") == std::string::npos || url.find("{x}") == std::string::npos ||
          url.find("{y}") == std::string::npos) {
        rd.Fail(m, "webform.map.tile_url",
                "must be an https:// (or http://) URL with {z}, {x} and {y}, e.g. "
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
      }
      if (out.map.attribution.empty())
        rd.Fail(m, "webform.map.attribution", "must name the map's source (its licence asks)");
    }
  }
  if (const YAML::Node a = n["accessibility"];
      a && rd.ExpectMap(a, "webform.accessibility",
                        {"feedback_email", "feedback_phone", "enforcement", "prepared_on"})) {
    rd.String(a, "feedback_email", &out.accessibility.feedback_email, false,
              "webform.accessibility");
    rd.String(a, "feedback_phone", &out.accessibility.feedback_phone, false,
              "webform.accessibility");
    rd.String(a, "enforcement", &out.accessibility.enforcement, false, "webform.accessibility");
    rd.String(a, "prepared_on", &out.accessibility.prepared_on, false, "webform.accessibility");
    const std::string& d = out.accessibility.prepared_on;
    bool date = d.size() == 10 && d[4] == '-' && d[7] == '-';
    for (size_t i = 0; date && i < d.size(); ++i)
      date = i == 4 || i == 7 || (d[i] >= '0' && d[i] <= '9');
    if (!date)
      rd.Fail(a, "webform.accessibility.prepared_on", "must be a date YYYY-MM-DD");
  }
  if (const YAML::Node p = n["public_reports"];
      p && rd.ExpectMap(p, "webform.public_reports", {"enabled", "page_size", "done_days"})) {
    rd.Bool(p, "enabled", &out.public_reports.enabled, "webform.public_reports");
    rd.Int(p, "page_size", &out.public_reports.page_size, 5, 200, "webform.public_reports");
    rd.Int(p, "done_days", &out.public_reports.done_days, 0, 3650, "webform.public_reports");
  }
  // The master secret of the keys per purpose (core/links.hpp).
  config.link_secret = out.token_secret;
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::webform
