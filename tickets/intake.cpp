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

Result<IntakeStore::PublicPage> IntakeStore::ListPublic(const PublicQuery& q) {
  return pool_.Run<PublicPage>([&](pqxx::connection& c) -> PublicPage {
    pqxx::nontransaction tx(c);
    // An allow-list: a code that is not a plain category code ([A-Z]{2,4}-[0-9]{2}, checked when
    // the configuration is read) is left out, and so are its tickets.
    std::string published = "{";
    for (const auto& code : q.published_categories) {
      if (code.empty() || code.find_first_of(",{}\"\\ ") != std::string::npos)
        continue;
      published += (published.size() > 1 ? "," : "") + code;
    }
    published += "}";
    // open: with the department or handed back; work: accepted or in progress; done: closed
    // within done_days.
    const std::string where =
        " FROM tickets t WHERE t.duplicate_of IS NULL AND t.status <> 'rejected'"
        " AND COALESCE(t.routed_category, t.category) = ANY($1::text[])"
        " AND (t.category IS NULL OR t.category = ANY($1::text[]))"
        " AND (t.channel = 'open311' OR NOT $4)"
        " AND (t.status <> 'done' OR t.closed_at >= now() - make_interval(days => $2))"
        " AND (CASE WHEN t.status IN ('assigned', 'handed_back') THEN 'open'"
        "  WHEN t.status = 'done' THEN 'done' ELSE 'work' END = $3 OR $3 = '')";
    PublicPage page;
    page.total = tx.exec_params1("SELECT count(*)" + where, published, q.done_days, q.status,
                                 q.open311_only)[0]
                     .as<int64_t>();
    auto rows = tx.exec_params(
        "SELECT t.reference, CASE WHEN t.status IN ('assigned', 'handed_back') THEN 'open'"
        " WHEN t.status = 'done' THEN 'done' ELSE 'work' END,"
        " COALESCE(t.routed_category, t.category), t.public_text, t.channel,"
        " to_char(t.received_at AT TIME ZONE $5, 'DD.MM.YYYY'), t.lat, t.lon" +
            where + " ORDER BY t.received_at DESC, t.reference LIMIT $6 OFFSET $7",
        published, q.done_days, q.status, q.open311_only, q.timezone, q.page_size,
        static_cast<int64_t>(q.page - 1) * q.page_size);
    for (const auto& row : rows) {
      PublicReport r;
      r.reference = row[0].as<std::string>();
      r.status = row[1].as<std::string>();
      r.category = row[2].as<std::string>();
      r.public_text = row[3].as<std::string>();
      r.channel = row[4].as<std::string>();
      r.received_local = row[5].as<std::string>();
      if (!row[6].is_null() && !row[7].is_null()) {
        r.lat = row[6].as<double>();
        r.lon = row[7].as<double>();
      }
      r.awaits_fixing = r.status != "done";
      page.reports.push_back(std::move(r));
    }
    return page;
  });
}

Result<std::optional<IntakeStore::PublicStatus>> IntakeStore::Lookup(const std::string& ref,
                                                                     const std::string& timezone) {
  return pool_.Run<std::optional<PublicStatus>>(
      [&](pqxx::connection& c) -> std::optional<PublicStatus> {
        pqxx::nontransaction tx(c);
        const char* kIso = "YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"";
        // The town's local time as the status page shows it; the zone is the configured one
        // (checked when the configuration is read), UTC when none is asked for.
        const std::string zone = timezone.empty() ? "UTC" : timezone;
        const char* kLocal = "DD.MM.YYYY, HH24:MI";
        auto t = tx.exec_params(
            // A hand-back is internal: the citizen sees "assigned" until it is re-routed.
            // A ticket waiting for the citizen's answer shows the status it had before.
            std::string("SELECT t.reference, replace(CASE WHEN COALESCE(o.status, t.status) ="
                        " 'waiting_for_citizen' THEN COALESCE(o.waiting_from_status,"
                        " t.waiting_from_status, 'accepted') ELSE COALESCE(o.status, t.status) END,"
                        " 'handed_back', 'assigned'),"
                        " COALESCE(o.department_name, t.department_name),"
                        " COALESCE(t.category, ''),"
                        " to_char(t.received_at AT TIME ZONE 'UTC', '") +
                kIso +
                "'),"
                " to_char(COALESCE(o.updated_at, t.updated_at) AT TIME ZONE 'UTC', '" +
                kIso +
                "'), COALESCE(o.reference, ''), COALESCE(o.id, t.id)::text,"
                " COALESCE(o.lat, t.lat), COALESCE(o.lon, t.lon),"
                " to_char(t.received_at AT TIME ZONE $2, '" +
                kLocal +
                "'), COALESCE(o.status, t.status) = 'done' AND NOT EXISTS (SELECT 1 FROM"
                " fix_answers a WHERE a.ticket_id = COALESCE(o.id, t.id)"
                " AND a.closed_at = COALESCE(o.closed_at, t.closed_at)),"
                " COALESCE(o.routed_category, o.category, t.routed_category, t.category, ''),"
                " COALESCE(CASE WHEN o.id IS NULL THEN t.category ELSE o.category END, ''),"
                " COALESCE(o.channel, t.channel)"
                " FROM tickets t LEFT JOIN tickets o ON o.id = t.duplicate_of"
                " WHERE t.reference = $1",
            ref, zone);
        if (!t.empty()) {
          const auto& row = t[0];
          PublicStatus s;
          s.reference = row[0].as<std::string>();
          s.status = row[1].as<std::string>();
          s.department = row[2].as<std::string>();
          s.category = row[3].as<std::string>();
          s.received_at = row[4].as<std::string>();
          s.updated_at = row[5].as<std::string>();
          s.duplicate_of = row[6].as<std::string>();
          if (timezone.empty())
            return s;
          if (!row[8].is_null() && !row[9].is_null()) {
            s.lat = row[8].as<double>();
            s.lon = row[9].as<double>();
          }
          s.received_local = row[10].as<std::string>();
          s.awaits_fix_answer = row[11].as<bool>();
          s.routed_category = row[12].as<std::string>();
          s.shown_category = row[13].as<std::string>();
          s.channel = row[14].as<std::string>();
          // What a citizen may see of the history (as in the export of docs/datenschutz.md):
          // the routing, acceptance, status changes, re-routing, linking and reopening, with
          // the notes written for the citizen; never the internal note or who did it.
          for (const auto& h : tx.exec_params(
                   std::string("SELECT to_char(at AT TIME ZONE $2, '") + kLocal +
                       "'), action, COALESCE(replace(to_status, 'handed_back', 'assigned'), ''),"
                       " COALESCE(to_department, ''), public_note FROM ticket_history"
                       " WHERE ticket_id = $1::uuid AND action IN ('routed', 'accepted',"
                       " 'rerouted', 'forwarded', 'status', 'duplicate', 'reopened') ORDER BY id",
                   row[7].as<std::string>(), zone)) {
            s.history.push_back({h[0].as<std::string>(), h[1].as<std::string>(),
                                 h[2].as<std::string>(), h[3].as<std::string>(),
                                 h[4].as<std::string>()});
          }
          return s;
        }
        // Accepted at intake, not yet routed (the worker is behind or the message is pending).
        auto k = tx.exec_params(
            std::string("SELECT reference, to_char(created_at AT TIME ZONE 'UTC', '") + kIso +
                "'), to_char(created_at AT TIME ZONE $2, '" + kLocal +
                "') FROM intake_keys WHERE reference = $1 AND state = 'confirmed'",
            ref, zone);
        if (!k.empty()) {
          std::string at = k[0][1].as<std::string>();
          PublicStatus s;
          s.reference = ref;
          s.status = "received";
          s.received_at = s.updated_at = at;
          s.received_local = k[0][2].as<std::string>();
          return s;
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

Status IntakeStore::Write(const std::function<void(db::Tx&)>& write) {
  return pool_.Transact<Ok>([&](db::Tx& tx) {
    write(tx);
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
    // The citizen's own word outlasts an opt-out of ours (blocked, refused), which a started
    // bot or a delivered acknowledgement ends.
    tx.exec_params0(
        "INSERT INTO notification_optouts (channel, address, source) VALUES ($1, $2, $3)"
        " ON CONFLICT (channel, address) DO UPDATE SET source = EXCLUDED.source, at = now()"
        " WHERE notification_optouts.source IN ('blocked', 'refused')",
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
