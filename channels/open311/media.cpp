#include "channels/open311/media.hpp"

#include "channels/open311/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/photo.hpp"
#include "core/wait.hpp"

namespace meldestelle::open311 {

namespace {

constexpr int kAttempts = 3;

Error Unavailable(std::string message) {
  return MakeError(errors::kMediaUnavailable, std::move(message));
}

// "https://host/media/7c1e/gehweg.jpg?x=1" → "gehweg.jpg".
std::string FileNameOf(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  size_t scheme = path.find("://");
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || (scheme != std::string::npos && slash < scheme + 3))
    return "";
  return SanitizeFilename(path.substr(slash + 1));
}

}  // namespace

Result<Attachment> MediaFetcher::Fetch(const std::string& url, const std::atomic<bool>& stop) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Unavailable("media_url is not http or https");
  }
  const auto& settings = config_.Get<Settings>();
  HttpClient::Request req;
  req.url = url;
  req.max_bytes = settings.max_media_bytes;
  req.public_only = !settings.media_private_networks;
  req.allowed_hosts = settings.media_hosts;
  // One deadline for every attempt together: a slow or silent server cannot hold the consumer
  // longer than media_timeout_seconds.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(settings.media_timeout_seconds);
  std::chrono::milliseconds backoff(500);
  std::string bytes;
  for (int attempt = 1;; ++attempt) {
    req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto res = http_.Send(req);
    if (!res && res.error().code == errors::kHttpTooLarge)
      return Unavailable("larger than " + std::to_string(settings.max_media_bytes) + " bytes");
    if (!res && res.error().code == errors::kHttpAddressRefused)
      return Unavailable("refused: " + res.error().message);
    if (res && res->status == 200) {
      bytes = std::move(res->body);
      break;
    }
    bool transient = !res || res->status == 429 || res->status >= 500;
    std::string why = res ? "HTTP " + std::to_string(res->status) : res.error().message;
    bool time_left =
        std::chrono::steady_clock::now() + backoff + std::chrono::seconds(1) < deadline;
    if (!transient || attempt >= kAttempts || stop.load() || !time_left) {
      return Unavailable(
          why + (transient ? " after " + std::to_string(attempt) + " attempts" : std::string()));
    }
    log::Info("open311 media_url: retrying", {{"url", RedactUrl(url)}, {"reason", why}});
    WaitUnlessStopped(backoff, stop);  // backoff against the client's server, not a test wait
    backoff *= 2;
  }
  std::string type = SniffMediaType(bytes);
  if (!IsImageMediaType(type))
    return Unavailable("not an image");
  // Staff see a copy without EXIF/XMP/IPTC, turned upright, HEIC as JPEG; the original is not
  // kept.
  auto stripped = StripPhoto(bytes);
  if (!stripped)
    return Unavailable("photo not cleaned: " + stripped.error().message);
  std::string sha = Sha256Hex(stripped->bytes);
  if (auto put = blobs_.Put(stripped->bytes, sha); !put) {
    return MakeError(errors::kStorageFailed, "media storage failed", put.error().message);
  }
  std::string name = PhotoFileName(FileNameOf(url), stripped->media_type);
  return Attachment{sha, stripped->media_type, static_cast<int64_t>(stripped->bytes.size()), name};
}

}  // namespace meldestelle::open311
