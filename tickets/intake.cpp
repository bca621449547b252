#include "tickets/intake.hpp"

#include "core/sql.hpp"

namespace meldestelle::tickets {

IntakeStore::IntakeStore(std::string url, size_t max_idle) : pool_(std::move(url), max_idle) {}

Result<std::optional<IntakeStore::Key>> IntakeStore::Reserve(const std::string& channel,
                                                             const std::string& key,
                                                             const Key& fresh) {
  return pool_.Run<std::optional<Key>>([&](pqxx::connection& c) -> std::optional<Key> {
    pqxx::nontransaction tx(c);
    auto ins = tx.exec_params(
        "INSERT INTO intake_keys (channel, key, reference, report_id, request_hash, envelope)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel, key) DO NOTHING"
        " RETURNING 1",
        channel, key, fresh.reference, fresh.report_id, fresh.request_hash, fresh.envelope);
    if (!ins.empty())
      return std::nullopt;
    auto row = tx.exec_params1(
        "SELECT reference, report_id::text, request_hash, state, envelope FROM intake_keys"
        " WHERE channel = $1 AND key = $2",
        channel, key);
    return Key{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
               row[3].as<std::string>(), row[4].as<std::string>()};
  });
}

Status IntakeStore::MarkConfirmed(const std::string& channel, const std::string& key) {
  return pool_.Run<Ok>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    // Once the broker has the message, the copy is not needed (it was kept only to publish the
    // same report again after an unconfirmed attempt): docs/datenschutz.md, "Minimisation".
    tx.exec_params0(
        "UPDATE intake_keys SET state = 'confirmed', envelope = '' WHERE channel = $1 AND key = $2",
        channel, key);
    return Ok{};
  });
}

Result<std::optional<IntakeStore::PublicStatus>> IntakeStore::Lookup(const std::string& ref) {
  return pool_.Run<std::optional<PublicStatus>>(
      [&](pqxx::connection& c) -> std::optional<PublicStatus> {
        pqxx::nontransaction tx(c);
        const char* kIso = "YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"";
        auto t = tx.exec_params(
            // A hand-back is internal: the citizen sees "assigned" until it is re-routed.
            std::string("SELECT t.reference, replace(COALESCE(o.status, t.status),"
                        " 'handed_back', 'assigned'),"
                        " COALESCE(o.department_name, t.department_name),"
                        " COALESCE(t.category, ''),"
                        " to_char(t.received_at AT TIME ZONE 'UTC', '") +
                kIso +
                "'),"
                " to_char(COALESCE(o.updated_at, t.updated_at) AT TIME ZONE 'UTC', '" +
                kIso +
                "'), COALESCE(o.reference, '')"
                " FROM tickets t LEFT JOIN tickets o ON o.id = t.duplicate_of"
                " WHERE t.reference = $1",
            ref);
        if (!t.empty()) {
          return PublicStatus{t[0][0].as<std::string>(), t[0][1].as<std::string>(),
                              t[0][2].as<std::string>(), t[0][3].as<std::string>(),
                              t[0][4].as<std::string>(), t[0][5].as<std::string>(),
                              t[0][6].as<std::string>()};
        }
        // Accepted at intake, not yet routed (the worker is behind or the message is pending).
        auto k = tx.exec_params(
            std::string("SELECT reference, to_char(created_at AT TIME ZONE 'UTC', '") + kIso +
                "') FROM intake_keys WHERE reference = $1 AND state = 'confirmed'",
            ref);
        if (!k.empty()) {
          std::string at = k[0][1].as<std::string>();
          return PublicStatus{ref, "received", "", "", at, at, ""};
        }
        return std::nullopt;
      });
}

Status IntakeStore::Read(const std::function<void(db::Connection&)>& read) {
  return pool_.Run<Ok>([&](db::Connection& c) {
    read(c);
    return Ok{};
  });
}

Status IntakeStore::Ping() {
  return pool_.Run<Ok>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return Ok{};
  });
}

Status IntakeStore::RecordOptOut(const std::string& channel, const std::string& address,
                                 const std::string& source) {
  return pool_.Run<Ok>([&](pqxx::connection& c) {
    db::Tx tx(c);
    tx.exec_params0(
        "INSERT INTO notification_optouts (channel, address, source) VALUES ($1, $2, $3)"
        " ON CONFLICT (channel, address) DO NOTHING",
        channel, address, source);
    tx.commit();
    return Ok{};
  });
}

Result<std::optional<std::string>> IntakeStore::MessageAddress(const std::string& channel,
                                                               int64_t message_id) {
  return pool_.Read<std::optional<std::string>>([&](db::ReadTx& tx) -> std::optional<std::string> {
    auto r = tx.exec_params(
        "SELECT address FROM outbox WHERE id = $1 AND channel = $2"
        " AND address <> ''",
        message_id, channel);
    if (r.empty())
      return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

}  // namespace meldestelle::tickets
