// The dispatcher's lanes (app::DispatcherLanes, outbox/dispatcher.cpp) against misbehaving
// providers, in this process against the stack's database: a relay or an API that took a message
// and never answered (unconfirmed: counted, and an e-mail sent again is the same message), a 200
// whose body cannot be read, Retry-After, and a provider that hangs while the other channels'
// acknowledgements go out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/dispatcher.hpp"
#include "channels/builtin.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace dispatch_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using namespace std::chrono_literals;

namespace {

// An SMTP relay on a loopback port that keeps every message's DATA. The first `hang_first`
// messages get no final reply after their end of data (the relay took them and never said so):
// the connection stays silent until the client gives up and closes it. Later ones get 250.
class FakeRelay {
 public:
  explicit FakeRelay(int hang_first = 0) : hang_left_(hang_first) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeRelay() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  FakeRelay(const FakeRelay&) = delete;
  FakeRelay& operator=(const FakeRelay&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  // One connection at a time (the lanes send one mail at a time).
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      Talk(c);
      ::close(c);
    }
  }
  // The next line (CRLF stripped); false when the peer closed or the relay stops.
  bool ReadLine(int c, std::string& buffer, std::string& line) {
    for (;;) {
      if (size_t eol = buffer.find("\r\n"); eol != std::string::npos) {
        line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        return true;
      }
      pollfd p{c, POLLIN, 0};
      if (stop_)
        return false;
      if (::poll(&p, 1, 50) <= 0)
        continue;
      char chunk[4096];
      ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0)
        return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }
  void Say(int c, const std::string& s) { (void)::send(c, s.data(), s.size(), MSG_NOSIGNAL); }
  void Talk(int c) {
    Say(c, "220 fake relay\r\n");
    std::string buffer, line;
    while (ReadLine(c, buffer, line)) {
      std::string verb = line.substr(0, 4);
      for (char& ch : verb)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (verb == "DATA") {
        Say(c, "354 go ahead\r\n");
        std::string data;
        while (ReadLine(c, buffer, line) && line != ".")
          data += (line.rfind("..", 0) == 0 ? line.substr(1) : line) + "\r\n";
        bool hang = false;
        {
          std::lock_guard<std::mutex> lock(mu_);
          messages_.push_back(data);
          hang = hang_left_ > 0;
          hang_left_ -= hang ? 1 : 0;
        }
        if (hang) {
          while (ReadLine(c, buffer, line)) {
          }
          return;  // the client gave up
        }
        Say(c, "250 queued\r\n");
      } else if (verb == "QUIT") {
        Say(c, "221 bye\r\n");
        return;
      } else {
        Say(c, "250 ok\r\n");  // EHLO, MAIL, RCPT, RSET, NOOP
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> messages_;  // guarded by mu_
  int hang_left_;                      // guarded by mu_
  std::thread thread_;
};

// The messengers' and Twilio's send APIs on one loopback port. Each answer is taken from the
// queue of its API (`Answer`), or 200 with a message id when the queue is empty. An answer may
// come late (`delay`) or not at all until the test releases it or the stand-in goes (`hang`).
class FakeApis {
 public:
  struct Answer {
    int status = 200;
    std::string body;  // "" = the API's success body
    std::string retry_after;
    std::chrono::milliseconds delay{0};
    bool hang = false;
  };

  FakeApis() {
    auto& s = http_.server();
    s.Post(R"(/bot[^/]+/sendMessage)", [this](const httplib::Request&, httplib::Response& res) {
      Handle("telegram", res,
             R"({"ok":true,"result":{"message_id":)" + std::to_string(++ids_) +
                 R"(,"chat":{"id":734500001}}})");
    });
    s.Post(R"(/v21\.0/\d+/messages)", [this](const httplib::Request&, httplib::Response& res) {
      Handle("whatsapp", res,
             R"({"messaging_product":"whatsapp","messages":[{"id":"wamid.T)" +
                 std::to_string(++ids_) + R"("}]})");
    });
    s.Post(R"(/2010-04-01/Accounts/[^/]+/Messages\.json)",
           [this](const httplib::Request&, httplib::Response& res) {
             Handle("sms", res, R"({"sid":"SM)" + std::to_string(++ids_) + R"("})");
           });
    http_.Start();
  }
  ~FakeApis() { Release(); }  // before http_ stops: no handler left waiting

  // The environment that points the stack's channels here (FakeProviders' credentials).
  std::vector<std::string> Env() const {
    const std::string base = http_.Url("");
    return {std::string("MELDESTELLE_TWILIO_AUTH_TOKEN=") + FakeProviders::kTwilioToken,
            std::string("MELDESTELLE_TWILIO_ACCOUNT_SID=") + FakeProviders::kTwilioSid,
            "MELDESTELLE_TWILIO_API_BASE=" + base,
            std::string("MELDESTELLE_TWILIO_SMS_FROM=") + FakeProviders::kSmsFrom,
            std::string("MELDESTELLE_WHATSAPP_APP_SECRET=") + kAppSecret,
            "MELDESTELLE_WHATSAPP_VERIFY_TOKEN=verify-token-for-tests",
            std::string("MELDESTELLE_WHATSAPP_ACCESS_TOKEN=") + FakeProviders::kWhatsAppToken,
            "MELDESTELLE_WHATSAPP_API_BASE=" + base + "/v21.0",
            std::string("MELDESTELLE_TELEGRAM_SECRET_TOKEN=") + kTelegramSecret,
            std::string("MELDESTELLE_TELEGRAM_BOT_TOKEN=") + FakeProviders::kTelegramToken,
            "MELDESTELLE_TELEGRAM_API_BASE=" + base};
  }
  void Queue(const std::string& api, Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_[api].push_back(std::move(a));
  }
  int requests(const std::string& api) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = requests_.find(api);
    return it == requests_.end() ? 0 : it->second;
  }
  // Ends every wait of a late or hanging answer.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void Handle(const std::string& api, httplib::Response& res, const std::string& success) {
    Answer a;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++requests_[api];
      auto& q = queued_[api];
      if (!q.empty()) {
        a = q.front();
        q.erase(q.begin());
      }
      // The provider's own slowness, not the test's synchronisation: ended early by Release.
      if (a.hang)
        cv_.wait_for(lock, 60s, [&] { return released_; });
      else if (a.delay > 0ms)
        cv_.wait_for(lock, a.delay, [&] { return released_; });
    }
    res.status = a.status;
    if (!a.retry_after.empty())
      res.set_header("Retry-After", a.retry_after);
    res.set_content(a.body.empty() ? success : a.body, "application/json");
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Answer>> queued_;  // guarded by mu_
  std::map<std::string, int> requests_;                // guarded by mu_
  bool released_ = false;                              // guarded by mu_
  std::atomic<int> ids_{1000};
  LocalServer http_;  // last: stops first
};

// A stack without processes, its channels pointed at `apis` and `relay`; `edit` changes the
// configuration (shorter timeouts).
StackOptions Options(const FakeApis& apis, const FakeRelay& relay,
                     std::function<void(std::string&)> edit = {}) {
  StackOptions o;
  o.processes = false;
  o.extra_env = apis.Env();
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=" + relay.url());
  o.edit_config = std::move(edit);
  return o;
}

// Both sends time out after a second.
void QuickTimeouts(std::string& cfg) {
  Replace(cfg, "smtp_timeout_seconds: 30", "smtp_timeout_seconds: 1");
  Replace(cfg, "send_timeout_seconds: 20", "send_timeout_seconds: 1");
}

// The lane named `name` among the dispatcher's, for this process.
std::unique_ptr<outbox::Lane> LaneNamed(Stack& s, const Config& cfg, const std::string& name,
                                        metrics::Registry& registry) {
  static const channels::Registry kChannels = channels::BuiltinChannels();
  for (auto& plan : app::DispatcherLanes(cfg, kChannels, "", registry)) {
    if (plan.settings.name == name)
      return std::make_unique<outbox::Lane>(s.db_url(), std::move(plan.senders),
                                            std::move(plan.settings), registry);
  }
  FAIL("no lane " << name);
  return nullptr;
}

// A row waiting to be sent; its id.
std::string AddRow(Stack& s, const std::string& kind, const std::string& channel,
                   const std::string& address, const std::string& payload) {
  return One(s, "INSERT INTO outbox (kind, channel, address, payload) VALUES (" + Q(kind) + ", " +
                    Q(channel) + ", " + Q(address) + ", " + Q(payload) + ") RETURNING id");
}

constexpr const char* kAck = R"({"reference":"4KQ7XRT2WNPA","department":"Tiefbauamt"})";

double Unconfirmed(metrics::Registry& registry, const std::string& channel) {
  return registry
      .GetCounter("meldestelle_outbox_unconfirmed_total", "", {{"channel", channel}})
      .Value();
}

// Makes the row due now (its backoff is not what the test is about).
void DueNow(Stack& s, const std::string& id) {
  s.Query("UPDATE outbox SET next_attempt_at = now() WHERE id = " + id);
}

}  // namespace

TEST_CASE(
    "An e-mail acknowledgement whose relay never gave its final reply is recorded unconfirmed, "
    "counted, and sent again as the same message (the same Message-ID)",
    "[integration][dispatch]") {
  FakeApis apis;
  FakeRelay relay(/*hang_first=*/1);
  Stack s(Options(apis, relay, QuickTimeouts));
  Config cfg = s.ConfigHere(channels::BuiltinChannels());
  metrics::Registry registry;
  auto lane = LaneNamed(s, cfg, "citizens-email", registry);
  const std::string id = AddRow(s, "ack", "email", "erika@example.org", kAck);

  REQUIRE(lane->RunOnce().ok());
  CHECK(One(s, "SELECT outcome FROM outbox_attempts WHERE outbox_id = " + id +
                   " AND attempt = 1") == "unconfirmed");
  CHECK(One(s, "SELECT status FROM outbox WHERE id = " + id) == "pending");
  CHECK(Unconfirmed(registry, "email") == 1);

  DueNow(s, id);
  REQUIRE(lane->RunOnce().ok());
  CHECK(One(s, "SELECT status FROM outbox WHERE id = " + id) == "sent");
  CHECK(One(s, "SELECT outcome FROM outbox_attempts WHERE outbox_id = " + id +
                   " AND attempt = 2") == "sent");
  auto mails = relay.messages();
  REQUIRE(mails.size() == 2);
  const std::string message_id = Header(mails[0], "Message-ID");
  CHECK_THAT(message_id, Catch::StartsWith("<ack.") && Catch::EndsWith("@musterstadt.example>"));
  CHECK(message_id.find("4KQ7XRT2WNPA") == std::string::npos);  // signed, not the reference
  CHECK(Header(mails[1], "Message-ID") == message_id);
  CHECK(One(s, "SELECT provider_message_id FROM outbox WHERE id = " + id) ==
        message_id.substr(1, message_id.size() - 2));
  CHECK(Unconfirmed(registry, "email") == 1);
}

TEST_CASE(
    "A Telegram send answered after the timeout is unconfirmed, counted and tried again; a 200 "
    "whose body cannot be read is sent, unconfirmed, not failed",
    "[integration][dispatch]") {
  FakeApis apis;
  FakeRelay relay;
  Stack s(Options(apis, relay, QuickTimeouts));
  Config cfg = s.ConfigHere(channels::BuiltinChannels());
  metrics::Registry registry;
  auto lane = LaneNamed(s, cfg, "citizens-telegram", registry);

  // Taken, answered three seconds later: after the one-second timeout.
  FakeApis::Answer late;
  late.delay = 3s;
  apis.Queue("telegram", late);
  const std::string id = AddRow(s, "chat_reply", "telegram", "734500001", R"({"text":"Hallo"})");
  REQUIRE(lane->RunOnce().ok());
  CHECK(apis.requests("telegram") == 1);
  CHECK(One(s, "SELECT outcome FROM outbox_attempts WHERE outbox_id = " + id) == "unconfirmed");
  CHECK(One(s, "SELECT status FROM outbox WHERE id = " + id) == "pending");
  CHECK(Unconfirmed(registry, "telegram") == 1);
  DueNow(s, id);
  REQUIRE(lane->RunOnce().ok());
  CHECK(apis.requests("telegram") == 2);  // the double, counted above
  CHECK(One(s, "SELECT status FROM outbox WHERE id = " + id) == "sent");

  // 200 with a body cut short.
  FakeApis::Answer broken;
  broken.body = R"({"ok":true,"result":{"message_id":)";
  apis.Queue("telegram", broken);
  const std::string id2 = AddRow(s, "chat_reply", "telegram", "734500001", R"({"text":"Noch"})");
  REQUIRE(lane->RunOnce().ok());
  CHECK(apis.requests("telegram") == 3);
  CHECK(One(s, "SELECT status FROM outbox WHERE id = " + id2) == "sent");
  CHECK(One(s, "SELECT outcome FROM outbox_attempts WHERE outbox_id = " + id2) == "unconfirmed");
  const std::string detail =
      One(s, "SELECT detail FROM outbox_attempts WHERE outbox_id = " + id2);
  CHECK(detail.find("the response body is not valid JSON") != std::string::npos);
  CHECK(detail.find("request body") == std::string::npos);
  CHECK(Unconfirmed(registry, "telegram") == 2);
}

TEST_CASE(
    "WhatsApp's and Twilio's 429 with Retry-After: 30 put the next attempt at least 30 s away",
    "[integration][dispatch]") {
  FakeApis apis;
  FakeRelay relay;
  Stack s(Options(apis, relay));
  Config cfg = s.ConfigHere(channels::BuiltinChannels());
  metrics::Registry registry;

  FakeApis::Answer wa;
  wa.status = 429;
  wa.retry_after = "30";
  wa.body = R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException",)"
            R"("code":130429,"fbtrace_id":"A1"}})";
  apis.Queue("whatsapp", wa);
  s.Query(
      "INSERT INTO chat_contacts (channel, address, account, last_inbound_at)"
      " VALUES ('whatsapp', '491701234567', " +
      Q(kPhoneNumberId) + ", now())");
  const std::string wa_id =
      AddRow(s, "chat_reply", "whatsapp", "491701234567", R"({"text":"Hallo"})");
  REQUIRE(LaneNamed(s, cfg, "citizens-whatsapp", registry)->RunOnce().ok());

  FakeApis::Answer sms;
  sms.status = 429;
  sms.retry_after = "30";
  sms.body = R"({"code":20429,"message":"Too Many Requests","status":429})";
  apis.Queue("sms", sms);
  const std::string sms_id = AddRow(s, "ack", "sms", "+4917012345678", kAck);
  REQUIRE(LaneNamed(s, cfg, "citizens-sms", registry)->RunOnce().ok());

  for (const auto& [api, id] : {std::pair{"whatsapp", wa_id}, std::pair{"sms", sms_id}}) {
    INFO(api);
    CHECK(apis.requests(api) == 1);
    CHECK(One(s, "SELECT outcome FROM outbox_attempts WHERE outbox_id = " + id) == "retry");
    // The backoff alone would be 1 s.
    CHECK(One(s, "SELECT next_attempt_at >= updated_at + interval '29 seconds' FROM outbox"
                 " WHERE status = 'pending' AND id = " +
                     id) == "t");
  }
}

TEST_CASE(
    "A Telegram API that hangs does not hold up an e-mail acknowledgement: each channel has its "
    "own lane",
    "[integration][dispatch]") {
  FakeApis apis;
  FakeRelay relay;
  Stack s(Options(apis, relay));  // the default timeouts: a Telegram attempt waits 20 s
  Config cfg = s.ConfigHere(channels::BuiltinChannels());
  metrics::Registry registry;
  for (int i = 0; i < 4; ++i) {
    FakeApis::Answer hang;
    hang.hang = true;
    apis.Queue("telegram", hang);
    AddRow(s, "chat_reply", "telegram", "734500001", R"({"text":"Hallo"})");
  }
  static const channels::Registry kChannels = channels::BuiltinChannels();
  std::vector<std::unique_ptr<outbox::Lane>> lanes;
  for (auto& plan : app::DispatcherLanes(cfg, kChannels, "", registry))
    lanes.push_back(std::make_unique<outbox::Lane>(s.db_url(), std::move(plan.senders),
                                                   std::move(plan.settings), registry));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& lane : lanes)
    threads.emplace_back([&stop, l = lane.get()] { l->Run(stop, 50ms); });

  // The Telegram lane is stuck in its first send; then a citizen's e-mail acknowledgement comes.
  CHECK(WaitFor([&] { return apis.requests("telegram") >= 1; }, 10s));
  const std::string id = AddRow(s, "ack", "email", "erika@example.org", kAck);
  const bool sent = s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE status = 'sent' AND id = " + id, 1, 5s);
  CHECK(sent);
  CHECK(relay.messages().size() == 1);
  CHECK(apis.requests("telegram") == 1);  // still hanging

  apis.Release();
  stop.store(true);
  for (auto& t : threads)
    t.join();
}

}  // namespace dispatch_test
