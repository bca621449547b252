#include "workers/settings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "channels/channel.hpp"
#include "core/config_section.hpp"
#include "privacy/settings.hpp"
#include "routing/settings.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::workers {

namespace {

// worker.retry_delays_seconds: a list of seconds, or one string of them separated by commas (as
// MELDESTELLE_WORKER_RETRY_DELAYS gives it); 0 alone switches the delays off.
void ReadRetryDelays(YamlReader& rd, const YAML::Node& node, std::vector<int>* out) {
  const YAML::Node n = node["retry_delays_seconds"];
  if (!n || n.IsNull())
    return;
  std::vector<std::string> items;
  const size_t errors_before = rd.errors().size();
  rd.StringList(node, "retry_delays_seconds", &items, "worker");
  if (rd.errors().size() != errors_before)
    return;  // not a list of strings: said once
  std::vector<int> delays;
  bool off = false;
  for (const std::string& item : items) {
    size_t pos = 0;
    while (pos <= item.size()) {
      size_t comma = item.find(',', pos);
      if (comma == std::string::npos)
        comma = item.size();
      std::string token = item.substr(pos, comma - pos);
      pos = comma + 1;
      token.erase(0, token.find_first_not_of(" \t"));
      token.erase(token.find_last_not_of(" \t") + 1);
      if (token.empty())
        continue;
      char* end = nullptr;
      errno = 0;
      long v = std::strtol(token.c_str(), &end, 10);
      if (*end != '\0' || errno != 0 || v < 0 || v > 86400) {
        rd.Fail(
            n, "worker.retry_delays_seconds",
            "must be seconds between 1 and 86400 (or 0 alone: no delay), got \"" + token + "\"");
        return;
      }
      if (v == 0)
        off = true;
      else
        delays.push_back(static_cast<int>(v));
    }
  }
  if (off && !delays.empty()) {
    rd.Fail(n, "worker.retry_delays_seconds", "0 (no delay) must stand alone");
    return;
  }
  if (!off && delays.empty()) {
    rd.Fail(n, "worker.retry_delays_seconds",
            "must name at least one delay in seconds (or 0: no delay)");
    return;
  }
  *out = std::move(delays);
}

}  // namespace

int Settings::RetryDelaySeconds(int failed) const {
  if (retry_delays_seconds.empty() || failed < 1)
    return 0;
  size_t i = std::min(static_cast<size_t>(failed - 1), retry_delays_seconds.size() - 1);
  return retry_delays_seconds[i];
}

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "worker",
                             {"prefetch", "max_attempts", "retry_delays_seconds", "metrics_port"}))
    return;
  rd.Int(node, "prefetch", &out.prefetch, 1, 10000, "worker");
  rd.Int(node, "max_attempts", &out.max_attempts, 1, 15, "worker");
  ReadRetryDelays(rd, node, &out.retry_delays_seconds);
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
