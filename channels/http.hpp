#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "core/errors.hpp"

namespace httplib {
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

// Small pieces every HTTP handler uses: the gateway's own and the channels'.
namespace meldestelle::channels {

inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first value of the header field `name` (ASCII letters in any case), as cpp-httplib's
// Request::get_header_value gives it, or empty; valid while `req` is. Without the library's
// locale-aware tolower call for every character of every name it compares on the way down its
// map: a lookup cost about 1,600 instructions there (docs/benchmarks.md, "Eleventh round").
std::string_view Header(const httplib::Request& req, std::string_view name);

// Whether the request's Content-Type is multipart/form-data, by the test cpp-httplib applies
// before it parses a body as parts (Request::is_multipart_form_data), so that both agree.
bool IsMultipart(std::string_view content_type);

// {"error": {"code", "message"}} — the error shape of every JSON answer.
void SendError(httplib::Response& res, int status, ErrorCode code, const std::string& message);

// The HTTP status of an intake error: 413 too large, 415 not an image or unsupported type, 400
// unreadable input, 422 what does not validate or an Idempotency-Key used for another report,
// 503 when the broker, the database or our disk is away.
int HttpStatusFor(ErrorCode code);

// Sends `body` as JSON (invalid UTF-8 replaced).
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);

// Reads a request body through cpp-httplib's ContentReader, up to `cap` bytes. Errors:
// payload_too_large (beyond `cap`, or the library refused the Content-Length), payload_invalid
// (the connection broke). The messages are German, for citizens; callers may say it otherwise.
Result<std::string> ReadAll(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader, size_t cap);

}  // namespace meldestelle::channels
