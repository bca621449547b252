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
  // As cpp-httplib parsed them: it skips lines it cannot read and percent-decodes values.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // The head's bytes as received (request line, field lines, the empty line), where known
  // (GuardedServer::RawHead): checked by CheckHeadSyntax.
  std::string_view raw;
};

// The limit of the body of a request to `path` with this Content-Type.
int64_t BodyLimitFor(const FramingRules& rules, std::string_view path,
                     std::string_view content_type);

// Why the request is refused before its body is read, or nothing. In this order: too many or too
// large header fields (431); a head that is not HTTP/1.1's syntax (CheckHeadSyntax, 400); a
// Transfer-Encoding (411: send a Content-Length); a Content-Encoding but identity (415); a
// malformed or repeated Content-Length (400); a repeated Content-Type (400); a POST, PUT or
// PATCH without Content-Length (411); a body on a method whose body the server does not read
// (GET, HEAD, OPTIONS, …: 400, as its bytes would be read as the next request); a body larger
// than its route takes (413).
std::optional<Refusal> CheckFraming(const RequestHead& head, const FramingRules& rules);

// The raw head against RFC 9112's syntax, where cpp-httplib is lenient (it skips a line it cannot
// read, which would hide a Transfer-Encoding or a Content-Length from the checks above, and
// percent-decodes values): every line ends in CRLF, no bare CR or NUL; no line folding (obs-fold,
// §5.2); each field line is a token, a colon right after it (no space before it, §5.1) and a
// value without control characters; a Content-Length of digits as sent; an HTTP/1.1 request has
// exactly one Host (§3.2). Refusal 400 header_invalid (content_length_invalid for the length).
std::optional<Refusal> CheckHeadSyntax(std::string_view raw);

// A request target in absolute-form ("http://host/path?q", RFC 9112 §3.2.2: what a client sends
// to a proxy, and what a server must accept): the origin-form it stands for ("/path?q"; "/" or
// "/?q" for none), or nothing for a target in any other form (the target as sent; the Host
// field stays as sent).
std::optional<std::string> OriginForm(std::string_view target);

}  // namespace meldestelle::gateway
