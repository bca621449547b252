#pragma once

#include <memory>
#include <mutex>
#include <vector>
#include <pqxx/pqxx>
#include <string>

#include "core/result.hpp"

namespace meldestelle {

// Opens a libpqxx connection; errors become values ("db_unavailable"). The connection is not
// thread-safe: one per thread.
Result<std::unique_ptr<pqxx::connection>> ConnectDb(const std::string& url);

// Opens `conn` on `url` unless it is open already (the per-thread connection of a store or loop;
// reset it after a transient error and the next call reconnects).
Status EnsureConnected(std::unique_ptr<pqxx::connection>& conn, const std::string& url);

// Error codes produced by RunDb: "db_unavailable" for failures of the environment (connection,
// resources, shutdown, serialisation) that deserve a retry, "db_error" for the rest.
bool IsTransientDbError(const Error& e);

// Runs `fn` and turns libpqxx exceptions into an Error. Exceptions stay inside this wrapper.
template <typename T, typename Fn>
Result<T> RunDb(Fn&& fn) {
  try {
    return fn();
  } catch (const pqxx::broken_connection& e) {
    return MakeError("db_unavailable", "database unavailable", e.what());
  } catch (const pqxx::in_doubt_error& e) {
    return MakeError("db_unavailable", "database transaction in doubt", e.what());
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    std::string cls = state.substr(0, 2);
    // 42P01/42703: the schema is missing or older than the code (migrate not run yet) - wait
    // for the operator instead of dead-lettering every message.
    bool transient = cls == "08" || cls == "53" || cls == "57" || cls == "40" || state.empty() ||
                     state == "42P01" || state == "42703";
    return MakeError(transient ? "db_unavailable" : "db_error", "database error",
                     state + ": " + e.what());
  } catch (const std::exception& e) {
    return MakeError("db_error", "database error", e.what());
  }
}

// A small pool of connections shared by the threads of a server: Run borrows one (or opens one),
// runs fn(connection) inside RunDb, and returns it unless it failed transiently. Thread-safe.
class DbPool {
 public:
  explicit DbPool(std::string url, size_t max_idle = 16) : url_(std::move(url)), max_idle_(max_idle) {}
  template <typename T, typename Fn>
  Result<T> Run(Fn&& fn) {
    auto borrowed = Borrow();
    if (!borrowed) return borrowed.error();
    auto conn = std::move(borrowed).value();
    Result<T> r = RunDb<T>([&] { return fn(*conn); });
    if (r || !IsTransientDbError(r.error())) Return(std::move(conn));
    return r;
  }

 private:
  Result<std::unique_ptr<pqxx::connection>> Borrow();
  void Return(std::unique_ptr<pqxx::connection> c);
  const std::string url_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mu_
};

// Replaces the database name in a postgresql:// URL (used to reach the maintenance database).
std::string WithDatabase(const std::string& url, const std::string& dbname);
std::string DatabaseName(const std::string& url);

}  // namespace meldestelle
