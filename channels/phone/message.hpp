#pragma once

#include <string>
#include <string_view>

#include "channels/phone/event.hpp"
#include "core/envelope.hpp"
#include "core/result.hpp"

namespace meldestelle::phone {

// What the gateway publishes for one phone webhook: the event, the reference and report id it
// was given at intake (for recordings and call-centre transcripts), and the raw request for
// audit. JSON {"kind":"phone_event","received_at":…,"reference":…,"report_id":…,"event":{…},
// "raw":{"content_type","body_base64"}}.
struct Message {
  Event event;
  std::string reference;
  std::string report_id;
  std::string received_at;
  std::string audio_url;  // call-centre transcripts: where the recording can be fetched
  RawPayload raw;
};

// The AMQP type of a phone event on the work queue.
inline constexpr std::string_view kMessageType = "phone_event";

// Whether an untyped message (published before messages carried their type) is a phone event.
bool IsMessage(std::string_view body);
std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view body);
const char* ToString(EventKind k);

}  // namespace meldestelle::phone
