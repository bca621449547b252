#include "tickets/followups.hpp"

#include "core/sql.hpp"

namespace meldestelle::tickets {

bool RecordFollowup(db::Tx& tx, const Followup& f) {
  auto r = tx.exec_params(
      "INSERT INTO ticket_followups (ticket_id, channel, message_id, text, attachments, lat, lon)"
      " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, $7)"
      " ON CONFLICT (channel, message_id) DO NOTHING RETURNING 1",
      f.ticket_id, f.channel, f.message_id, f.text,
      f.attachments_json.empty() ? std::string("[]") : f.attachments_json, f.lat, f.lon);
  if (r.empty())
    return false;  // kept before: the ticket did not change
  tx.exec_params0("UPDATE tickets SET updated_at = now() WHERE id = $1::uuid", f.ticket_id);
  return true;
}

std::string TicketIdOf(db::Tx& tx, const std::string& reference) {
  auto r = tx.exec_params("SELECT id::text FROM tickets WHERE reference = $1", reference);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string ReferenceOf(db::Tx& tx, const std::string& ticket_id) {
  auto r = tx.exec_params("SELECT reference FROM tickets WHERE id = $1::uuid", ticket_id);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

}  // namespace meldestelle::tickets
