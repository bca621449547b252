#pragma once

// The worker's settings (docs/configuration.md, `worker:`), and the sections of a whole
// installation.
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::channels {
class Registry;
}

namespace meldestelle::workers {

// worker: (docs/configuration.md) the consumer's prefetch window, the attempts before a
// message goes to the dead-letter queue, the /metrics port.
struct Settings {
  static constexpr std::string_view kKey = "worker";
  static constexpr bool kRequired = false;

  int prefetch = 50;
  int max_attempts = 5;
  // Seconds a message that failed waits before its next attempt: the first entry after the
  // first failure, the second after the second, the last for every one after. Empty: handed
  // back at once (0 in the configuration).
  std::vector<int> retry_delays_seconds = {5, 15, 45, 90};
  int metrics_port = 0;

  // The delay after the `failed`-th failed attempt (1 = the first); 0 with no delays.
  int RetryDelaySeconds(int failed) const;

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

// Every section of a configuration file, as every command reads it: routing's, the tickets',
// the worker's and those of the channels in `channels`.
ConfigSections AllSections(const channels::Registry& channels);

}  // namespace meldestelle::workers
