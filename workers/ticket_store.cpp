#include "workers/ticket_store.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/db.hpp"

namespace meldestelle::workers {

Status TicketStore::EnsureConnected() {
  if (conn_ && conn_->is_open()) {
    return Ok{};
  }
  auto c = ConnectDb(url_);
  if (!c) {
    return c.error();
  }
  conn_ = std::move(c).value();
  return Ok{};
}

Status TicketStore::Ping() {
  if (auto st = EnsureConnected(); !st) return st;
  auto r = RunDb<Ok>([&] {
    pqxx::nontransaction tx(*conn_);
    tx.exec1("SELECT 1");
    return Ok{};
  });
  if (!r) conn_.reset();
  return r;
}

namespace {

std::optional<double> Opt(const std::optional<double>& v) { return v; }

}  // namespace

Result<TicketStore::Outcome> TicketStore::CreateTicket(const Envelope& env,
                                                       const routing::Decision& decision,
                                                       const std::string& department_name,
                                                       const routing::Decision* shadow) {
  if (auto st = EnsureConnected(); !st) return st.error();
  const Report& r = env.report;
  auto result = RunDb<Outcome>([&]() -> Outcome {
    pqxx::work tx(*conn_);
    nlohmann::json report_json = ReportToJson(r);
    nlohmann::json reporter = report_json["reporter"];
    std::string explanation = routing::DecisionToJson(decision).dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto inserted = tx.exec_params(
        "INSERT INTO tickets (id, reference, channel, channel_message_id, received_at,"
        " department_id, department_name, category, rule_id, ruleset_version, text, lat, lon,"
        " accuracy_m, location_source, address, reporter, report, raw_ref, routing_explanation)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), NULLIF($9, ''), $10, $11, $12, $13,"
        " $14, $15, $16, $17::jsonb, $18::jsonb, NULLIF($19, ''), $20::jsonb)"
        " ON CONFLICT (channel, channel_message_id) DO NOTHING RETURNING id",
        r.id, r.reference, r.channel, r.channel_message_id, r.received_at, decision.department,
        department_name, r.category, decision.rule_id, decision.ruleset_version, r.text,
        Opt(r.location.lat), Opt(r.location.lon), Opt(r.location.accuracy_m),
        std::string(ToString(r.location.source)), r.location.address, reporter.dump(),
        report_json.dump(), r.raw_ref, explanation);
    if (inserted.empty()) {
      return Outcome::kDuplicate;  // the transaction rolls back: nothing else is written
    }
    for (size_t i = 0; i < r.attachments.size(); ++i) {
      const Attachment& a = r.attachments[i];
      tx.exec_params0(
          "INSERT INTO attachments (ticket_id, position, sha256, media_type, size, filename)"
          " VALUES ($1, $2, $3, $4, $5, $6)",
          r.id, static_cast<int>(i), a.sha256, a.media_type, a.size, a.filename);
    }
    if (!env.raw.body.empty() || !env.raw.content_type.empty()) {
      pqxx::binarystring body(env.raw.body.data(), env.raw.body.size());
      tx.exec_params0(
          "INSERT INTO raw_payloads (sha256, content_type, body) VALUES ($1, $2, $3)"
          " ON CONFLICT (sha256) DO NOTHING",
          Sha256Hex(env.raw.body), env.raw.content_type, body);
    }
    // The acknowledgement: for the web form the reference was shown at once; an e-mail or SMS
    // acknowledgement waits in the outbox for its sender.
    bool can_send = r.reporter.ack_channel == "email" || r.reporter.ack_channel == "sms";
    nlohmann::json payload{{"reference", r.reference},
                           {"department", department_name},
                           {"language", r.reporter.language}};
    tx.exec_params0(
        "INSERT INTO outbox (ticket_id, kind, channel, address, payload, status)"
        " VALUES ($1, 'ack', $2, $3, $4::jsonb, $5)",
        r.id, r.reporter.ack_channel.empty() ? "none" : r.reporter.ack_channel,
        r.reporter.ack_address, payload.dump(), can_send ? "pending" : "done");
    if (shadow != nullptr) {
      tx.exec_params0(
          "INSERT INTO shadow_disagreements (ticket_id, reference, live_version, live_department,"
          " live_rule, candidate_version, candidate_department, candidate_rule)"
          " VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, NULLIF($8, ''))",
          r.id, r.reference, decision.ruleset_version, decision.department, decision.rule_id,
          shadow->ruleset_version, shadow->department, shadow->rule_id);
    }
    tx.commit();
    return Outcome::kCreated;
  });
  if (!result && IsTransientDbError(result.error())) {
    conn_.reset();
  }
  return result;
}

}  // namespace meldestelle::workers
