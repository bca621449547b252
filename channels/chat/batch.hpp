#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/chat/event.hpp"
#include "core/envelope.hpp"
#include "core/result.hpp"

namespace meldestelle::chat {

// What the gateway publishes for one authenticated provider notification: its events (messages,
// edits, delivery statuses) in order, a reference and report id per event (assigned at intake and
// used if the event opens a new draft), and the raw notification for audit. JSON:
// {"kind":"chat_batch","channel":…,"received_at":…,"events":[{…,"reference","report_id"}],
//  "raw":{"content_type","body_base64"}}. Documented in docs/channels/whatsapp.md.
struct Batch {
  std::string channel;
  std::string received_at;  // RFC 3339
  struct Item {
    ChatEvent event;
    std::string reference;
    std::string report_id;
  };
  std::vector<Item> items;
  RawPayload raw;
};

// The AMQP type of a chat batch on the work queue.
inline constexpr std::string_view kBatchType = "chat_batch";

// Whether an untyped message (published before messages carried their type) is a chat batch:
// its JSON starts with {"kind":"chat_batch".
bool IsBatch(std::string_view body);
std::string EncodeBatch(const Batch& b);
Result<Batch> DecodeBatch(std::string_view body);

}  // namespace meldestelle::chat
