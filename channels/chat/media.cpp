#include "channels/chat/media.hpp"

#include <thread>

#include "channels/chat/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::chat {

namespace {

bool Transient(long status) { return status == 429 || status >= 500; }

}  // namespace

Error MediaUnavailable(std::string message) {
  return MakeError(errors::kMediaUnavailable, std::move(message));
}

std::string Origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos)
    return {};
  return url.substr(0, url.find('/', scheme + 3));
}

std::string UrlEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<HttpClient::Response> MediaDownloader::Get(const std::string& url, const std::string& bearer,
                                                  int64_t max_bytes) {
  HttpClient::Request req;
  req.url = url;
  if (!bearer.empty())
    req.headers.emplace_back("Authorization", "Bearer " + bearer);
  req.timeout = std::chrono::seconds(config_.Get<Settings>().media_timeout_seconds);
  req.max_bytes = max_bytes;
  std::chrono::milliseconds backoff(500);
  for (int attempt = 1;; ++attempt) {
    auto res = http_.Send(req);
    if (!res && res.error().code == errors::kHttpTooLarge) {
      return MediaUnavailable("media larger than " + std::to_string(max_bytes) + " bytes");
    }
    bool retry = !res || Transient(res->status);
    if (!retry)
      return res;
    if (attempt >= 3) {
      return MakeError(
          errors::kMediaTransient,
          res ? "provider answered HTTP " + std::to_string(res->status) : res.error().message,
          RedactUrl(url));
    }
    std::this_thread::sleep_for(backoff);  // retry backoff against the provider, not a test wait
    backoff *= 2;
  }
}

Result<std::string> ProviderMedia::Fetch(const ChatEvent& event, const Media& media) {
  const int64_t max = downloader_.max_bytes();
  if (media.size && *media.size > max) {
    return MediaUnavailable("media larger than " + std::to_string(max) + " bytes");
  }
  auto fetch = fetchers_.find(event.channel);
  if (fetch == fetchers_.end()) {
    return MediaUnavailable("no media download for channel " + event.channel);
  }
  auto bytes = fetch->second(downloader_, media);
  if (!bytes)
    return bytes;
  if (!media.sha256_hex.empty() && Sha256Hex(*bytes) != media.sha256_hex) {
    return MediaUnavailable("media checksum does not match the provider's sha256");
  }
  return bytes;
}

}  // namespace meldestelle::chat
