#include "tickets/jobs.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "routing/timezone.hpp"
#include "tickets/events.hpp"
#include "tickets/quality.hpp"
#include "tickets/questions.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

namespace {

constexpr int kBatch = 200;
constexpr int64_t kMetricsWindowSeconds = 30 * 86400;

routing::WorkingCalendar CalendarOf(const Config& config) {
  auto tz = routing::TimeZone::Load(config.town.timezone);
  if (!tz) {
    log::Warn("town.timezone unreadable; deadlines count in UTC", {{"error", tz.error().message}});
  }
  const auto& settings = config.Get<Settings>();
  return routing::WorkingCalendar::From(settings.working_days, settings.holidays,
                                        tz ? *tz : routing::TimeZone::Utc());
}

std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  json j = json::parse(text, nullptr, false);
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string())
        out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TicketJobs::TicketJobs(const Config& config, RulesFn rules, metrics::Registry* registry)
    : config_(config),
      settings_(config.Get<Settings>()),
      rules_(std::move(rules)),
      registry_(registry),
      calendar_(CalendarOf(config)),
      session_(config.database.url) {
  if (registry_ != nullptr) {
    rerouted_ = &registry_->GetCounter("meldestelle_tickets_rerouted_total",
                                       "Handed-back tickets routed again.");
    reminders_ = &registry_->GetCounter("meldestelle_deadline_reminders_total",
                                        "Departments reminded of a ticket they did not accept.");
    escalations_ = &registry_->GetCounter(
        "meldestelle_deadline_escalations_total",
        "Tickets moved to the triage department because nobody accepted them in time.");
  }
}

std::string TicketJobs::TriageDepartment(const routing::RuleSet& rules) const {
  return settings_.triage_department.empty() ? rules.default_department
                                             : settings_.triage_department;
}

std::string TicketJobs::DepartmentName(const std::string& id) const {
  const Department* d = config_.FindDepartment(id);
  return d != nullptr ? d->name : id;
}

TicketJobs::Deadlines TicketJobs::DeadlinesFor(const std::string& department_id,
                                               int64_t assigned_at) const {
  const Department* d = config_.FindDepartment(department_id);
  const Span& remind =
      d != nullptr && d->remind_after.set() ? d->remind_after : settings_.remind_after;
  const Span& reassign =
      d != nullptr && d->reassign_after.set() ? d->reassign_after : settings_.reassign_after;
  Deadlines out;
  if (remind.set())
    out.remind = routing::AddSpan(assigned_at, remind, calendar_);
  if (reassign.set())
    out.reassign = routing::AddSpan(assigned_at, reassign, calendar_);
  return out;
}

Result<std::vector<TicketJobs::Action>> TicketJobs::RunOnce(int64_t now) {
  std::vector<Action> actions;
  Status st = Reroute(now, actions);
  // A ticket that cannot be re-routed (set aside) must not hold up the deadlines of all the
  // others; only a database that is away stops the pass.
  if (st || !db::IsTransient(st.error())) {
    Status deadlines = Deadline(now, actions);
    if (st)
      st = deadlines;
  }
  if (st || !db::IsTransient(st.error())) {
    Status questions = ExpireQuestions(now, actions);
    if (st)
      st = questions;
  }
  if (!st)
    return st.error();
  return actions;
}

// What the rules say about a handed-back ticket: a rule of another department, or triage (with
// why).
struct TicketJobs::Rerouting {
  routing::Decision decision;
  std::string triage_reason;  // empty: a rule found another department
  std::vector<std::string> excluded;
};

TicketJobs::Rerouting TicketJobs::Reroutes(const routing::RuleSet& rules, const std::string& triage,
                                           const std::string& report_json,
                                           std::vector<std::string> excluded) const {
  // Who handed it back is in `excluded` already (tickets/actions.cpp); a department that
  // changed the category and asked for new routing is not, and may get the ticket again.
  Rerouting r;
  auto report = ReportFromJson(json::parse(report_json, nullptr, false));
  if (report) {
    r.decision = routing::Route(rules, *report, excluded);
    // Only a rule's own department: the default department and forwards are for triage.
    if (r.decision.rule_id.empty() || r.decision.forward ||
        Contains(excluded, r.decision.department)) {
      r.triage_reason =
          r.decision.rule_id.empty() ? "no other rule matched" : "the rule forwards the report";
      r.decision.department = triage;
    }
  } else {
    r.triage_reason = "stored report unreadable: " + report.error().message;
    r.decision.department = triage;
    r.decision.ruleset_version = rules.version;
  }
  r.excluded = std::move(excluded);
  return r;
}

// Takes the oldest handed-back ticket (row lock, skipping those another worker has) and routes it
// again; false when there is none.
bool TicketJobs::RerouteOne(db::Tx& tx, const routing::RuleSet& rules, const std::string& triage,
                            int64_t now, std::vector<Action>& actions, std::string* taken) {
  auto rows = tx.exec(
      "SELECT id::text, reference, department_id, report::text,"
      " array_to_json(excluded_departments)::text FROM tickets"
      " WHERE status = 'handed_back' ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED");
  if (rows.empty())
    return false;
  const std::string id = rows[0][0].as<std::string>();
  *taken = id;
  const std::string reference = rows[0][1].as<std::string>();
  const std::string from = rows[0][2].as<std::string>();
  Rerouting r = Reroutes(rules, triage, rows[0][3].as<std::string>(),
                         JsonStrings(rows[0][4].as<std::string>()));
  const routing::Decision& d = r.decision;
  const bool to_triage = !r.triage_reason.empty();
  const std::string name = DepartmentName(d.department);
  // Routed again after a change of category (not handed back), the rules chose the department
  // that has it: it keeps the ticket, its acceptance and deadlines, and gets no new delivery.
  const bool kept = d.department == from && !Contains(r.excluded, from);
  json explanation = routing::DecisionToJson(d);
  const std::string to_status =
      tx.exec_params1(
            "UPDATE tickets SET department_id = $2, department_name = $3,"
            " rule_id = NULLIF($4, ''), ruleset_version = $5, routing_explanation = $6::jsonb,"
            " status = CASE WHEN $8 AND accepted_at IS NOT NULL THEN 'accepted'"
            "  ELSE 'assigned' END,"
            " assigned_at = CASE WHEN $8 THEN assigned_at ELSE to_timestamp($7) END,"
            " accepted_at = CASE WHEN $8 THEN accepted_at END,"
            " escalation_level = CASE WHEN $8 THEN escalation_level ELSE 0 END,"
            " updated_at = now() WHERE id = $1::uuid RETURNING status",
            id, d.department, name, to_triage ? std::string() : d.rule_id, d.ruleset_version,
            explanation.dump(-1, ' ', false, json::error_handler_t::replace), now, kept)[0]
          .as<std::string>();
  HistoryEntry h;
  h.actor = "system:router";
  h.action = "rerouted";
  h.from_status = "handed_back";
  h.to_status = to_status;
  h.from_department = from;
  h.to_department = d.department;
  json details = {{"rule", to_triage ? json() : json(d.rule_id)},
                  {"ruleset_version", d.ruleset_version},
                  {"excluded_departments", r.excluded},
                  {"triage", to_triage},
                  {"explanation", explanation}};
  if (to_triage)
    details["triage_reason"] = r.triage_reason;
  h.details_json = DetailsText(details);
  int64_t hid = RecordHistory(tx, id, h);
  if (!kept)
    EnqueueDelivery(tx, config_, id, d.department, "rerouted", hid);
  // Triage handing back to triage keeps the ticket where it was: nothing to tell.
  if (d.department != from) {
    EnqueueCitizenNotifications(tx, config_, id, "forwarded", name, "", hid);
  }
  tx.commit();
  actions.push_back({reference, "rerouted", from, d.department,
                     to_triage ? "triage: " + r.triage_reason : "rule " + d.rule_id});
  if (rerouted_ != nullptr)
    rerouted_->Inc();
  log::Info("handed-back ticket rerouted", {{"reference", reference},
                                            {"from", from},
                                            {"to", d.department},
                                            {"rule", to_triage ? "" : d.rule_id}});
  return true;
}

Status TicketJobs::Reroute(int64_t now, std::vector<Action>& actions) {
  auto rules = rules_();
  if (!rules)
    return MakeError(errors::kRulesUnavailable, "no rule set loaded");
  const std::string triage = TriageDepartment(*rules);
  while (true) {
    std::string taken;  // the ticket taken, for setting it aside after a failure
    // One ticket per transaction; the row lock keeps other workers (and the staff API) away.
    auto r = session_.Transact<bool>(
        [&](db::Tx& tx) { return RerouteOne(tx, *rules, triage, now, actions, &taken); });
    if (!r) {
      if (!db::IsTransient(r.error()) && !taken.empty()) {
        // Not the environment's fault: this ticket goes to the back of the queue so the others
        // proceed; it is tried again on the next pass.
        log::Error("handed-back ticket could not be rerouted",
                   {{"ticket", taken}, {"error", r.error().message + ": " + r.error().detail}});
        auto later = session_.Transact<Ok>([&](db::Tx& tx) {
          tx.exec_params0("UPDATE tickets SET updated_at = now() WHERE id = $1::uuid", taken);
          tx.commit();
          return Ok{};
        });
        if (!later)
          return later.error();
      }
      return r.error();
    }
    if (!*r)
      return Ok{};
  }
}

int64_t TicketJobs::ShortestDeadline() const {
  int64_t shortest = std::numeric_limits<int64_t>::max();
  auto consider = [&](const Span& s) {
    if (s.set())
      shortest = std::min(shortest, routing::MinimumSeconds(s));
  };
  consider(settings_.remind_after);
  consider(settings_.reassign_after);
  for (const auto& d : config_.departments) {
    consider(d.remind_after);
    consider(d.reassign_after);
  }
  return shortest;
}

// One page of tickets that may be due (keyset on assigned_at, id, after `after`).
Result<std::vector<TicketJobs::Candidate>> TicketJobs::Candidates(int64_t now, int64_t shortest,
                                                                  const Candidate& after) {
  return session_.Transact<std::vector<Candidate>>([&](db::Tx& tx) {
    auto rows = tx.exec_params(
        "SELECT id::text, floor(extract(epoch FROM assigned_at))::bigint FROM tickets"
        " WHERE status = 'assigned' AND escalation_level < 2"
        " AND assigned_at <= to_timestamp($1)"
        " AND (floor(extract(epoch FROM assigned_at))::bigint, id::text) > ($2, $3)"
        " ORDER BY 2, 1 LIMIT $4",
        now - shortest, after.assigned_at, after.id, kBatch);
    std::vector<Candidate> out;
    for (const auto& row : rows)
      out.push_back({row[0].as<std::string>(), row[1].as<int64_t>()});
    return out;
  });
}

// Re-checks one candidate under its row lock and reminds its department or escalates it.
Ok TicketJobs::CheckDeadline(db::Tx& tx, const Candidate& c, int64_t now, const std::string& triage,
                             std::vector<Action>& actions) {
  auto rows = tx.exec_params(
      "SELECT reference, department_id, escalation_level,"
      " floor(extract(epoch FROM assigned_at))::bigint FROM tickets"
      " WHERE id = $1::uuid AND status = 'assigned' AND escalation_level < 2"
      " FOR UPDATE SKIP LOCKED",
      c.id);
  if (rows.empty())
    return Ok{};  // changed meanwhile, or another worker has it
  Due t{c.id,
        rows[0][0].as<std::string>(),
        rows[0][1].as<std::string>(),
        rows[0][2].as<int>(),
        rows[0][3].as<int64_t>(),
        {}};
  t.deadlines = DeadlinesFor(t.department, t.assigned_at);
  bool reassign =
      t.deadlines.reassign != 0 && now >= t.deadlines.reassign && t.department != triage;
  bool remind = !reassign && t.level == 0 && t.deadlines.remind != 0 && now >= t.deadlines.remind;
  if (reassign) {
    Escalate(tx, t, now, triage, actions);
  } else if (remind) {
    Remind(tx, t, actions);
  }
  return Ok{};
}

void TicketJobs::Remind(db::Tx& tx, const Due& t, std::vector<Action>& actions) {
  HistoryEntry h;
  h.actor = "system:deadline";
  h.action = "reminder";
  h.from_status = h.to_status = "assigned";
  h.from_department = h.to_department = t.department;
  h.details_json = DetailsText({{"assigned_at", routing::FormatUnixSeconds(t.assigned_at)},
                                {"deadline", routing::FormatUnixSeconds(t.deadlines.remind)}});
  tx.exec_params0("UPDATE tickets SET escalation_level = 1, updated_at = now() WHERE id = $1::uuid",
                  t.id);
  int64_t hid = RecordHistory(tx, t.id, h);
  EnqueueDelivery(tx, config_, t.id, t.department, "reminder", hid);
  tx.commit();
  actions.push_back({t.reference, "reminder", t.department, t.department,
                     "not accepted by " + routing::FormatUnixSeconds(t.deadlines.remind)});
  if (reminders_ != nullptr)
    reminders_->Inc();
  log::Info("acceptance reminder", {{"reference", t.reference}, {"department", t.department}});
}

void TicketJobs::Escalate(db::Tx& tx, const Due& t, int64_t now, const std::string& triage,
                          std::vector<Action>& actions) {
  const std::string name = DepartmentName(triage);
  HistoryEntry h;
  h.actor = "system:deadline";
  h.action = "escalated";
  h.from_status = h.to_status = "assigned";
  h.from_department = t.department;
  h.to_department = triage;
  h.details_json = DetailsText({{"assigned_at", routing::FormatUnixSeconds(t.assigned_at)},
                                {"deadline", routing::FormatUnixSeconds(t.deadlines.reassign)}});
  tx.exec_params0(
      "UPDATE tickets SET department_id = $2, department_name = $3,"
      " excluded_departments = CASE WHEN $4 = ANY (excluded_departments)"
      "  THEN excluded_departments ELSE array_append(excluded_departments, $4) END,"
      " escalation_level = 2, assigned_at = to_timestamp($5), updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, triage, name, t.department, now);
  int64_t hid = RecordHistory(tx, t.id, h);
  EnqueueDelivery(tx, config_, t.id, triage, "reassigned", hid);
  EnqueueCitizenNotifications(tx, config_, t.id, "forwarded", name, "", hid);
  tx.commit();
  actions.push_back({t.reference, "escalated", t.department, triage,
                     "not accepted by " + routing::FormatUnixSeconds(t.deadlines.reassign)});
  if (escalations_ != nullptr)
    escalations_->Inc();
  log::Info("ticket escalated to triage",
            {{"reference", t.reference}, {"from", t.department}, {"to", triage}});
}

Status TicketJobs::Deadline(int64_t now, std::vector<Action>& actions) {
  // Only tickets old enough for the shortest configured span can be due.
  const int64_t shortest = ShortestDeadline();
  if (shortest == std::numeric_limits<int64_t>::max())
    return Ok{};  // no deadlines configured
  auto rules = rules_();
  if (!rules)
    return MakeError(errors::kRulesUnavailable, "no rule set loaded");
  const std::string triage = TriageDepartment(*rules);
  Candidate after{"", std::numeric_limits<int64_t>::min()};
  while (true) {
    auto page = Candidates(now, shortest, after);
    if (!page)
      return page.error();
    if (page->empty())
      return Ok{};
    after = page->back();
    for (const auto& c : *page) {
      auto r = session_.Transact<Ok>(
          [&](db::Tx& tx) { return CheckDeadline(tx, c, now, triage, actions); });
      if (!r) {
        if (db::IsTransient(r.error()))
          return r.error();
        // This ticket's fault, not the environment's: the others still get their deadlines.
        log::Error("deadline of a ticket could not be handled",
                   {{"ticket", c.id}, {"error", r.error().message + ": " + r.error().detail}});
      }
    }
    if (page->size() < static_cast<size_t>(kBatch))
      return Ok{};
  }
}

Status TicketJobs::ExpireQuestions(int64_t now, std::vector<Action>& actions) {
  const Span& timeout = settings_.question_timeout;
  if (!timeout.set())
    return Ok{};
  while (true) {
    // Only questions older than the shortest the span can be may be due; the oldest first.
    auto page = session_.Transact<std::vector<std::pair<std::string, int64_t>>>([&](db::Tx& tx) {
      auto rows = tx.exec_params(
          "SELECT id::text, floor(extract(epoch FROM waiting_since))::bigint FROM tickets"
          " WHERE status = 'waiting_for_citizen' AND waiting_since <= to_timestamp($1)"
          " ORDER BY waiting_since, id LIMIT $2",
          now - routing::MinimumSeconds(timeout), kBatch);
      std::vector<std::pair<std::string, int64_t>> out;
      for (const auto& row : rows)
        out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
      return out;
    });
    if (!page)
      return page.error();
    int ended = 0;
    for (const auto& [id, since] : *page) {
      const int64_t due = routing::AddSpan(since, timeout, calendar_);
      if (now < due)
        continue;
      auto r = session_.Transact<Ok>([&](db::Tx& tx) {
        auto t =
            tx.exec_params("SELECT reference, department_id FROM tickets WHERE id = $1::uuid", id);
        if (!t.empty() &&
            EndWaiting(tx, config_, id, now, "question_expired", "system:deadline",
                       "Keine Antwort auf die Rückfrage innerhalb von " + timeout.text,
                       DetailsText({{"asked_at", routing::FormatUnixSeconds(since)},
                                    {"deadline", routing::FormatUnixSeconds(due)}}))) {
          ++ended;
          actions.push_back({t[0][0].as<std::string>(), "question_expired",
                             t[0][1].as<std::string>(), t[0][1].as<std::string>(),
                             "no answer by " + routing::FormatUnixSeconds(due)});
          log::Info("question unanswered, ticket back with its department",
                    {{"reference", t[0][0].as<std::string>()}});
        }
        tx.commit();
        return Ok{};
      });
      if (!r)
        return r.error();
    }
    // A full page of questions not yet due (working days) ends the pass too.
    if (page->size() < static_cast<size_t>(kBatch) || ended == 0)
      return Ok{};
  }
}

Status TicketJobs::RefreshMetrics(int64_t now) {
  if (registry_ == nullptr)
    return Ok{};
  auto q = session_.Run<RoutingQuality>([&](db::Connection& c) {
    db::ReadTx tx(c);
    return LoadRoutingQuality(tx, now - kMetricsWindowSeconds, std::nullopt);
  });
  if (!q)
    return q.error();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::map<std::pair<std::string, metrics::Labels>, double> values;
  for (const auto& r : q->rules) {
    metrics::Labels l{{"rule", r.key.empty() ? "(default)" : r.key}};
    values[{"meldestelle_rule_tickets", l}] = static_cast<double>(r.routed);
    values[{"meldestelle_rule_handed_back", l}] = static_cast<double>(r.handed_back);
    values[{"meldestelle_rule_escalated", l}] = static_cast<double>(r.escalated);
  }
  for (const auto& r : q->departments) {
    metrics::Labels l{{"department", r.key}};
    values[{"meldestelle_department_tickets", l}] = static_cast<double>(r.routed);
    values[{"meldestelle_department_handed_back", l}] = static_cast<double>(r.handed_back);
    values[{"meldestelle_department_escalated", l}] = static_cast<double>(r.escalated);
    for (auto [quantile, accept, done] : {std::tuple{"0.5", r.accept_p50, r.done_p50},
                                          std::tuple{"0.9", r.accept_p90, r.done_p90}}) {
      metrics::Labels lq{{"department", r.key}, {"quantile", quantile}};
      values[{"meldestelle_department_accept_seconds", lq}] = accept.value_or(nan);
      values[{"meldestelle_department_done_seconds", lq}] = done.value_or(nan);
    }
  }
  static const std::map<std::string, std::string> kHelp = {
      {"meldestelle_rule_tickets", "Tickets first routed by the rule (last 30 days)."},
      {"meldestelle_rule_handed_back",
       "Tickets of the rule its department handed back (last 30 days)."},
      {"meldestelle_rule_escalated",
       "Tickets of the rule escalated to triage for a missed deadline (last 30 days)."},
      {"meldestelle_department_tickets", "Tickets first routed to the department (last 30 days)."},
      {"meldestelle_department_handed_back",
       "Tickets first routed to the department that it handed back (last 30 days)."},
      {"meldestelle_department_escalated",
       "Tickets the department let escalate to triage (last 30 days)."},
      {"meldestelle_department_accept_seconds",
       "Seconds from creation to acceptance of the department's tickets (last 30 days)."},
      {"meldestelle_department_done_seconds",
       "Seconds from creation to done of the department's tickets (last 30 days)."}};
  // A rule or department that dropped out of the window reads 0 (counts) or NaN (quantiles).
  for (const auto& key : gauges_seen_) {
    if (values.count(key) == 0) {
      bool quantile = key.first.find("_seconds") != std::string::npos;
      values[key] = quantile ? nan : 0.0;
    }
  }
  for (const auto& [key, v] : values) {
    registry_->GetGauge(key.first, kHelp.at(key.first), key.second).Set(v);
    gauges_seen_.insert(key);
  }
  return Ok{};
}

void TicketJobs::Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
  auto next_metrics = std::chrono::steady_clock::now();
  while (!stop.load()) {
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto r = RunOnce(now);
    if (!r) {
      log::Warn("ticket jobs failed, retrying",
                {{"error", r.error().message + ": " + r.error().detail}});
    }
    // The gauges follow every change the jobs made at once, and the staff's within a minute.
    if ((r && !r->empty()) || std::chrono::steady_clock::now() >= next_metrics) {
      if (auto st = RefreshMetrics(now); !st) {
        log::Warn("routing quality metrics not refreshed",
                  {{"error", st.error().message + ": " + st.error().detail}});
      }
      next_metrics = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
    // Polling interval of a background loop (not a test synchronisation).
    WaitUnlessStopped(interval, stop);
  }
}

}  // namespace meldestelle::tickets
