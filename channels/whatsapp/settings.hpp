#pragma once

// The WhatsApp channel's settings (docs/configuration.md, `whatsapp:`).
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace meldestelle::whatsapp {

// Messenger channels (docs/channels/whatsapp.md). The channel is enabled when its
// authentication secret is set in the environment.
struct Settings {
  static constexpr std::string_view kKey = "whatsapp";
  static constexpr bool kRequired = false;

  std::string app_secret;    // X-Hub-Signature-256 key
  std::string verify_token;  // GET handshake
  std::string access_token;  // Graph API bearer token (media download, sending)
  std::string api_base = "https://graph.facebook.com/v21.0";
  // Approved template used outside the 24-hour window; its body takes the reference and the
  // message text as parameters {{1}} and {{2}}.
  std::string template_name = "meldung_statusupdate";
  std::string template_language = "de";
  bool enabled() const { return !app_secret.empty(); }

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::whatsapp
