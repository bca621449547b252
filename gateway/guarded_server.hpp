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
//   (on a thread of their own, which only writes the refusal);
// - a request's head (request line and header fields) must arrive within `head_seconds` and
//   `head_bytes`, its body within `body_seconds` plus its length at `body_min_bytes_per_second`;
//   past the deadline the connection is dropped;
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
  // "queue_full", "request_deadline" or "head_too_large" (it must be thread-safe).
  explicit GuardedServer(ConnectionLimits limits = {},
                         std::function<void(std::string_view reason)> on_refused = {});
  ~GuardedServer() override;

  // cpp-httplib's listen backlog is compiled in as 5; widen it on the bound socket (platform.md).
  bool WidenBacklog(int n);

  // Called from a handler (the pre-routing one) on the thread serving the request: its head is
  // read and a body of `body_length` bytes follows, which gets its own deadline.
  static void HeadRead(int64_t body_length);

 private:
  // Overrides cpp-httplib's private virtual: runs on the pool's thread for each connection.
  bool process_and_close_socket(socket_t sock) override;

  struct Clients;
  ConnectionLimits limits_;
  std::function<void(std::string_view)> on_refused_;
  std::unique_ptr<Clients> clients_;
};

}  // namespace meldestelle::gateway
