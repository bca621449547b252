#include "gateway/framing.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "core/text.hpp"

namespace meldestelle::gateway {

namespace {

// `wanted` is lower-case; compared without a copy (this runs for every header of every request).
bool Named(std::string_view name, std::string_view wanted) {
  return name.size() == wanted.size() && AsciiStartsWithLower(name, wanted);
}

std::string SizeText(int64_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0)
    return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " Bytes";
}

// The Content-Length value: digits only (RFC 9110 8.6), no sign, no list.
std::optional<int64_t> ParseLength(std::string_view v) {
  v = TrimAscii(v);
  if (v.empty() || v.size() > 18)
    return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v[0] == '-' || v[0] == '+')
    return std::nullopt;
  return n;
}

const channels::BodyLimit* RouteOf(const FramingRules& rules, std::string_view path) {
  const channels::BodyLimit* best = nullptr;
  for (const auto& r : rules.routes) {
    if (path.substr(0, r.path_prefix.size()) == r.path_prefix &&
        (best == nullptr || r.path_prefix.size() > best->path_prefix.size()))
      best = &r;
  }
  return best;
}

// A byte's classes in a request head, by table (this runs over every head).
enum : unsigned char { kToken = 1, kNotInValue = 2, kNotInTarget = 4 };
constexpr std::array<unsigned char, 256> kHeadBytes = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                     std::string_view::npos;  // RFC 9110 5.6.2: tchar
    // RFC 9110 5.5: a field value has no control character but HT (NUL and CR among them).
    bool not_in_value = (c < 0x20 && c != '\t') || c == 0x7f;
    // A request target has no blank and no control character (bytes beyond ASCII, which it
    // should not have either, pass: some clients send a typed address unencoded).
    bool not_in_target = c <= 0x20 || c == 0x7f;
    t[static_cast<size_t>(c)] =
        static_cast<unsigned char>((token ? kToken : 0) | (not_in_value ? kNotInValue : 0) |
                                   (not_in_target ? kNotInTarget : 0));
  }
  return t;
}();

bool AllOf(std::string_view bytes, unsigned char cls) {
  for (char c : bytes) {
    if ((kHeadBytes[static_cast<unsigned char>(c)] & cls) == 0)
      return false;
  }
  return true;
}

bool NoneOf(std::string_view bytes, unsigned char cls) {
  for (char c : bytes) {
    if ((kHeadBytes[static_cast<unsigned char>(c)] & cls) != 0)
      return false;
  }
  return true;
}

Refusal HeadInvalid(std::string message) {
  return Refusal{400, errors::kHeaderInvalid, std::move(message)};
}

// Methods whose body cpp-httplib reads (its expect_content); on any other, a body's bytes would
// be read as the next request on the connection.
bool ReadsBody(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

std::optional<Refusal> CheckHeadSyntax(std::string_view raw) {
  size_t eol = raw.find('\n');
  if (eol == std::string_view::npos)
    return std::nullopt;  // not a whole head: nothing the library routes
  // RFC 9112 3: method SP request-target SP HTTP-version, nothing more (the library also reads
  // a line with more blanks, a proxy may read it otherwise).
  const std::string_view request_line = raw.substr(0, eol);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1 ||
      !AllOf(request_line.substr(0, sp1), kToken) ||
      !NoneOf(request_line.substr(sp1 + 1, sp2 - sp1 - 1), kNotInTarget)) {
    return HeadInvalid("The request line is not \"method target version\" with one blank each.");
  }
  const std::string_view version = request_line.substr(sp2 + 1);
  if (version != "HTTP/1.1\r" && version != "HTTP/1.0\r")
    return HeadInvalid("The request line is not \"method target version\" with one blank each.");
  const bool http11 = version == "HTTP/1.1\r";
  int hosts = 0;
  size_t pos = 0;
  bool first = true;
  while (pos < raw.size()) {
    size_t end = raw.find('\n', pos);
    if (end == std::string_view::npos)
      break;  // the library read up to the empty line; nothing after it is ours
    if (end == pos || raw[end - 1] != '\r')
      return HeadInvalid("A line of the request head ends without CR LF.");
    std::string_view line = raw.substr(pos, end - 1 - pos);
    pos = end + 1;
    if (line.empty())
      break;  // the empty line: the head is complete
    if (first) {
      first = false;  // the request line: checked above
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t')
      return HeadInvalid("Header field lines may not be folded (obs-fold).");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return HeadInvalid("A header field line has no name followed by a colon.");
    std::string_view name = line.substr(0, colon);
    if (!AllOf(name, kToken)) {
      return HeadInvalid("The header field name \"" + std::string(TrimAscii(name)) +
                         "\" is not a token (no white space before the colon).");
    }
    std::string_view value = line.substr(colon + 1);
    if (!NoneOf(value, kNotInValue)) {
      return HeadInvalid("The value of the header field \"" + std::string(name) +
                         "\" contains a control character (a NUL or a bare CR among them).");
    }
    if (Named(name, "host")) {
      ++hosts;
    } else if (Named(name, "content-length")) {
      std::string_view digits = TrimAscii(value);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return Refusal{400, errors::kContentLengthInvalid,
                       "Content-Length \"" + std::string(digits) + "\" is not a number of bytes."};
      }
    }
  }
  if (http11 && hosts != 1) {
    return HeadInvalid(hosts == 0 ? "An HTTP/1.1 request needs a Host header field."
                                  : "The Host header field is given more than once.");
  }
  return std::nullopt;
}

std::optional<std::string> OriginForm(std::string_view target) {
  size_t scheme = 0;
  if (AsciiStartsWithLower(target, "http://"))
    scheme = 7;
  else if (AsciiStartsWithLower(target, "https://"))
    scheme = 8;
  else
    return std::nullopt;
  const size_t rest = target.find_first_of("/?", scheme);
  if (rest == std::string_view::npos)
    return "/";
  if (target[rest] == '/')
    return std::string(target.substr(rest));
  return "/" + std::string(target.substr(rest));
}

int64_t BodyLimitFor(const FramingRules& rules, std::string_view path,
                     std::string_view content_type) {
  const channels::BodyLimit* route = RouteOf(rules, path);
  if (route == nullptr)
    return rules.default_body_bytes;
  int64_t text = route->bytes > 0 ? route->bytes : rules.default_body_bytes;
  bool multipart = AsciiStartsWithLower(TrimAscii(content_type), "multipart/form-data");
  if (multipart && route->multipart_bytes > 0)
    return route->multipart_bytes;
  return text;
}

std::optional<Refusal> CheckFraming(const RequestHead& head, const FramingRules& rules) {
  // The field lines the client sent, where the raw head is known: the library's list also has
  // its own four (REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR, LOCAL_PORT).
  size_t fields = head.headers.size();
  if (!head.raw.empty()) {
    const size_t end = head.raw.find("\r\n\r\n");
    const std::string_view lines = head.raw.substr(0, end);
    fields = static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n'));
  }
  if (static_cast<int>(fields) > rules.max_header_count) {
    return Refusal{
        431, errors::kHeadersTooLarge,
        "Too many header fields (at most " + std::to_string(rules.max_header_count) + ")."};
  }
  if (!head.raw.empty()) {
    if (auto refusal = CheckHeadSyntax(head.raw))
      return refusal;
  }
  int64_t header_bytes = 0;
  std::string_view content_type;
  bool has_content_type = false;
  std::optional<std::string_view> length;
  bool transfer_encoding = false;
  for (const auto& [name, value] : head.headers) {
    header_bytes += static_cast<int64_t>(name.size() + value.size() + 4);
    if (Named(name, "transfer-encoding")) {
      transfer_encoding = true;
    } else if (Named(name, "content-encoding")) {
      if (AsciiLower(TrimAscii(value)) != "identity") {
        return Refusal{415, errors::kContentEncodingUnsupported,
                       "Content-Encoding \"" + std::string(TrimAscii(value)) +
                           "\" is not accepted; send the body uncompressed."};
      }
    } else if (Named(name, "content-length")) {
      if (length && TrimAscii(*length) != TrimAscii(value)) {
        return Refusal{400, errors::kContentLengthInvalid,
                       "Content-Length is given more than once with different values."};
      }
      length = value;
    } else if (Named(name, "content-type")) {
      // Two would let the size limit read one and the handler the other.
      if (has_content_type)
        return HeadInvalid("Content-Type is given more than once.");
      has_content_type = true;
      content_type = value;
    }
  }
  if (header_bytes > rules.max_header_bytes) {
    return Refusal{431, errors::kHeadersTooLarge,
                   "The header fields are too large (at most " + SizeText(rules.max_header_bytes) +
                       " together)."};
  }
  if (transfer_encoding) {
    return Refusal{411, errors::kLengthRequired,
                   "Chunked or otherwise transfer-encoded bodies are not accepted; send a "
                   "Content-Length."};
  }
  std::optional<int64_t> bytes;
  if (length) {
    bytes = ParseLength(*length);
    if (!bytes) {
      return Refusal{
          400, errors::kContentLengthInvalid,
          "Content-Length \"" + std::string(TrimAscii(*length)) + "\" is not a number of bytes."};
    }
  } else if (head.method == "POST" || head.method == "PUT" || head.method == "PATCH") {
    return Refusal{411, errors::kLengthRequired,
                   "Unsized uploads are not accepted; send a Content-Length."};
  }
  if (bytes && *bytes > 0 && !ReadsBody(head.method)) {
    return Refusal{400, errors::kBodyNotAllowed,
                   "A " + std::string(head.method) +
                       " request carries no body here (Content-Length " + std::to_string(*bytes) +
                       ")."};
  }
  int64_t limit = BodyLimitFor(rules, head.path, content_type);
  if (bytes && *bytes > limit) {
    bool multipart = AsciiStartsWithLower(TrimAscii(content_type), "multipart/");
    return Refusal{413, errors::kPayloadTooLarge,
                   "Die Anfrage ist zu groß: höchstens " + SizeText(limit) +
                       " an diese Adresse mit diesem Inhaltstyp." +
                       (multipart ? " Bitte weniger oder kleinere Fotos senden." : "")};
  }
  return std::nullopt;
}

}  // namespace meldestelle::gateway
