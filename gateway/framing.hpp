#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/channel.hpp"
#include "core/errors.hpp"

// The checks every request passes after its head is read and before a byte of its body is
// (cpp-httplib's pre-routing handler): framing, encoding, header size and the body limit of its
// route. Pure: the gateway answers what these return (docs/security.md).
namespace meldestelle::gateway {

struct FramingRules {
  int64_t default_body_bytes = 64 * 1024;  // gateway.max_body_bytes: JSON, url-encoded, text
  int max_header_count = 100;              // gateway.max_header_count
  int64_t max_header_bytes = 32 * 1024;    // gateway.max_header_bytes: names and values together
  std::vector<channels::BodyLimit> routes;
};

struct Refusal {
  int status = 400;
  ErrorCode code;
  std::string message;
};

// The head of a request as the checks need it.
struct RequestHead {
  std::string_view method;
  std::string_view path;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// The limit of the body of a request to `path` with this Content-Type.
int64_t BodyLimitFor(const FramingRules& rules, std::string_view path,
                     std::string_view content_type);

// Why the request is refused before its body is read, or nothing. In this order: too many or too
// large header fields (431); a Transfer-Encoding (411: send a Content-Length); a Content-Encoding
// but identity (415); a malformed or repeated Content-Length (400); a POST, PUT or PATCH without
// Content-Length (411); a body larger than its route takes (413).
std::optional<Refusal> CheckFraming(const RequestHead& head, const FramingRules& rules);

}  // namespace meldestelle::gateway
