#include "tickets/store.hpp"

#include <nlohmann/json.hpp>

#include "core/sql.hpp"
#include "outbox/outbox.hpp"
#include "tickets/duplicates.hpp"
#include "tickets/events.hpp"
#include "tickets/provider_events.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

Status TicketStore::Ping() { return session_.Ping(); }

namespace {

using nlohmann::json;

struct Link {
  std::string id;
  std::string reference;
  double distance_m = 0;
};

// The open ticket this report duplicates, if any. Serialised per category and coarse grid cell
// with transaction-scoped advisory locks (key space 7412005; the two-int form never collides with
// the migrator's one-bigint lock): two near-identical reports processed at once by two workers
// share a lock key (LockKeys), so the second waits until the first has committed and then finds
// it — they cannot both become originals. Locks are taken in hash order, so no deadlock.
std::optional<Link> FindOpenTicket(db::Tx& tx, const tickets::DuplicateSettings& cfg,
                                   const Report& r, const std::string& category) {
  if (!MayLinkAsDuplicate(cfg, r, category))
    return std::nullopt;
  double lat = *r.location.lat, lon = *r.location.lon;
  SearchBox box = BoxAround(lat, lon, cfg.distance_m);
  std::string array = "{";
  for (const auto& k : LockKeys(category, box)) {
    array += (array.size() > 1 ? "," : "") + std::string("\"") + k + "\"";
  }
  array += "}";
  db::ExecPrepared(
      tx,
      "SELECT pg_advisory_xact_lock(7412005, h) FROM"
      " (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS keys",
      array);
  auto rows = db::ExecPrepared(
      tx,
      "SELECT id::text, reference, lat, lon FROM tickets"
      " WHERE routed_category = $1 AND status NOT IN ('done', 'rejected', 'duplicate')"
      " AND duplicate_of IS NULL AND lat IS NOT NULL AND lon IS NOT NULL"
      // A photo without text is not linked in either direction: no report joins it either.
      " AND btrim(text, E' \\t\\r\\n') <> ''"
      " AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5"
      " AND received_at BETWEEN $6::timestamptz - make_interval(days => $7)"
      " AND $6::timestamptz + make_interval(days => $7)"
      " AND id <> $8::uuid ORDER BY received_at, reference",
      category, box.min_lat, box.max_lat, box.min_lon, box.max_lon, r.received_at, cfg.window_days,
      r.id);
  std::vector<DuplicateCandidate> candidates;
  for (const auto& row : rows) {
    candidates.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<double>(),
                          row[3].as<double>()});
  }
  int i = NearestWithin(candidates, lat, lon, cfg.distance_m);
  if (i < 0)
    return std::nullopt;
  const auto& c = candidates[static_cast<size_t>(i)];
  return Link{c.id, c.reference, DistanceM(lat, lon, c.lat, c.lon)};
}

// "Ich auch": the ticket the citizen named (its original, when it is a linked duplicate), locked
// against a concurrent unlink; none if the reference is unknown (the report opens its own).
std::optional<Link> TicketNamed(db::Tx& tx, const Report& r) {
  // The named ticket, then its original while it is a duplicate (a staff member may have linked
  // it meanwhile): each row locked, so that no concurrent link or unlink moves it under us.
  auto rows = tx.exec_params(
      "SELECT id::text, reference, lat, lon, duplicate_of::text FROM tickets"
      " WHERE reference = $1 FOR UPDATE",
      r.same_as);
  for (int hop = 0; !rows.empty() && !rows[0][4].is_null() && hop < 4; ++hop) {
    rows = tx.exec_params(
        "SELECT id::text, reference, lat, lon, duplicate_of::text FROM tickets"
        " WHERE id = $1::uuid FOR UPDATE",
        rows[0][4].as<std::string>());
  }
  if (rows.empty() || !rows[0][4].is_null())
    return std::nullopt;
  const auto& row = rows[0];
  double distance = 0;
  if (r.location.lat && r.location.lon && !row[2].is_null() && !row[3].is_null()) {
    distance =
        DistanceM(*r.location.lat, *r.location.lon, row[2].as<double>(), row[3].as<double>());
  }
  return Link{row[0].as<std::string>(), row[1].as<std::string>(), distance};
}

// Why the report cannot be a ticket of its own although it is no redelivery: another report's
// ticket has its id or its reference already. "" if none has.
std::string Taken(db::Tx& tx, const Report& r) {
  auto rows = db::ExecPrepared(
      tx, "SELECT reference = $1 FROM tickets WHERE reference = $1 OR id = $2::uuid", r.reference,
      r.id);
  for (const auto& row : rows) {
    if (row[0].as<bool>()) {
      return "reference " + r.reference +
             " is the reference of another report's ticket already (same reference, another "
             "channel or channel_message_id)";
    }
  }
  if (!rows.empty()) {
    return "id " + r.id +
           " is the id of another report's ticket already (same id, another channel or "
           "channel_message_id)";
  }
  return "";
}

// The ticket row itself; false if the report is there already (a redelivery).
bool InsertTicket(db::Tx& tx, const NewTicket& t, const std::optional<Link>& link) {
  const Report& r = t.envelope.report;
  const routing::Decision& d = t.decision;
  std::string reporter, report;
  AppendReporterJson(reporter, r.reporter);
  AppendReportJson(report, r);
  std::string explanation =
      routing::DecisionToJson(d).dump(-1, ' ', false, json::error_handler_t::replace);
  // The duplicate keeps its own routing (department, rule) so that unlinking can open it.
  auto inserted = db::ExecPrepared(
      tx,
      "INSERT INTO tickets (id, reference, channel, channel_message_id, received_at,"
      " department_id, department_name, category, rule_id, ruleset_version, text, lat, lon,"
      " accuracy_m, location_source, address, reporter, report, raw_ref, routing_explanation,"
      " routed_category, status, duplicate_of, first_rule_id, first_department_id)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), NULLIF($9, ''), $10, $11, $12, $13,"
      " $14, $15, $16, $17::jsonb, $18::jsonb, NULLIF($19, ''), $20::jsonb, NULLIF($21, ''),"
      " $22, NULLIF($23, '')::uuid, NULLIF($9, ''), $6)"
      " ON CONFLICT (channel, channel_message_id) DO NOTHING RETURNING id",
      r.id, r.reference, r.channel, r.channel_message_id, r.received_at, d.department,
      t.department_name, r.category, d.rule_id, d.ruleset_version, r.text, r.location.lat,
      r.location.lon, r.location.accuracy_m, std::string(ToString(r.location.source)),
      r.location.address, reporter, report, r.raw_ref, explanation, d.category,
      link ? "duplicate" : "assigned", link ? link->id : std::string());
  return !inserted.empty();
}

void StoreAttachments(db::Tx& tx, const Report& r) {
  for (size_t i = 0; i < r.attachments.size(); ++i) {
    const Attachment& a = r.attachments[i];
    db::ExecPrepared(
        tx,
        "INSERT INTO attachments (ticket_id, position, sha256, media_type, size, filename)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        r.id, static_cast<int>(i), a.sha256, a.media_type, a.size, a.filename);
  }
}

// The acknowledgement: for the web form the reference was shown at once (done); an e-mail, SMS
// or chat acknowledgement waits in the outbox for its sender.
void EnqueueAcknowledgement(db::Tx& tx, const NewTicket& t, const std::optional<Link>& link) {
  const Report& r = t.envelope.report;
  const std::string& ack = r.reporter.ack_channel;
  bool can_send = !ack.empty() && ack != outbox::kNoChannel;
  json payload{{"reference", r.reference},
               {"department", t.department_name},
               {"language", r.reporter.language}};
  if (link) {
    // "bereits gemeldet, wird bearbeitet": the citizen learns the existing reference.
    payload["duplicate"] = true;
    payload["existing_reference"] = link->reference;
    payload["message"] = "bereits gemeldet, wird bearbeitet";
  }
  if (t.decision.needs_location_confirmation && t.decision.location) {
    // Outside the town with `outside.action: ask`: the acknowledgement asks for the place.
    payload["ask_location"] = true;
    payload["location_message"] = t.decision.location->message;
  }
  if (t.decision.forward)
    payload["forwarded_to"] = t.decision.forward->authority;
  json extra = json::parse(t.ack_extra.empty() ? "{}" : t.ack_extra, nullptr, false);
  if (extra.is_object()) {
    // Channel specifics for the sender, e.g. the citizen's Message-ID to thread the reply to.
    for (const auto& [k, v] : extra.items()) {
      if (!payload.contains(k))
        payload[k] = v;
    }
  }
  outbox::NewRow row{outbox::Kind::kAck,
                     r.id,
                     ack.empty() ? std::string(outbox::kNoChannel) : ack,
                     r.reporter.ack_address,
                     payload.dump(),
                     "",
                     can_send,
                     t.ack_unsendable};
  outbox::Enqueue(tx, row);
}

// "Forward to another authority": the report goes out by e-mail from the outbox.
void EnqueueForward(db::Tx& tx, const NewTicket& t) {
  const Report& r = t.envelope.report;
  const routing::Decision& d = t.decision;
  json forward{{"reference", r.reference},
               {"authority", d.forward->authority},
               {"rule", d.rule_id},
               {"category", d.category},
               {"text", r.text},
               {"lat", r.location.lat ? json(*r.location.lat) : json(nullptr)},
               {"lon", r.location.lon ? json(*r.location.lon) : json(nullptr)},
               {"address", r.location.address}};
  outbox::NewRow row;
  row.kind = outbox::Kind::kForward;
  row.ticket_id = r.id;
  row.channel = "email";
  row.address = d.forward->email;
  row.payload = forward.dump();
  outbox::Enqueue(tx, row);
}

// The history's first entry and the department's delivery.
void RecordRouting(db::Tx& tx, const Config& config, const NewTicket& t) {
  const routing::Decision& d = t.decision;
  HistoryEntry routed;
  routed.actor = "system:router";
  routed.action = "routed";
  routed.to_status = "assigned";
  routed.to_department = d.department;
  routed.details_json = DetailsText({{"rule", d.rule_id}, {"ruleset_version", d.ruleset_version}});
  int64_t h = RecordHistory(tx, t.envelope.report.id, routed);
  if (!d.forward)
    EnqueueDelivery(tx, config, t.envelope.report.id, d.department, "new", h);
}

void RecordShadow(db::Tx& tx, const NewTicket& t) {
  const Report& r = t.envelope.report;
  tx.exec_params0(
      "INSERT INTO shadow_disagreements (ticket_id, reference, live_version, live_department,"
      " live_rule, candidate_version, candidate_department, candidate_rule)"
      " VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, NULLIF($8, ''))",
      r.id, r.reference, t.decision.ruleset_version, t.decision.department, t.decision.rule_id,
      t.shadow->ruleset_version, t.shadow->department, t.shadow->rule_id);
}

}  // namespace

Result<TicketStore::Created> TicketStore::Create(const NewTicket& t) {
  const Report& r = t.envelope.report;
  return session_.Transact<Created>([&](db::Tx& tx) -> Created {
    // A redelivery is recognised before the duplicate search (which would find nothing new).
    if (!db::ExecPrepared(tx,
                          "SELECT 1 FROM tickets WHERE channel = $1 AND channel_message_id = $2",
                          r.channel, r.channel_message_id)
             .empty()) {
      return {Outcome::kRedelivered, "", ""};
    }
    // Not the same message, but its id or reference is a ticket's already: a second ticket
    // under them cannot be, and dropping the report as a redelivery would lose it.
    if (std::string taken = Taken(tx, r); !taken.empty())
      return {Outcome::kConflict, "", std::move(taken)};
    std::optional<Link> link = r.same_as.empty()
                                   ? FindOpenTicket(tx, duplicates_, r, t.decision.category)
                                   : TicketNamed(tx, r);
    if (!InsertTicket(tx, t, link)) {
      // The transaction rolls back: nothing else is written.
      return {Outcome::kRedelivered, "", ""};
    }
    if (link) {
      db::ExecPrepared(
          tx,
          "INSERT INTO ticket_reporters (ticket_id, reporter_ticket_id, distance_m)"
          " VALUES ($1::uuid, $2::uuid, $3)",
          link->id, r.id, link->distance_m);
    }
    StoreAttachments(tx, r);
    if (!t.envelope.raw.body.empty() || !t.envelope.raw.content_type.empty()) {
      StoreRawPayload(tx, t.envelope.raw);
    }
    EnqueueAcknowledgement(tx, t, link);
    // "Ich auch" adds a reporter, not a report: the authority the ticket went to is not told again.
    if (t.decision.forward && r.same_as.empty())
      EnqueueForward(tx, t);
    if (!link)
      RecordRouting(tx, config_, t);
    if (t.shadow != nullptr)
      RecordShadow(tx, t);
    tx.commit();
    if (link)
      return {Outcome::kLinked, link->reference, ""};
    return {Outcome::kCreated, "", ""};
  });
}

}  // namespace meldestelle::tickets
