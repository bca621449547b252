#include "tickets/events.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/sql.hpp"
#include "outbox/outbox.hpp"
#include "tickets/questions.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

std::string DetailsText(const json& details) {
  return details.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t RecordHistory(db::Tx& tx, const std::string& ticket_id, const HistoryEntry& e) {
  auto r = db::ExecPrepared(
      tx,
      "INSERT INTO ticket_history (ticket_id, actor, actor_department, action, from_status,"
      " to_status, from_department, to_department, public_note, note, details)"
      " VALUES ($1::uuid, $2, NULLIF($3, ''), $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''),"
      " NULLIF($8, ''), $9, $10, $11::jsonb) RETURNING id",
      ticket_id, e.actor, e.actor_department, e.action, e.from_status, e.to_status,
      e.from_department, e.to_department, e.public_note, e.note, e.details_json);
  return r.at(0).at(0).as<int64_t>();
}

bool IsPublicEvent(const std::string& event) {
  return event == "accepted" || event == "in_progress" || event == "done" || event == "rejected" ||
         event == "forwarded" || event == "duplicate";
}

int EnqueueCitizenNotifications(db::Tx& tx, const Config& config, const std::string& ticket_id,
                                const std::string& event, const std::string& department,
                                const std::string& public_note, int64_t history_id,
                                const std::string& existing_reference) {
  // A question of staff (tickets/questions.hpp) is no status notice: it goes to the ticket's own
  // reporter, also where status notices are switched off.
  const bool question = IsQuestionEvent(event);
  if (!question && (!config.Get<NotificationSettings>().enabled || !IsPublicEvent(event)))
    return 0;
  // The ticket's own reporter and the reporters of its duplicates, reached the way their own
  // acknowledgement went (or was to go); one message per address, even if one citizen reported
  // the same defect twice (their own ticket's row first). Not where the acknowledgement failed
  // at once, never tried (no sender for its channel here: workers::Admitter): a notice there
  // would wait for ever too.
  auto rows = tx.exec_params(
      "SELECT DISTINCT ON (a.channel, a.address) t.id::text, t.reference, a.channel, a.address,"
      " coalesce(a.payload->>'language', t.reporter->>'language', 'de'),"
      " coalesce(a.provider_message_id, ''), coalesce(a.payload->>'in_reply_to', ''),"
      " coalesce(a.payload->'references', '[]')::text"
      " FROM tickets t JOIN outbox a ON a.ticket_id = t.id AND a.kind = 'ack'"
      " WHERE (t.id = $1::uuid OR (t.duplicate_of = $1::uuid AND NOT $2))"
      " AND a.channel NOT IN ('none', '') AND a.address <> ''"
      // An SMS cannot carry the citizen's answer back (no inbound SMS here): no question by SMS.
      " AND NOT ($2 AND a.channel = 'sms')"
      " AND NOT (a.status = 'failed' AND a.attempts = 0)"
      " AND NOT EXISTS (SELECT 1 FROM notification_optouts o"
      "                 WHERE o.channel = a.channel AND o.address = a.address)"
      " ORDER BY a.channel, a.address, t.id <> $1::uuid, t.received_at",
      ticket_id, question);
  // The changed ticket's reference, and for `duplicate` the ticket it was merged into.
  auto ticket = tx.exec_params(
      "SELECT t.reference, coalesce(d.reference, '') FROM tickets t"
      " LEFT JOIN tickets d ON d.id = t.duplicate_of WHERE t.id = $1::uuid",
      ticket_id);
  if (ticket.empty())
    return 0;
  int queued = 0;
  for (const auto& row : rows) {
    std::string reporter_ticket = row[0].as<std::string>();
    std::string channel = row[2].as<std::string>();
    json payload{{"event", event},
                 {"reference", row[1].as<std::string>()},
                 {"ticket_reference", ticket[0][0].as<std::string>()},
                 {"department", department},
                 {"note", public_note},
                 {"language", row[4].as<std::string>()}};
    if (event == "duplicate") {
      // The staff API names the ticket before the link is written; otherwise it is duplicate_of.
      payload["merged_into"] =
          !existing_reference.empty() ? existing_reference : ticket[0][1].as<std::string>();
    }
    // E-mail: threaded to our first acknowledgement and the citizen's mails before it. If the
    // acknowledgement is not sent yet, the dispatcher looks its Message-ID up when sending.
    if (std::string ack_id = row[5].as<std::string>(); channel == "email" && !ack_id.empty()) {
      payload["in_reply_to"] = ack_id;
      json refs = json::array();
      json before = json::parse(row[7].as<std::string>(), nullptr, false);
      if (before.is_array()) {
        for (const auto& r : before)
          if (r.is_string())
            refs.push_back(r);
      }
      if (std::string first = row[6].as<std::string>();
          !first.empty() && std::find(refs.begin(), refs.end(), json(first)) == refs.end())
        refs.push_back(first);
      refs.push_back(ack_id);
      payload["references"] = refs;
    }
    auto inserted = outbox::Enqueue(
        tx, {outbox::Kind::kStatus, reporter_ticket, channel, row[3].as<std::string>(),
             payload.dump(-1, ' ', false, json::error_handler_t::replace),
             "status:" + std::to_string(history_id) + ":" + reporter_ticket});
    queued += inserted ? 1 : 0;
  }
  return queued;
}

bool EnqueueDelivery(db::Tx& tx, const Config& config, const std::string& ticket_id,
                     const std::string& department_id, const std::string& reason,
                     int64_t history_id) {
  const Department* d = config.FindDepartment(department_id);
  if (d == nullptr || d->delivery == "none")
    return false;
  std::string channel = d->delivery == "webhook" ? "dept_webhook" : "dept_email";
  std::string address = d->delivery == "webhook" ? d->webhook_url : d->email;
  if (address.empty())
    return false;
  json payload{{"department", department_id}, {"reason", reason}, {"history_id", history_id}};
  outbox::Enqueue(tx, {outbox::Kind::kDelivery, ticket_id, channel, address, payload.dump(),
                       "delivery:" + ticket_id + ":" + department_id + ":" + reason + ":" +
                           std::to_string(history_id)});
  return true;
}

std::string PublicStatus(const std::string& status) {
  if (status == "assigned" || status == "handed_back")
    return "received";
  if (status == "accepted" || status == "in_progress" || status == "waiting_for_citizen")
    return "in_progress";
  if (status == "done")
    return "done";
  if (status == "rejected")
    return "rejected";
  return status;
}

}  // namespace meldestelle::tickets
