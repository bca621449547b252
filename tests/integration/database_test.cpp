// Every database connection of ours watches its TCP connection (core/db.hpp,
// WithConnectionDefaults): a database host that vanished without closing it (a network
// partition, a failover) ends the connection instead of leaving a worker waiting forever. Read
// back from the connection's own socket, against the real PostgreSQL.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>

#include "core/db.hpp"
#include "core/sql.hpp"
#include "integration/stack.hpp"

namespace database_test {

using namespace meldestelle;
using namespace meldestelle::testing;

namespace {

int Option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  REQUIRE(getsockopt(fd, level, name, &value, &len) == 0);
  return value;
}

std::string MaintenanceUrl() {
  return db::WithDatabase(
      Env("MELDESTELLE_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/meldestelle"),
      "postgres");
}

}  // namespace

TEST_CASE("db: a connection keeps TCP keepalives and a user timeout, unless its URL sets its own",
          "[integration]") {
  auto c = db::Connect(MaintenanceUrl());
  REQUIRE(c);
  const int fd = (*c)->sock();
  REQUIRE(fd >= 0);
  CHECK(Option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
  CHECK(Option(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 30);
  CHECK(Option(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 10);
  CHECK(Option(fd, IPPROTO_TCP, TCP_KEEPCNT) == 3);
  CHECK(Option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == 60000);

  const std::string url = MaintenanceUrl();
  auto own = db::Connect(url + (url.find('?') == std::string::npos ? "?" : "&") +
                         "keepalives_idle=7&tcp_user_timeout=0");
  REQUIRE(own);
  CHECK(Option((*own)->sock(), IPPROTO_TCP, TCP_KEEPIDLE) == 7);
  CHECK(Option((*own)->sock(), IPPROTO_TCP, TCP_USER_TIMEOUT) == 0);
  CHECK(Option((*own)->sock(), IPPROTO_TCP, TCP_KEEPCNT) == 3);
}

}  // namespace database_test
