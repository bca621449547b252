#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mail_internal.hpp"
#include "core/charset.hpp"
#include "core/text.hpp"

// Charsets (through GMime's iconv wrappers), HTML to text, format=flowed, quoted history and
// signature removal.
namespace meldestelle::email::internal {

namespace {

void AppendReplacement(std::string* out) { out->append("\xEF\xBF\xBD"); }

std::string MakeValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) {
    return std::string(s);
  }
  gchar* valid = g_utf8_make_valid(s.data(), static_cast<gssize>(s.size()));
  std::string out(valid);
  g_free(valid);
  return out;
}

}  // namespace

std::string ToUtf8(std::string_view bytes, std::string_view charset) {
  std::string label = AsciiLower(TrimAscii(charset));
  if (label.empty() || label == "us-ascii" || label == "ascii") {
    // Unlabelled or "ASCII" with 8-bit bytes: UTF-8 if it is UTF-8, else the usual suspect.
    if (IsValidUtf8(bytes)) {
      return std::string(bytes);
    }
    label = "windows-1252";
  }
  if (label == "utf-8" || label == "utf8") {
    return MakeValidUtf8(bytes);
  }
  const char* from =
      IsWindows1252Label(label) ? "WINDOWS-1252" : g_mime_charset_iconv_name(label.c_str());
  if (auto out = ConvertToUtf8(bytes, from)) {
    return MakeValidUtf8(*out);
  }
  // An unknown label: the same guess as for an unlabelled part.
  return IsValidUtf8(bytes) ? std::string(bytes) : ToUtf8(bytes, "windows-1252");
}

std::string FixDecodedText(std::string_view text) {
  std::string in = MakeValidUtf8(text);
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    auto next = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
      std::string b(1, static_cast<char>(next));
      std::string cp1252 = ToUtf8(b, "windows-1252");
      // Bytes windows-1252 leaves undefined (0x81, 0x8D, …) are dropped, not kept as controls.
      if (cp1252 != "\xEF\xBF\xBD") {
        out += cp1252;
      }
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// ---- HTML ---------------------------------------------------------------------------------

namespace {

void AppendCodePoint(uint32_t cp, std::string* out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    AppendReplacement(out);
    return;
  }
  gchar buf[8];
  gint n = g_unichar_to_utf8(cp, buf);
  out->append(buf, static_cast<size_t>(n));
}

struct NamedEntity {
  const char* name;
  uint32_t cp;
};
constexpr NamedEntity kEntities[] = {
    {"nbsp", 0xA0},    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
    {"apos", '\''},    {"auml", 0xE4},    {"ouml", 0xF6},     {"uuml", 0xFC},    {"Auml", 0xC4},
    {"Ouml", 0xD6},    {"Uuml", 0xDC},    {"szlig", 0xDF},    {"euro", 0x20AC},  {"ndash", 0x2013},
    {"mdash", 0x2014}, {"bdquo", 0x201E}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"hellip", 0x2026}, {"copy", 0xA9},    {"reg", 0xAE},
    {"deg", 0xB0},     {"sect", 0xA7},    {"middot", 0xB7},   {"laquo", 0xAB},   {"raquo", 0xBB},
    {"eacute", 0xE9},  {"egrave", 0xE8},  {"agrave", 0xE0},   {"aacute", 0xE1},  {"ccedil", 0xE7},
    {"shy", 0xAD},     {"times", 0xD7},   {"bull", 0x2022},   {"trade", 0x2122}, {"frac12", 0xBD},
    {"sup2", 0xB2},    {"micro", 0xB5},   {"para", 0xB6},     {"iexcl", 0xA1},   {"iquest", 0xBF},
    {"zwnj", 0x200C},  {"zwj", 0x200D},   {"ensp", 0x2002},   {"emsp", 0x2003},  {"thinsp", 0x2009},
};

// Decodes the entity at html[i] ('&'); returns the number of bytes consumed (0: not an entity).
size_t DecodeEntity(std::string_view html, size_t i, std::string* out) {
  size_t semi = html.find(';', i + 1);
  if (semi == std::string_view::npos || semi - i > 12) {
    return 0;
  }
  std::string_view body = html.substr(i + 1, semi - i - 1);
  if (body.size() >= 2 && body[0] == '#') {
    bool hex = body[1] == 'x' || body[1] == 'X';
    std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) {
      return 0;
    }
    uint32_t cp = 0;
    for (char c : digits) {
      int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : hex && std::isxdigit(static_cast<unsigned char>(c))
                  ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                  : -1;
      if (v < 0) {
        return 0;
      }
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      if (cp > 0x10FFFF) {
        cp = 0x110000;
      }
    }
    AppendCodePoint(cp == 0xA0 ? ' ' : cp, out);
    return semi - i + 1;
  }
  for (const auto& e : kEntities) {
    if (body == e.name) {
      // A non-breaking space reads as a space in a report.
      AppendCodePoint(e.cp == 0xA0 ? ' ' : e.cp, out);
      return semi - i + 1;
    }
  }
  return 0;
}

bool IsBlockTag(const std::string& t) {
  static const char* const kBlocks[] = {
      "p",      "div",    "br",    "li", "tr", "h1",      "h2",     "h3",      "h4",
      "h5",     "h6",     "table", "ul", "ol", "pre",     "hr",     "section", "article",
      "header", "footer", "dl",    "dt", "dd", "address", "center", "form",    "body"};
  for (const char* b : kBlocks) {
    if (t == b) {
      return true;
    }
  }
  return false;
}

bool IsParagraphTag(const std::string& t) {
  return t == "p" || (t.size() == 2 && t[0] == 'h' && t[1] >= '1' && t[1] <= '6') || t == "table" ||
         t == "ul" || t == "ol";
}

// Collapses whitespace within lines, trims lines and allows at most one blank line in a row.
std::string TidyLines(std::string_view s) {
  std::string out;
  int newlines = 0;
  bool space = false;
  for (char c : s) {
    if (c == '\n') {
      ++newlines;
      space = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
      continue;
    }
    if (!out.empty()) {
      if (newlines > 0) {
        out.append(newlines > 1 ? "\n\n" : "\n");
      } else if (space) {
        out.push_back(' ');
      }
    }
    newlines = 0;
    space = false;
    out.push_back(c);
  }
  return out;
}

// Where "</name" (any case) starts in `html` at or after `from`; npos if nowhere.
size_t FindEndTag(std::string_view html, size_t from, std::string_view name) {
  for (size_t p = html.find("</", from); p != std::string_view::npos; p = html.find("</", p + 2)) {
    if (html.size() - p - 2 < name.size())
      return std::string_view::npos;
    bool same = true;
    for (size_t k = 0; k < name.size() && same; ++k) {
      same = std::tolower(static_cast<unsigned char>(html[p + 2 + k])) ==
             static_cast<unsigned char>(name[k]);
    }
    if (same)
      return p;
  }
  return std::string_view::npos;
}

}  // namespace

std::string HtmlToText(std::string_view html) {
  std::string out;
  size_t i = 0;
  int blockquote_depth = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      size_t end = html.find('>', i + 1);
      if (end == std::string_view::npos) {
        break;  // a cut-off tag: drop the rest
      }
      std::string_view tag = html.substr(i + 1, end - i - 1);
      bool closing = !tag.empty() && tag[0] == '/';
      size_t n = closing ? 1 : 0;
      std::string name;
      while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) != 0)) {
        name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(tag[n]))));
        ++n;
      }
      i = end + 1;
      if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
        // Skip to the matching end tag (no nesting in these), without copying the rest: each
        // byte is looked at once, however many such elements the document has.
        size_t close = FindEndTag(html, i, name);
        if (close == std::string_view::npos) {
          break;
        }
        size_t gt = html.find('>', close);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
        continue;
      }
      if (name == "blockquote") {
        blockquote_depth += closing ? (blockquote_depth > 0 ? -1 : 0) : 1;
        out.push_back('\n');
        continue;
      }
      if (IsBlockTag(name) || name == "td" || name == "th") {
        if (name == "td" || name == "th") {
          out.push_back(' ');
        } else {
          out.append(IsParagraphTag(name) ? "\n\n" : "\n");
        }
      }
      continue;
    }
    if (blockquote_depth > 0) {
      ++i;
      continue;
    }
    if (c == '&') {
      size_t used = DecodeEntity(html, i, &out);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return TidyLines(out);
}

// ---- plain text ---------------------------------------------------------------------------

namespace {

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    lines.emplace_back(line);
    if (nl == std::string_view::npos) {
      break;
    }
    start = nl + 1;
  }
  return lines;
}

std::string_view RTrim(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ContainsI(std::string_view s, std::string_view needle) {
  return AsciiLower(s).find(needle) != std::string::npos;
}

bool HasDigit(std::string_view s) {
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      return true;
    }
  }
  return false;
}

// "Am 10.03.2025 um 10:15 schrieb Erika <e@x>:" or "On Mon, 10 Mar 2025, Erika wrote:". Mail
// clients wrap long attributions, so the next line may complete it.
bool IsAttribution(std::string_view line, std::string_view next) {
  std::string_view t = TrimAscii(line);
  bool de = AsciiStartsWithLower(t, "am ");
  bool en = AsciiStartsWithLower(t, "on ");
  if (!de && !en) {
    return false;
  }
  std::string joined(t);
  if (joined.empty() || joined.back() != ':') {
    joined += " ";
    joined += TrimAscii(next);
  }
  if (joined.empty() || joined.back() != ':') {
    return false;
  }
  std::string_view verb = de ? " schrieb" : " wrote";
  size_t at = AsciiLower(joined).find(verb);
  return at != std::string::npos && HasDigit(std::string_view(joined).substr(0, at));
}

bool IsSeparatorLine(std::string_view line) {
  std::string_view t = TrimAscii(line);
  if (!AsciiStartsWithLower(t, "---")) {
    return false;
  }
  return ContainsI(t, "original message") || ContainsI(t, "ursprüngliche nachricht") ||
         ContainsI(t, "original-nachricht") || ContainsI(t, "originalnachricht");
}

// Outlook without a separator line: "Von: …" followed by "Gesendet: …" (or From/Sent).
bool IsOutlookHeaderBlock(const std::vector<std::string>& lines, size_t i) {
  std::string_view t = TrimAscii(lines[i]);
  bool de = AsciiStartsWithLower(t, "von:");
  bool en = AsciiStartsWithLower(t, "from:");
  if (!de && !en) {
    return false;
  }
  for (size_t k = i + 1; k < lines.size() && k <= i + 3; ++k) {
    std::string_view n = TrimAscii(lines[k]);
    if (AsciiStartsWithLower(n, de ? "gesendet:" : "sent:") || AsciiStartsWithLower(n, "datum:") ||
        AsciiStartsWithLower(n, "date:")) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string Unflow(std::string_view text, bool delsp) {
  std::string out;
  bool joining = false;
  for (const std::string& raw : SplitLines(text)) {
    std::string_view line = raw;
    if (!line.empty() && line[0] == ' ') {
      line.remove_prefix(1);  // space stuffing
    }
    if (!joining && !out.empty()) {
      out.push_back('\n');
    }
    bool soft = !line.empty() && line.back() == ' ' && line != "-- ";
    if (soft && delsp) {
      line.remove_suffix(1);
    }
    out.append(line);
    joining = soft;
  }
  return out;
}

std::string StripHistoryAndSignature(std::string_view body) {
  std::vector<std::string> lines = SplitLines(body);
  std::string kept;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = RTrim(lines[i]);
    if (line == "--") {
      break;  // "-- " (RFC 3676 §4.3); some clients drop the trailing space
    }
    std::string_view next = i + 1 < lines.size() ? std::string_view(lines[i + 1]) : "";
    if (IsSeparatorLine(line) || IsAttribution(line, next) || IsOutlookHeaderBlock(lines, i)) {
      break;
    }
    if (!line.empty() && line[0] == '>') {
      continue;
    }
    kept.append(line);
    kept.push_back('\n');
  }
  // Lines stay as written, but blank runs collapse and the ends are trimmed.
  std::string out;
  int blank = 0;
  for (const std::string& l : SplitLines(kept)) {
    if (TrimAscii(l).empty()) {
      ++blank;
      continue;
    }
    if (!out.empty()) {
      out.append(blank > 0 ? "\n\n" : "\n");
    }
    blank = 0;
    out.append(l);
  }
  return out;
}

}  // namespace meldestelle::email::internal
