#include "gateway/guarded_server.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace meldestelle::gateway {
namespace {

using Clock = std::chrono::steady_clock;

// Set on the thread that only refuses connections because the queue is full.
thread_local bool tl_shedding = false;

// At most `threads` connections served, `queue` waiting; the rest go to one thread that answers
// them 503 (GuardedServer::process_and_close_socket sees tl_shedding). A refusal takes
// microseconds, so that thread keeps up with any accept rate.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int queue)
      : room_(static_cast<size_t>(std::max(threads, 1) + std::max(queue, 0))) {
    for (int i = 0; i < std::max(threads, 1); ++i)
      workers_.emplace_back([this] { Work(jobs_, false); });
    workers_.emplace_back([this] { Work(shed_, true); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      (busy_ + jobs_.size() < room_ ? jobs_ : shed_).push_back(std::move(fn));
    }
    cv_.notify_all();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_)
        return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
      t.join();
  }

 private:
  void Work(std::deque<std::function<void()>>& jobs, bool shedding) {
    tl_shedding = shedding;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !jobs.empty(); });
        if (jobs.empty())
          return;
        fn = std::move(jobs.front());
        jobs.pop_front();
        busy_ += shedding ? 0 : 1;
      }
      fn();
      if (!shedding) {
        std::lock_guard lock(mutex_);
        --busy_;
      }
    }
  }

  const size_t room_;  // connections served and waiting together
  size_t busy_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::deque<std::function<void()>> shed_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
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
           "Retry-After: 5\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  (void)::send(sock, kResponse.data(), kResponse.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(sock, SHUT_WR);
  char drain[4096];
  while (::recv(sock, drain, sizeof drain, MSG_DONTWAIT) > 0) {
  }
  ::close(sock);
}

// One connection's socket as cpp-httplib reads and writes it, with the request's deadline and,
// while the head is read, a byte budget. Reads are buffered (the library reads the head a byte
// at a time).
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

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

  void BeginHead(const ConnectionLimits& limits) {
    deadline_ = Clock::now() + std::chrono::seconds(limits.head_seconds);
    head_budget_ = limits.head_bytes;
  }

  void BeginBody(const ConnectionLimits& limits, int64_t length) {
    int64_t rate = std::max<int64_t>(limits.body_min_bytes_per_second, 1);
    deadline_ = Clock::now() + std::chrono::seconds(limits.body_seconds) +
                std::chrono::milliseconds(std::max<int64_t>(length, 0) * 1000 / rate);
    head_budget_ = -1;
  }

  // Why the connection was dropped ("request_deadline", "head_too_large"), or nullptr.
  const char* dropped() const { return dropped_; }

  bool is_readable() const override {
    if (off_ < len_)
      return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
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

  bool is_writable() const override { return PollFor(sock_, POLLOUT, write_timeout_ms_); }

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
      off_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable())
      return -1;
    for (;;) {
      ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || errno != EINTR)
        return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    NameOf(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    NameOf(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t Receive(char* into, size_t size) {
    for (;;) {
      ssize_t n = ::recv(sock_, into, size, 0);
      if (n >= 0 || errno != EINTR)
        return n;
    }
  }

  int sock_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  Clock::time_point deadline_ = Clock::time_point::max();
  int64_t head_budget_ = -1;  // bytes the head may still take; -1 outside the head
  mutable const char* dropped_ = nullptr;
  char buf_[16 * 1024];
  size_t off_ = 0;
  size_t len_ = 0;
};

thread_local DeadlineStream* tl_stream = nullptr;
thread_local const ConnectionLimits* tl_limits = nullptr;

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
}

GuardedServer::~GuardedServer() = default;

bool GuardedServer::WidenBacklog(int n) { return ::listen(svr_sock_, n) == 0; }

void GuardedServer::HeadRead(int64_t body_length) {
  if (tl_stream && tl_limits)
    tl_stream->BeginBody(*tl_limits, body_length);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  auto refused = [&](std::string_view reason) {
    if (on_refused_)
      on_refused_(reason);
    Refuse(sock);
    return true;
  };
  if (tl_shedding)
    return refused("queue_full");
  std::string client;
  int port = 0;
  NameOf(sock, true, client, port);
  bool capped =
      std::find(limits_.exempt.begin(), limits_.exempt.end(), client) == limits_.exempt.end();
  if (capped && !clients_->Acquire(client, limits_.per_client))
    return refused("connections_per_client");

  DeadlineStream stream(sock,
                        static_cast<int>(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000),
                        static_cast<int>(write_timeout_sec_ * 1000 + write_timeout_usec_ / 1000));
  tl_stream = &stream;
  tl_limits = &limits_;
  bool ok = false;
  for (int left = limits_.keep_alive_requests; left > 0; --left) {
    if (!stream.WaitForRequest(limits_.idle_seconds * 1000,
                               [this] { return svr_sock_ == INVALID_SOCKET; }))
      break;
    stream.BeginHead(limits_);
    bool closed = false;
    ok = process_request(stream, left == 1, closed, nullptr);
    if (!ok || closed)
      break;
  }
  tl_stream = nullptr;
  tl_limits = nullptr;
  if (stream.dropped() && on_refused_)
    on_refused_(stream.dropped());
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  if (capped)
    clients_->Release(client);
  return ok;
}

}  // namespace meldestelle::gateway
