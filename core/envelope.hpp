#pragma once

#include <string>
#include <string_view>

#include "core/report.hpp"
#include "core/result.hpp"

namespace meldestelle {

// What travels on the queue: the normalized report plus the raw inbound payload kept for audit,
// and what the channel's worker needs besides the report (Open311: the media_url to fetch).
// JSON: {"report": {...}, "raw": {"content_type": "...", "body": "..."}, "channel_data": {...}}
// ("channel_data" only when there is any; a raw payload that is not UTF-8 is "body_base64").
struct RawPayload {
  std::string content_type;
  std::string body;
};

struct Envelope {
  Report report;
  RawPayload raw;
  std::string channel_data;  // a JSON object, or "" for none
};

std::string EncodeEnvelope(const Envelope& e);
// The same from its parts, without copying them into an Envelope (the gateway's hot path).
std::string EncodeEnvelope(const Report& report, const RawPayload& raw,
                           std::string_view channel_data);
Result<Envelope> DecodeEnvelope(std::string_view body);

}  // namespace meldestelle
