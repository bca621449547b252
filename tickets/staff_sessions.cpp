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

std::string OpenSession(db::Tx& tx, const Person& person, const SessionLimits& limits) {
  tx.exec0("DELETE FROM staff_sessions WHERE " + Ended(limits));
  std::string id = RandomHex(32);
  tx.exec_params0(
      "INSERT INTO staff_sessions (id_sha256, username, display_name, source, role,"
      " department_id) VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''))",
      Sha256Hex(id), person.username, person.display_name, person.source, person.role,
      person.department_id);
  return id;
}

std::optional<StaffSession> FindSession(db::Tx& tx, const std::string& id,
                                        const SessionLimits& limits) {
  if (!WellFormed(id))
    return std::nullopt;
  const std::string hash = Sha256Hex(id);
  // A local account disabled or given a new password since the sign-in ends the session
  // (SetDisabled and SetPassword delete them too; this also covers a sign-in that raced them,
  // and an account deleted in the database by hand).
  auto r = tx.exec_params(
      "SELECT username, display_name, source, role, coalesce(department_id, ''), " + Ended(limits) +
          " OR (source = 'local' AND NOT EXISTS (SELECT 1 FROM staff_accounts a"
          " WHERE a.username = s.username AND a.disabled_at IS NULL"
          " AND a.password_changed_at <= s.created_at))"
          " FROM staff_sessions s WHERE id_sha256 = $1",
      hash);
  if (r.empty())
    return std::nullopt;
  if (r[0][5].as<bool>()) {
    tx.exec_params0("DELETE FROM staff_sessions WHERE id_sha256 = $1", hash);
    return std::nullopt;
  }
  Person p{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
           r[0][3].as<std::string>(), r[0][4].as<std::string>()};
  tx.exec_params0(
      "UPDATE staff_sessions SET last_seen = now() WHERE id_sha256 = $1"
      " AND last_seen < now() - interval '1 minute'",
      hash);
  return StaffSession{hash, p.AsPrincipal()};
}

void CloseSession(db::Tx& tx, const std::string& id) {
  if (WellFormed(id))
    tx.exec_params0("DELETE FROM staff_sessions WHERE id_sha256 = $1", Sha256Hex(id));
}

}  // namespace meldestelle::tickets
