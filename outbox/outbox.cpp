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

void RedirectAcknowledgement(db::Tx& tx, const std::string& ticket_id, const std::string& channel,
                             const std::string& address) {
  tx.exec_params0(
      "UPDATE outbox SET channel = $2, address = $3, status = 'pending',"
      " next_attempt_at = now(), updated_at = now()"
      " WHERE ticket_id = $1::uuid AND kind = 'ack' AND channel = 'none'",
      ticket_id, channel, address);
}

namespace {

// The rows ListUnsendable and ResendUnsendable work on ($1: since, unix seconds).
constexpr const char* kUnsendable =
    " FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
    " WHERE o.kind = 'ack' AND o.status = 'failed' AND o.attempts = 0"
    " AND o.last_error LIKE 'no sender for %' AND o.address <> ''"
    " AND t.received_at >= to_timestamp($1)";

}  // namespace

std::vector<Unsendable> ListUnsendable(db::Tx& tx, int64_t since_unix, int limit) {
  auto rows = tx.exec_params(
      std::string("SELECT o.id, t.reference, o.channel,"
                  " to_char(t.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") +
          kUnsendable + " ORDER BY t.received_at, o.id LIMIT $2",
      since_unix, limit);
  std::vector<Unsendable> out;
  for (const auto& r : rows)
    out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                   r[3].as<std::string>()});
  return out;
}

int64_t ResendUnsendable(db::Tx& tx, const std::set<std::string, std::less<>>& channels,
                         int64_t since_unix, std::string_view flag) {
  std::string list;
  for (const auto& c : channels)
    list += (list.empty() ? "" : ",") + c;  // channel names are a-z (the registry's)
  auto rows =
      tx.exec_params(std::string("UPDATE outbox SET status = 'pending', next_attempt_at = now(),"
                                 " updated_at = now(), last_error = NULL, delivery_state = NULL"
                                 " WHERE id IN (SELECT o.id") +
                         kUnsendable +
                         " AND o.channel = ANY (string_to_array($2, ',')) FOR UPDATE OF o)"
                         " RETURNING ticket_id, channel",
                     since_unix, list);
  for (const auto& r : rows) {
    tx.exec_params0(
        "UPDATE tickets SET routing_explanation = jsonb_set(routing_explanation, '{flags}',"
        " (routing_explanation->'flags') - ($3 || ': ' || $2))"
        " WHERE id = $1::uuid AND jsonb_typeof(routing_explanation->'flags') = 'array'",
        r[0].as<std::string>(), r[1].as<std::string>(), std::string(flag));
  }
  return static_cast<int64_t>(rows.size());
}

}  // namespace meldestelle::outbox
