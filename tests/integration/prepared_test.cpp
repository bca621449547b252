// db::ExecPrepared (core/sql.hpp) against the real database: a statement is prepared once per
// connection and used for every later call there, and prepared again on the connection that
// replaces one the server ended.
#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/db.hpp"
#include "core/sql.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace prepared_test {

using namespace meldestelle;
using namespace meldestelle::testing;

namespace {

constexpr const char* kSql = "SELECT $1::int + 1";

struct Run {
  int sum = 0;
  int prepared = 0;  // this connection's prepared statements of kSql
  int uses = 0;      // how often this connection ran it prepared (custom and generic plans)
};

Result<Run> RunOnce(db::Session& session, int value) {
  return session.Transact<Run>([&](db::Tx& tx) {
    Run r;
    r.sum = db::ExecPrepared(tx, kSql, value).at(0).at(0).as<int>();
    auto row = tx.exec_params1(
        "SELECT count(*), coalesce(sum(custom_plans + generic_plans), 0)"
        " FROM pg_prepared_statements WHERE statement = $1",
        std::string(kSql));
    r.prepared = row[0].as<int>();
    r.uses = row[1].as<int>();
    tx.commit();
    return r;
  });
}

}  // namespace

TEST_CASE(
    "A statement run through db::ExecPrepared is prepared once per connection, and again on the "
    "connection that replaces one the server ended",
    "[integration][db]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  const std::string name = "prepared-test-" + RandomHex(4);
  db::Session session(s.db_url() + (s.db_url().find('?') == std::string::npos ? "?" : "&") +
                      "application_name=" + name);

  auto first = RunOnce(session, 1);
  REQUIRE(first);
  CHECK(first->sum == 2);
  CHECK(first->prepared == 1);
  CHECK(first->uses == 1);
  auto second = RunOnce(session, 10);
  REQUIRE(second);
  CHECK(second->sum == 11);
  CHECK(second->prepared == 1);  // the same statement, not a second one
  CHECK(second->uses == 2);

  // The server ends the session's connection: the session opens a new one, where the statement
  // is prepared anew (a statement libpqxx thought prepared would fail there: "does not exist").
  REQUIRE(s.EndConnections(name) == 1);
  auto again = RunOnce(session, 20);
  if (!again) {  // libpqxx met the ended connection: a transient error; the next call reconnects
    CHECK(db::IsTransient(again.error()));
    again = RunOnce(session, 20);
  }
  REQUIRE(again);
  CHECK(again->sum == 21);
  CHECK(again->prepared == 1);
  CHECK(again->uses == 1);
}

}  // namespace prepared_test
