#pragma once

// The chat drafts' settings (docs/configuration.md, `chat:`), shared by the messengers.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace meldestelle::chat {

// How chat messages become reports (docs/channels/whatsapp.md, "Multi-message reports").
struct Settings {
  static constexpr std::string_view kKey = "chat";
  static constexpr bool kRequired = false;

  int draft_window_seconds = 180;  // a draft closes this long after its last message
  // ... and at the latest this long after its first (at least one window): a sender who keeps
  // writing still gets a report and its acknowledgement; later messages start another draft.
  int draft_max_seconds = 1800;
  // A pin alone sent within this long after the sender's report was published without a place
  // ("Ort fehlt") is that report's place, unless a new draft is open; 0: it starts a new draft.
  int late_place_minutes = 30;
  int rate_limit_per_minute = 20;  // messages per sender; beyond that dropped and counted
  int dedupe_days = 7;             // how long provider message ids are remembered
  int64_t max_media_bytes = 20 * 1024 * 1024;
  int media_timeout_seconds = 30;
  int send_max_attempts = 8;  // outgoing chat messages: attempts before "failed"
  // One send to WhatsApp's or Telegram's API, connecting included. An answer later than this
  // leaves the send unconfirmed (outbox::Attempt::unconfirmed): it is tried again.
  int send_timeout_seconds = 20;
  // The town's speech-to-text service for voice notes (core/speech.hpp); empty: voice notes
  // stay recordings for staff to listen to.
  std::string stt_url;
  int stt_timeout_seconds = 60;

  // How long a draft may stay open from its first message: the cap, or one window if longer.
  int DraftLifetimeSeconds() const { return std::max(draft_max_seconds, draft_window_seconds); }

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::chat
