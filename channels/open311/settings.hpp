#pragma once

// Open311's settings (docs/configuration.md, `open311:`).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::open311 {

// Open311 GeoReport v2 (docs/open311.md). On when at least one api key is set.
struct Settings {
  static constexpr std::string_view kKey = "open311";
  static constexpr bool kRequired = false;

  std::string jurisdiction_id;
  struct ApiKey {
    std::string client;  // the client application's name
    std::string key;     // ${VAR}
  };
  std::vector<ApiKey> api_keys;
  int64_t max_media_bytes = 10 * 1024 * 1024;
  // The whole fetch of a media_url, retries included (the consumer waits for it).
  int media_timeout_seconds = 20;
  // Hosts a media_url may name ("photos.example.org", ".example.org" with subdomains); empty:
  // any host with a public address.
  std::vector<std::string> media_hosts;
  // Also loopback and private addresses (a client hosting its photos inside the town's network;
  // the tests). Off by default: a media_url must not reach inside (docs/security.md).
  bool media_private_networks = false;
  // A client's update with an open status (OPEN, IN_PROGRESS, …) reopens a done ticket only when
  // written this long after the closing: before, the client had not yet fetched it (FixMyStreet
  // fetches every five minutes and sends OPEN with every comment on a report it thinks open).
  // REOPEN always reopens.
  int reopen_grace_minutes = 15;
  // What GET requests and servicerequestupdates publish (docs/open311.md, "Publication"):
  // "open311_only" (requests filed through Open311: the citizen chose that public channel),
  // "all" (every channel's, without their words and address, the place rounded), "none".
  std::string publish = "open311_only";
  // `service_notice` of every created request (e.g. how long the check takes); "" = null.
  std::string service_notice;
  bool enabled() const {
    for (const auto& k : api_keys)
      if (!k.key.empty())
        return true;
    return false;
  }
  // Whether a request naming `jurisdiction` (or none) is ours.
  bool Serves(std::string_view jurisdiction) const {
    return jurisdiction.empty() || jurisdiction_id.empty() || jurisdiction == jurisdiction_id;
  }

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::open311
