#include "core/db.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "core/sql.hpp"
#include "core/text.hpp"

namespace meldestelle::db {

bool IsTransient(const Error& e) { return e.code == errors::kDbUnavailable; }

bool IsAway(const Error& e) {
  if (e.code != errors::kDbUnavailable)
    return false;
  // ErrorFrom: a broken connection or a transaction in doubt, else "<SQLSTATE>: <what>" (libpq's
  // own errors have no SQLSTATE).
  return e.message != "database error" || e.detail.rfind("08", 0) == 0 ||
         e.detail.rfind("57P0", 0) == 0 || e.detail.rfind(": ", 0) == 0;
}

namespace {

// The SQLSTATE of ErrorFrom's detail of an SQL error ("<SQLSTATE>: <first line>"), else "".
std::string_view SqlState(const Error& e) {
  if ((e.code != errors::kDbError && e.code != errors::kDbUnavailable) || e.detail.size() < 7 ||
      e.detail.compare(5, 2, ": ") != 0)
    return {};
  return std::string_view(e.detail).substr(0, 5);
}

bool HasSqlClass(const Error& e, std::string_view cls) {
  return e.code == errors::kDbError && SqlState(e).substr(0, 2) == cls;
}

}  // namespace

bool IsDataError(const Error& e) { return HasSqlClass(e, "22") || HasSqlClass(e, "23"); }

bool IsConstraintViolation(const Error& e) { return HasSqlClass(e, "23"); }

bool IsLockConflict(const Error& e) {
  // ErrorFrom files a deadlock (class 40) as transient and a lock timeout (class 55) as not.
  const std::string_view state = SqlState(e);
  return state == "40P01" || state == "55P03";
}

std::string PrepareOnce(pqxx::transaction_base& tx, std::string_view sql) {
  char name[24];
  std::snprintf(name, sizeof name, "ms_%016zx", std::hash<std::string_view>{}(sql));
  tx.conn().prepare(name, std::string(sql));  // the same definition again changes nothing
  return name;
}

Error ErrorFrom(const std::exception& ex) {
  if (const auto* e = dynamic_cast<const pqxx::broken_connection*>(&ex)) {
    return MakeError(errors::kDbUnavailable, "database unavailable", e->what());
  }
  if (const auto* e = dynamic_cast<const pqxx::in_doubt_error*>(&ex)) {
    return MakeError(errors::kDbUnavailable, "database transaction in doubt", e->what());
  }
  // libpqxx 6.4 throws class 40 (a deadlock lost, a serialisation failure) as transaction_rollback,
  // which is no sql_error and carries no SQLSTATE: it is named here by its type.
  if (const auto* e = dynamic_cast<const pqxx::transaction_rollback*>(&ex)) {
    const char* state = dynamic_cast<const pqxx::deadlock_detected*>(e)              ? "40P01"
                        : dynamic_cast<const pqxx::serialization_failure*>(e)        ? "40001"
                        : dynamic_cast<const pqxx::statement_completion_unknown*>(e) ? "40003"
                                                                                     : "40000";
    std::string_view what = e->what();
    return MakeError(errors::kDbUnavailable, "database error",
                     Concat({state, ": ", what.substr(0, what.find('\n'))}));
  }
  if (const auto* e = dynamic_cast<const pqxx::sql_error*>(&ex)) {
    const std::string& state = e->sqlstate();
    std::string cls = state.substr(0, 2);
    // 42P01/42703: the schema is missing or older than the code (migrate not run yet) - wait
    // for the operator instead of dead-lettering every message.
    bool transient = cls == "08" || cls == "53" || cls == "57" || cls == "40" || state.empty() ||
                     state == "42P01" || state == "42703";
    // The server's first line only: DETAIL and CONTEXT quote values of the row or of the JSON
    // (a reporter's name, an address), and the error goes into log lines (docs/datenschutz.md).
    std::string_view what = e->what();
    what = what.substr(0, what.find('\n'));
    // A data exception's first line may quote a value too ("invalid input syntax for type
    // uuid: \"…\""): its quoted parts are left out. Other classes quote names (a constraint, a
    // column), which are kept.
    std::string line = cls == "22" ? std::string() : std::string(what);
    for (size_t at = 0; cls == "22" && at < what.size();) {
      const size_t open = what.find('"', at);
      line += what.substr(at, open == std::string_view::npos ? open : open - at);
      if (open == std::string_view::npos)
        break;
      const size_t close = what.find('"', open + 1);
      line += "\"…\"";
      at = close == std::string_view::npos ? what.size() : close + 1;
    }
    return MakeError(transient ? errors::kDbUnavailable : errors::kDbError, "database error",
                     Concat({state, ": ", line}));
  }
  return MakeError(errors::kDbError, "database error", ex.what());
}

Result<std::unique_ptr<Connection>> Connect(const std::string& url) {
  return Guard<std::unique_ptr<Connection>>(
      [&] { return std::make_unique<Connection>(WithConnectionDefaults(url)); });
}

// --- Session ---

Session::Session(std::string url) : url_(std::move(url)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Status Session::Connect() {
  if (conn_ && conn_->is_open())
    return Ok{};
  auto c = db::Connect(url_);
  if (!c)
    return c.error();
  conn_ = std::move(c).value();
  return Ok{};
}

void Session::Drop() { conn_.reset(); }

Status Session::Ping() {
  return Run<Ok>([](Connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return Ok{};
  });
}

// --- Pool ---

Pool::Pool(std::string url, size_t max_idle) : url_(std::move(url)), max_idle_(max_idle) {}
Pool::~Pool() = default;

Result<std::unique_ptr<Connection>> Pool::Borrow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return db::Connect(url_);
}

void Pool::Return(std::unique_ptr<Connection> c, const Status& outcome) {
  // A connection that failed transiently is not trusted again.
  if (!c || !c->is_open() || (!outcome && IsTransient(outcome.error())))
    return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_)
    idle_.push_back(std::move(c));
}

Status Pool::Ping() {
  return Run<Ok>([](Connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return Ok{};
  });
}

// --- URLs ---

namespace {
// Returns [begin, end) of the path's database name in a URL like scheme://auth@host:port/db?x.
std::pair<size_t, size_t> DbNameSpan(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', start);
  size_t query = url.find('?', start);
  if (slash == std::string::npos || (query != std::string::npos && slash > query)) {
    size_t at = query == std::string::npos ? url.size() : query;
    return {at, at};
  }
  size_t end = query == std::string::npos ? url.size() : query;
  return {slash + 1, end};
}
}  // namespace

std::string WithConnectionDefaults(const std::string& url) {
  static constexpr std::pair<const char*, const char*> kDefaults[] = {
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"}};
  // A service (pg_service.conf) names its own settings, which a value in the string would
  // override: left as it is, as is a string libpq cannot read (Connect then says why).
  if (std::getenv("PGSERVICE") != nullptr)
    return url;
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(url.c_str(), &error), &PQconninfoFree);
  if (options == nullptr) {
    PQfreemem(error);
    return url;
  }
  // What the string sets, as libpq reads it (a URI's percent-encoding, several hosts, quoted
  // values), written again as key='value' words, with ours after it for what it leaves unset.
  std::string out;
  std::set<std::string, std::less<>> named;
  auto word = [&out](std::string_view key, std::string_view value) {
    if (!out.empty())
      out += ' ';
    out.append(key).append("='");
    for (char c : value) {
      if (c == '\'' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '\'';
  };
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr)
      continue;
    named.insert(o->keyword);
    word(o->keyword, o->val);
  }
  if (named.count("service") != 0)
    return url;
  for (const auto& [key, value] : kDefaults) {
    if (named.count(key) == 0)
      word(key, value);
  }
  return out;
}

std::string DatabaseName(const std::string& url) {
  auto [b, e] = DbNameSpan(url);
  return url.substr(b, e - b);
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  auto [b, e] = DbNameSpan(url);
  if (b == e && (b == url.size() || url[b] == '?') && (b == 0 || url[b - 1] != '/')) {
    return url.substr(0, b) + "/" + dbname + url.substr(b);
  }
  return url.substr(0, b) + dbname + url.substr(e);
}

}  // namespace meldestelle::db
