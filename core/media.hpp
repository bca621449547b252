#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace meldestelle {

// Media type from magic bytes, or "" if not recognised. Never trusts a declared type.
std::string SniffMediaType(std::string_view bytes);
bool IsImageMediaType(std::string_view media_type);
bool IsAudioMediaType(std::string_view media_type);
// What we keep of a citizen's files (docs/datenschutz.md, "Minimisation"): photos (cleaned of
// their metadata) and voice messages. Other documents (PDF, office files, anything unknown)
// carry their author's metadata and are not kept; the ticket says so.
bool KeepsFileType(std::string_view media_type);
// Strips directories, control characters and "..", limits to 120 bytes of valid UTF-8.
std::string SanitizeFilename(std::string_view name);

// Content-addressed file store: <root>/<aa>/<bb>/<sha256>. Writing is atomic (temp file, fsync,
// rename, fsync of the directory), so a stored blob is complete or absent; storing the same
// bytes twice keeps one file (and renews its modification time). Thread-safe (no shared mutable
// state beyond the file system).
class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root);
  // Stores `bytes` and returns their SHA-256 hex digest.
  Result<std::string> Put(std::string_view bytes) const;
  // The same, when the caller already has the digest of `bytes`.
  Result<std::string> Put(std::string_view bytes, const std::string& sha256) const;
  std::filesystem::path PathFor(std::string_view sha256) const;
  bool Contains(std::string_view sha256) const;
  Result<std::string> Get(std::string_view sha256) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace meldestelle
