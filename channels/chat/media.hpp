#pragma once

#include <functional>
#include <map>
#include <string>

#include "channels/chat/event.hpp"
#include "channels/chat/settings.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/result.hpp"

namespace meldestelle::chat {

// Downloads a chat attachment from its provider. Errors: media_transient (timeout, 5xx, 429: try
// again later) and media_unavailable (too large, gone, refused, checksum mismatch: will not get
// better). The bot or access token never appears in an error or a log line.
class MediaSource {
 public:
  virtual ~MediaSource() = default;
  virtual Result<std::string> Fetch(const ChatEvent& event, const Media& media) = 0;
};

// The HTTP part every messenger's download shares: GET with an optional bearer token, at most
// `max_bytes`, within chat.media_timeout_seconds, retried with backoff (0.5 s, 1 s) on network
// errors, 429 and 5xx. One instance per thread.
class MediaDownloader {
 public:
  explicit MediaDownloader(const Config& config) : config_(config) {}
  Result<HttpClient::Response> Get(const std::string& url, const std::string& bearer,
                                   int64_t max_bytes);
  const Config& config() const { return config_; }
  int64_t max_bytes() const { return config_.Get<Settings>().max_media_bytes; }

 private:
  const Config& config_;
  HttpClient http_;
};

// A messenger's way from a media id to the bytes (WhatsApp: id → URL → bytes; Telegram: getFile
// → path → bytes), registered by the messenger (channels/builtin.cpp).
using MediaFetch = std::function<Result<std::string>(MediaDownloader&, const Media&)>;
using MediaFetchers = std::map<std::string, MediaFetch, std::less<>>;  // by channel

// The messengers' downloads: the size limit and the provider's checksum checked for all.
class ProviderMedia final : public MediaSource {
 public:
  ProviderMedia(const Config& config, MediaFetchers fetchers)
      : downloader_(config), fetchers_(std::move(fetchers)) {}
  Result<std::string> Fetch(const ChatEvent& event, const Media& media) override;

 private:
  MediaDownloader downloader_;
  MediaFetchers fetchers_;
};

// errors::kMediaUnavailable with `message`.
Error MediaUnavailable(std::string message);
// "%XX" for everything but unreserved characters (a media id in a URL).
std::string UrlEscape(std::string_view s);
// "http://127.0.0.1:8080/v21.0" → "http://127.0.0.1:8080".
std::string Origin(const std::string& url);

}  // namespace meldestelle::chat
