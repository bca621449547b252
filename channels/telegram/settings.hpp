#pragma once

// The Telegram channel's settings (docs/configuration.md, `telegram:`).
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace meldestelle::telegram {

// docs/channels/telegram.md. On when the secret token is set in the environment.
struct Settings {
  static constexpr std::string_view kKey = "telegram";
  static constexpr bool kRequired = false;

  std::string secret_token;  // X-Telegram-Bot-Api-Secret-Token
  std::string bot_token;     // Bot API token (media download, sending)
  std::string api_base = "https://api.telegram.org";
  bool enabled() const { return !secret_token.empty(); }

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::telegram
