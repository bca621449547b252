#include "channels/email/tnef_reader.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "channels/email/mail_internal.hpp"
#include "channels/email/tnef.hpp"
#include "core/media.hpp"

extern "C" {
#include <ytnef.h>
}

namespace meldestelle::email {

namespace {

// The attributes whose handlers keep (and leak) a buffer when they meet a second one of their
// kind in one scope ([MS-OXTNEF] 2.1.3: none is repeated): attMAPIProps for the message;
// attAttachData, attAttachTitle, attAttachMetaFile, attAttachment for one attachment.
constexpr uint32_t kAttMapiProps = 0x00069003, kAttAttachRenddata = 0x00069002,
                   kAttAttachData = 0x0006800F, kAttAttachTitle = 0x00018010,
                   kAttAttachMetaFile = 0x00068011, kAttAttachment = 0x00069005;

// The stream's frame, before the library reads it: its signature, then attributes of a level
// byte, an id, a length, that many bytes and a checksum, each whole within the bytes. libytnef
// reads an attribute's length into a signed int and copies that many bytes unchecked: a length
// past the end (or of 2 GiB and more) is refused here; after the last one, only CR, LF or NUL
// bytes are left (a transfer encoding's). Refused too: more than kMaxTnefFiles
// attachments (each of its handlers walks the list of attachments to its end: n of them cost
// n² steps) and an attribute repeated in its scope (the library keeps the first's buffer, and
// frees what it built of a repeated property list by counts it may have set before the list).
bool FrameFits(std::string_view b) {
  if (b.size() < 6 || ReadLe32(b, 0) != kTnefSignature)
    return false;
  size_t pos = 6;  // the signature and the key
  size_t attachments = 0;
  bool message_props = false;
  std::vector<uint32_t> in_attachment;  // the repeatable-nowhere attributes of the current one
  while (b.size() - pos >= 9) {
    const uint32_t id = ReadLe32(b, pos + 1);
    const uint32_t length = ReadLe32(b, pos + 5);
    pos += 9;
    if (length == 0 || length > b.size() - pos || b.size() - pos - length < 2)
      return false;
    pos += length + 2;
    if (id == kAttAttachRenddata) {
      if (++attachments > kMaxTnefFiles)
        return false;
      in_attachment.clear();
    } else if (id == kAttMapiProps) {
      if (message_props)
        return false;
      message_props = true;
    } else if (id == kAttAttachData || id == kAttAttachTitle || id == kAttAttachMetaFile ||
               id == kAttAttachment) {
      if (std::find(in_attachment.begin(), in_attachment.end(), id) != in_attachment.end())
        return false;
      in_attachment.push_back(id);
    }
  }
  // A tail too short for an attribute is left, as the library leaves it, when it is what a
  // transfer encoding adds (CR, LF, NUL); anything else is a stream cut short.
  return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(pos), b.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
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

// The file's bytes: its data, or those of its data property (PR_ATTACH_DATA_BIN as they are;
// an embedded item, PR_ATTACH_DATA_OBJ, after its 16-byte class id).
std::string BytesOf(::Attachment* a) {
  if (a->FileData.data != nullptr && a->FileData.size > 0)
    return std::string(reinterpret_cast<const char*>(a->FileData.data),
                       static_cast<size_t>(a->FileData.size));
  for (ULONG type : {PT_BINARY, PT_OBJECT}) {
    const size_t skip = type == PT_OBJECT ? 16 : 0;
    variableLength* v = MAPIFindProperty(&a->MAPI, PROP_TAG(type, PR_ATTACH_DATA_OBJ));
    if (v != MAPI_UNDEFINED && v->data != nullptr && static_cast<size_t>(v->size) > skip)
      return std::string(reinterpret_cast<const char*>(v->data) + skip,
                         static_cast<size_t>(v->size) - skip);
  }
  return "";
}

}  // namespace

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

}  // namespace meldestelle::email
