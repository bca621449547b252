#include "channels/open311/settings.hpp"

#include <set>

#include "core/config_section.hpp"

namespace meldestelle::open311 {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  const YAML::Node& n = node;
  if (!n ||
      !rd.ExpectMap(n, "open311",
                    {"jurisdiction_id", "api_keys", "max_media_bytes", "media_timeout_seconds",
                     "media_hosts", "media_private_networks", "service_notice",
                     "reopen_grace_minutes", "publish"}))
    return;
  rd.String(n, "jurisdiction_id", &out.jurisdiction_id, false, "open311");
  rd.String(n, "service_notice", &out.service_notice, false, "open311");
  rd.Int(n, "max_media_bytes", &out.max_media_bytes, 1024, int64_t{1} << 30, "open311");
  rd.Int(n, "media_timeout_seconds", &out.media_timeout_seconds, 1, 120, "open311");
  rd.StringList(n, "media_hosts", &out.media_hosts, "open311");
  rd.Bool(n, "media_private_networks", &out.media_private_networks, "open311");
  rd.Int(n, "reopen_grace_minutes", &out.reopen_grace_minutes, 0, 7 * 24 * 60, "open311");
  rd.String(n, "publish", &out.publish, false, "open311");
  if (out.publish != "all" && out.publish != "open311_only" && out.publish != "none") {
    rd.Fail(n["publish"], "open311.publish",
            "must be all, open311_only or none, got \"" + out.publish + "\"");
  }
  if (auto k = n["api_keys"]; k && rd.ExpectSequence(k, "open311.api_keys")) {
    std::set<std::string> clients;
    for (const auto& item : k) {
      if (!rd.ExpectMap(item, "open311.api_keys[]", {"client", "key"}))
        continue;
      ApiKey key;
      rd.String(item, "client", &key.client, true, "open311.api_keys[]");
      ReadSecret(rd, item, "key", "open311.api_keys[]", "MELDESTELLE_OPEN311_API_KEY", &key.key);
      if (!item["key"])
        rd.Fail(item, "open311.api_keys[].key", "is required");
      if (!key.client.empty() && !clients.insert(key.client).second) {
        rd.Fail(item["client"], "open311.api_keys[].client",
                "duplicate client \"" + key.client + "\"");
      }
      out.api_keys.push_back(std::move(key));
    }
  }
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::open311
