#include "tickets/followups.hpp"

#include <nlohmann/json.hpp>

#include "core/sql.hpp"
#include "tickets/events.hpp"
#include "tickets/questions.hpp"

namespace meldestelle::tickets {

bool RecordFollowup(db::Tx& tx, const Config& config, const Followup& f) {
  auto r = tx.exec_params(
      "INSERT INTO ticket_followups (ticket_id, channel, message_id, text, attachments, lat, lon)"
      " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, $7)"
      " ON CONFLICT (channel, message_id) DO NOTHING"
      " RETURNING id, jsonb_array_length(attachments)",
      f.ticket_id, f.channel, f.message_id, f.text,
      f.attachments_json.empty() ? std::string("[]") : f.attachments_json, f.lat, f.lon);
  if (r.empty())
    return false;  // kept before: the ticket did not change
  auto t = tx.exec_params(
      "UPDATE tickets SET updated_at = now() WHERE id = $1::uuid"
      " RETURNING COALESCE(department_id, ''), status",
      f.ticket_id);
  // The routing's flag "Ort fehlt" becomes "Ort nachgereicht" (staff see it; the citizen's
  // messages no longer say the place is missing); the department stays as routed.
  const bool placed =
      f.place_of_ticket && f.lat && f.lon &&
      !tx.exec_params(
             "UPDATE tickets SET lat = $2, lon = $3, location_source = 'device',"
             " routing_explanation = CASE WHEN routing_explanation->'flags' ? 'Ort fehlt'"
             "   THEN jsonb_set(routing_explanation, '{flags}',"
             "     ((routing_explanation->'flags') - 'Ort fehlt') || '[\"Ort nachgereicht\"]')"
             "   ELSE routing_explanation END"
             " WHERE id = $1::uuid AND lat IS NULL RETURNING 1",
             f.ticket_id, *f.lat, *f.lon)
           .empty();
  // In the history, without the citizen's words (they are in the follow-up, with its
  // retention): who sent what kind of thing through which channel.
  HistoryEntry e;
  e.actor = "citizen:" + f.channel;
  e.action = "followup";
  nlohmann::json details = {{"followup", r[0][0].as<int64_t>()},
                            {"channel", f.channel},
                            {"text", !f.text.empty()},
                            {"photos", r[0][1].as<int64_t>()},
                            {"place", f.lat.has_value()}};
  if (placed)
    details["place_of_ticket"] = true;  // the ticket had no place: now the pin is its place
  e.details_json = DetailsText(details);
  const int64_t h = RecordHistory(tx, f.ticket_id, e);
  // The department hears of it while the ticket is theirs and open; a "not fixed" on a done
  // ticket reopens it instead (ReopenByCitizen), which tells them with the follow-up in it.
  if (!t.empty() && f.tell_department) {
    const std::string department = t[0][0].as<std::string>();
    const std::string status = t[0][1].as<std::string>();
    if (!department.empty() &&
        (status == "assigned" || status == "accepted" || status == "in_progress"))
      EnqueueDelivery(tx, config, f.ticket_id, department, "followup", h);
    // The answer to a question (tickets/questions.hpp): the wait ends, the department is told
    // once, with the answer (a delivery "answered").
    if (status == "waiting_for_citizen") {
      EndWaiting(tx, config, f.ticket_id, std::nullopt, "answered", "citizen:" + f.channel, "",
                 DetailsText({{"followup", r[0][0].as<int64_t>()}, {"channel", f.channel}}));
    }
  }
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
