#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {

// A small blocking HTTP client on libcurl for the providers' APIs (media download, sending
// replies). One instance per thread (it reuses one curl handle and its connections).
// URLs may carry secrets (Telegram puts the bot token in the path): errors never contain the URL,
// and callers log RedactUrl() only.
class HttpClient {
 public:
  struct Response {
    long status = 0;
    std::string content_type;
    std::string body;
    std::string retry_after;  // the Retry-After header as sent ("" if none)
  };
  struct Request {
    std::string method = "GET";  // GET, POST or DELETE
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;  // POST only
    std::chrono::milliseconds timeout{30000};
    int64_t max_bytes = 16 * 1024 * 1024;  // a larger response body is an error
    // A URL from user input: connect only to public addresses (core/outbound.hpp), checked on
    // the address curl connects to, and not through a proxy; with `allowed_hosts`, only to those.
    bool public_only = false;
    std::vector<std::string> allowed_hosts;
  };

  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Errors: "http_timeout", "http_too_large", "http_unreachable" (connect/DNS/TLS/transfer),
  // "http_address_refused" (public_only: a host not allowed or an address not public) — all
  // transient except "http_too_large" and "http_address_refused" — and "http_unanswered": the
  // request (headers and body) was written whole and the transfer then timed out or broke
  // before a status line came, or after a 2xx one before its body was whole: the server may
  // have acted on it (a timeout or a failure before that is "http_timeout" or
  // "http_unreachable": nothing reached the server whole; after another status, likewise). Any
  // HTTP status is a Response, not an error.
  Result<Response> Send(const Request& request);

 private:
  void* curl_;  // CURL*
};

// The longest wait a Retry-After header is honoured for: a provider's (or a broken proxy's) far
// future date must not park a citizen's message for days.
inline constexpr int kMaxRetryAfterSeconds = 3600;
// How long a Retry-After header value asks to wait, in seconds from `now`: delta-seconds or an
// HTTP-date (RFC 9110, 10.2.3; the three date formats, read by libcurl's curl_getdate), at most
// `cap`; 0 when empty, unreadable or past.
int RetryAfterSeconds(std::string_view value, std::time_t now, int cap = kMaxRetryAfterSeconds);

// "https://api.telegram.org/bot<secret>/getFile" → "https://api.telegram.org/…" (scheme and host;
// user:password@ dropped).
std::string RedactUrl(std::string_view url);
// True if `url` lies under `base` (a path below it, on the same host: not "base.evil.tld", no
// "user@" in the authority). Credentials go only to such URLs.
bool UrlUnder(std::string_view url, std::string_view base);

}  // namespace meldestelle
