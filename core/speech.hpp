#pragma once

// The town's speech-to-text service, for phone recordings and chat voice notes
// (docs/channels/phone.md, "Transcription"; docs/channels/whatsapp.md, "Voice notes"): the
// recording is POSTed as the request body with its own media type (audio/wav from the phone,
// audio/ogg with Opus from the messengers), and the answer is JSON with a string `text`, or the
// text itself as the body. A self-hosted Whisper fits, behind a small adapter.

#include <chrono>
#include <string>
#include <string_view>

#include "core/http_client.hpp"
#include "core/result.hpp"

namespace meldestelle {

struct SpeechService {
  std::string url;  // empty: no service
  std::chrono::seconds timeout{60};
};

// What the service heard: valid UTF-8 without NUL, trimmed; "" if it heard nothing (or answered
// text that is not UTF-8). Errors: errors::kUnavailable when trying again may help (no
// connection, a timeout, 429, 5xx), errors::kResponseInvalid when it will not (another status,
// an answer over 1 MB). Neither carries the service's URL.
Result<std::string> Transcribe(HttpClient& http, const SpeechService& service,
                               std::string_view audio, std::string_view media_type);

// The service's answer read as above (status and body); pure, for tests.
Result<std::string> ReadTranscript(long status, std::string_view body);

}  // namespace meldestelle
