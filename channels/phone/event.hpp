#pragma once

#include <string>

// One event of a phone call, as the gateway publishes it (docs/channels/phone.md). The worker
// joins the events of a call by its call id (Twilio CallSid) into one report.
namespace meldestelle::phone {

enum class EventKind {
  kCallStarted,         // incoming-call webhook: caller and called number
  kRecorded,            // <Record> action: the recording is complete; reference assigned
  kRecordingStatus,     // recordingStatusCallback: completed / absent / failed
  kTranscription,       // transcribeCallback: completed (with text) / failed
  kSmsConsent,          // the caller pressed the key for an SMS confirmation
  kExternalTranscript,  // POST /webhooks/phone/transcript from call-centre software
};

struct Event {
  EventKind kind = EventKind::kCallStarted;
  std::string call_id;  // Twilio CallSid (or the call-centre's call id)
  std::string
      dedupe_key;    // "call:<CallSid>", "recorded:<CallSid>", "recording:<RecordingSid>:<status>",
                     // "transcription:<TranscriptionSid>", "sms:<CallSid>", "transcript:<call id>"
  std::string from;  // E.164 caller number; "" when withheld or unknown
  std::string to;    // the number that was called
  std::string language = "de";  // "de" or "en" (chosen by key press)
  std::string recording_sid;
  std::string recording_url;  // without extension, as the provider sends it
  int recording_duration_s = 0;
  std::string recording_status;  // completed | absent | failed | in-progress
  std::string transcription_sid;
  std::string transcription_status;  // completed | failed
  std::string transcription_text;    // valid UTF-8
};

}  // namespace meldestelle::phone
