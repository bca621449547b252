#include "channels/email/tnef.hpp"

#include "core/text.hpp"

namespace meldestelle::email {

namespace {

constexpr uint32_t kSignature = 0x223E9F78;

uint32_t Le32(std::string_view b, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

bool IsTnef(const Attachment& a) {
  return a.declared_type == "application/ms-tnef" || a.declared_type == "application/vnd.ms-tnef" ||
         AsciiEqualIgnoringCase(a.filename, "winmail.dat") ||
         (a.bytes.size() >= 4 && Le32(a.bytes, 0) == kSignature);
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
    const uint32_t n = Le32(bytes, pos);
    pos += 4;
    if (n > bytes.size() - pos)
      return false;
    out->assign(bytes.substr(pos, n));
    pos += n;
    return true;
  };
  while (pos < bytes.size()) {
    Attachment f;
    if (!take(&f.filename) || !take(&f.bytes))
      return std::nullopt;
    f.declared_type = "application/octet-stream";
    files.push_back(std::move(f));
  }
  return files;
}

Status ExpandTnef(const Limits& limits, const TnefUnpacker& unpack, Mail* mail) {
  std::vector<Attachment> out;
  int not_read = 0;
  // Depth first, in order: a stream's files take its place, an attached mail's files its.
  std::function<Status(Attachment&&, int)> take = [&](Attachment&& a, int depth) -> Status {
    if (!IsTnef(a)) {
      out.push_back(std::move(a));
      return Ok{};
    }
    if (depth > kMaxTnefDepth) {
      ++not_read;
      return Ok{};
    }
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
  for (auto& a : mail->attachments) {
    if (auto st = take(Attachment(a), 1); !st)
      return st;
  }
  mail->tnef_not_read += not_read;
  if (static_cast<int>(out.size()) > limits.max_attachments) {
    mail->attachments_not_kept += static_cast<int>(out.size()) - limits.max_attachments;
    out.resize(static_cast<size_t>(limits.max_attachments));
  }
  mail->attachments = std::move(out);
  return Ok{};
}

}  // namespace meldestelle::email
