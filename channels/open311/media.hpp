#pragma once

#include <atomic>
#include <string>

#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/report.hpp"
#include "core/result.hpp"

namespace meldestelle::open311 {

// The routing flag of an Open311 report whose media_url could not be fetched.
inline constexpr const char* kFlagPhotoUnavailable = "Foto nicht abrufbar";

// Fetches the `media_url` of an Open311 report before its ticket is written (docs/open311.md,
// "media_url"): http/https only, at most open311.max_media_bytes within
// open311.media_timeout_seconds, three attempts with backoff (0.5 s, 1 s) on timeouts, network
// errors, 429 and 5xx. The bytes must sniff as an image; they are stripped like every photo
// (StripPhoto) and stored content-addressed. One instance per thread.
class MediaFetcher {
 public:
  explicit MediaFetcher(const Config& config) : config_(config), blobs_(config.storage.media_dir) {}

  // The stored photo. Errors: "media_unavailable" (refused, gone, too large, not an image,
  // still failing after the retries: the ticket goes without it) and "storage_failed" (our disk:
  // try the message again).
  Result<Attachment> Fetch(const std::string& url, const std::atomic<bool>& stop);

 private:
  const Config& config_;
  HttpClient http_;
  BlobStore blobs_;
};

}  // namespace meldestelle::open311
