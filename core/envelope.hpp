#pragma once

#include <string>
#include <string_view>

#include "core/report.hpp"
#include "core/result.hpp"

namespace meldestelle {

// What travels on the queue: the normalized report plus the raw inbound payload kept for audit,
// and what the channel's worker needs besides the report (Open311: the media_url to fetch).
// JSON: {"report": {...}, "raw": {"content_type": "...", "body": "..."}, "channel_data": {...}}
// ("channel_data" only when there is any; a raw payload that is not UTF-8 is "body_base64"; the
// report in its queue form, ReportJsonForm::kQueue: members at their default left out).
struct RawPayload {
  std::string content_type;
  std::string body;
  // The body is known to be valid UTF-8 (a JSON body, which simdjson checked as it read it):
  // EncodeEnvelope does not check it again.
  bool utf8_checked = false;
};

struct Envelope {
  Report report;
  RawPayload raw;
  std::string channel_data;  // a JSON object, or "" for none
};

std::string EncodeEnvelope(const Envelope& e);
// The same from its parts, without copying them into an Envelope (the gateway's hot path).
//
// `text_in_raw`, if not empty, is where the raw payload (a JSON document) holds the report's
// text exactly, as a JSON pointer (RFC 6901, "/description"). The message then carries the text
// once: the report's "text" is {"in_raw": "/description"}, and DecodeEnvelope reads the string
// there (TextInRaw). The caller vouches that it is report.text, byte for byte, as TextInRaw reads
// it (webform::Validate). A worker from before this form refuses such a message ("text must be
// a string", dead-lettered) rather than misread it (docs/report-schema.md).
std::string EncodeEnvelope(const Report& report, const RawPayload& raw,
                           std::string_view channel_data, std::string_view text_in_raw = {});
Result<Envelope> DecodeEnvelope(std::string_view body);

// The string at `pointer` (RFC 6901) in the JSON document `raw`, parsed as the app API's intake
// parses it (simdjson; a leading byte order mark skipped). Error envelope_invalid if the document
// does not parse or holds no string there.
Result<std::string> TextInRaw(std::string_view raw, std::string_view pointer);
// `name` as one step of a JSON pointer: "/" and the name with "~" as "~0" and "/" as "~1".
std::string JsonPointerStep(std::string_view name);

}  // namespace meldestelle
