#include "channels/chat/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::chat {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "chat",
                             {"draft_window_seconds", "draft_max_seconds", "late_place_minutes",
                              "rate_limit_per_minute", "dedupe_days", "max_media_bytes",
                              "media_timeout_seconds", "send_max_attempts", "send_timeout_seconds",
                              "stt_url", "stt_timeout_seconds"}))
    return;
  const YAML::Node& n = node;

  rd.Int(n, "draft_window_seconds", &out.draft_window_seconds, 1, 86400, "chat");
  rd.Int(n, "draft_max_seconds", &out.draft_max_seconds, 1, 604800, "chat");
  rd.Int(n, "late_place_minutes", &out.late_place_minutes, 0, 10080, "chat");
  rd.Int(n, "rate_limit_per_minute", &out.rate_limit_per_minute, 1, 100000, "chat");
  rd.Int(n, "dedupe_days", &out.dedupe_days, 1, 365, "chat");
  rd.Int(n, "max_media_bytes", &out.max_media_bytes, 1024, int64_t{1} << 31, "chat");
  rd.Int(n, "media_timeout_seconds", &out.media_timeout_seconds, 1, 600, "chat");
  rd.Int(n, "send_max_attempts", &out.send_max_attempts, 1, 100, "chat");
  rd.Int(n, "send_timeout_seconds", &out.send_timeout_seconds, 1, 300, "chat");
  rd.String(n, "stt_url", &out.stt_url, false, "chat");
  if (!out.stt_url.empty() && out.stt_url.rfind("http://", 0) != 0 &&
      out.stt_url.rfind("https://", 0) != 0)
    rd.Fail(n["stt_url"], "chat.stt_url", "must be an http:// or https:// URL");
  rd.Int(n, "stt_timeout_seconds", &out.stt_timeout_seconds, 1, 3600, "chat");
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::chat
