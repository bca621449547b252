#include "channels/email/compose.hpp"

#include <algorithm>
#include <ctime>

#include "core/crypto.hpp"
#include "core/links.hpp"
#include "core/text.hpp"

namespace meldestelle::email {

namespace {

bool PrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e)
      return false;
  }
  return true;
}

// A header line never carries CR or LF from its value (header injection).
std::string OneLine(std::string_view s) {
  std::string out;
  for (char c : s)
    out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

// A MIME token for a media type: anything else becomes application/octet-stream.
std::string MediaTypeToken(std::string_view t) {
  if (t.empty() || t.find('/') == std::string_view::npos)
    return "application/octet-stream";
  for (char c : t) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$&^_.+-/").find(c) != std::string_view::npos;
    if (!ok)
      return "application/octet-stream";
  }
  return std::string(t);
}

// RFC 2231 value characters (attr-char); everything else is %XX.
std::string PercentEncode2231(std::string_view s) { return PercentEncode(s, "!#$&+-.^_`|~"); }

}  // namespace

std::string EncodeBase64Lines(std::string_view bytes) {
  std::string b64 = Base64Encode(bytes);
  std::string out;
  out.reserve(b64.size() + b64.size() / 76 * 2 + 2);
  for (size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string AttachmentHeaders(const OutgoingAttachment& a) {
  // No control characters, quotes or backslashes in a name (header injection, broken quoting).
  std::string name;
  for (char c : a.filename) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\')
      continue;
    name += c;
  }
  if (name.empty())
    name = "anhang";
  std::string type = MediaTypeToken(a.media_type);
  if (PrintableAscii(name)) {
    return "Content-Type: " + type + "; name=\"" + name +
           "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"";
  }
  // RFC 2231 for readers that know it; the RFC 2047 `name` for those that do not.
  return "Content-Type: " + type + "; name=\"=?UTF-8?B?" + Base64Encode(name) +
         "?=\"\r\nContent-Disposition: attachment;\r\n filename*=UTF-8''" +
         PercentEncode2231(name);
}

std::string EncodeQuotedPrintable(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  size_t line = 0;
  auto put = [&](const std::string& piece) {
    if (line + piece.size() > 75) {  // leave room for the soft break "="
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r')
      continue;
    if (c == '\n') {
      // Trailing whitespace before a line break must be encoded.
      if (!out.empty() && line > 0 && (out.back() == ' ' || out.back() == '\t')) {
        char ws = out.back();
        out.pop_back();
        --line;
        put(std::string("=") + kHex[static_cast<unsigned char>(ws) >> 4] +
            kHex[static_cast<unsigned char>(ws) & 15]);
      }
      out += "\r\n";
      line = 0;
      continue;
    }
    bool plain = (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
    // A line starting with "." or "From " is encoded, for old transports.
    if (line == 0 && (c == '.' || (c == 'F' && text.substr(i, 5) == "From ")))
      plain = false;
    if (plain) {
      put(std::string(1, static_cast<char>(c)));
    } else {
      put(std::string("=") + kHex[c >> 4] + kHex[c & 15]);
    }
  }
  if (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
    char ws = out.back();
    out.pop_back();
    out += std::string("=") + kHex[static_cast<unsigned char>(ws) >> 4] +
           kHex[static_cast<unsigned char>(ws) & 15];
  }
  return out;
}

std::string EncodeHeaderText(std::string_view raw) {
  std::string text = OneLine(raw);
  if (PrintableAscii(text))
    return text;
  // "=?UTF-8?B?" + base64 + "?=" within 75 characters: at most 45 bytes of text per word.
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + 45);
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (end < text.size() && end > i && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (!out.empty())
      out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string NewMessageId(std::string_view kind, std::string_view reference,
                         std::string_view domain) {
  return std::string(kind) + "." + std::string(reference) + "." + RandomHex(8) + "@" +
         std::string(domain.empty() ? "meldestelle.invalid" : domain);
}

std::string RowMessageId(std::string_view kind, std::string_view reference, int64_t outbox_id,
                         std::string_view domain, const std::string& secret) {
  const std::string local = secret.empty()
                                ? RandomHex(12)
                                : SignLink(secret, "message-id",
                                           std::string(kind) + "|" + std::string(reference) + "|" +
                                               std::to_string(outbox_id),
                                           0)
                                      .substr(0, 24);
  return std::string(kind) + "." + local + "@" +
         std::string(domain.empty() ? "meldestelle.invalid" : domain);
}

std::string NowRfc5322() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos)
    return "";
  std::string d(address.substr(at + 1));
  while (!d.empty() && (d.back() == '>' || d.back() == ' '))
    d.pop_back();
  return d;
}

std::string Compose(const Outgoing& m) {
  std::string h;
  auto header = [&](const std::string& name, const std::string& value) {
    h += name + ": " + value + "\r\n";
  };
  std::string from = OneLine(m.from_address);
  header("From", m.from_name.empty()
                     ? from
                     : (PrintableAscii(m.from_name) && m.from_name.find('"') == std::string::npos
                            ? "\"" + m.from_name + "\""
                            : EncodeHeaderText(m.from_name)) +
                           " <" + from + ">");
  header("To", OneLine(m.to));
  header("Subject", EncodeHeaderText(m.subject));
  header("Date", OneLine(m.date));
  header("Message-ID", "<" + OneLine(m.message_id) + ">");
  // A line of a message has at most 998 characters (RFC 5322 2.1.1; a relay answers 500): an id
  // too long for one is left out (the reference in the subject still threads the answer), and
  // References is folded before an id that would make its line longer than that.
  constexpr size_t kMaxIdBytes = 900;
  const bool reply = !m.in_reply_to.empty() && m.in_reply_to.size() <= kMaxIdBytes;
  if (reply)
    header("In-Reply-To", "<" + OneLine(m.in_reply_to) + ">");
  std::string refs;
  size_t line = sizeof "References:";
  auto reference = [&](const std::string& id) {
    if (id.size() > kMaxIdBytes)
      return;
    const bool fold = !refs.empty() && line + id.size() + 3 > 998;
    refs += refs.empty() ? "<" : fold ? "\r\n <" : " <";
    refs += OneLine(id) + ">";
    line = (fold ? 1 : line) + id.size() + 3;
  };
  for (const auto& r : m.references)
    reference(r);
  if (reply &&
      std::find(m.references.begin(), m.references.end(), m.in_reply_to) == m.references.end()) {
    reference(m.in_reply_to);
  }
  if (!refs.empty())
    header("References", refs);
  for (const auto& [name, value] : m.headers)
    header(OneLine(name), OneLine(value));
  if (m.auto_reply) {
    // RFC 3834, and what keeps out-of-office robots from answering us.
    header("Auto-Submitted", "auto-replied");
    header("Precedence", "bulk");
    header("X-Auto-Response-Suppress", "All");
  }
  header("MIME-Version", "1.0");
  if (m.attachments.empty()) {
    header("Content-Type", "text/plain; charset=UTF-8");
    header("Content-Transfer-Encoding", "quoted-printable");
    return h + "\r\n" + EncodeQuotedPrintable(m.text) + "\r\n";
  }
  // "=_" never occurs in quoted-printable or base64 text, so the boundary cannot collide.
  const std::string boundary = "=_meldestelle_" + RandomHex(12);
  header("Content-Type", "multipart/mixed; boundary=\"" + boundary + "\"");
  std::string body = "This is a multi-part message in MIME format.\r\n\r\n--" + boundary +
                     "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
                     EncodeQuotedPrintable(m.text) + "\r\n";
  for (const auto& a : m.attachments) {
    body += "--" + boundary + "\r\n" + AttachmentHeaders(a) +
            "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + EncodeBase64Lines(a.bytes);
  }
  body += "--" + boundary + "--\r\n";
  return h + "\r\n" + body;
}

}  // namespace meldestelle::email
