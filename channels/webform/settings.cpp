#include "channels/webform/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::webform {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out) {
  if (!node || !rd.ExpectMap(node, "webform",
                             {"max_photos", "max_photo_bytes", "max_description_chars",
                              "token_secret", "token_min_age_seconds", "token_max_age_seconds"}))
    return;
  const YAML::Node& n = node;

  rd.Int(n, "max_photos", &out.max_photos, 0, 20, "webform");
  rd.Int(n, "max_photo_bytes", &out.max_photo_bytes, 1024, int64_t{1} << 30, "webform");
  rd.Int(n, "max_description_chars", &out.max_description_chars, 1, 100000, "webform");
  rd.Int(n, "token_min_age_seconds", &out.token_min_age_seconds, 0, 3600, "webform");
  rd.Int(n, "token_max_age_seconds", &out.token_max_age_seconds, 10, 7 * 86400, "webform");
  ReadSecret(rd, n, "token_secret", "webform", "MELDESTELLE_FORM_SECRET", &out.token_secret,
             &out.token_secret_var);
  // The master secret of the keys per purpose (core/links.hpp).
  config.link_secret = out.token_secret;
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::webform
