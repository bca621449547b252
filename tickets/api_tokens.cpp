#include "tickets/api_tokens.hpp"

#include <regex>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/sql.hpp"

namespace meldestelle::tickets {

namespace {

constexpr const char* kIso = "YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"";

ApiToken FromRow(const pqxx::row& row) {
  ApiToken t;
  t.id = row[0].as<std::string>();
  t.role = row[1].as<std::string>();
  t.department_id = row[2].as<std::string>();
  t.label = row[3].as<std::string>();
  t.created_at = row[4].as<std::string>();
  t.revoked_at = row[5].as<std::string>();
  t.last_used_at = row[6].as<std::string>();
  return t;
}

std::string Columns() {
  return std::string(
             "SELECT id, role, coalesce(department_id, ''), label,"
             " to_char(created_at AT TIME ZONE 'UTC', '") +
         kIso +
         "'),"
         " coalesce(to_char(revoked_at AT TIME ZONE 'UTC', '" +
         kIso +
         "'), ''),"
         " coalesce(to_char(last_used_at AT TIME ZONE 'UTC', '" +
         kIso +
         "'), '')"
         " FROM api_tokens ";
}

}  // namespace

std::string ApiToken::Actor() const {
  if (!person.empty())
    return (label.empty() ? person : label) + " (" + person + ")";
  return (label.empty() ? std::string("unnamed") : label) + " (token " + id + ")";
}

Result<CreatedToken> CreateToken(db::Session& db, const Config& config,
                                 const std::string& department_id, bool operator_role,
                                 const std::string& label) {
  if (operator_role == !department_id.empty()) {
    return MakeError(errors::kUsage, "a token is either for one department or for an operator");
  }
  if (!operator_role && config.FindDepartment(department_id) == nullptr) {
    return MakeError(errors::kUnknownDepartment, "unknown department \"" + department_id + "\"",
                     "configured departments are listed under departments: in the config");
  }
  return db.Transact<CreatedToken>([&](db::Tx& tx) {
    CreatedToken c;
    // Ids are short for people to read; a collision (1 in 4 billion) just draws again.
    for (;;) {
      c.token.id = RandomHex(4);
      if (tx.exec_params("SELECT 1 FROM api_tokens WHERE id = $1", c.token.id).empty())
        break;
    }
    c.secret = "mst_" + c.token.id + "_" + RandomHex(24);
    tx.exec_params0(
        "INSERT INTO api_tokens (id, secret_sha256, role, department_id, label)"
        " VALUES ($1, $2, $3, NULLIF($4, ''), $5)",
        c.token.id, Sha256Hex(c.secret), operator_role ? "operator" : "department", department_id,
        label);
    auto row = tx.exec_params1(Columns() + "WHERE id = $1", c.token.id);
    c.token = FromRow(row);
    tx.commit();
    return c;
  });
}

Result<std::vector<ApiToken>> ListTokens(db::Session& db) {
  return db.Run<std::vector<ApiToken>>([&](db::Connection& conn) {
    db::ReadTx tx(conn);
    std::vector<ApiToken> out;
    for (const auto& row : tx.exec(Columns() + "ORDER BY created_at, id")) {
      out.push_back(FromRow(row));
    }
    return out;
  });
}

Status RevokeToken(db::Session& db, const std::string& id) {
  auto r = db.Transact<bool>([&](db::Tx& tx) {
    bool found = !tx.exec_params(
                        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                        " WHERE id = $1 RETURNING 1",
                        id)
                      .empty();
    tx.commit();
    return found;
  });
  if (!r)
    return r.error();
  if (!*r)
    return MakeError(errors::kNotFound, "no token with id \"" + id + "\"");
  return Ok{};
}

std::optional<ApiToken> Authenticate(db::Tx& tx, const std::string& bearer) {
  static const std::regex kShape("^mst_[0-9a-f]{8}_[0-9a-f]{48}$");
  if (!std::regex_match(bearer, kShape))
    return std::nullopt;
  auto r = tx.exec_params(Columns() + "WHERE secret_sha256 = $1 AND revoked_at IS NULL",
                          Sha256Hex(bearer));
  if (r.empty())
    return std::nullopt;
  ApiToken t = FromRow(r[0]);
  tx.exec_params0(
      "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"
      " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
      t.id);
  return t;
}

std::optional<ApiToken> LiveToken(db::Tx& tx, const std::string& id) {
  auto r = tx.exec_params(Columns() + "WHERE id = $1 AND revoked_at IS NULL", id);
  if (r.empty())
    return std::nullopt;
  return FromRow(r[0]);
}

}  // namespace meldestelle::tickets
