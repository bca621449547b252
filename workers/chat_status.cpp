#include "workers/chat_status.hpp"

#include "core/sql.hpp"

namespace meldestelle::workers {

namespace {

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

void ApplyDeliveryStatus(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id, const std::string& status,
                         int error_code, const std::string& error_title) {
  auto rows = tx.exec_params(
      "SELECT id, coalesce(delivery_state, ''), payload ? 'use_template' FROM outbox"
      " WHERE channel = $1 AND provider_message_id = $2 FOR UPDATE",
      channel, provider_message_id);
  if (rows.empty()) {
    tx.exec_params0(
        "INSERT INTO chat_status_backlog (channel, provider_message_id, status, error_code,"
        " error_title) VALUES ($1, $2, $3, $4, $5)",
        channel, provider_message_id, status, error_code, error_title);
    return;
  }
  for (const auto& row : rows) {
    int64_t id = row[0].as<int64_t>();
    std::string current = row[1].as<std::string>();
    bool templated = row[2].as<bool>();
    if (status == "failed") {
      if (error_code == 131047 && !templated) {
        // Outside the 24-hour window: send the approved template instead (once).
        tx.exec_params0(
            "UPDATE outbox SET status = 'pending', delivery_state = 'failed',"
            " provider_message_id = NULL, next_attempt_at = now(), updated_at = now(),"
            " last_error = $2, payload = payload || '{\"use_template\": true}'::jsonb"
            " WHERE id = $1",
            id, "131047 " + error_title);
      } else {
        tx.exec_params0(
            "UPDATE outbox SET status = 'failed', delivery_state = 'failed',"
            " last_error = $2, updated_at = now() WHERE id = $1",
            id, std::to_string(error_code) + " " + error_title);
      }
    } else if (StateRank(status) > StateRank(current) && current != "failed") {
      tx.exec_params0("UPDATE outbox SET delivery_state = $2, updated_at = now() WHERE id = $1", id,
                      status);
    }
  }
}

void ApplyParkedStatuses(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id) {
  auto parked = tx.exec_params(
      "DELETE FROM chat_status_backlog WHERE channel = $1 AND provider_message_id = $2"
      " RETURNING status, error_code, error_title",
      channel, provider_message_id);
  for (const auto& p : parked) {
    ApplyDeliveryStatus(tx, channel, provider_message_id, p[0].as<std::string>(), p[1].as<int>(),
                        p[2].as<std::string>());
  }
}

}  // namespace meldestelle::workers
