#include "gateway/framing.hpp"

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

}  // namespace

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
  if (static_cast<int>(head.headers.size()) > rules.max_header_count) {
    return Refusal{
        431, errors::kHeadersTooLarge,
        "Too many header fields (at most " + std::to_string(rules.max_header_count) + ")."};
  }
  int64_t header_bytes = 0;
  std::string_view content_type;
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
