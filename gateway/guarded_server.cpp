#include "gateway/guarded_server.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "gateway/rate_limit.hpp"

namespace meldestelle::gateway {
namespace {

using Clock = std::chrono::steady_clock;

class BoundedPool;
// Set on the triage thread: the connection's address is checked there, before it is queued.
thread_local BoundedPool* tl_triage = nullptr;

// Every accepted connection goes first to one triage thread
// (GuardedServer::process_and_close_socket sees tl_triage): it checks the client address's cap and
// then queues the connection for one of `threads` workers, or refuses it when `threads` + `queue`
// connections are served and waiting. Triage and refusals take microseconds, so that thread keeps
// up with any accept rate, and a client over its cap never takes a place in the queue.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int queue)
      : room_(static_cast<size_t>(std::max(threads, 1) + std::max(queue, 0))) {
    for (int i = 0; i < std::max(threads, 1); ++i)
      workers_.emplace_back([this] { Work(jobs_, jobs_cv_, false); });
    workers_.emplace_back([this] { Work(triage_, triage_cv_, true); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      triage_.push_back(std::move(fn));
    }
    triage_cv_.notify_one();
  }

  // From the triage thread: queue a connection for a worker, or false when there is no room.
  bool Admit(std::function<void()> serve) {
    {
      std::lock_guard lock(mutex_);
      if (busy_ + jobs_.size() >= room_)
        return false;
      jobs_.push_back(std::move(serve));
    }
    jobs_cv_.notify_one();
    return true;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_)
        return;
      stopping_ = true;
    }
    triage_cv_.notify_all();
    // The triage thread first (it may still queue connections), then the workers drain the queue.
    workers_.back().join();
    jobs_cv_.notify_all();
    {
      std::lock_guard lock(mutex_);
      workers_stopping_ = true;
    }
    jobs_cv_.notify_all();
    for (size_t i = 0; i + 1 < workers_.size(); ++i)
      workers_[i].join();
  }

 private:
  void Work(std::deque<std::function<void()>>& jobs, std::condition_variable& cv, bool triage) {
    tl_triage = triage ? this : nullptr;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        cv.wait(lock, [&] { return (triage ? stopping_ : workers_stopping_) || !jobs.empty(); });
        if (jobs.empty())
          return;
        fn = std::move(jobs.front());
        jobs.pop_front();
        busy_ += triage ? 0 : 1;
      }
      fn();
      if (!triage) {
        std::lock_guard lock(mutex_);
        --busy_;
      }
    }
  }

  const size_t room_;  // connections served and waiting together
  size_t busy_ = 0;
  std::mutex mutex_;
  std::condition_variable triage_cv_, jobs_cv_;
  std::deque<std::function<void()>> triage_, jobs_;
  bool stopping_ = false, workers_stopping_ = false;
  std::vector<std::thread> workers_;  // the workers, then the triage thread
};

// Waits up to `ms` for the socket to become readable (POLLIN) or writable (POLLOUT).
bool PollFor(int sock, short events, int ms) {
  pollfd p{sock, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, ms);
    if (n >= 0)
      return n > 0;
    if (errno != EINTR)
      return false;
  }
}

bool NameOf(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(sock, sa, &len) : ::getsockname(sock, sa, &len)) != 0)
    return false;
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  ip = host;
  port = std::atoi(serv);
  return true;
}

// The answer to a connection we will not serve, written without waiting, before the request is
// read. What the client already sent is discarded.
void Refuse(int sock) {
  static const std::string kResponse = [] {
    std::string body =
        "Der Dienst ist gerade ausgelastet. Bitte in einigen Sekunden erneut versuchen.\n"
        "The service is busy. Please try again in a few seconds.\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "X-Content-Type-Options: nosniff\r\nRetry-After: 5\r\nConnection: close\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  (void)::send(sock, kResponse.data(), kResponse.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(sock, SHUT_WR);
  char drain[4096];
  while (::recv(sock, drain, sizeof drain, MSG_DONTWAIT) > 0) {
  }
  ::close(sock);
}

// One connection's socket as cpp-httplib reads and writes it, with deadlines and, while the
// head is read, a byte budget. Reads are buffered (the library reads the head a byte at a time).
// The body and the response have a grace time and then must keep up a minimum rate: by any
// moment, grace + bytes so far / rate must not have passed (a client that sends or takes a byte
// now and then is dropped, however long the body).
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int sock, const ConnectionLimits& limits, int read_timeout_ms,
                 int write_timeout_ms)
      : sock_(sock),
        limits_(limits),
        rate_(std::max<int64_t>(limits.body_min_bytes_per_second, 1)),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms) {}

  // Waits for the next request's first byte for up to `idle_ms`, giving up early when
  // `stopping` says the server stops.
  template <typename Stopping>
  bool WaitForRequest(int idle_ms, Stopping stopping) {
    if (off_ < len_)
      return true;
    auto until = Clock::now() + std::chrono::milliseconds(idle_ms);
    while (!stopping()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0)
        return false;
      if (PollFor(sock_, POLLIN, static_cast<int>(std::min<int64_t>(left.count(), 100))))
        return true;
    }
    return false;
  }

  void BeginHead() {
    head_.clear();
    head_deadline_ = Clock::now() + std::chrono::seconds(limits_.head_seconds);
    head_budget_ = limits_.head_bytes;
    in_body_ = false;
    writing_ = false;
  }

  void BeginBody(int64_t length) {
    body_start_ = Clock::now();
    body_length_ = std::max<int64_t>(length, 0);
    body_received_ = 0;
    body_served_ = 0;
    head_budget_ = -1;
    in_body_ = true;
  }

  // The current request's head as received (within the head's byte budget): its syntax is
  // checked (gateway/framing), its first bytes name the method and target for an error page.
  const std::string& head() const { return head_; }

  // The request's body was not read to its end (a handler answered without reading it, or
  // stopped): its rest would be read as the next request.
  bool BodyLeft() const { return in_body_ && body_served_ < body_length_; }

  // Why the connection was dropped ("request_deadline", "head_too_large", "response_deadline"),
  // or nullptr.
  const char* dropped() const { return dropped_; }

  bool is_readable() const override {
    if (off_ < len_)
      return true;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(ReadDeadline() - Clock::now());
    if (dropped_ || left.count() <= 0) {
      if (!dropped_)
        dropped_ = "request_deadline";
      return false;
    }
    bool deadline_first = left.count() <= read_timeout_ms_;
    if (PollFor(sock_, POLLIN, static_cast<int>(deadline_first ? left.count() : read_timeout_ms_)))
      return true;
    if (deadline_first)
      dropped_ = "request_deadline";
    return false;
  }

  // write() waits for room itself, up to the response's deadline.
  bool is_writable() const override { return !dropped_; }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ >= len_) {
      if (!is_readable())
        return -1;
      ssize_t n = Receive(buf_, sizeof buf_);
      if (n <= 0)
        return n;
      if (head_budget_ >= 0 && (head_budget_ -= n) < 0) {
        dropped_ = "head_too_large";  // larger than any head we answer (431 is for less)
        return -1;
      }
      if (in_body_)
        body_received_ += n;
      off_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, n);
    if (!in_body_)
      head_.append(buf_ + off_, n);
    else
      body_served_ += static_cast<int64_t>(n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  // Sends what the socket takes now, waiting for room up to the response's deadline.
  ssize_t write(const char* ptr, size_t size) override {
    if (dropped_)
      return -1;
    if (!writing_) {
      writing_ = true;
      write_start_ = Clock::now();
      written_ = 0;
    }
    for (;;) {
      ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written_ += n;
        return n;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
      // Grace for the response, then the minimum rate.
      auto deadline = write_start_ + std::chrono::milliseconds(write_timeout_ms_) +
                      std::chrono::milliseconds(written_ * 1000 / rate_);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !PollFor(sock_, POLLOUT, static_cast<int>(left.count()))) {
        dropped_ = "response_deadline";
        return -1;
      }
    }
  }

  // cpp-httplib asks for both addresses on every request; a connection's do not change, so
  // they are looked up once (getpeername and getnameinfo were 2 % of the gateway's CPU).
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (!peer_.known)
      peer_.known = NameOf(sock_, true, peer_.ip, peer_.port);
    ip = peer_.ip;
    port = peer_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!local_.known)
      local_.known = NameOf(sock_, false, local_.ip, local_.port);
    ip = local_.ip;
    port = local_.port;
  }
  socket_t socket() const override { return sock_; }

 private:
  Clock::time_point ReadDeadline() const {
    if (!in_body_)
      return head_deadline_;
    // Grace, then the minimum rate for what has come; never beyond the whole body's time.
    auto grace = body_start_ + std::chrono::seconds(limits_.body_seconds);
    auto paced = grace + std::chrono::milliseconds(body_received_ * 1000 / rate_);
    auto whole = grace + std::chrono::milliseconds(body_length_ * 1000 / rate_);
    return std::min(paced, whole);
  }

  ssize_t Receive(char* into, size_t size) {
    for (;;) {
      ssize_t n = ::recv(sock_, into, size, 0);
      if (n >= 0 || errno != EINTR)
        return n;
    }
  }

  int sock_;
  const ConnectionLimits& limits_;
  const int64_t rate_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  Clock::time_point head_deadline_ = Clock::time_point::max();
  int64_t head_budget_ = -1;  // bytes the head may still take; -1 outside the head
  std::string head_;          // the head's bytes as the library read them
  bool in_body_ = false;
  Clock::time_point body_start_;
  int64_t body_length_ = 0, body_received_ = 0;
  int64_t body_served_ = 0;  // of the body, what the library has read
  bool writing_ = false;
  Clock::time_point write_start_;
  int64_t written_ = 0;
  mutable const char* dropped_ = nullptr;
  struct Address {
    bool known = false;
    std::string ip;
    int port = 0;
  };
  mutable Address peer_, local_;
  char buf_[16 * 1024];
  size_t off_ = 0;
  size_t len_ = 0;
};

thread_local DeadlineStream* tl_stream = nullptr;
// Set by GuardedServer::CloseAfterResponse: the request's body is not read, the connection ends.
thread_local bool tl_close_after = false;
// Set by HeadRead and CloseAfterResponse: the request reached the pre-routing handler. A request
// answered without it was refused by the library (a request line or field it could not parse,
// 414): what follows on the connection is not known to be a request.
thread_local bool tl_routed = false;

// The connection ends after the current request's answer: a refusal whose body was not read, a
// request the library refused while reading its head, a body a handler left unread.
bool EndsAfterThisRequest(const DeadlineStream& stream) {
  return tl_close_after || !tl_routed || stream.BodyLeft();
}

}  // namespace

// Open connections per client address.
struct GuardedServer::Clients {
  std::mutex mutex;
  std::unordered_map<std::string, int> open;

  bool Acquire(const std::string& client, int cap) {
    std::lock_guard lock(mutex);
    int& n = open[client];
    if (cap > 0 && n >= cap)
      return false;
    ++n;
    return true;
  }
  void Release(const std::string& client) {
    std::lock_guard lock(mutex);
    auto it = open.find(client);
    if (it != open.end() && --it->second <= 0)
      open.erase(it);
  }
};

GuardedServer::GuardedServer(ConnectionLimits limits,
                             std::function<void(std::string_view)> on_refused)
    : limits_(std::move(limits)),
      on_refused_(std::move(on_refused)),
      clients_(std::make_unique<Clients>()) {
  int threads = limits_.threads;
  int queue = limits_.queue;
  new_task_queue = [threads, queue] { return new BoundedPool(threads, queue); };
  // What the library writes into Keep-Alive headers.
  set_keep_alive_timeout(limits_.idle_seconds);
  set_keep_alive_max_count(static_cast<size_t>(limits_.keep_alive_requests));
  // The body's deadline, for a server without a handler of its own (a caller's replaces this
  // one and must call HeadRead or CloseAfterResponse itself).
  set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    HeadRead(std::strtoll(req.get_header_value("Content-Length").c_str(), nullptr, 10));
    return HandlerResponse::Unhandled;
  });
  // Runs as every response is written, the library's own refusals too: a connection that ends
  // after it says so (no Keep-Alive), so that no client or proxy sends its next request into it.
  set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (finisher_)
      finisher_(req, res);
    if (tl_stream == nullptr || !EndsAfterThisRequest(*tl_stream))
      return;
    res.headers.erase("Keep-Alive");
    if (!res.has_header("Connection"))
      res.set_header("Connection", "close");
  });
}

GuardedServer::~GuardedServer() = default;

void GuardedServer::SetResponseFinisher(
    std::function<void(const httplib::Request&, httplib::Response&)> f) {
  finisher_ = std::move(f);
}

bool GuardedServer::WidenBacklog(int n) { return ::listen(svr_sock_, n) == 0; }

std::string GuardedServer::RequestStart() {
  return tl_stream != nullptr ? tl_stream->head().substr(0, 512) : std::string();
}

bool GuardedServer::Routed() { return tl_routed; }

std::string_view GuardedServer::RawHead() {
  return tl_stream != nullptr ? std::string_view(tl_stream->head()) : std::string_view();
}

void GuardedServer::HeadRead(int64_t body_length) {
  tl_routed = true;
  if (tl_stream)
    tl_stream->BeginBody(body_length);
}

void GuardedServer::CloseAfterResponse() {
  tl_routed = true;
  tl_close_after = true;
}

void GuardedServer::Refused(socket_t sock, std::string_view reason) {
  if (on_refused_)
    on_refused_(reason);
  Refuse(sock);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  BoundedPool* pool = tl_triage;
  if (pool == nullptr) {  // not through our pool: serve without triage
    Serve(sock, "", false);
    return true;
  }
  std::string client;
  int port = 0;
  NameOf(sock, true, client, port);
  bool capped =
      std::find(limits_.exempt.begin(), limits_.exempt.end(), client) == limits_.exempt.end();
  client = LimitKey(client);  // counted by its /64 when IPv6, as the rate limits count
  if (capped && !clients_->Acquire(client, limits_.per_client)) {
    Refused(sock, "connections_per_client");
    return true;
  }
  if (!pool->Admit([this, sock, client, capped] { Serve(sock, client, capped); })) {
    if (capped)
      clients_->Release(client);
    Refused(sock, "queue_full");
  }
  return true;
}

void GuardedServer::Serve(socket_t sock, const std::string& client, bool capped) {
  DeadlineStream stream(sock, limits_,
                        static_cast<int>(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000),
                        static_cast<int>(write_timeout_sec_ * 1000 + write_timeout_usec_ / 1000));
  tl_stream = &stream;
  for (int left = limits_.keep_alive_requests; left > 0; --left) {
    if (!stream.WaitForRequest(limits_.idle_seconds * 1000,
                               [this] { return svr_sock_ == INVALID_SOCKET; }))
      break;
    stream.BeginHead();
    tl_close_after = false;
    tl_routed = false;
    bool closed = false;
    bool ok = process_request(stream, left == 1, closed, nullptr);
    // A dropped request, one whose body was not read to its end (refused before it, or a
    // handler that answered without reading it: cpp-httplib would read the rest as the next
    // request), or one the library refused while reading its head ends the connection: what
    // follows on it is not known to be a request.
    if (!ok || closed || stream.dropped() || EndsAfterThisRequest(stream))
      break;
  }
  // A body left unread is still arriving: closing now would answer it with a reset, and the
  // client (a browser in the middle of its upload) might lose the answer we sent. So the
  // sending side ends first and what still comes is read and dropped, for at most 2 s and
  // 1 MiB, before the socket is closed (a "lingering close").
  const bool linger = !stream.dropped() && (tl_close_after || stream.BodyLeft());
  tl_stream = nullptr;
  tl_close_after = false;
  if (stream.dropped() && on_refused_)
    on_refused_(stream.dropped());
  if (linger) {
    ::shutdown(sock, SHUT_WR);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    char sink[16 * 1024];
    for (size_t drained = 0; drained < (1 << 20);) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !PollFor(sock, POLLIN, static_cast<int>(left.count())))
        break;
      ssize_t n = ::recv(sock, sink, sizeof sink, 0);
      if (n <= 0)
        break;
      drained += static_cast<size_t>(n);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  if (capped)
    clients_->Release(client);
}

}  // namespace meldestelle::gateway
