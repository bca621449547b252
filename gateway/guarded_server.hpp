#pragma once

// cpp-httplib's server with our own connection handling; for .cpp files (it brings cpp-httplib).
#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// cpp-httplib 0.11 gives a connection a thread until the client goes away: 60 s per read, no
// deadline for a whole request, 1,000 requests per connection, an unbounded queue of accepted
// connections and no limit per client. GuardedServer keeps its request parsing and routing and
// replaces what happens between accept() and them (docs/security.md, "Connections"):
// - each client address holds at most `per_client` connections; more are answered 503 at once;
// - at most `threads` connections are served and `queue` wait; more are answered 503 at once
//   (both checks on one triage thread, before a connection takes a place in the queue);
// - a request's head (request line and header fields) must arrive within `head_seconds` and
//   `head_bytes`; its body, and the response, get `body_seconds` and then must keep up
//   `body_min_bytes_per_second` (a client that sends or reads a byte now and then is dropped);
// - an idle kept-alive connection is closed after `idle_seconds`, any after `keep_alive_requests`.
namespace meldestelle::gateway {

struct ConnectionLimits {
  int threads = 64;
  int queue = 256;
  int per_client = 16;              // 0: no cap
  std::vector<std::string> exempt;  // peers without a cap (trusted reverse proxies)
  int head_seconds = 10;
  int64_t head_bytes = 96 * 1024;  // request line and header fields together
  int body_seconds = 30;
  int64_t body_min_bytes_per_second = 8 * 1024;
  int idle_seconds = 5;
  int keep_alive_requests = 100;
};

class GuardedServer : public httplib::Server {
 public:
  // `on_refused` is told each connection refused or dropped: "connections_per_client",
  // "queue_full", "request_deadline", "head_too_large" or "response_deadline" (thread-safe).
  // It installs a pre-routing handler that starts the body's deadline (HeadRead); one set in its
  // place must call HeadRead or CloseAfterResponse, or every request ends its connection. Its
  // post-routing handler (do not replace it) marks a response after which the connection ends
  // with Connection: close.
  explicit GuardedServer(ConnectionLimits limits = {},
                         std::function<void(std::string_view reason)> on_refused = {});
  ~GuardedServer() override;

  // cpp-httplib's listen backlog is compiled in as 5; widen it on the bound socket (platform.md).
  bool WidenBacklog(int n);

  // Runs as every response is written, the library's own answers too (from the post-routing
  // handler, before it decides about the connection): header fields every response carries.
  // Set before listening.
  void SetResponseFinisher(std::function<void(const httplib::Request&, httplib::Response&)> f);

  // Called from a handler (the pre-routing one) on the thread serving the request: its head is
  // read and a body of `body_length` bytes follows, which gets its own deadline.
  static void HeadRead(int64_t body_length);
  // Called from a handler on the thread serving the request: the connection ends after this
  // response (a refusal whose body was not read; cpp-httplib does not act on Connection: close).
  // A request answered without either call (refused by the library while it parsed the head)
  // ends its connection too.
  static void CloseAfterResponse();
  // On the thread serving a request: the first bytes of its head as received ("GET /path?…"),
  // for an answer the library gives before it parsed the request line (414: too long).
  static std::string RequestStart();
  // On the thread serving a request: its head (request line, field lines, the empty line) as
  // received, for the checks of its syntax that the library does not make (gateway/framing).
  static std::string_view RawHead();
  // On the thread serving a request: whether it reached the pre-routing handler (HeadRead or
  // CloseAfterResponse was called). False in the error handler for a request the library refused
  // while it read the head.
  static bool Routed();

 private:
  // Overrides cpp-httplib's private virtual: runs on the pool's triage thread for each
  // connection, which checks the cap and queues Serve or refuses.
  bool process_and_close_socket(socket_t sock) override;
  void Serve(socket_t sock, const std::string& client, bool capped);
  void Refused(socket_t sock, std::string_view reason);

  struct Clients;
  ConnectionLimits limits_;
  std::function<void(std::string_view)> on_refused_;
  std::function<void(const httplib::Request&, httplib::Response&)> finisher_;
  std::unique_ptr<Clients> clients_;
};

}  // namespace meldestelle::gateway
