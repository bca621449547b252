#include "channels/email/tnef.hpp"

#include <algorithm>

#include "channels/email/mail_internal.hpp"
#include "core/media.hpp"
#include "core/text.hpp"

namespace meldestelle::email {

namespace {

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t ReadLe32(std::string_view b, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

bool IsTnef(const Attachment& a) {
  return a.declared_type == "application/ms-tnef" || a.declared_type == "application/vnd.ms-tnef" ||
         AsciiEqualIgnoringCase(a.filename, "winmail.dat") ||
         (a.bytes.size() >= 4 && ReadLe32(a.bytes, 0) == kTnefSignature);
}

std::string EncodeFiles(const std::vector<Attachment>& files) {
  std::string out;
  for (const auto& f : files) {
    PutLe32(static_cast<uint32_t>(f.filename.size()), &out);
    out += f.filename;
    PutLe32(static_cast<uint32_t>(f.bytes.size()), &out);
    out += f.bytes;
  }
  return out;
}

std::optional<std::vector<Attachment>> DecodeFiles(std::string_view bytes) {
  std::vector<Attachment> files;
  size_t pos = 0;
  auto take = [&](std::string* out) {
    if (bytes.size() - pos < 4)
      return false;
    const uint32_t n = ReadLe32(bytes, pos);
    pos += 4;
    if (n > bytes.size() - pos)
      return false;
    out->assign(bytes.substr(pos, n));
    pos += n;
    return true;
  };
  while (pos < bytes.size()) {
    Attachment f;
    if (files.size() == kMaxTnefFiles || !take(&f.filename) || !take(&f.bytes))
      return std::nullopt;
    f.filename = SanitizeFilename(internal::FixDecodedText(f.filename));
    f.declared_type = "application/octet-stream";
    files.push_back(std::move(f));
  }
  return files;
}

Status ExpandTnef(const Limits& limits, const TnefUnpacker& unpack, Mail* mail) {
  const size_t max = static_cast<size_t>(std::max(limits.max_attachments, 0));
  std::vector<Attachment> out;
  int not_read = 0, not_kept = 0;
  // A program run per stream: at most kMaxTnefReads and as many as the mail may keep files, and
  // none once that many files are taken (a stream of 500 streams of 500 would start 250,000).
  size_t runs = 0;
  // Depth first, in order: a stream's files take its place, an attached mail's files its.
  std::function<Status(Attachment&&, int)> take = [&](Attachment&& a, int depth) -> Status {
    if (!IsTnef(a)) {
      if (out.size() < max)
        out.push_back(std::move(a));
      else
        ++not_kept;
      return Ok{};
    }
    if (out.size() >= max) {
      ++not_kept;  // its files would be beyond the limit
      return Ok{};
    }
    if (depth > kMaxTnefDepth) {
      ++not_read;
      return Ok{};
    }
    if (runs >= std::min<size_t>(max, kMaxTnefReads)) {
      ++not_kept;  // not read for want of time: its files are not kept
      return Ok{};
    }
    ++runs;
    auto inside = unpack(a.bytes);
    if (!inside)
      return inside.error();
    if (!*inside) {
      ++not_read;
      return Ok{};
    }
    for (auto& f : **inside) {
      if (auto st = take(std::move(f), depth + 1); !st)
        return st;
    }
    return Ok{};
  };
  for (const auto& a : mail->attachments) {
    if (auto st = take(Attachment(a), 1); !st)
      return st;
  }
  mail->tnef_not_read += not_read;
  mail->attachments_not_kept += not_kept;
  mail->attachments = std::move(out);
  return Ok{};
}

}  // namespace meldestelle::email
