#pragma once

// The database as the rest of the code sees it: a per-thread Session and a shared Pool that run a
// function inside a transaction and turn every libpqxx exception into an Error value. Headers
// name only the opaque db::Tx; libpqxx itself is included by core/sql.hpp, and only in the .cpp
// files of the classes that own the SQL.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/result.hpp"

namespace meldestelle::db {

class Connection;  // a libpqxx connection (core/sql.hpp)
class Tx;          // a read-write transaction (pqxx::work; core/sql.hpp)
class ReadTx;      // a READ ONLY transaction, usable wherever a Tx is (core/sql.hpp)

// Errors: errors::kDbUnavailable for a failure of the environment (connection, resources,
// shutdown, serialisation, a schema older than the code) that deserves a retry; errors::kDbError
// for everything else. IsTransient is true for the first: retry later, it is not the message's
// or the request's fault.
bool IsTransient(const Error& e);
// A transient error that is the database being away (a broken or refused connection, a server
// shutting down or starting up), not a conflict or a timeout of a statement on a live one.
bool IsAway(const Error& e);
// An error of the data a statement was given, which the same data meets again however often it
// is tried: SQLSTATE class 22 (data exception: a value the column's type refuses, U+0000 in
// text) or 23 (integrity constraint: a unique key taken, a check failed). Always kDbError.
bool IsDataError(const Error& e);
// Class 23 alone. Unlike a data exception it can also be a concurrent writer's commit (two
// workers writing the same report at once): the transaction run once more sees that row.
bool IsConstraintViolation(const Error& e);
// A statement that waited for a lock in vain: its lock_timeout ran out (SQLSTATE 55P03) or it
// lost a deadlock (40P01). The same statement may get the lock when tried again.
bool IsLockConflict(const Error& e);

// One thread's connection, opened on first use and again after a transient failure. Not
// thread-safe: one Session per thread (or per object that a single thread uses).
class Session {
 public:
  explicit Session(std::string url);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs fn(Tx&) in a new read-write transaction; fn commits it (a transaction fn does not commit
  // rolls back). Exceptions become errors; after a transient one the connection is dropped, so
  // the next call reconnects. Defined in core/sql.hpp.
  template <typename T, typename Fn>
  Result<T> Transact(Fn&& fn);
  // Runs fn(Connection&) on the open connection (for nontransactions and streams).
  template <typename T, typename Fn>
  Result<T> Run(Fn&& fn);
  // SELECT 1 on the connection.
  Status Ping();
  const std::string& url() const { return url_; }

 private:
  Status Connect();
  void Drop();
  std::string url_;
  std::unique_ptr<Connection> conn_;
};

// A small pool of connections shared by the threads of a server: each call borrows one (or
// opens one), runs fn, and gives it back unless it failed transiently. Thread-safe.
class Pool {
 public:
  explicit Pool(std::string url, size_t max_idle = 16);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // As Session::Transact and Session::Run, on a borrowed connection. Defined in core/sql.hpp.
  template <typename T, typename Fn>
  Result<T> Transact(Fn&& fn);
  template <typename T, typename Fn>
  Result<T> Read(Fn&& fn);  // fn(ReadTx&)
  template <typename T, typename Fn>
  Result<T> Run(Fn&& fn);
  Status Ping();

 private:
  Result<std::unique_ptr<Connection>> Borrow();
  void Return(std::unique_ptr<Connection> c, const Status& outcome);
  const std::string url_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

// Opens a connection of its own (for short-lived commands); see core/sql.hpp for its use.
Result<std::unique_ptr<Connection>> Connect(const std::string& url);

// `url` (a postgresql:// URI or a libpq key=value string) as key='value' words, as libpq reads
// it, with what every connection of ours should have unless the URL says otherwise: TCP
// keepalives (after 30 s idle, every 10 s, 3 unanswered) and a user timeout of 60 s, so that a
// database host that vanished without closing the connection (a network partition, a failover)
// ends it instead of leaving a worker waiting for an answer for hours. (The connect timeout is
// PGCONNECT_TIMEOUT's, app/command.cpp.) Unchanged: a URL with a `service`, any URL while
// PGSERVICE is set (the service file's settings stand), and one libpq cannot read. Connect
// applies it.
std::string WithConnectionDefaults(const std::string& url);

// Replaces the database name in a postgresql:// URL (used to reach the maintenance database).
std::string WithDatabase(const std::string& url, const std::string& dbname);
std::string DatabaseName(const std::string& url);

}  // namespace meldestelle::db
