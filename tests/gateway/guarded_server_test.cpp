#include "gateway/guarded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

using meldestelle::gateway::ConnectionLimits;
using meldestelle::gateway::GuardedServer;

namespace {

// A GuardedServer on a free loopback port with /ping, /slow (waits until released) and a
// pre-routing handler that starts the body's deadline as the gateway's does.
class TestServer {
 public:
  explicit TestServer(ConnectionLimits limits)
      : server_(std::move(limits), [this](std::string_view reason) {
          std::lock_guard lock(mutex_);
          refused_.emplace_back(reason);
        }) {
    server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.path == "/refuse") {  // as the gateway's framing refuses, without the body
        res.status = 413;
        res.set_header("Connection", "close");
        GuardedServer::CloseAfterResponse();
        return httplib::Server::HandlerResponse::Handled;
      }
      auto length = req.get_header_value("Content-Length");
      GuardedServer::HeadRead(length.empty() ? 0 : std::stoll(length));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.set_write_timeout(1, 0);  // the response's grace
    server_.Get("/big", [](const auto&, auto& res) {
      res.set_content(std::string(8 << 20, 'b'), "application/octet-stream");
    });
    server_.Get("/ping", [](const auto&, auto& res) { res.set_content("pong", "text/plain"); });
    server_.Get("/slow", [this](const auto&, auto& res) {
      entered_.set_value();
      release_.wait();
      res.set_content("done", "text/plain");
    });
    server_.Post("/upload", [](const auto& req, auto& res) {
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
    // Answers without reading the body (as a handler that checks a key in the URL first).
    server_.Post("/ignore", [](const httplib::Request&, httplib::Response& res,
                               const httplib::ContentReader&) { res.status = 403; });
    // Reads 4 bytes of the body and stops.
    server_.Post("/partly", [](const httplib::Request&, httplib::Response& res,
                               const httplib::ContentReader& reader) {
      size_t got = 0;
      reader([&](const char*, size_t n) {
        got += n;
        return got < 4;
      });
      res.status = 413;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    server_.WidenBacklog(1024);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TestServer() {
    Release();
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  void WaitEntered() { entered_future_.wait(); }
  void Release() {
    std::call_once(released_, [this] { release_promise_.set_value(); });
  }
  int Refused(std::string_view reason) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(refused_.begin(), refused_.end(), reason));
  }

 private:
  GuardedServer server_;
  int port_ = 0;
  std::thread thread_;
  std::promise<void> entered_;
  std::shared_future<void> entered_future_ = entered_.get_future().share();
  std::promise<void> release_promise_;
  std::shared_future<void> release_ = release_promise_.get_future().share();
  std::once_flag released_;
  std::mutex mutex_;
  std::vector<std::string> refused_;
};

// A connection from `source` (a loopback address) with a 10 s receive timeout and, if given, a
// small receive buffer (set before connecting, so that the window stays small).
int Connect(int port, const char* source, int receive_buffer = 0) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  if (receive_buffer > 0)
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, source, &src.sin_addr) == 1);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

void Send(int s, const std::string& bytes) {
  REQUIRE(send(s, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

struct Answer {
  std::string bytes;
  bool closed = false;  // the server closed the connection (else: our 10 s timeout)
};

Answer ReadToEnd(int s) {
  Answer a;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n > 0) {
      a.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    a.closed = n == 0 || errno == ECONNRESET;
    return a;
  }
}

std::string Get(int port, const char* source, const std::string& path) {
  int s = Connect(port, source);
  Send(s, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto a = ReadToEnd(s);
  close(s);
  return a.bytes;
}

const std::string kPartialHead = "GET /ping HTTP/1.1\r\nHost: x\r\n";

}  // namespace

TEST_CASE("a client address holds at most its cap of connections, others are served") {
  ConnectionLimits limits;
  limits.per_client = 3;
  limits.exempt = {"127.0.0.3"};
  TestServer server(limits);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Connect(server.port(), "127.0.0.2"));
    Send(held.back(), kPartialHead);
  }
  // The fourth from the same address is answered 503 before it sends anything.
  int fourth = Connect(server.port(), "127.0.0.2");
  auto refused = ReadToEnd(fourth);
  close(fourth);
  CHECK(refused.closed);
  CHECK(refused.bytes.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK_THAT(refused.bytes, Catch::Contains("Retry-After: 5"));
  CHECK(server.Refused("connections_per_client") == 1);
  // Other addresses are served meanwhile, and an exempt one (a trusted proxy) has no cap.
  CHECK(Get(server.port(), "127.0.0.1", "/ping").rfind("HTTP/1.1 200", 0) == 0);
  std::vector<int> proxied;
  for (int i = 0; i < 5; ++i) {
    proxied.push_back(Connect(server.port(), "127.0.0.3"));
    Send(proxied.back(), kPartialHead);
  }
  CHECK(Get(server.port(), "127.0.0.3", "/ping").rfind("HTTP/1.1 200", 0) == 0);
  // The held connections finish their requests and are served.
  for (int s : held) {
    Send(s, "Connection: close\r\n\r\n");
    auto a = ReadToEnd(s);
    CHECK(a.bytes.rfind("HTTP/1.1 200", 0) == 0);
    close(s);
  }
  for (int s : proxied)
    close(s);
  CHECK(server.Refused("connections_per_client") == 1);
}

TEST_CASE("a head that trickles in is dropped at its deadline, although each byte is in time") {
  ConnectionLimits limits;
  limits.head_seconds = 1;
  limits.idle_seconds = 30;  // a dropped connection is closed at once, not after the idle time
  TestServer server(limits);
  int s = Connect(server.port(), "127.0.0.2");
  // One byte every 100 ms (well within the 60 s per read): the 32-byte head would take 3.2 s.
  auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  for (char c : kPartialHead + "\r\n") {
    if (send(s, &c, 1, MSG_NOSIGNAL) != 1) {
      dropped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the attacker's pace
  }
  auto a = ReadToEnd(s);
  close(s);
  INFO(a.bytes);
  CHECK(a.closed);
  CHECK(a.bytes.find("200 OK") == std::string::npos);
  CHECK((dropped || std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
  CHECK(server.Refused("request_deadline") == 1);
}

TEST_CASE("a body slower than its deadline is dropped, one in time is read") {
  ConnectionLimits limits;
  limits.body_seconds = 1;
  limits.body_min_bytes_per_second = 1'000'000;
  TestServer server(limits);
  const std::string head =
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "Connection: close\r\nContent-Length: 1000\r\n\r\n";
  int slow = Connect(server.port(), "127.0.0.2");
  Send(slow, head + std::string(10, 'x'));  // and then nothing
  auto a = ReadToEnd(slow);
  close(slow);
  CHECK(a.closed);
  CHECK(a.bytes.rfind("HTTP/1.1 200", 0) != 0);
  CHECK(server.Refused("request_deadline") == 1);
  int whole = Connect(server.port(), "127.0.0.2");
  Send(whole, head + std::string(1000, 'x'));
  auto b = ReadToEnd(whole);
  close(whole);
  CHECK(b.bytes.rfind("HTTP/1.1 200", 0) == 0);
  CHECK_THAT(b.bytes, Catch::EndsWith("1000"));
}

TEST_CASE("a head beyond its byte budget is dropped") {
  ConnectionLimits limits;
  limits.head_bytes = 4096;
  TestServer server(limits);
  int s = Connect(server.port(), "127.0.0.2");
  std::string head = kPartialHead;
  for (int i = 0; head.size() < 64 * 1024; ++i)
    head += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'a') + "\r\n";
  // The server stops reading: what it does not take may not all fit into the socket buffers.
  (void)send(s, head.data(), head.size(), MSG_NOSIGNAL);
  auto a = ReadToEnd(s);
  close(s);
  CHECK(a.closed);
  CHECK(a.bytes.rfind("HTTP/1.1 200", 0) != 0);
  CHECK(server.Refused("head_too_large") == 1);
}

TEST_CASE("when every thread is busy and the queue is full, more connections get 503 at once") {
  ConnectionLimits limits;
  limits.threads = 1;
  limits.queue = 1;
  limits.per_client = 0;
  TestServer server(limits);
  int busy = Connect(server.port(), "127.0.0.1");
  Send(busy, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  server.WaitEntered();
  int queued = Connect(server.port(), "127.0.0.1");
  Send(queued, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  // The third is neither served nor queued: refused while the other two still wait.
  int third = Connect(server.port(), "127.0.0.1");
  auto refused = ReadToEnd(third);
  close(third);
  CHECK(refused.bytes.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(server.Refused("queue_full") == 1);
  server.Release();
  auto a = ReadToEnd(busy);
  auto b = ReadToEnd(queued);
  close(busy);
  close(queued);
  CHECK(a.bytes.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(b.bytes.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("a body that trickles in is dropped once it falls below the minimum rate") {
  ConnectionLimits limits;
  limits.body_seconds = 1;
  limits.body_min_bytes_per_second = 1000;
  limits.idle_seconds = 30;
  TestServer server(limits);
  // 100 kB announced: the whole body may take 101 s, but after the second of grace it must keep
  // up 1000 bytes a second, and a byte every 200 ms is 5.
  int s = Connect(server.port(), "127.0.0.2");
  Send(s,
       "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
       "Content-Length: 100000\r\n\r\n");
  bool refused_send = false;
  for (int i = 0; i < 40 && !refused_send; ++i) {
    char c = 'x';
    refused_send = send(s, &c, 1, MSG_NOSIGNAL) != 1;
    if (server.Refused("request_deadline") == 1)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the attacker's pace
  }
  auto a = ReadToEnd(s);
  close(s);
  CHECK(a.closed);
  CHECK(server.Refused("request_deadline") == 1);
}

TEST_CASE("a client that does not read its response is dropped at the response's deadline") {
  ConnectionLimits limits;
  // The socket buffers take a few MB at once; at 1 MB/s that buys only a few seconds.
  limits.body_min_bytes_per_second = 1 << 20;
  TestServer server(limits);
  int s = Connect(server.port(), "127.0.0.1", 4096);
  Send(s, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  // We never read: the 8 MB cannot go out; after a second's grace the server gives up.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.Refused("response_deadline") == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the outcome
  CHECK(server.Refused("response_deadline") == 1);
  close(s);
}

TEST_CASE("a request refused before its body is read ends the connection: the body is no request") {
  TestServer server({});
  int s = Connect(server.port(), "127.0.0.2");
  const std::string smuggled = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
  Send(s, "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
              "\r\n\r\n" + smuggled);
  auto a = ReadToEnd(s);
  close(s);
  CHECK(a.closed);
  CHECK(a.bytes.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(a.bytes.find("pong") == std::string::npos);
}

TEST_CASE("a request the library refuses while it reads the head ends the connection") {
  TestServer server({});
  // An unknown method, then what a desynchronised reader would take as more requests.
  for (std::string first :
       {std::string("FOO /ping HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET /ping HTTP/1.2\r\nHost: x\r\n\r\n"),
        "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"}) {
    int s = Connect(server.port(), "127.0.0.2");
    Send(s, first + "GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    auto a = ReadToEnd(s);
    close(s);
    INFO(a.bytes);
    CHECK(a.closed);
    CHECK(a.bytes.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(a.bytes.find("pong") == std::string::npos);
    CHECK(a.bytes.find("HTTP/1.1", 1) == std::string::npos);  // one answer
  }
  // A request that reached the handlers keeps its connection.
  int s = Connect(server.port(), "127.0.0.2");
  Send(s,
       "GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\nConnection: "
       "close\r\n\r\n");
  auto a = ReadToEnd(s);
  close(s);
  size_t first = a.bytes.find("pong");
  REQUIRE(first != std::string::npos);
  CHECK(a.bytes.find("pong", first + 4) != std::string::npos);
}

TEST_CASE("a body a handler did not read to its end ends the connection: it is no request") {
  TestServer server({});
  const std::string smuggled = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
  // /partly stops after its first read: a body larger than one read is left partly unread.
  for (const char* path : {"/ignore", "/partly"}) {
    INFO(path);
    const std::string body =
        std::string(path) == "/partly" ? std::string(200 * 1024, 'x') + smuggled : smuggled;
    int s = Connect(server.port(), "127.0.0.2");
    Send(s, std::string("POST ") + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    auto a = ReadToEnd(s);
    close(s);
    INFO(a.bytes);
    CHECK(a.closed);
    CHECK(a.bytes.find("pong") == std::string::npos);
    // It says so: no client or proxy sends its next request into the closing connection.
    CHECK(a.bytes.find("Connection: close\r\n") != std::string::npos);
    CHECK(a.bytes.find("Keep-Alive") == std::string::npos);
  }
  // A body read to its end keeps the connection for the next request.
  int s = Connect(server.port(), "127.0.0.2");
  Send(s, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + smuggled);
  char buf[4096];
  std::string got;
  while (got.find("pong") == std::string::npos) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    got.append(buf, static_cast<size_t>(n));
  }
  close(s);
  CHECK(got.find("\r\n\r\n3") != std::string::npos);
}

TEST_CASE("a server without a pre-routing handler of its own keeps its connections alive") {
  // As bench/publish_floor runs it: the default handler starts each body's deadline.
  GuardedServer server;
  server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { server.listen_after_bind(); });
  int s = Connect(port, "127.0.0.2");
  Send(s,
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
       "second");
  auto a = ReadToEnd(s);
  close(s);
  server.stop();
  thread.join();
  INFO(a.bytes);
  CHECK(a.bytes.find("first") != std::string::npos);
  CHECK(a.bytes.find("second") != std::string::npos);
}
