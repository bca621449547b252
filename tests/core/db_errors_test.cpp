// How database failures are classified (core/db.hpp): retried or not (IsTransient), and whether
// the database is away (IsAway: the outbox's takeover grace starts only then).
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "core/sql.hpp"

namespace db_errors_test {

using namespace meldestelle;

TEST_CASE("db: a broken or refused connection and a server shutting down are the database away") {
  CHECK(db::IsAway(db::ErrorFrom(pqxx::broken_connection("server closed the connection"))));
  CHECK(db::IsAway(db::ErrorFrom(pqxx::in_doubt_error("commit in doubt"))));
  for (const char* state : {"08006", "08001", "57P01", "57P02", "57P03"}) {
    INFO(state);
    Error e = db::ErrorFrom(pqxx::sql_error("gone", "SELECT 1", state));
    CHECK(db::IsTransient(e));
    CHECK(db::IsAway(e));
  }
  // libpq's own errors carry no SQLSTATE.
  CHECK(db::IsAway(db::ErrorFrom(pqxx::sql_error("no connection to the server", "SELECT 1"))));
}

TEST_CASE("db: a conflict, a timeout or a full server is retried, but the database is there") {
  for (const char* state : {"40001", "40P01", "57014", "53300", "42P01"}) {
    INFO(state);
    Error e = db::ErrorFrom(pqxx::sql_error("busy", "SELECT 1", state));
    CHECK(db::IsTransient(e));
    CHECK_FALSE(db::IsAway(e));
  }
  Error wrong = db::ErrorFrom(pqxx::sql_error("syntax", "SELEC 1", "42601"));
  CHECK_FALSE(db::IsTransient(wrong));
  CHECK_FALSE(db::IsAway(wrong));
  CHECK_FALSE(db::IsAway(MakeError(errors::kDbError, "database error", "23505: duplicate")));
}

TEST_CASE(
    "db: an error keeps the server's first line, not the values its DETAIL and CONTEXT quote") {
  Error e = db::ErrorFrom(pqxx::data_exception(
      "ERROR:  unsupported Unicode escape sequence\n"
      "DETAIL:  \\u0000 cannot be converted to text.\n"
      "CONTEXT:  JSON data, line 1: {\"email\":\"n9@example.net\",\"name\":\"A\\u0000...\n",
      "INSERT INTO tickets …", "22P05"));
  CHECK(e.detail == "22P05: ERROR:  unsupported Unicode escape sequence");
  CHECK_FALSE(db::IsTransient(e));
  // A value the first line quotes is left out too.
  Error quoted = db::ErrorFrom(pqxx::data_exception(
      "ERROR:  invalid input syntax for type uuid: \"Erika Muster\"\n", "SELECT …", "22P02"));
  CHECK(quoted.detail == "22P02: ERROR:  invalid input syntax for type uuid: \"…\"");
  Error unclosed = db::ErrorFrom(pqxx::data_exception("ERROR:  x \"a", "", "22007"));
  CHECK(unclosed.detail == "22007: ERROR:  x \"…\"");
  // Other classes quote names, which say what went wrong.
  Error named = db::ErrorFrom(pqxx::unique_violation(
      "ERROR:  duplicate key value violates unique constraint \"tickets_reference_key\"\n"
      "DETAIL:  Key (reference)=(2SM8WP584NT8) already exists.\n",
      "", "23505"));
  CHECK(named.detail ==
        "23505: ERROR:  duplicate key value violates unique constraint \"tickets_reference_key\"");
}

TEST_CASE(
    "db: a data exception (22) or a broken constraint (23) is the message's, not the moment's") {
  for (const char* state : {"22P02", "22007", "22008", "22P05", "22001"}) {
    INFO(state);
    Error e = db::ErrorFrom(pqxx::data_exception("ERROR:  bad \"x\"", "INSERT …", state));
    CHECK(db::IsDataError(e));
    CHECK_FALSE(db::IsConstraintViolation(e));
    CHECK_FALSE(db::IsTransient(e));
  }
  for (const char* state : {"23505", "23503", "23514", "23502"}) {
    INFO(state);
    Error e = db::ErrorFrom(pqxx::integrity_constraint_violation("ERROR:  taken", "", state));
    CHECK(db::IsDataError(e));
    CHECK(db::IsConstraintViolation(e));
  }
  // Transient classes stay transient, and other permanent ones are no data errors.
  for (const char* state : {"40001", "40P01", "53300", "57P01", "08006", "42601"}) {
    INFO(state);
    CHECK_FALSE(db::IsDataError(db::ErrorFrom(pqxx::sql_error("x", "SELECT 1", state))));
  }
  CHECK_FALSE(db::IsDataError(db::ErrorFrom(pqxx::broken_connection("gone"))));
  // Only an SQL error's detail counts, not an error that happens to start with the digits.
  CHECK_FALSE(db::IsDataError(MakeError(errors::kDbError, "database error", "22")));
  CHECK_FALSE(db::IsDataError(MakeError(errors::kDbUnavailable, "database error", "23505: x")));
}

TEST_CASE("db: a lock waited for in vain or a lost deadlock is a lock conflict, nothing else is") {
  // What PostgreSQL sends: a statement's lock_timeout ran out, or the deadlock detector chose it.
  const Error timeout = db::ErrorFrom(pqxx::sql_error(
      "ERROR:  canceling statement due to lock timeout\n", "ALTER TABLE …", "55P03"));
  // libpqxx 6.4 throws a lost deadlock as deadlock_detected, which is no sql_error and has no
  // SQLSTATE (what it said in the test of an upgrade that lost one).
  const Error deadlock = db::ErrorFrom(pqxx::deadlock_detected(
      "ERROR:  deadlock detected\nDETAIL:  Process 16532 waits for AccessExclusiveLock on relation "
      "17377 of database 17325; blocked by process 16354.\nHINT:  See server log for query "
      "details.\n"));
  CHECK(db::IsLockConflict(timeout));
  CHECK(db::IsLockConflict(deadlock));
  CHECK(timeout.detail == "55P03: ERROR:  canceling statement due to lock timeout");
  CHECK(deadlock.detail == "40P01: ERROR:  deadlock detected");
  // Worth a retry of the whole transaction, as a serialisation failure is (also no sql_error).
  CHECK(db::IsTransient(deadlock));
  const Error serialisation = db::ErrorFrom(
      pqxx::serialization_failure("ERROR:  could not serialize access due to concurrent update\n"));
  CHECK(db::IsTransient(serialisation));
  CHECK(serialisation.detail ==
        "40001: ERROR:  could not serialize access due to concurrent update");
  CHECK_FALSE(db::IsLockConflict(serialisation));
  CHECK_FALSE(db::IsDataError(serialisation));
  // A serialisation failure, another class-55 state, a broken connection and a data error are not.
  for (const char* state : {"40001", "55006", "55000", "57014", "22P02", "23505"}) {
    INFO(state);
    CHECK_FALSE(db::IsLockConflict(db::ErrorFrom(pqxx::sql_error("x", "SELECT 1", state))));
  }
  CHECK_FALSE(db::IsLockConflict(db::ErrorFrom(pqxx::broken_connection("gone"))));
  CHECK_FALSE(db::IsLockConflict(MakeError(errors::kDbError, "database error", "55P03")));
  CHECK_FALSE(db::IsLockConflict(MakeError(errors::kConfigInvalid, "x", "40P01: deadlock")));
}

}  // namespace db_errors_test
