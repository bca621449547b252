#include "core/db.hpp"

namespace meldestelle {

Result<std::unique_ptr<pqxx::connection>> ConnectDb(const std::string& url) {
  return RunDb<std::unique_ptr<pqxx::connection>>(
      [&] { return std::make_unique<pqxx::connection>(url); });
}

bool IsTransientDbError(const Error& e) { return e.code == "db_unavailable"; }

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

Status EnsureConnected(std::unique_ptr<pqxx::connection>& conn, const std::string& url) {
  if (conn && conn->is_open()) return Ok{};
  auto c = ConnectDb(url);
  if (!c) return c.error();
  conn = std::move(c).value();
  return Ok{};
}

Result<std::unique_ptr<pqxx::connection>> DbPool::Borrow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return ConnectDb(url_);
}

void DbPool::Return(std::unique_ptr<pqxx::connection> c) {
  if (!c || !c->is_open()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

}  // namespace meldestelle
