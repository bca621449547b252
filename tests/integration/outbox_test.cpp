// The outbox's sending loop (outbox/dispatcher.cpp) against the real database: a message the
// provider took while the database went away is recorded once it answers, not sent again.
#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "outbox/dispatcher.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace outbox_test {

using namespace meldestelle;
using namespace meldestelle::testing;

namespace {

// Counts its sends. The first one ends the lane's database connection before the provider's
// answer is returned, as a database that restarts between a send and its record does.
class CuttingSender : public outbox::Sender {
 public:
  CuttingSender(Stack& stack, std::string application_name)
      : stack_(stack), application_name_(std::move(application_name)) {}

  outbox::Plan Prepare(db::Tx&, const outbox::Row&) override {
    return outbox::Plan::Send([this] {
      ++sends;
      // Waits until each backend is gone, so that the lane's next query meets a closed
      // connection.
      if (sends == 1)
        cut += stack_.EndConnections(application_name_);
      return outbox::Attempt::Sent("provider-" + std::to_string(sends));
    });
  }

  int sends = 0;
  int cut = 0;  // connections ended

 private:
  Stack& stack_;
  std::string application_name_;
};

}  // namespace

TEST_CASE(
    "A message the provider took while the database went away is recorded as sent once the "
    "database answers, and not sent again",
    "[integration][outbox]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  s.Query(
      "INSERT INTO outbox (kind, channel, address, payload)"
      " VALUES ('ack', 'test', 'someone@example.org', '{}')");
  // The lane's own connections carry a name of their own, so that only they are ended.
  const std::string name = "outbox-test-" + RandomHex(4);
  const std::string lane_url = s.db_url() +
                               (s.db_url().find('?') == std::string::npos ? "?" : "&") +
                               "application_name=" + name;
  auto sender = std::make_shared<CuttingSender>(s, name);
  outbox::Senders senders;
  senders.Add({outbox::Kind::kAck}, "test", sender);
  metrics::Registry registry;
  outbox::Lane lane(lane_url, std::move(senders),
                    outbox::LaneSettings{"test", std::chrono::seconds(60), 3, 4, "test_sent_total",
                                         "Test sends.", "host/1"},
                    registry);

  auto first = lane.RunOnce();
  INFO((first.ok() ? std::string() : first.error().message + ": " + first.error().detail));
  REQUIRE(first.ok());
  CHECK(*first == 1);
  CHECK(sender->cut == 1);
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

}  // namespace outbox_test
