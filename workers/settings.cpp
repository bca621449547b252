#include "workers/settings.hpp"

#include "channels/channel.hpp"
#include "core/config_section.hpp"
#include "privacy/settings.hpp"
#include "routing/settings.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::workers {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "worker", {"prefetch", "max_attempts", "metrics_port"}))
    return;
  rd.Int(node, "prefetch", &out.prefetch, 1, 10000, "worker");
  rd.Int(node, "max_attempts", &out.max_attempts, 1, 15, "worker");
  rd.Int(node, "metrics_port", &out.metrics_port, 0, 65535, "worker");
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

ConfigSections AllSections(const channels::Registry& channels) {
  ConfigSections all = routing::Sections();
  for (auto& s : privacy::Sections())
    all.push_back(std::move(s));
  for (auto& s : tickets::Sections())
    all.push_back(std::move(s));
  for (auto& s : Sections())
    all.push_back(std::move(s));
  for (auto& s : channels.ConfigSections())
    all.push_back(std::move(s));
  return all;
}

}  // namespace meldestelle::workers
