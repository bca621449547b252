#include "tickets/questions.hpp"

#include "core/sql.hpp"
#include "tickets/events.hpp"

namespace meldestelle::tickets {

std::string SettleWait(db::Tx& tx, const std::string& ticket_id, std::optional<int64_t> at) {
  // The pause is counted to `now_unix`, never below zero (a clock given by hand before the
  // question).
  auto r = tx.exec_params(
      "WITH w AS (SELECT id, waiting_from_status, greatest(0, extract(epoch FROM"
      "  coalesce(to_timestamp($2), now()) - waiting_since))::double precision AS waited"
      "  FROM tickets WHERE id = $1::uuid AND status = 'waiting_for_citizen' FOR UPDATE)"
      " UPDATE tickets t SET status = coalesce(w.waiting_from_status, 'accepted'),"
      "  paused_seconds = t.paused_seconds + w.waited,"
      "  paused_before_accept_seconds = t.paused_before_accept_seconds"
      "   + CASE WHEN t.accepted_at IS NULL THEN w.waited ELSE 0 END,"
      "  assigned_at = t.assigned_at + make_interval(secs => w.waited),"
      "  waiting_since = NULL, waiting_from_status = NULL, updated_at = now()"
      " FROM w WHERE t.id = w.id RETURNING t.status",
      ticket_id, at);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

bool EndWaiting(db::Tx& tx, const Config& config, const std::string& ticket_id,
                std::optional<int64_t> at, const std::string& action, const std::string& actor,
                const std::string& note, const std::string& details_json) {
  const std::string status = SettleWait(tx, ticket_id, at);
  if (status.empty())
    return false;
  auto d = tx.exec_params1("SELECT department_id FROM tickets WHERE id = $1::uuid", ticket_id);
  HistoryEntry e;
  e.actor = actor;
  e.action = action;
  e.from_status = "waiting_for_citizen";
  e.to_status = status;
  e.note = note;
  e.details_json = details_json;
  const int64_t h = RecordHistory(tx, ticket_id, e);
  EnqueueDelivery(tx, config, ticket_id, d[0].as<std::string>(), action, h);
  return true;
}

std::string WaitingTicketOf(db::Tx& tx, const std::string& channel, const std::string& address) {
  auto r = tx.exec_params(
      "SELECT o.ticket_id::text FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
      " WHERE o.kind = 'status' AND o.channel = $1 AND o.address = $2"
      " AND o.payload->>'event' = 'question' AND t.status = 'waiting_for_citizen'"
      " ORDER BY o.id DESC LIMIT 1",
      channel, address);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

}  // namespace meldestelle::tickets
