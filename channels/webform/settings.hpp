#pragma once

// The web form's and the app API's settings (docs/configuration.md, `webform:`).
#include <cstdint>
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
  std::string token_secret;      // from the environment; empty if unset
  std::string token_secret_var;  // the variable's name, for error messages
  int token_min_age_seconds = 3;
  int token_max_age_seconds = 7200;

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::webform
