#include "outbox/outbox.hpp"

#include "core/sql.hpp"

namespace meldestelle::outbox {

namespace {

constexpr std::pair<Kind, std::string_view> kKinds[] = {{Kind::kAck, "ack"},
                                                        {Kind::kStatus, "status"},
                                                        {Kind::kChatReply, "chat_reply"},
                                                        {Kind::kForward, "forward"},
                                                        {Kind::kDelivery, "delivery"}};

int StateRank(const std::string& s) {
  if (s == "sent")
    return 1;
  if (s == "delivered")
    return 2;
  if (s == "read")
    return 3;
  return 0;
}

}  // namespace

std::string_view Name(Kind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind)
      return name;
  }
  return "ack";
}

std::optional<Kind> KindNamed(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name)
      return k;
  }
  return std::nullopt;
}

std::optional<int64_t> Enqueue(db::Tx& tx, const NewRow& row) {
  // A row without a dedupe key is unique where the schema says so (one acknowledgement and one
  // forward per ticket); its insert fails the transaction otherwise, as it should.
  auto r = db::ExecPrepared(
      tx,
      "INSERT INTO outbox (ticket_id, kind, channel, address, payload, status, dedupe_key,"
      " delivery_state, last_error)"
      " VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5::jsonb, $6, NULLIF($7, ''),"
      " CASE WHEN $8::text = '' THEN NULL ELSE 'failed' END, NULLIF($8::text, ''))"
      " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
      row.ticket_id, std::string(Name(row.kind)),
      row.channel.empty() ? std::string(kNoChannel) : row.channel, row.address,
      row.payload.empty() ? std::string("{}") : row.payload,
      !row.failed.empty() ? "failed"
      : row.to_send       ? "pending"
                          : "done",
      row.dedupe_key, row.failed);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<int64_t>();
}

void ApplyReceipt(db::Tx& tx, const std::string& channel, const std::string& provider_message_id,
                  const Receipt& receipt) {
  auto rows = tx.exec_params(
      "SELECT id, coalesce(delivery_state, ''), payload ? 'use_template' FROM outbox"
      " WHERE channel = $1 AND provider_message_id = $2 FOR UPDATE",
      channel, provider_message_id);
  if (rows.empty()) {
    tx.exec_params0(
        "INSERT INTO chat_status_backlog (channel, provider_message_id, status, error_code,"
        " error_title) VALUES ($1, $2, $3, $4, $5)",
        channel, provider_message_id, receipt.status, receipt.error_code, receipt.error_title);
    return;
  }
  for (const auto& row : rows) {
    int64_t id = row[0].as<int64_t>();
    std::string current = row[1].as<std::string>();
    bool templated = row[2].as<bool>();
    if (receipt.status == "failed") {
      std::string error = std::to_string(receipt.error_code) + " " + receipt.error_title;
      if (receipt.resend_as_template && !templated) {
        tx.exec_params0(
            "UPDATE outbox SET status = 'pending', delivery_state = 'failed',"
            " provider_message_id = NULL, next_attempt_at = now(), updated_at = now(),"
            " last_error = $2, payload = payload || '{\"use_template\": true}'::jsonb"
            " WHERE id = $1",
            id, error);
      } else {
        tx.exec_params0(
            "UPDATE outbox SET status = 'failed', delivery_state = 'failed',"
            " last_error = $2, updated_at = now() WHERE id = $1",
            id, error);
      }
    } else if (StateRank(receipt.status) > StateRank(current) && current != "failed") {
      tx.exec_params0("UPDATE outbox SET delivery_state = $2, updated_at = now() WHERE id = $1", id,
                      receipt.status);
    }
  }
}

void ApplyParkedReceipts(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id,
                         bool (*resend_as_template)(int error_code)) {
  auto parked = tx.exec_params(
      "DELETE FROM chat_status_backlog WHERE channel = $1 AND provider_message_id = $2"
      " RETURNING status, error_code, error_title",
      channel, provider_message_id);
  for (const auto& p : parked) {
    Receipt r{p[0].as<std::string>(), p[1].as<int>(), p[2].as<std::string>(), false};
    r.resend_as_template =
        r.status == "failed" && resend_as_template != nullptr && resend_as_template(r.error_code);
    ApplyReceipt(tx, channel, provider_message_id, r);
  }
}

void ForgetParkedReceipts(db::Tx& tx, int days) {
  tx.exec_params0(
      "DELETE FROM chat_status_backlog WHERE received_at < now() - make_interval(days => $1)",
      days);
}

void MarkBounced(db::Tx& tx, const std::string& provider_message_id, const std::string& why) {
  tx.exec_params0(
      "UPDATE outbox SET status = 'failed', delivery_state = 'bounced', updated_at = now(),"
      " last_error = 'bounced: ' || $2 WHERE channel = 'email' AND provider_message_id = $1",
      provider_message_id, why);
}

std::string TicketOfMessage(db::Tx& tx, const std::string& channel,
                            const std::string& provider_message_id, const std::string& address) {
  auto r = tx.exec_params(
      "SELECT ticket_id::text FROM outbox WHERE channel = $1 AND provider_message_id = $2"
      " AND ticket_id IS NOT NULL AND ($3 = '' OR address = $3) LIMIT 1",
      channel, provider_message_id, address);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string NoSenderError(std::string_view channel) {
  return "no sender for \"" + std::string(channel) +
         "\" is configured (docs/operations.md, \"Acknowledgements\")";
}

metrics::Counter& UnsendableCounter(metrics::Registry& registry, const std::string& channel) {
  return registry.GetCounter(
      "meldestelle_acknowledgements_unsendable_total",
      "Reports whose acknowledgement was recorded as failed at once: no sender "
      "here for its channel (channel \"other\": a channel nothing sends on).",
      {{"channel", channel}});
}

namespace {

void FlagUnsendable(db::Tx& tx, const std::string& ticket_id, const std::string& channel) {
  tx.exec_params0(
      "UPDATE tickets SET routing_explanation = jsonb_set(coalesce(routing_explanation, '{}'),"
      " '{flags}', coalesce(routing_explanation->'flags', '[]') || to_jsonb($2::text))"
      " WHERE id = $1::uuid AND NOT coalesce(routing_explanation->'flags' ? $2, false)",
      ticket_id, std::string(kFlagAckUnsendable) + ": " + channel);
}

}  // namespace

bool RedirectAcknowledgement(db::Tx& tx, const std::string& ticket_id, const std::string& channel,
                             const std::string& address, const std::string& failed) {
  auto r = tx.exec_params(
      "UPDATE outbox SET channel = $2, address = $3,"
      " status = CASE WHEN $4 = '' THEN 'pending' ELSE 'failed' END,"
      " delivery_state = CASE WHEN $4 = '' THEN NULL ELSE 'failed' END,"
      " last_error = NULLIF($4, ''), next_attempt_at = now(), updated_at = now()"
      " WHERE ticket_id = $1::uuid AND kind = 'ack' AND channel = 'none' RETURNING id",
      ticket_id, channel, address, failed);
  if (!r.empty() && !failed.empty())
    FlagUnsendable(tx, ticket_id, channel);
  return !r.empty();
}

namespace {

// The rows ListUnsendable and ResendUnsendable work on ($1: since, unix seconds).
constexpr const char* kUnsendable =
    " FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
    " WHERE o.kind = 'ack' AND o.status = 'failed' AND o.attempts = 0"
    " AND o.last_error LIKE 'no sender for %' AND o.address <> '' AND t.anonymised_at IS NULL"
    " AND t.received_at >= to_timestamp($1)";

}  // namespace

std::optional<UnsendableAck> UnsendableAcknowledgement(db::Tx& tx, const std::string& ticket_id) {
  auto r = tx.exec_params(
      std::string("SELECT o.channel, o.address") + kUnsendable + " AND t.id = $2::uuid", int64_t{0},
      ticket_id);
  if (r.empty())
    return std::nullopt;
  return UnsendableAck{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
}

UnsendableList ListUnsendable(db::Tx& tx, int64_t since_unix, int limit) {
  auto rows = tx.exec_params(
      std::string("SELECT o.id, t.reference, o.channel, t.status,"
                  " to_char(t.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                  " count(*) OVER ()") +
          kUnsendable + " ORDER BY t.received_at, o.id LIMIT $2",
      since_unix, limit);
  UnsendableList out;
  for (const auto& r : rows) {
    out.rows.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), r[4].as<std::string>()});
    out.total = r[5].as<int64_t>();
  }
  return out;
}

Resent ResendUnsendable(db::Tx& tx, const std::set<std::string, std::less<>>& channels,
                        int64_t since_unix, const std::string& actor) {
  std::string list;
  for (const auto& c : channels)
    list += (list.empty() ? "" : ",") + c;  // channel names are a-z (the registry's)
  const std::string chosen = " AND o.channel = ANY (string_to_array($2, ','))";
  const std::string open = " AND t.status NOT IN ('done', 'rejected', 'duplicate')";
  // The tickets first, in the order of their ids, as an erasure or the retention pass locks a
  // ticket before its outbox rows: one that ran before is left out (anonymised_at), one that
  // comes later waits and finds the row pending (and deletes it). NO KEY UPDATE: rows that
  // refer to the ticket can still be written meanwhile.
  tx.exec_params("SELECT t.id" + std::string(kUnsendable) + chosen + open +
                     " ORDER BY t.id FOR NO KEY UPDATE OF t",
                 since_unix, list);
  auto rows = tx.exec_params(
      "UPDATE outbox SET status = 'pending', next_attempt_at = now(), updated_at = now(),"
      " last_error = NULL, delivery_state = NULL WHERE id IN (SELECT o.id" +
          std::string(kUnsendable) + chosen + open +
          " FOR UPDATE OF o) RETURNING ticket_id, channel",
      since_unix, list);
  for (const auto& r : rows) {
    const std::string ticket = r[0].as<std::string>(), channel = r[1].as<std::string>();
    tx.exec_params0(
        "UPDATE tickets SET routing_explanation = jsonb_set(routing_explanation, '{flags}',"
        " (routing_explanation->'flags') - $2)"
        " WHERE id = $1::uuid AND jsonb_typeof(routing_explanation->'flags') = 'array'",
        ticket, std::string(kFlagAckUnsendable) + ": " + channel);
    tx.exec_params0(
        "INSERT INTO ticket_history (ticket_id, actor, action, note)"
        " VALUES ($1::uuid, $2, 'note', $3)",
        ticket, actor,
        "Eingangsbestätigung nachträglich zum Versand gegeben (" + channel +
            "): ein Absender ist jetzt eingerichtet");
  }
  // What is left, counted after the change (a ticket closed or erased meanwhile included).
  auto left = tx.exec_params(
      "SELECT count(*) FILTER (WHERE o.channel = ANY (string_to_array($2, ','))),"
      " count(*) FILTER (WHERE NOT o.channel = ANY (string_to_array($2, ',')))" +
          std::string(kUnsendable),
      since_unix, list);
  return {static_cast<int64_t>(rows.size()), left[0][0].as<int64_t>(), left[0][1].as<int64_t>()};
}

}  // namespace meldestelle::outbox
