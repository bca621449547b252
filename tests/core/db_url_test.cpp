// What every database connection of ours gets unless its URL says otherwise (core/db.hpp,
// WithConnectionDefaults).
#include <catch2/catch.hpp>
#include <string>

#include "core/db.hpp"

namespace db_url_test {

using namespace meldestelle;

namespace {
constexpr const char* kAll =
    "connect_timeout=10&keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count="
    "3&tcp_user_timeout=60000";
}  // namespace

TEST_CASE("db: a URI gets a connect timeout, keepalives and a user timeout as query parameters") {
  CHECK(db::WithConnectionDefaults("postgresql://postgres@127.0.0.1:55432/meldestelle") ==
        std::string("postgresql://postgres@127.0.0.1:55432/meldestelle?") + kAll);
  CHECK(db::WithConnectionDefaults("postgres://h/db?sslmode=require") ==
        std::string("postgres://h/db?sslmode=require&") + kAll);
  // What the URL sets stays as it is, and is not given twice.
  CHECK(db::WithConnectionDefaults("postgresql://h/db?keepalives_idle=7&connect_timeout=3") ==
        "postgresql://h/db?keepalives_idle=7&connect_timeout=3&keepalives=1&keepalives_interval="
        "10&keepalives_count=3&tcp_user_timeout=60000");
  // A name that only ends in one of ours, or one in the password, is not it.
  std::string odd = db::WithConnectionDefaults(
      "postgresql://u:keepalives_idle=1@h/db?application_name=x&my_connect_timeout=1");
  CHECK(odd.find("&keepalives_idle=30") != std::string::npos);
  CHECK(odd.find("&connect_timeout=10") != std::string::npos);
}

TEST_CASE("db: a key=value connection string gets them as words") {
  CHECK(db::WithConnectionDefaults("host=db.example dbname=meldestelle") ==
        "host=db.example dbname=meldestelle connect_timeout=10 keepalives=1 keepalives_idle=30 "
        "keepalives_interval=10 keepalives_count=3 tcp_user_timeout=60000");
  // Set by the string (with spaces around '=', as libpq allows): kept, not added.
  std::string own = db::WithConnectionDefaults("host=h keepalives = 0 tcp_user_timeout=5");
  CHECK(own.find("keepalives=1") == std::string::npos);
  CHECK(own.find("tcp_user_timeout=60000") == std::string::npos);
  CHECK(own.find("keepalives_idle=30") != std::string::npos);
  // libpq's defaults alone (the empty string): ours alone.
  CHECK(db::WithConnectionDefaults("") ==
        "connect_timeout=10 keepalives=1 keepalives_idle=30 keepalives_interval=10 "
        "keepalives_count=3 tcp_user_timeout=60000");
}

}  // namespace db_url_test
