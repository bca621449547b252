// The dead-letter queue as operators and the worker handle it (core/dead_letters.hpp,
// core/amqp.hpp): a message published again keeps what it is (type, id, headers), and what is
// printed from a message cannot act on the operator's terminal.
#include "core/dead_letters.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace dead_letters_test {

using namespace meldestelle;

namespace {

std::string Str(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

std::vector<std::string> Keys(const amqp_basic_properties_t& p) {
  std::vector<std::string> keys;
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) == 0)
    return keys;
  for (int i = 0; i < p.headers.num_entries; ++i)
    keys.push_back(Str(p.headers.entries[i].key));
  return keys;
}

}  // namespace

TEST_CASE("a message published again keeps its type, id, timestamp and application headers") {
  // As a phone event lies in the dead-letter queue: the worker's headers and the broker's.
  std::vector<amqp_table_entry_t> given = {
      StringEntry("x-received-ms", "1764249539074"),
      StringEntry("x-app-header", "kept"),
      IntEntry("x-delivery-count", 4),
      StringEntry("x-meldestelle-reason", "failed 5 times"),
      StringEntry("x-meldestelle-message-id", "m-1"),
      StringEntry("x-meldestelle-failed-at-ms", "1764249540000"),
      StringEntry("x-first-death-queue", "meldestelle.reports"),
      StringEntry("x-last-death-reason", "delivery_limit"),
  };
  std::string type = "phone_event", id = "m-1", user = "guest", expiration = "60000";
  amqp_basic_properties_t in;
  std::memset(&in, 0, sizeof in);
  in._flags = AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
              AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_USER_ID_FLAG | AMQP_BASIC_EXPIRATION_FLAG;
  in.type = amqp_cstring_bytes(type.c_str());
  in.message_id = amqp_cstring_bytes(id.c_str());
  in.timestamp = 1764249539;
  in.user_id = amqp_cstring_bytes(user.c_str());
  in.expiration = amqp_cstring_bytes(expiration.c_str());
  in.headers = amqp_table_t{static_cast<int>(given.size()), given.data()};

  // The dead letter as `dead-letters requeue` holds it: a deep copy, the original overwritten.
  OwnedProperties owned(in);
  OwnedProperties copy = owned;  // copies share it
  type.assign(type.size(), '#');
  id.assign(id.size(), '#');
  given[0] = StringEntry("x-overwritten", "#");

  std::vector<amqp_table_entry_t> headers;
  amqp_basic_properties_t out;
  RepublishProperties(copy.get(), {StringEntry("x-meldestelle-reason", "again")}, &headers, &out);
  REQUIRE((out._flags & AMQP_BASIC_TYPE_FLAG) != 0);
  CHECK(Str(out.type) == "phone_event");
  REQUIRE((out._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0);
  CHECK(Str(out.message_id) == "m-1");
  REQUIRE((out._flags & AMQP_BASIC_TIMESTAMP_FLAG) != 0);
  CHECK(out.timestamp == 1764249539);
  CHECK(out.delivery_mode == 2);
  CHECK(Str(out.content_type) == "application/json");  // it had none
  // Not the publisher's user (the broker would refuse it) nor an expiry.
  CHECK((out._flags & AMQP_BASIC_USER_ID_FLAG) == 0);
  CHECK((out._flags & AMQP_BASIC_EXPIRATION_FLAG) == 0);
  // The application's headers, then the extra ones; none of the per-trip ones.
  CHECK(Keys(out) ==
        std::vector<std::string>{"x-received-ms", "x-app-header", "x-meldestelle-reason"});
  CHECK(HeaderValue(out, "x-received-ms") == "1764249539074");
  CHECK(HeaderValue(out, "x-meldestelle-reason") == "again");
}

TEST_CASE("a message without properties is published again as persistent JSON without headers") {
  amqp_basic_properties_t in;
  std::memset(&in, 0, sizeof in);
  std::vector<amqp_table_entry_t> headers;
  amqp_basic_properties_t out;
  RepublishProperties(OwnedProperties(in).get(), {}, &headers, &out);
  CHECK(out._flags == (AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG));
  CHECK(Str(out.content_type) == "application/json");
  RepublishProperties(OwnedProperties().get(), {}, &headers, &out);
  CHECK((out._flags & AMQP_BASIC_HEADERS_FLAG) == 0);
}

TEST_CASE("what is printed from a dead letter cannot act on the operator's terminal") {
  CHECK(EscapeForTerminal("2SAJASNAS2EE") == "2SAJASNAS2EE");
  CHECK(EscapeForTerminal("Mühlenweg 🚧") == "Mühlenweg 🚧");
  CHECK(EscapeForTerminal("\x1b[2J\x1b]0;owned\x07") == "\\x1b[2J\\x1b]0;owned\\x07");
  CHECK(EscapeForTerminal("a\r\nb\tc\x7f") == "a\\x0d\\x0ab\\x09c\\x7f");
  // C1 controls (U+009B is a CSI on some terminals), broken UTF-8, and the backslash itself.
  CHECK(EscapeForTerminal("\xC2\x9B"
                          "2J") == "\\xc2\\x9b2J");
  CHECK(EscapeForTerminal("\xC3") == "\\xc3");
  CHECK(EscapeForTerminal("\xE2\x82") == "\\xe2\\x82");
  CHECK(EscapeForTerminal("\xFF\xFE") == "\\xff\\xfe");
  CHECK(EscapeForTerminal("\\x1b") == "\\\\x1b");

  DeadLetter l;
  l.body = "not json";
  l.message_id = "\x1b[2Jm-1";
  l.type = "phone_event\x1b[31m";
  l.reason = "unparseable: \x1b]8;;http://evil\x07link";
  const std::string shown = DescribeDeadLetter(l);
  CHECK(shown.find('\x1b') == std::string::npos);
  CHECK(shown.find('\x07') == std::string::npos);
  CHECK(shown ==
        "reference (unparseable) · message \\x1b[2Jm-1 · type phone_event\\x1b[31m · 8 bytes\n"
        "    reason: unparseable: \\x1b]8;;http://evil\\x07link\n");
}

}  // namespace dead_letters_test
