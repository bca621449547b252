// The speech-to-text client (core/speech.hpp).
#include "core/speech.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle {

Result<std::string> Transcribe(HttpClient& http, const SpeechService& service,
                               std::string_view audio, std::string_view media_type) {
  HttpClient::Request req;
  req.method = "POST";
  req.url = service.url;
  req.headers = {{"Content-Type", media_type.empty() ? std::string("application/octet-stream")
                                                     : std::string(media_type)},
                 {"Accept", "application/json, text/plain"}};
  req.body = std::string(audio);
  req.timeout = service.timeout;
  req.max_bytes = 1024 * 1024;
  auto res = http.Send(req);
  if (!res) {
    if (res.error().code == errors::kHttpTooLarge)
      return MakeError(errors::kResponseInvalid, "speech-to-text answered more than 1 MB");
    return MakeError(errors::kUnavailable, "speech-to-text not reachable", res.error().message);
  }
  return ReadTranscript(res->status, res->body);
}

Result<std::string> ReadTranscript(long status, std::string_view body) {
  if (status == 429 || status >= 500)
    return MakeError(errors::kUnavailable,
                     "speech-to-text answered HTTP " + std::to_string(status));
  if (status != 200)
    return MakeError(errors::kResponseInvalid,
                     "speech-to-text answered HTTP " + std::to_string(status));
  std::string text(body);
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("text") && j["text"].is_string()) {
    text = j["text"].get<std::string>();
  } else if (j.is_string()) {
    text = j.get<std::string>();
  } else if (j.is_object() || j.is_array()) {
    // JSON, but not the answer: an error object or an array is no text heard.
    return MakeError(errors::kResponseInvalid, "speech-to-text answered JSON without \"text\"");
  }
  if (!IsValidUtf8(text))
    return std::string();
  text.erase(std::remove(text.begin(), text.end(), '\0'), text.end());
  return std::string(TrimAscii(text));
}

}  // namespace meldestelle
