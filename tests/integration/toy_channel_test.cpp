// The channel contract (docs/adding-a-channel.md), shown by a channel that exists only in this
// test binary: it registers a route, a queue message type with its handler, an outbox sender and
// its section of the configuration file, and a report goes through it end to end — HTTP request,
// queue, admit step, ticket, and the acknowledgement through its own sender — in this process,
// against the real broker and database, without touching any other channel's code. And messages
// queued before messages carried their type are still handled.
#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "channels/builtin.hpp"
#include "channels/chat/batch.hpp"
#include "channels/http.hpp"
#include "core/config_section.hpp"
#include "core/crypto.hpp"
#include "core/envelope.hpp"
#include "core/errors.hpp"
#include "core/metrics.hpp"
#include "core/sql.hpp"
#include "gateway/server.hpp"
#include "outbox/dispatcher.hpp"
#include "stack.hpp"
#include "workers/process.hpp"
#include "workers/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace toy_channel_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

constexpr std::string_view kToyType = "toy_report";

// The toy's section of the configuration file: `toy: {flag: …}`, the flag its reports carry.
struct ToySettings {
  static constexpr std::string_view kKey = "toy";
  static constexpr bool kRequired = false;
  std::string flag = "Spielzeug";
  static void Read(YamlReader& rd, const YAML::Node& node, Config&, ToySettings& out) {
    if (!node || !rd.ExpectMap(node, "toy", {"flag"}))
      return;
    rd.String(node, "flag", &out.flag, true, "toy");
  }
};

// What the toy's sender "sent" (guarded by a mutex: the lane runs on this test's thread, but the
// handler and the routes run on the server's and the worker's).
struct Sent {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> messages;  // address, reference
  std::atomic<int> handled{0};
};

// POST /webhooks/toy: the body is the description, X-Toy-Sender who sent it.
void Route(httplib::Server& server, channels::Intake& intake) {
  server.Post("/webhooks/toy", [&intake](const httplib::Request& req, httplib::Response& res) {
    Report r;
    r.id = NewUuid();
    r.reference = intake.NewReference();
    r.channel = "toy";
    r.channel_message_id = r.id;
    r.received_at = NowTimestamp();
    r.text = req.body;
    r.reporter.ack_channel = "toy";
    r.reporter.ack_address = req.get_header_value("X-Toy-Sender");
    auto st = intake.Publish(
        {std::string(kToyType), EncodeEnvelope({r, {"text/plain", req.body}, ""}), r.id},
        channels::NowMillis());
    if (!st)
      return channels::SendError(res, 503, st.error().code, "broker unavailable");
    res.status = 202;
    res.set_content(r.reference, "text/plain");
  });
}

class Handler final : public channels::Handler {
 public:
  Handler(channels::WorkerServices& s, Sent& sent)
      : admission_(s.NewAdmission()), flag_(s.config().Get<ToySettings>().flag), sent_(sent) {}
  Status Handle(const channels::Delivery& d) override {
    auto env = DecodeEnvelope(d.body);
    if (!env)
      return MakeError(errors::kMessageInvalid, env.error().message);
    auto admitted = admission_->Admit({std::move(env).value(), {flag_}, ""});
    if (!admitted)
      return admitted.error();
    sent_.handled.fetch_add(1);
    return Ok{};
  }

 private:
  std::unique_ptr<channels::Admission> admission_;
  const std::string flag_;
  Sent& sent_;
};

class Sender final : public outbox::Sender {
 public:
  explicit Sender(Sent& sent) : sent_(sent) {}
  outbox::Plan Prepare(db::Tx&, const outbox::Row& row) override {
    std::string reference = json::parse(row.payload).value("reference", "");
    return outbox::Plan::Send([this, address = row.address, reference] {
      std::lock_guard<std::mutex> lock(sent_.mu);
      sent_.messages.emplace_back(address, reference);
      return outbox::Attempt::Sent("toy-" + reference);
    });
  }

 private:
  Sent& sent_;
};

channels::Channel Toy(Sent& sent) {
  channels::Channel c;
  c.name = "toy";
  c.display_name = "Spielzeug";
  c.routes = Route;
  channels::MessageType type;
  type.name = std::string(kToyType);
  type.handler = [&sent](channels::WorkerServices& s) {
    return std::make_unique<Handler>(s, sent);
  };
  c.message_types.push_back(std::move(type));
  c.ack_channels = {"toy"};
  c.senders = [&sent](outbox::Senders& s, const Config&) {
    s.Add({outbox::Kind::kAck}, "toy", std::make_shared<Sender>(sent));
  };
  c.config_sections = {SectionOf<ToySettings>()};
  return c;
}

}  // namespace

TEST_CASE(
    "a channel registered in the test binary carries a report from its route to its "
    "acknowledgement",
    "[integration][registry]") {
  StackOptions options;
  options.processes = false;
  Stack s(options);
  Sent sent;
  channels::Registry registry = channels::BuiltinChannels();
  registry.Add(Toy(sent));
  // The toy's section of the file is read with the toy registered (and refused without it).
  const std::string toy_yaml = "toy:\n  flag: über den Spielzeugkanal\n";
  Config config = s.ConfigHere(registry, toy_yaml);
  CHECK(config.Get<ToySettings>().flag == "über den Spielzeugkanal");
  std::ofstream(s.dir() / "without-toy.yaml") << ReadFile(s.dir() / "meldestelle.yaml") << toy_yaml;
  auto refused =
      LoadConfig(s.dir() / "without-toy.yaml", workers::AllSections(channels::BuiltinChannels()));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("toy: unknown key"));
  metrics::Registry metrics;
  gateway::Gateway gateway(config, registry, metrics);
  auto port = gateway.Start();
  REQUIRE(port.ok());
  workers::WorkerProcess worker(config, registry, metrics);
  REQUIRE(worker.Start().ok());
  REQUIRE(WaitFor([&] { return s.Ready(); }));

  auto res = s.Client().Post("/webhooks/toy", {{"X-Toy-Sender", "spielzeug:7"}},
                             "Die Schaukel am Spielplatz ist kaputt", "text/plain");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  const std::string reference = res->body;

  // The worker handed the toy's message type to the toy's handler, which admitted the report.
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM tickets WHERE channel = 'toy' AND reference = '" + reference + "'", 1));
  CHECK(sent.handled.load() == 1);
  auto t = s.Query(
      "SELECT text, routing_explanation->'flags' ? 'über den Spielzeugkanal',"
      " department_id FROM tickets WHERE reference = '" +
      reference + "'");
  CHECK(t[0][0].as<std::string>() == "Die Schaukel am Spielplatz ist kaputt");
  CHECK(t[0][1].as<bool>());
  CHECK_FALSE(t[0][2].as<std::string>().empty());

  // The acknowledgement waits in the outbox for the toy's sender, and goes out through it.
  auto toy_lane = [&](const std::string& holder = "") {
    outbox::Senders senders;
    for (const auto& channel : registry.channels()) {
      if (channel.senders)
        channel.senders(senders, config);
    }
    return std::make_unique<outbox::Lane>(
        config.database.url, std::move(senders),
        outbox::LaneSettings{"toy", std::chrono::seconds(60), 3, 4, "toy_sent_total", "Toy sends.",
                             holder, std::chrono::seconds(10)},
        metrics);
  };
  // As if no dispatcher had run for ten minutes: the lane's gauges show the row overdue.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'toy'", 1));
  {
    pqxx::connection c(s.db_url());
    pqxx::work w(c);
    w.exec0(
        "UPDATE outbox SET next_attempt_at = now() - interval '10 minutes'"
        " WHERE channel = 'toy'");
    w.commit();
  }
  auto gauge = [&](const std::string& name) {
    const std::string text = metrics.Render();
    const std::string key = name + "{lane=\"toy\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
  };
  auto lane = toy_lane();
  REQUIRE(WaitFor([&] {
    auto n = lane->RunOnce();
    std::lock_guard<std::mutex> lock(sent.mu);
    return n.ok() && !sent.messages.empty();
  }));
  INFO(metrics.Render());
  CHECK(gauge("meldestelle_outbox_waiting") == 1);
  CHECK(gauge("meldestelle_outbox_overdue_seconds") >= 600);
  CHECK(gauge("meldestelle_outbox_overdue_seconds") < 3600);
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(gauge("meldestelle_outbox_last_pass_timestamp_seconds") > now_s - 60);
  // Sent: nothing waits any more.
  REQUIRE(toy_lane()->RunOnce().ok());
  CHECK(gauge("meldestelle_outbox_waiting") == 0);
  CHECK(gauge("meldestelle_outbox_overdue_seconds") == 0);

  {
    std::lock_guard<std::mutex> lock(sent.mu);
    REQUIRE(sent.messages.size() == 1);
    CHECK(sent.messages[0] == std::make_pair(std::string("spielzeug:7"), reference));
  }
  CHECK(s.Count("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                " WHERE t.reference = '" +
                reference +
                "' AND o.kind = 'ack' AND"
                " o.status = 'sent' AND o.provider_message_id = 'toy-" +
                reference + "'") == 1);
  // A dispatcher that dies holding a row: another leaves it to its lease; the same one, started
  // again, takes it up at once.
  {
    pqxx::connection c(s.db_url());
    pqxx::work w(c);
    w.exec0(
        "UPDATE outbox SET status = 'sending', leased_by = 'host/1',"
        " next_attempt_at = now() + interval '1 hour' WHERE channel = 'toy'");
    w.commit();
  }
  REQUIRE(toy_lane("host/2")->RunOnce().ok());
  {
    std::lock_guard<std::mutex> lock(sent.mu);
    CHECK(sent.messages.size() == 1);
  }
  auto again = toy_lane("host/1");
  REQUIRE(WaitFor([&] {
    auto n = again->RunOnce();
    std::lock_guard<std::mutex> lock(sent.mu);
    return n.ok() && sent.messages.size() == 2;
  }));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE channel = 'toy' AND status = 'sent'"
                " AND leased_by = 'host/1'") == 1);
  worker.Stop();
  gateway.Stop();
}

TEST_CASE("messages queued before they carried their type are still handled",
          "[integration][registry]") {
  Stack s;
  // A report envelope and a chat batch without the AMQP type property, as the gateway published
  // them before.
  Report r;
  r.id = NewUuid();
  r.reference = "4KQ7XRT2WNPA";
  r.channel = "app";
  r.channel_message_id = r.id;
  r.received_at = NowTimestamp();
  r.text = "Laterne vor Nr. 7 brennt nicht";
  s.PublishRaw(EncodeEnvelope({r, {}, ""}), r.id);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '4KQ7XRT2WNPA'", 1));

  chat::Batch batch;
  batch.channel = "telegram";
  batch.received_at = NowTimestamp();
  chat::ChatEvent e;
  e.kind = chat::EventKind::kMessage;
  e.type = chat::MessageType::kText;
  e.channel = "telegram";
  e.sender = "5123";
  e.message_id = "5123:1";
  e.dedupe_key = "update:77";
  e.text = "STOP";
  batch.items.push_back({e, "4KQ7XRT2WNPB", NewUuid()});
  s.PublishRaw(chat::EncodeBatch(batch), "legacy-batch");
  // A chat batch, not a report: STOP opted the sender out.
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM notification_optouts WHERE channel = 'telegram'"
                     " AND address = '5123'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
}

}  // namespace toy_channel_test
