#pragma once

// The worker's settings (docs/configuration.md, `worker:`), and the sections of a whole
// installation.
#include <string_view>

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
  int metrics_port = 0;

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

// Every section of a configuration file, as every command reads it: routing's, the tickets',
// the worker's and those of the channels in `channels`.
ConfigSections AllSections(const channels::Registry& channels);

}  // namespace meldestelle::workers
