#include "tickets/provider_events.hpp"

#include "core/crypto.hpp"
#include "core/sql.hpp"

namespace meldestelle::tickets {

bool RememberProviderEvent(db::Tx& tx, const std::string& channel, const std::string& key,
                           const std::string& sender, const std::string& outcome) {
  return !tx.exec_params(
                "INSERT INTO chat_events (channel, dedupe_key, sender, outcome)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
                channel, key, sender, outcome)
              .empty();
}

void StoreRawPayload(db::Tx& tx, const RawPayload& raw) {
  pqxx::binarystring body(raw.body.data(), raw.body.size());
  db::ExecPrepared(
      tx,
      "INSERT INTO raw_payloads (sha256, content_type, body) VALUES ($1, $2, $3)"
      " ON CONFLICT (sha256) DO NOTHING",
      Sha256Hex(raw.body), raw.content_type, body);
}

}  // namespace meldestelle::tickets
