#include "core/media.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle {

namespace fs = std::filesystem;

std::string SniffMediaType(std::string_view b) {
  auto starts = [&](std::string_view magic, size_t offset = 0) {
    return b.size() >= offset + magic.size() && b.substr(offset, magic.size()) == magic;
  };
  if (starts("\xFF\xD8\xFF"))
    return "image/jpeg";
  if (starts("\x89PNG\r\n\x1A\n"))
    return "image/png";
  if (starts("GIF87a") || starts("GIF89a"))
    return "image/gif";
  if (starts("RIFF") && starts("WEBP", 8))
    return "image/webp";
  // TIFF (and the camera raw formats built on it: DNG, CR2, NEF, ARW), classic and BigTIFF.
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4)) ||
      starts(std::string_view("II+\0", 4)) || starts(std::string_view("MM\0+", 4))) {
    return "image/tiff";
  }
  // BMP: "BM", then the file size, two reserved words and the pixel offset; the DIB header's
  // size is one of the known ones (so that a text starting with "BM" is not taken for one).
  if (starts("BM") && b.size() >= 18) {
    const unsigned dib = static_cast<unsigned char>(b[14]) |
                         (static_cast<unsigned>(static_cast<unsigned char>(b[15])) << 8);
    if (b[16] == 0 && b[17] == 0 &&
        (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 ||
         dib == 124)) {
      return "image/bmp";
    }
  }
  if (starts("ftyp", 4)) {
    std::string_view brand = b.size() >= 12 ? b.substr(8, 4) : std::string_view{};
    if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "heim" ||
        brand == "heis" || brand == "mif1" || brand == "msf1") {
      return "image/heic";
    }
    if (brand == "avif")
      return "image/avif";
  }
  if (starts("%PDF-"))
    return "application/pdf";
  if (starts("OggS"))
    return "audio/ogg";
  if (starts("RIFF") && starts("WAVE", 8))
    return "audio/wav";
  if (starts("ID3") || (b.size() > 1 && static_cast<unsigned char>(b[0]) == 0xFF &&
                        (static_cast<unsigned char>(b[1]) & 0xE0) == 0xE0)) {
    return "audio/mpeg";
  }
  return "";
}

bool IsImageMediaType(std::string_view t) { return t.rfind("image/", 0) == 0; }
bool IsAudioMediaType(std::string_view t) { return t.rfind("audio/", 0) == 0; }
bool KeepsFileType(std::string_view t) { return IsImageMediaType(t) || IsAudioMediaType(t); }

std::string SanitizeFilename(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) {
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  while (out.find("..") != std::string::npos) {
    out.replace(out.find(".."), 2, ".");
  }
  if (!IsValidUtf8(out)) {
    std::string ascii;
    for (unsigned char c : out) {
      ascii.push_back(c < 0x80 ? static_cast<char>(c) : '_');
    }
    out = ascii;
  }
  while (out.size() > 120) {  // cut at a character boundary
    out.pop_back();
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
      out.pop_back();
    }
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) {
      out.pop_back();
    }
  }
  std::string_view trimmed = TrimAscii(out);
  return trimmed == "." ? std::string() : std::string(trimmed);
}

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {}

fs::path BlobStore::PathFor(std::string_view sha) const {
  std::string s(sha);
  return root_ / s.substr(0, 2) / s.substr(2, 2) / s;
}

bool BlobStore::Contains(std::string_view sha) const {
  std::error_code ec;
  return fs::exists(PathFor(sha), ec);
}

namespace {

Status FsyncPath(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(errors::kStorageFailed, "cannot open for fsync",
                     p.string() + ": " + strerror(errno));
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return MakeError(errors::kStorageFailed, "fsync failed", p.string() + ": " + strerror(errno));
  }
  return Ok{};
}

}  // namespace

Result<std::string> BlobStore::Put(std::string_view bytes) const {
  return Put(bytes, Sha256Hex(bytes));
}

Result<std::string> BlobStore::Put(std::string_view bytes, const std::string& sha) const {
  fs::path target = PathFor(sha);
  std::error_code ec;
  if (fs::exists(target, ec)) {
    // Stored again: its age starts anew, so the retention pass's sweep of files nothing refers
    // to (privacy/retention.cpp) does not take it while the new report is on its way.
    fs::last_write_time(target, fs::file_time_type::clock::now(), ec);
    return sha;
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return MakeError(errors::kStorageFailed, "cannot create media directory", ec.message());
  }
  fs::path tmp = target.parent_path() / (".tmp-" + RandomHex(8));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    return MakeError(errors::kStorageFailed, "cannot write media file", strerror(errno));
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      std::string why = strerror(errno);
      ::close(fd);
      fs::remove(tmp, ec);
      return MakeError(errors::kStorageFailed, "cannot write media file", why);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    fs::remove(tmp, ec);
    return MakeError(errors::kStorageFailed, "cannot flush media file", strerror(errno));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return MakeError(errors::kStorageFailed, "cannot rename media file", ec.message());
  }
  if (auto st = FsyncPath(target.parent_path(), O_RDONLY | O_DIRECTORY); !st) {
    return st.error();
  }
  return sha;
}

Result<std::string> BlobStore::Get(std::string_view sha) const {
  std::ifstream in(PathFor(sha), std::ios::binary);
  if (!in) {
    return MakeError(errors::kNotFound, "blob not found", std::string(sha));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace meldestelle
