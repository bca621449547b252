#include "tickets/staff_sessions.hpp"

#include <regex>
#include <string>

#include "core/crypto.hpp"
#include "core/sql.hpp"

namespace meldestelle::tickets {
namespace {

// "now() - interval" conditions of a session that has ended, for the limits.
std::string Ended(const SessionLimits& limits) {
  return "(last_seen < now() - make_interval(mins => " + std::to_string(limits.idle_minutes) +
         ") OR created_at < now() - make_interval(hours => " + std::to_string(limits.hours) + "))";
}

bool WellFormed(const std::string& id) {
  static const std::regex kShape("^[0-9a-f]{64}$");
  return std::regex_match(id, kShape);
}

}  // namespace

std::string OpenSession(db::Tx& tx, const std::string& token_id, const SessionLimits& limits) {
  tx.exec0("DELETE FROM staff_sessions WHERE " + Ended(limits));
  std::string id = RandomHex(32);
  tx.exec_params0("INSERT INTO staff_sessions (id_sha256, token_id) VALUES ($1, $2)", Sha256Hex(id),
                  token_id);
  return id;
}

std::optional<StaffSession> FindSession(db::Tx& tx, const std::string& id,
                                        const SessionLimits& limits) {
  if (!WellFormed(id))
    return std::nullopt;
  const std::string hash = Sha256Hex(id);
  auto r = tx.exec_params(
      "SELECT token_id, " + Ended(limits) + " FROM staff_sessions WHERE id_sha256 = $1", hash);
  if (r.empty())
    return std::nullopt;
  if (r[0][1].as<bool>()) {
    tx.exec_params0("DELETE FROM staff_sessions WHERE id_sha256 = $1", hash);
    return std::nullopt;
  }
  auto token = LiveToken(tx, r[0][0].as<std::string>());
  if (!token)
    return std::nullopt;
  tx.exec_params0(
      "UPDATE staff_sessions SET last_seen = now() WHERE id_sha256 = $1"
      " AND last_seen < now() - interval '1 minute'",
      hash);
  return StaffSession{hash, *token};
}

void CloseSession(db::Tx& tx, const std::string& id) {
  if (WellFormed(id))
    tx.exec_params0("DELETE FROM staff_sessions WHERE id_sha256 = $1", Sha256Hex(id));
}

}  // namespace meldestelle::tickets
