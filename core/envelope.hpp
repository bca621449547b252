#pragma once

#include <string>
#include <string_view>

#include "core/report.hpp"
#include "core/result.hpp"

namespace meldestelle {

// What travels on the queue: the normalized report plus the raw inbound payload kept for audit.
// JSON: {"report": {...}, "raw": {"content_type": "...", "body_base64": "..."}}.
struct RawPayload {
  std::string content_type;
  std::string body;
};

struct Envelope {
  Report report;
  RawPayload raw;
};

std::string EncodeEnvelope(const Envelope& e);
Result<Envelope> DecodeEnvelope(std::string_view body);

}  // namespace meldestelle
