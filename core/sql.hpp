#pragma once

// libpqxx behind core/db.hpp: the concrete connection and transaction types and the templates of
// Session and Pool. Include it only in .cpp files that run SQL, never in a header.
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>

#include "core/db.hpp"

namespace meldestelle::db {

class Connection : public pqxx::connection {
 public:
  explicit Connection(const std::string& url) : pqxx::connection(url) {}
};

// pqxx::work (its virtual base namedclass is constructed by the most derived class).
class Tx : public pqxx::work {
 public:
  explicit Tx(pqxx::connection& c) : pqxx::internal::namedclass("transaction"), pqxx::work(c) {}
};

// READ ONLY: PostgreSQL refuses any write in it.
class ReadTx : public Tx {
 public:
  explicit ReadTx(pqxx::connection& c) : pqxx::internal::namedclass("transaction"), Tx(c) {
    exec0("SET TRANSACTION READ ONLY");
  }
};

// Registers `sql` on the transaction's connection under a name made from a hash of its text and
// returns the name. libpqxx prepares it at its first use there, and again on a new connection.
// A second text with the same hash would make libpqxx refuse it ("Inconsistent redefinition").
std::string PrepareOnce(pqxx::transaction_base& tx, std::string_view sql);

// Runs `sql` with `args` as a statement prepared on the transaction's connection the first time it
// runs there. An unnamed statement (exec_params) is parsed, analysed and planned by PostgreSQL on
// every call: that was 39 % of the database's CPU for each ticket the worker stores
// (docs/benchmarks.md, issue 17, "Eighth round"). For the statements that a hot path runs again
// and again with other values.
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& tx, std::string_view sql, Args&&... args) {
  return tx.exec_prepared(PrepareOnce(tx, sql), std::forward<Args>(args)...);
}

// Turns the exceptions of libpqxx (and any other) into an Error: kUnavailable for failures of
// the environment, kFailed for the rest. The only place that catches libpqxx's exceptions.
Error ErrorFrom(const std::exception& e);

// Runs fn and turns exceptions into an Error.
template <typename T, typename Fn>
Result<T> Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return ErrorFrom(e);
  }
}

template <typename T, typename Fn>
Result<T> Session::Run(Fn&& fn) {
  if (auto st = Connect(); !st)
    return st.error();
  Result<T> r = Guard<T>([&]() -> T { return fn(*conn_); });
  if (!r && IsTransient(r.error()))
    Drop();
  return r;
}

template <typename T, typename Fn>
Result<T> Session::Transact(Fn&& fn) {
  return Run<T>([&](Connection& c) -> T {
    Tx tx(c);
    return fn(tx);
  });
}

template <typename T, typename Fn>
Result<T> Pool::Run(Fn&& fn) {
  auto borrowed = Borrow();
  if (!borrowed)
    return borrowed.error();
  std::unique_ptr<Connection> conn = std::move(borrowed).value();
  Result<T> r = Guard<T>([&]() -> T { return fn(*conn); });
  Return(std::move(conn), r ? Status(Ok{}) : Status(r.error()));
  return r;
}

template <typename T, typename Fn>
Result<T> Pool::Transact(Fn&& fn) {
  return Run<T>([&](Connection& c) -> T {
    Tx tx(c);
    return fn(tx);
  });
}

template <typename T, typename Fn>
Result<T> Pool::Read(Fn&& fn) {
  return Run<T>([&](Connection& c) -> T {
    ReadTx tx(c);
    return fn(tx);
  });
}

}  // namespace meldestelle::db
