#include "channels/phone/message.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::phone {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = R"({"kind":"phone_event")";

constexpr EventKind kKinds[] = {EventKind::kCallStarted,     EventKind::kRecorded,
                                EventKind::kRecordingStatus, EventKind::kTranscription,
                                EventKind::kSmsConsent,      EventKind::kExternalTranscript};

}  // namespace

const char* ToString(EventKind k) {
  switch (k) {
    case EventKind::kCallStarted:
      return "call_started";
    case EventKind::kRecorded:
      return "recorded";
    case EventKind::kRecordingStatus:
      return "recording_status";
    case EventKind::kTranscription:
      return "transcription";
    case EventKind::kSmsConsent:
      return "sms_consent";
    case EventKind::kExternalTranscript:
      return "external_transcript";
  }
  return "call_started";
}

bool IsMessage(std::string_view body) { return body.substr(0, kPrefix.size()) == kPrefix; }

std::string EncodeMessage(const Message& m) {
  const Event& e = m.event;
  json rest{
      {"received_at", m.received_at},
      {"reference", m.reference},
      {"report_id", m.report_id},
      {"audio_url", m.audio_url},
      {"event",
       {{"kind", ToString(e.kind)},
        {"call_id", e.call_id},
        {"dedupe_key", e.dedupe_key},
        {"from", e.from},
        {"to", e.to},
        {"language", e.language},
        {"recording_sid", e.recording_sid},
        {"recording_url", e.recording_url},
        {"recording_duration_s", e.recording_duration_s},
        {"recording_status", e.recording_status},
        {"transcription_sid", e.transcription_sid},
        {"transcription_status", e.transcription_status},
        {"transcription_text", e.transcription_text}}},
      {"raw", {{"content_type", m.raw.content_type}, {"body_base64", Base64Encode(m.raw.body)}}}};
  std::string out(kPrefix);
  std::string tail = rest.dump(-1, ' ', false, json::error_handler_t::replace);
  out += ",";
  out.append(tail, 1, std::string::npos);
  return out;
}

Result<Message> DecodeMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  // Not j.value("kind", ""): it throws when "kind" is there but not a string (fuzz/queue), and
  // a message that cannot be decoded must be an error (dead-lettered at once), not an exception.
  if (j.is_discarded() || !j.is_object() || !j.contains("kind") || j["kind"] != "phone_event") {
    return MakeError(errors::kPhoneMessageInvalid, "message is not a phone event");
  }
  try {
    Message m;
    m.received_at = j.at("received_at").get<std::string>();
    m.reference = j.at("reference").get<std::string>();
    m.report_id = j.at("report_id").get<std::string>();
    m.audio_url = j.value("audio_url", "");
    const json& je = j.at("event");
    Event& e = m.event;
    std::string kind = je.at("kind").get<std::string>();
    bool known = false;
    for (EventKind k : kKinds) {
      if (kind == ToString(k)) {
        e.kind = k;
        known = true;
      }
    }
    if (!known)
      return MakeError(errors::kPhoneMessageInvalid, "unknown phone event kind " + kind);
    e.call_id = je.at("call_id").get<std::string>();
    e.dedupe_key = je.at("dedupe_key").get<std::string>();
    e.from = je.value("from", "");
    e.to = je.value("to", "");
    e.language = je.value("language", "de");
    e.recording_sid = je.value("recording_sid", "");
    e.recording_url = je.value("recording_url", "");
    e.recording_duration_s = je.value("recording_duration_s", 0);
    e.recording_status = je.value("recording_status", "");
    e.transcription_sid = je.value("transcription_sid", "");
    e.transcription_status = je.value("transcription_status", "");
    e.transcription_text = je.value("transcription_text", "");
    const json& raw = j.at("raw");
    m.raw.content_type = raw.at("content_type").get<std::string>();
    if (!Base64Decode(raw.at("body_base64").get<std::string>(), &m.raw.body)) {
      return MakeError(errors::kPhoneMessageInvalid, "raw payload is not base64");
    }
    if (e.call_id.empty() || e.dedupe_key.empty()) {
      return MakeError(errors::kPhoneMessageInvalid, "phone event without call id or dedupe key");
    }
    return m;
  } catch (const json::exception& ex) {
    return MakeError(errors::kPhoneMessageInvalid,
                     std::string("phone event is malformed: ") + ex.what());
  }
}

}  // namespace meldestelle::phone
