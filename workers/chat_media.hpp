#pragma once

#include <string>

#include "channels/chat/event.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace meldestelle::workers {

// Downloads a chat attachment from its provider. Errors: "media_transient" (timeout, 5xx, 429:
// try again later) and "media_unavailable" (too large, gone, refused, checksum mismatch: will not
// get better). The bot/access token never appears in an error or a log line.
class MediaSource {
 public:
  virtual ~MediaSource() = default;
  virtual Result<std::string> Fetch(const chat::ChatEvent& event, const chat::Media& media) = 0;
};

// WhatsApp: media id → {url, sha256, file_size} → bytes, both with the bearer token; an expired
// URL (401/403/404 on the download) is asked for again once. Telegram: getFile → file_path →
// bytes. Each step retried with backoff (0.5 s, 1 s, 2 s) on transient failures.
class ProviderMedia final : public MediaSource {
 public:
  explicit ProviderMedia(const Config& config) : config_(config) {}
  Result<std::string> Fetch(const chat::ChatEvent& event, const chat::Media& media) override;

 private:
  Result<HttpClient::Response> Get(const std::string& url, const std::string& bearer,
                                   int64_t max_bytes);
  Result<std::string> FetchWhatsApp(const chat::Media& media);
  Result<std::string> FetchTelegram(const chat::Media& media);

  const Config& config_;
  HttpClient http_;
};

}  // namespace meldestelle::workers
