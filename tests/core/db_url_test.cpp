// What every database connection of ours gets unless its URL says otherwise (core/db.hpp,
// WithConnectionDefaults), read back as libpq reads the string.
#include <libpq-fe.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "core/db.hpp"
#include "support/saved_env.hpp"

namespace db_url_test {

using namespace meldestelle;

namespace {

// The options `conninfo` sets, as libpq parses it; {"error": …} if it cannot.
std::map<std::string, std::string> Parsed(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "?";
    PQfreemem(error);
    return {{"error", why}};
  }
  std::map<std::string, std::string> out;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr)
      out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

const std::map<std::string, std::string> kOurs = {{"keepalives", "1"},
                                                  {"keepalives_idle", "30"},
                                                  {"keepalives_interval", "10"},
                                                  {"keepalives_count", "3"},
                                                  {"tcp_user_timeout", "60000"}};

// PGSERVICE unset for the test's time, as it was after.
struct NoService {
  NoService() { unsetenv("PGSERVICE"); }
  meldestelle::testing::SavedEnv saved{"PGSERVICE"};  // made before the constructor unsets it
};

// `url`'s own options with ours added.
std::map<std::string, std::string> WithOurs(std::map<std::string, std::string> own) {
  for (const auto& [k, v] : kOurs)
    own.emplace(k, v);
  return own;
}

}  // namespace

TEST_CASE("db: a connection string keeps what it says and gets keepalives and a user timeout") {
  NoService no_service;
  CHECK(Parsed(db::WithConnectionDefaults("postgresql://postgres@127.0.0.1:55432/meldestelle")) ==
        WithOurs({{"user", "postgres"},
                  {"host", "127.0.0.1"},
                  {"port", "55432"},
                  {"dbname", "meldestelle"}}));
  // What libpq reads in a URI: percent-encoding, a '?' in the password, several hosts, query
  // parameters, a trailing '?'.
  CHECK(Parsed(db::WithConnectionDefaults(
            "postgresql://u:p%3Fw?x@h1:5432,h2:5433/my%20db?sslmode=disable&"
            "target_session_attrs=read-write")) ==
        WithOurs({{"user", "u"},
                  {"password", "p?w?x"},
                  {"host", "h1,h2"},
                  {"port", "5432,5433"},
                  {"dbname", "my db"},
                  {"sslmode", "disable"},
                  {"target_session_attrs", "read-write"}}));
  CHECK(Parsed(db::WithConnectionDefaults("postgres://h/db?")) ==
        WithOurs({{"host", "h"}, {"dbname", "db"}}));
  // A Unix socket's directory (libpq leaves keepalives aside there, without an error).
  CHECK(Parsed(db::WithConnectionDefaults("postgresql:///db?host=/var/run/postgresql")) ==
        WithOurs({{"host", "/var/run/postgresql"}, {"dbname", "db"}}));
  // key=value words, with quotes, a backslash and spaces around '='.
  CHECK(
      Parsed(db::WithConnectionDefaults(
          R"(host=db.example password='it\'s x keepalives=0\\' dbname = m)")) ==
      WithOurs({{"host", "db.example"}, {"password", R"(it's x keepalives=0\)"}, {"dbname", "m"}}));
  // What the string sets itself stays, once; a key written percent-encoded is that key.
  auto own = Parsed(db::WithConnectionDefaults(
      "postgresql://h/db?keepalives%5Fidle=7&tcp_user_timeout=0&connect_timeout=3"));
  CHECK(own == WithOurs({{"host", "h"},
                         {"dbname", "db"},
                         {"keepalives_idle", "7"},
                         {"tcp_user_timeout", "0"},
                         {"connect_timeout", "3"}}));
  // An empty value stays set (not filled from the environment); quote and backslash in a
  // URI's password, '=' in a database name stay what they were.
  CHECK(Parsed(db::WithConnectionDefaults("host=h password=''")) ==
        WithOurs({{"host", "h"}, {"password", ""}}));
  CHECK(Parsed(db::WithConnectionDefaults("postgresql://u:a%27b%5Cc@h/x%3Dy")) ==
        WithOurs({{"user", "u"}, {"password", R"(a'b\c)"}, {"host", "h"}, {"dbname", "x=y"}}));
  // libpq's defaults alone (the empty string): ours alone.
  CHECK(Parsed(db::WithConnectionDefaults("")) == kOurs);
}

TEST_CASE("db: a service's settings and a string libpq cannot read are left as they are") {
  NoService no_service;
  CHECK(db::WithConnectionDefaults("service=meldestelle") == "service=meldestelle");
  CHECK(db::WithConnectionDefaults("postgresql://h/db?service=x") == "postgresql://h/db?service=x");
  CHECK(db::WithConnectionDefaults("host=h nonsense=1") == "host=h nonsense=1");
  CHECK(db::WithConnectionDefaults("postgresql://h/db?x") == "postgresql://h/db?x");
  setenv("PGSERVICE", "meldestelle", 1);
  CHECK(db::WithConnectionDefaults("host=h") == "host=h");
  setenv("PGSERVICE", "", 1);  // libpq looks for a service named "" then
  CHECK(db::WithConnectionDefaults("host=h") == "host=h");
}

}  // namespace db_url_test
