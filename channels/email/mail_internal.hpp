#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mail.hpp"

// Shared by mail.cpp (raw MIME), mail_forms.cpp (Mailgun, SendGrid) and mail_text.cpp (text
// clean-up). Not part of the public API.
namespace meldestelle::email::internal {

// g_mime_init() exactly once per process (std::call_once); GMime's own state is then read-only
// apart from its internally locked iconv cache.
void EnsureGMime();

struct GObjectUnref {
  void operator()(void* p) const {
    if (p != nullptr) {
      g_object_unref(p);
    }
  }
};
// Owns one GObject reference.
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

// A GType check without GLib's cast macros (they are C-style casts).
template <typename T>
bool IsA(T* obj, GType type) {
  return obj != nullptr &&
         g_type_check_instance_is_a(reinterpret_cast<GTypeInstance*>(obj), type) != 0;
}

// Parser options: loose RFC 2047/2231 handling, UTF-8 then windows-1252 for raw 8-bit headers.
// Owned by the caller.
GMimeParserOptions* NewParserOptions();

// Parses a header block (with or without the blank line after it) into a message without a
// body; nullptr if GMime finds no header in it.
GPtr<GMimeMessage> ParseHeaderBlock(std::string_view headers);

// Charset conversion through iconv: `charset` as labelled ("" = unlabelled: UTF-8 if the bytes
// are valid UTF-8, else windows-1252). Latin-1 and US-ASCII labels are decoded as windows-1252
// (WHATWG). Undecodable bytes become U+FFFD; the result is valid UTF-8.
std::string ToUtf8(std::string_view bytes, std::string_view charset);
// For text GMime decoded already (headers, RFC 2047 words, RFC 2231 file names): GMime decodes
// "iso-8859-1" as true Latin-1, so bytes 0x80-0x9F arrive as C1 controls U+0080-U+009F; they are
// re-read as windows-1252 (€ „ “ –). Invalid UTF-8 is repaired.
std::string FixDecodedText(std::string_view utf8);

// HTML to readable text: block tags become line breaks, entities are decoded, script, style,
// head and blockquote (quoted history) are dropped.
std::string HtmlToText(std::string_view html);
// RFC 3676 format=flowed: joins soft-broken lines, removes space stuffing.
std::string Unflow(std::string_view text, bool delsp);
// Removes quoted history ("> " lines; everything from an attribution such as "Am … schrieb …:",
// "On … wrote:", "-----Original Message-----", "-------- Ursprüngliche Nachricht --------" or an
// Outlook "Von:/Gesendet:" block) and the signature (from a "-- " line). CRLF becomes LF, blank
// line runs are collapsed, the result is trimmed.
std::string StripHistoryAndSignature(std::string_view body);

// Everything the header block says. `recipients` are the addresses that may carry a plus tag.
struct HeaderFacts {
  std::vector<std::string> recipients;
  std::string content_type;  // "type/subtype" of the top-level part, lower case
  std::string report_type;   // its report-type parameter, lower case
  std::string hash_input;    // Date, From, Subject header values for the dedupe hash
};
HeaderFacts ReadHeaders(GMimeMessage* message, Mail* mail);

// Robot rules, dedupe key, reference and the report text, once subject, addresses and the body
// are known.
void Finish(GMimeMessage* message, const HeaderFacts& facts, std::string_view body, Mail* mail);

}  // namespace meldestelle::email::internal
