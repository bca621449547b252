#include <catch2/catch.hpp>

#include "core/amqp.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace amqp_url_test {

using namespace meldestelle;

TEST_CASE("AMQP URLs are parsed, with percent-escapes") {
  auto u = ParseAmqpUrl("amqp://us%40er:p%3Ass@broker.example:5673/%2f");
  REQUIRE(u.ok());
  CHECK(u->user == "us@er");
  CHECK(u->password == "p:ss");
  CHECK(u->host == "broker.example");
  CHECK(u->port == 5673);
  CHECK(u->vhost == "/");
  auto d = ParseAmqpUrl("amqp://127.0.0.1");
  REQUIRE(d.ok());
  CHECK(d->port == 5672);
  CHECK(d->vhost == "/");
}

TEST_CASE("broken AMQP URLs are refused without crashing") {
  CHECK_FALSE(ParseAmqpUrl("http://x").ok());
  CHECK_FALSE(ParseAmqpUrl("amqp://u:pa%zz@h/").ok());
  CHECK_FALSE(ParseAmqpUrl("amqp://u:pa%@h/").ok());
  CHECK_FALSE(ParseAmqpUrl("amqp://h:port/").ok());
  CHECK_FALSE(ParseAmqpUrl("amqp://h:99999/").ok());
  CHECK_FALSE(ParseAmqpUrl("amqp://h/%g0").ok());
}

}  // namespace amqp_url_test
