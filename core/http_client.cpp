#include "core/http_client.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

#include "core/errors.hpp"
#include "core/outbound.hpp"
#include "core/text.hpp"

namespace meldestelle {

namespace {

struct Sink {
  std::string* body;
  int64_t max_bytes;
  bool too_large = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (static_cast<int64_t>(sink->body->size() + len) > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, len);
  return len;
}

// public_only: the address curl is about to connect to (after its DNS lookup) must be public.
struct Guard {
  bool refused = false;
};

curl_socket_t OpenPublicSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<Guard*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN ||
      !outbound::IsPublicAddress(reinterpret_cast<const sockaddr*>(&address->addr))) {
    guard->refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

// The URL's host, lower-case, without brackets; "" if the URL does not parse.
std::string HostOf(const std::string& url) {
  CURLU* u = curl_url();
  std::string host;
  char* h = nullptr;
  if (u != nullptr && curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h != nullptr) {
    host = h;
    curl_free(h);
  }
  curl_url_cleanup(u);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return AsciiLower(host);
}

// Whether the whole request went out: its header (CURLINFO_REQUEST_SIZE counts what was written
// of it; 0 before the connection) and all of its body (the upload counter). libcurl 7.88 counts
// a small POST's body, sent with the header, in both.
bool WrittenWhole(CURL* c, const HttpClient::Request& req) {
  long header_bytes = 0;
  curl_off_t body_bytes = 0;
  curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &header_bytes);
  curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &body_bytes);
  const auto body = static_cast<curl_off_t>(req.method == "POST" ? req.body.size() : 0);
  return header_bytes > 0 && body_bytes >= body;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpClient::HttpClient() {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpClient::Response> HttpClient::Send(const Request& req) {
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr)
    return MakeError(errors::kHttpUnreachable, "curl_easy_init failed");
  curl_easy_reset(c);
  Guard guard;
  if (req.public_only) {
    std::string host = HostOf(req.url);
    if (host.empty())
      return MakeError(errors::kHttpAddressRefused, "the URL has no host");
    if (!outbound::HostAllowed(host, req.allowed_hosts))
      return MakeError(errors::kHttpAddressRefused, "host " + host + " is not allowed");
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenPublicSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // a proxy would be the address checked
  }
  Response res;
  Sink sink{&res.body, req.max_bytes};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(req.timeout.count(), 10000)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_bytes));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "meldestelle/1");
  if (req.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  // No "Expect: 100-continue" round trip for small JSON posts.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return MakeError(errors::kHttpTooLarge,
                     "response larger than " + std::to_string(req.max_bytes) + " bytes");
  }
  if (guard.refused) {
    return MakeError(errors::kHttpAddressRefused,
                     "the host's address is not public (loopback, private, link-local, …)");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
      rc == CURLE_PARTIAL_FILE) {
    // Sent whole, then no status line, or a 2xx one whose body did not come whole: the server
    // may have acted on it. A refusal (another status) is an answer: a plain failure below.
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (WrittenWhole(c, req) && (status == 0 || (status >= 200 && status < 300))) {
      return MakeError(
          status == 0 ? errors::kHttpUnanswered : errors::kHttpAcceptedUnread,
          std::string(status == 0 ? "the request was sent whole, no answer came: "
                                  : "the request was sent whole, HTTP " + std::to_string(status) +
                                        " came without its whole body: ") +
              (rc == CURLE_OPERATION_TIMEDOUT
                   ? "nothing more within " + std::to_string(req.timeout.count()) + " ms"
                   : curl_easy_strerror(rc)));
    }
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(errors::kHttpTimeout,
                     "no complete answer within " + std::to_string(req.timeout.count()) + " ms");
  }
  if (rc != CURLE_OK) {
    // curl_easy_strerror never contains the URL.
    return MakeError(errors::kHttpUnreachable, curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
  curl_header* retry_after = nullptr;
  if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK &&
      retry_after != nullptr && retry_after->value != nullptr) {
    res.retry_after = retry_after->value;
  }
  char* type = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    res.content_type = type;
  }
  return res;
}

int RetryAfterSeconds(std::string_view value, std::time_t now, int cap) {
  std::string v(TrimAscii(value));
  if (v.empty())
    return 0;
  if (v.find_first_not_of("0123456789") == std::string::npos) {
    // delta-seconds; more digits than a cap can need are the cap.
    return v.size() > 9 ? cap : std::min(cap, std::stoi(v));
  }
  std::time_t at = curl_getdate(v.c_str(), nullptr);
  if (at == -1 || at <= now)
    return 0;
  return static_cast<int>(std::min<std::time_t>(cap, at - now));
}

std::string RedactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return "…";
  size_t path = url.find('/', scheme + 3);
  std::string_view authority = url.substr(
      scheme + 3, path == std::string_view::npos ? std::string_view::npos : path - scheme - 3);
  // user:password@host → host
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  return std::string(url.substr(0, scheme + 3)) + std::string(authority) + "/…";
}

bool UrlUnder(std::string_view url, std::string_view base) {
  if (base.empty() || url.size() <= base.size() || url.substr(0, base.size()) != base) {
    return false;
  }
  if (base.back() != '/' && url[base.size()] != '/')
    return false;  // api.x.com.evil.tld
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  return url.substr(0, path).find('@') == std::string_view::npos;  // api.x.com@evil.tld
}

}  // namespace meldestelle
