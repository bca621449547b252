#include "channels/email/tnef.hpp"

#include <cstring>

#include "channels/email/mail_internal.hpp"
#include "core/media.hpp"
#include "core/text.hpp"

extern "C" {
#include <ytnef.h>
}

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

// The stream's frame, before the library reads it: its signature, then attributes of a level
// byte, an id, a length, that many bytes and a checksum, each whole within the bytes. libytnef
// reads an attribute's length into a signed int and copies that many bytes unchecked: a length
// past the end (or of 2 GiB and more) is refused here.
bool FrameFits(std::string_view b) {
  if (b.size() < 6 || Le32(b, 0) != kSignature)
    return false;
  size_t pos = 6;  // the signature and the key
  while (b.size() - pos >= 9) {
    const uint32_t length = Le32(b, pos + 5);
    pos += 9;
    if (length == 0 || length > b.size() - pos || b.size() - pos - length < 2)
      return false;
    pos += length + 2;
  }
  return pos == b.size();
}

// libytnef frees what a failed parse left half-built with loops over counts it set before the
// arrays they count: those counts are set to what was built, so that TNEFFree frees what is
// there and nothing else.
void MakeFreeable(MAPIProps* p) {
  if (p->properties == nullptr) {
    p->count = 0;
    return;
  }
  for (DWORD i = 0; i < p->count; ++i) {
    MAPIProperty& prop = p->properties[i];
    if (prop.data == nullptr)
      prop.count = 0;
    if (prop.propnames == nullptr)
      prop.namedproperty = 0;
  }
}

// A NUL-terminated string of at most `limit` bytes.
std::string_view CString(const BYTE* data, size_t limit) {
  const auto* s = reinterpret_cast<const char*>(data);
  return {s, strnlen(s, limit)};
}

std::string NameOf(::Attachment* a) {
  for (unsigned id : {PR_ATTACH_LONG_FILENAME, PR_DISPLAY_NAME}) {
    // Unicode: made UTF-8 by the library, in a buffer of 3/2 of the UTF-16's size and a NUL.
    variableLength* v = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_UNICODE, id));
    if (v != MAPI_UNDEFINED && v->data != nullptr && v->size > 0) {
      std::string_view name = CString(v->data, 3 * static_cast<size_t>(v->size) / 2 + 1);
      if (!name.empty())
        return internal::FixDecodedText(name);
    }
    // 8-bit: the sender's code page, unnamed here (Windows-1252 where the sender writes German).
    v = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_STRING8, id));
    if (v != MAPI_UNDEFINED && v->data != nullptr && v->size > 0) {
      std::string_view name = CString(v->data, static_cast<size_t>(v->size));
      if (!name.empty())
        return internal::ToUtf8(name, "");
    }
  }
  if (a->Title.data != nullptr && a->Title.size > 0)
    return internal::ToUtf8(CString(a->Title.data, static_cast<size_t>(a->Title.size)), "");
  return "";
}

// The file's bytes: its data, or an embedded item's (an object: after its 16-byte class id).
std::string BytesOf(::Attachment* a) {
  if (a->FileData.data != nullptr && a->FileData.size > 0)
    return std::string(reinterpret_cast<const char*>(a->FileData.data),
                       static_cast<size_t>(a->FileData.size));
  for (ULONG type : {PT_OBJECT, PT_BINARY}) {
    variableLength* v = MAPIFindProperty(&a->MAPI, PROP_TAG(type, PR_ATTACH_DATA_OBJ));
    if (v != MAPI_UNDEFINED && v->data != nullptr && v->size > 16)
      return std::string(reinterpret_cast<const char*>(v->data) + 16,
                         static_cast<size_t>(v->size) - 16);
  }
  return "";
}

}  // namespace

bool IsTnef(const Attachment& a) {
  return a.declared_type == "application/ms-tnef" || a.declared_type == "application/vnd.ms-tnef" ||
         AsciiEqualIgnoringCase(a.filename, "winmail.dat") ||
         (a.bytes.size() >= 4 && Le32(a.bytes, 0) == kSignature);
}

std::optional<std::vector<Attachment>> UnpackTnef(std::string_view bytes) {
  if (!FrameFits(bytes))
    return std::nullopt;
  TNEFStruct tnef;
  TNEFInitialize(&tnef);
  tnef.Debug = 0;
  // The library reads and never writes the memory it is given.
  const int rc = TNEFParseMemory(reinterpret_cast<BYTE*>(const_cast<char*>(bytes.data())),
                                 static_cast<long>(bytes.size()), &tnef);
  std::optional<std::vector<Attachment>> files;
  if (rc == 0) {
    files.emplace();
    for (::Attachment* a = tnef.starting_attach.next; a != nullptr; a = a->next) {
      std::string data = BytesOf(a);
      if (data.empty())
        continue;
      email::Attachment f;
      f.filename = SanitizeFilename(NameOf(a));
      f.declared_type = "application/octet-stream";
      f.bytes = std::move(data);
      files->push_back(std::move(f));
    }
  }
  MakeFreeable(&tnef.MapiProperties);
  MakeFreeable(&tnef.starting_attach.MAPI);
  for (::Attachment* a = tnef.starting_attach.next; a != nullptr; a = a->next)
    MakeFreeable(&a->MAPI);
  // An attachment's data before its first attribute lands on the list's head, which TNEFFree
  // leaves.
  TNEFFreeAttachment(&tnef.starting_attach);
  TNEFFree(&tnef);
  return files;
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

void ExpandTnef(
    const Limits& limits,
    const std::function<std::optional<std::vector<Attachment>>(std::string_view)>& unpack,
    Mail* mail) {
  std::vector<Attachment> out;
  for (auto& a : mail->attachments) {
    if (!IsTnef(a)) {
      out.push_back(std::move(a));
      continue;
    }
    auto inside = unpack(a.bytes);
    if (!inside) {
      ++mail->tnef_not_read;
      out.push_back(std::move(a));
      continue;
    }
    for (auto& f : *inside)
      out.push_back(std::move(f));
  }
  if (static_cast<int>(out.size()) > limits.max_attachments) {
    mail->attachments_not_kept += static_cast<int>(out.size()) - limits.max_attachments;
    out.resize(static_cast<size_t>(limits.max_attachments));
  }
  mail->attachments = std::move(out);
}

}  // namespace meldestelle::email
