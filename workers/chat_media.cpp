#include "workers/chat_media.hpp"

#include <thread>

#include "channels/telegram/telegram.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::workers {

namespace {

bool Transient(long status) { return status == 429 || status >= 500; }

Error Unavailable(std::string message) {
  return MakeError(errors::kMediaUnavailable, std::move(message));
}

// "http://127.0.0.1:8080/v21.0" → "http://127.0.0.1:8080".
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

}  // namespace

Result<HttpClient::Response> ProviderMedia::Get(const std::string& url, const std::string& bearer,
                                                int64_t max_bytes) {
  HttpClient::Request req;
  req.url = url;
  if (!bearer.empty())
    req.headers.emplace_back("Authorization", "Bearer " + bearer);
  req.timeout = std::chrono::seconds(config_.chat.media_timeout_seconds);
  req.max_bytes = max_bytes;
  std::chrono::milliseconds backoff(500);
  for (int attempt = 1;; ++attempt) {
    auto res = http_.Send(req);
    if (!res && res.error().code == errors::kHttpTooLarge) {
      return Unavailable("media larger than " + std::to_string(max_bytes) + " bytes");
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

Result<std::string> ProviderMedia::Fetch(const chat::ChatEvent& event, const chat::Media& media) {
  if (media.size && *media.size > config_.chat.max_media_bytes) {
    return Unavailable("media larger than " + std::to_string(config_.chat.max_media_bytes) +
                       " bytes");
  }
  auto bytes = event.channel == "telegram" ? FetchTelegram(media) : FetchWhatsApp(media);
  if (!bytes)
    return bytes;
  if (!media.sha256_hex.empty() && Sha256Hex(*bytes) != media.sha256_hex) {
    return Unavailable("media checksum does not match the provider's sha256");
  }
  return bytes;
}

Result<std::string> ProviderMedia::FetchWhatsApp(const chat::Media& media) {
  const auto& wa = config_.whatsapp;
  if (wa.access_token.empty()) {
    return Unavailable("whatsapp.access_token is not set; media cannot be downloaded");
  }
  for (int round = 0; round < 2; ++round) {
    auto meta = Get(wa.api_base + "/" + UrlEscape(media.id), wa.access_token, 64 * 1024);
    if (!meta)
      return meta.error();
    if (meta->status != 200) {
      return Unavailable("media id lookup answered HTTP " + std::to_string(meta->status));
    }
    auto info = whatsapp::ParseMediaInfo(meta->body, Origin(wa.api_base));
    if (!info)
      return Unavailable("media info: " + info.error().message);
    if (info->file_size && *info->file_size > config_.chat.max_media_bytes) {
      return Unavailable("media larger than " + std::to_string(config_.chat.max_media_bytes) +
                         " bytes");
    }
    auto file = Get(info->url, wa.access_token, config_.chat.max_media_bytes);
    if (!file)
      return file.error();
    if (file->status == 200) {
      if (!info->sha256_hex.empty() && Sha256Hex(file->body) != info->sha256_hex) {
        return Unavailable("media checksum does not match the provider's sha256");
      }
      return std::move(file->body);
    }
    // The download URL lives five minutes: an expired one is asked for again, once.
    if (file->status != 401 && file->status != 403 && file->status != 404) {
      return Unavailable("media download answered HTTP " + std::to_string(file->status));
    }
  }
  return Unavailable("media download URL expired twice");
}

Result<std::string> ProviderMedia::FetchTelegram(const chat::Media& media) {
  const auto& tg = config_.telegram;
  if (tg.bot_token.empty()) {
    return Unavailable("telegram.bot_token is not set; media cannot be downloaded");
  }
  auto meta = Get(tg.api_base + "/bot" + tg.bot_token + "/getFile?file_id=" + UrlEscape(media.id),
                  "", 64 * 1024);
  if (!meta)
    return meta.error();
  auto info = telegram::ParseGetFile(meta->body);
  if (!info)
    return Unavailable("getFile: " + info.error().message);
  if (info->file_size && *info->file_size > config_.chat.max_media_bytes) {
    return Unavailable("media larger than " + std::to_string(config_.chat.max_media_bytes) +
                       " bytes");
  }
  auto file = Get(tg.api_base + "/file/bot" + tg.bot_token + "/" + info->file_path, "",
                  config_.chat.max_media_bytes);
  if (!file)
    return file.error();
  if (file->status != 200) {
    return Unavailable("file download answered HTTP " + std::to_string(file->status));
  }
  return std::move(file->body);
}

}  // namespace meldestelle::workers
