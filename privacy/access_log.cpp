#include "privacy/access_log.hpp"

#include "core/errors.hpp"
#include "core/sql.hpp"

namespace meldestelle::privacy {

void RecordContactView(db::Tx& tx, const std::string& ticket_id, const std::string& actor,
                       const std::string& actor_role, const std::string& surface) {
  tx.exec_params0(
      "INSERT INTO contact_views (ticket_id, actor, actor_role, surface)"
      " VALUES ($1::uuid, $2, $3, $4)",
      ticket_id, actor, actor_role, surface);
}

Result<std::vector<ContactView>> ContactViews(const std::string& database_url,
                                              const std::string& reference) {
  auto conn = db::Connect(database_url);
  if (!conn)
    return conn.error();
  return db::Guard<std::vector<ContactView>>([&]() -> Result<std::vector<ContactView>> {
    db::ReadTx tx(**conn);
    auto t = tx.exec_params("SELECT id::text FROM tickets WHERE reference = $1", reference);
    if (t.empty())
      return MakeError(errors::kNotFound, "no ticket has the reference " + reference);
    std::vector<ContactView> out;
    for (const auto& r : tx.exec_params(
             "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), actor,"
             " actor_role, surface FROM contact_views WHERE ticket_id = $1::uuid ORDER BY at, id",
             t[0][0].as<std::string>())) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>()});
    }
    return out;
  });
}

}  // namespace meldestelle::privacy
