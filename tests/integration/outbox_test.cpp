// The outbox's sending loop (outbox/dispatcher.cpp) against the real database: a message the
// provider took while the database went away is recorded once it answers, not sent again, also
// after an outage longer than the row's lease.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "core/crypto.hpp"
#include "outbox/dispatcher.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace outbox_test {

using namespace meldestelle;
using namespace meldestelle::testing;

namespace {

// A loopback TCP forwarder to the database that a test closes and opens again: while closed,
// the connections through it are cut and new ones are closed at once, as a database that
// restarts and stays away does for its clients.
class Gate {
 public:
  explicit Gate(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in a = Loopback(0);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~Gate() {
    stop_ = true;
    Close();
    acceptor_.join();
    std::vector<std::thread> pumps;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pumps.swap(pumps_);
    }
    for (auto& t : pumps)
      t.join();
    ::close(listen_fd_);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  int port() const { return port_; }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
    for (int fd : live_)
      ::shutdown(fd, SHUT_RDWR);
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  void Accept() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0)
        continue;
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = Loopback(upstream_port_);
      bool connected =
          server >= 0 && ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      std::lock_guard<std::mutex> lock(mu_);
      // Decided under the lock that Close takes: no connection slips through a closed gate.
      if (!connected || !open_) {
        ::close(client);
        if (server >= 0)
          ::close(server);
        continue;
      }
      live_.push_back(client);
      live_.push_back(server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }
  // Copies both ways until either side ends (or Close shuts both down).
  void Pump(int a, int b) {
    char buf[16384];
    bool done = false;
    while (!done) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0)
        break;
      for (int i = 0; i < 2 && !done; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
          continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        done = n <= 0 || ::send(p[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(live_, [&](int fd) { return fd == a || fd == b; });
    ::close(a);
    ::close(b);
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  bool open_ = true;  // under mu_
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> live_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

// Where the port of the database URL is (the stack's database listens on loopback): [from, to).
std::pair<size_t, size_t> PortSpan(const std::string& url) {
  constexpr std::string_view kHost = "127.0.0.1:";
  size_t host = url.find(kHost);
  REQUIRE(host != std::string::npos);
  size_t from = host + kHost.size();
  return {from, url.find_first_not_of("0123456789", from)};
}

int PortOf(const std::string& url) {
  auto [from, to] = PortSpan(url);
  return std::stoi(url.substr(from, to - from));
}

// The database URL with another port.
std::string ThroughPort(const std::string& url, int port) {
  auto [from, to] = PortSpan(url);
  return url.substr(0, from) + std::to_string(port) + url.substr(to);
}

// Counts its sends; `before_answer` runs inside the first one, before the provider's answer
// (and before the send is counted).
class CountingSender : public outbox::Sender {
 public:
  explicit CountingSender(std::string provider, std::function<void()> before_answer = {})
      : provider_(std::move(provider)), before_answer_(std::move(before_answer)) {}

  outbox::Plan Prepare(db::Tx&, const outbox::Row&) override {
    return outbox::Plan::Send([this] {
      // Counted after `before_answer_`: whoever waits for the count finds it done.
      if (sends == 0 && before_answer_)
        before_answer_();
      return outbox::Attempt::Sent(provider_ + "-" + std::to_string(++sends));
    });
  }

  std::atomic<int> sends{0};

 private:
  std::string provider_;
  std::function<void()> before_answer_;
};

// The senders of a lane that sends acknowledgements on the channel "test" with `sender`.
outbox::Senders AckSenders(std::shared_ptr<outbox::Sender> sender) {
  outbox::Senders senders;
  senders.Add({outbox::Kind::kAck}, "test", std::move(sender));
  return senders;
}

// An acknowledgement waiting to be sent on the channel "test".
void AddAck(Stack& s) {
  s.Query(
      "INSERT INTO outbox (kind, channel, address, payload)"
      " VALUES ('ack', 'test', 'someone@example.org', '{}')");
}

StackOptions DatabaseOnly() {
  StackOptions o;
  o.processes = false;
  return o;
}

outbox::LaneSettings QuickLease(const std::string& holder) {
  // A lease of a second, so that the outage below outlasts it.
  return {"test", std::chrono::seconds(1), 3, 4, "test_sent_total", "Test sends.",
          holder, std::chrono::seconds(10)};
}

}  // namespace

TEST_CASE(
    "A message the provider took while the database went away is recorded as sent once the "
    "database answers, and not sent again",
    "[integration][outbox]") {
  Stack s(DatabaseOnly());
  AddAck(s);
  // The lane's own connections carry a name of their own, so that only they are ended.
  const std::string name = "outbox-test-" + RandomHex(4);
  const std::string lane_url = s.db_url() +
                               (s.db_url().find('?') == std::string::npos ? "?" : "&") +
                               "application_name=" + name;
  // The first send ends the lane's database connections (waiting until each backend is gone)
  // before the provider's answer is returned, as a database that restarts between a send and
  // its record does.
  int cut = 0;
  auto sender =
      std::make_shared<CountingSender>("provider", [&] { cut += s.EndConnections(name); });
  metrics::Registry registry;
  outbox::Lane lane(lane_url, AckSenders(sender),
                    outbox::LaneSettings{"test", std::chrono::seconds(60), 3, 4, "test_sent_total",
                                         "Test sends.", "host/1", std::chrono::seconds(10)},
                    registry);

  auto first = lane.RunOnce();
  INFO((first.ok() ? std::string() : first.error().message + ": " + first.error().detail));
  REQUIRE(first.ok());
  CHECK(*first == 1);
  CHECK(cut == 1);
  CHECK(sender->sends == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE status = 'sent' AND attempts = 1"
                " AND provider_message_id = 'provider-1'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox_attempts WHERE attempt = 1 AND outcome = 'sent'") ==
        1);
  // The next passes (which take up at once what this holder left unrecorded) find nothing to send.
  REQUIRE(lane.RunOnce().ok());
  REQUIRE(lane.RunOnce().ok());
  CHECK(sender->sends == 1);
}

TEST_CASE(
    "An outage of the database longer than the lease: the message sent before it is recorded "
    "once the database answers, and the other dispatchers, back with the database, leave it to "
    "its holder",
    "[integration][outbox]") {
  Stack s(DatabaseOnly());
  AddAck(s);
  Gate gate(PortOf(s.db_url()));
  const std::string through_gate = ThroughPort(s.db_url(), gate.port());
  metrics::Registry registry;

  // A sends the first row; the database goes away before the provider's answer is back.
  auto sender_a = std::make_shared<CountingSender>("provider-a", [&] { gate.Close(); });
  outbox::Lane a(through_gate, AckSenders(sender_a), QuickLease("host/a"), registry);
  auto sender_b = std::make_shared<CountingSender>("provider-b");
  outbox::Lane b(through_gate, AckSenders(sender_b), QuickLease("host/b"), registry);

  Result<int> a_result = 0;
  std::thread a_thread([&] { a_result = a.RunOnce(); });
  // Whatever fails below: the gate opened, so that A's held record ends, and A joined.
  struct Joined {
    Gate& gate;
    std::thread& thread;
    ~Joined() {
      gate.Open();
      if (thread.joinable())
        thread.join();
    }
  } joined{gate, a_thread};
  REQUIRE(WaitFor([&] { return sender_a->sends.load() >= 1; }));
  // Meanwhile a row whose holder died while sending: its lease ran out long ago.
  s.Query(
      "INSERT INTO outbox (kind, channel, address, payload, status, attempts, leased_by,"
      " next_attempt_at) VALUES ('ack', 'test', 'other@example.org', '{}', 'sending', 1,"
      " 'host/dead', now() - interval '10 minutes')");
  // B meets the database away.
  CHECK_FALSE(b.RunOnce().ok());
  // The outage outlasts A's lease (in the database's time) by two seconds.
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE leased_by = 'host/a' AND status = 'sending'"
                     " AND next_attempt_at < now() - interval '2 seconds'",
                     1));
  // D starts now, with the database (not through the gate): it did not see the outage, and
  // still leaves A's row (and the dead holder's) to them for its grace.
  auto sender_d = std::make_shared<CountingSender>("provider-d");
  outbox::Lane d(s.db_url(), AckSenders(sender_d), QuickLease("host/d"), registry);
  auto d_first = d.RunOnce();
  INFO((d_first.ok() ? std::string() : d_first.error().message + ": " + d_first.error().detail));
  REQUIRE(d_first.ok());
  CHECK(*d_first == 0);
  CHECK(sender_d->sends == 0);
  gate.Open();
  // B, back with the database, takes over neither A's row nor the dead holder's yet.
  auto b_back = b.RunOnce();
  INFO((b_back.ok() ? std::string() : b_back.error().message + ": " + b_back.error().detail));
  REQUIRE(b_back.ok());
  CHECK(*b_back == 0);
  a_thread.join();
  INFO((a_result.ok() ? std::string() : a_result.error().message + ": " + a_result.error().detail));
  REQUIRE(a_result.ok());
  CHECK(sender_a->sends == 1);
  CHECK(sender_b->sends == 0);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE leased_by = 'host/a' AND status = 'sent'"
                " AND attempts = 1 AND provider_message_id = 'provider-a-1'") == 1);
  CHECK(b.RunOnce().ok());
  CHECK(sender_b->sends == 0);

  // A dispatcher that had the database all along takes the dead holder's row over once its
  // grace after starting has passed (here 2 s).
  auto sender_c = std::make_shared<CountingSender>("provider-c");
  outbox::LaneSettings short_grace = QuickLease("host/c");
  short_grace.takeover_grace = std::chrono::seconds(2);
  outbox::Lane c(s.db_url(), AckSenders(sender_c), short_grace, registry);
  const auto c_started = std::chrono::steady_clock::now();
  auto c_result = c.RunOnce();
  REQUIRE(c_result.ok());
  CHECK(*c_result == 0);
  REQUIRE(WaitFor([&] {
    c_result = c.RunOnce();
    return c_result.ok() && *c_result == 1;
  }));
  CHECK(std::chrono::steady_clock::now() - c_started >= std::chrono::seconds(2));
  CHECK(sender_c->sends == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE status = 'sent' AND leased_by = 'host/c'"
                " AND address = 'other@example.org'") == 1);
  CHECK(sender_a->sends + sender_b->sends + sender_c->sends + sender_d->sends == 2);
}

}  // namespace outbox_test
