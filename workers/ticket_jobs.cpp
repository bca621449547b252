#include "workers/ticket_jobs.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/db.hpp"
#include "core/log.hpp"
#include "workers/replay.hpp"
#include "workers/routing_stats.hpp"
#include "workers/ticket_events.hpp"
#include "workers/wait.hpp"

namespace meldestelle::workers {

using nlohmann::json;

namespace {

constexpr int kBatch = 200;
constexpr int64_t kMetricsWindowSeconds = 30 * 86400;

routing::WorkingCalendar CalendarOf(const Config& config) {
  auto tz = routing::TimeZone::Load(config.town.timezone);
  if (!tz) {
    log::Warn("town.timezone unreadable; deadlines count in UTC", {{"error", tz.error().message}});
  }
  return routing::WorkingCalendar::From(config.tickets.working_days, config.tickets.holidays,
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
      rules_(std::move(rules)),
      registry_(registry),
      calendar_(CalendarOf(config)) {
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
  return config_.tickets.triage_department.empty() ? rules.default_department
                                                   : config_.tickets.triage_department;
}

std::string TicketJobs::DepartmentName(const std::string& id) const {
  const Department* d = config_.FindDepartment(id);
  return d != nullptr ? d->name : id;
}

TicketJobs::Deadlines TicketJobs::DeadlinesFor(const std::string& department_id,
                                               int64_t assigned_at) const {
  const Department* d = config_.FindDepartment(department_id);
  const Span& remind =
      d != nullptr && d->remind_after.set() ? d->remind_after : config_.tickets.remind_after;
  const Span& reassign =
      d != nullptr && d->reassign_after.set() ? d->reassign_after : config_.tickets.reassign_after;
  Deadlines out;
  if (remind.set())
    out.remind = routing::AddSpan(assigned_at, remind, calendar_);
  if (reassign.set())
    out.reassign = routing::AddSpan(assigned_at, reassign, calendar_);
  return out;
}

Result<std::vector<TicketJobs::Action>> TicketJobs::RunOnce(int64_t now) {
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  std::vector<Action> actions;
  Status st = Reroute(now, actions);
  // A ticket that cannot be re-routed (set aside above) must not hold up the deadlines of all
  // the others; only a database that is away stops the pass.
  if (st || !IsTransientDbError(st.error())) {
    Status deadlines = Deadline(now, actions);
    if (st) st = deadlines;
  }
  if (!st) {
    if (IsTransientDbError(st.error()))
      conn_.reset();
    return st.error();
  }
  return actions;
}

Status TicketJobs::Reroute(int64_t now, std::vector<Action>& actions) {
  auto rules = rules_();
  if (!rules)
    return MakeError("rules_unavailable", "no rule set loaded");
  const std::string triage = TriageDepartment(*rules);
  while (true) {
    std::string current;  // the ticket taken, for setting it aside after a failure
    // One ticket per transaction; the row lock keeps other workers (and the staff API) away.
    auto r = RunDb<bool>([&]() -> bool {
      pqxx::work tx(*conn_);
      auto rows = tx.exec(
          "SELECT id::text, reference, department_id, report::text,"
          " array_to_json(excluded_departments)::text FROM tickets"
          " WHERE status = 'handed_back' ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED");
      if (rows.empty())
        return false;
      const auto& row = rows[0];
      std::string id = row[0].as<std::string>();
      current = id;
      std::string reference = row[1].as<std::string>();
      std::string from = row[2].as<std::string>();
      std::vector<std::string> excluded = JsonStrings(row[4].as<std::string>());
      if (!Contains(excluded, from))
        excluded.push_back(from);  // whoever handed it back
      routing::Decision d;
      std::string why;
      auto report = ReportFromJson(json::parse(row[3].as<std::string>(), nullptr, false));
      if (report) {
        d = routing::Route(*rules, *report, excluded);
        // Only a rule's own department: the default department and forwards are for triage.
        if (d.rule_id.empty() || d.forward || Contains(excluded, d.department)) {
          why = d.rule_id.empty() ? "no other rule matched" : "the rule forwards the report";
          d.department = triage;
        }
      } else {
        why = "stored report unreadable: " + report.error().message;
        d.department = triage;
        d.ruleset_version = rules->version;
      }
      bool to_triage = !why.empty();
      const std::string name = DepartmentName(d.department);
      json explanation = routing::DecisionToJson(d);
      tx.exec_params0(
          "UPDATE tickets SET department_id = $2, department_name = $3,"
          " rule_id = NULLIF($4, ''), ruleset_version = $5, routing_explanation = $6::jsonb,"
          " status = 'assigned', assigned_at = to_timestamp($7), accepted_at = NULL,"
          " escalation_level = 0, updated_at = now() WHERE id = $1::uuid",
          id, d.department, name, to_triage ? std::string() : d.rule_id, d.ruleset_version,
          explanation.dump(-1, ' ', false, json::error_handler_t::replace), now);
      HistoryEntry h;
      h.actor = "system:router";
      h.action = "rerouted";
      h.from_status = "handed_back";
      h.to_status = "assigned";
      h.from_department = from;
      h.to_department = d.department;
      h.details = {{"rule", to_triage ? json() : json(d.rule_id)},
                   {"ruleset_version", d.ruleset_version},
                   {"excluded_departments", excluded},
                   {"triage", to_triage},
                   {"explanation", explanation}};
      if (to_triage)
        h.details["triage_reason"] = why;
      int64_t hid = RecordHistory(tx, id, h);
      EnqueueDelivery(tx, config_, id, d.department, "rerouted", hid);
      // Triage handing back to triage keeps the ticket where it was: nothing to tell.
      if (d.department != from)
        EnqueueCitizenNotifications(tx, config_, id, "forwarded", name, "", hid);
      tx.commit();
      actions.push_back({reference, "rerouted", from, d.department,
                         to_triage ? "triage: " + why : "rule " + d.rule_id});
      if (rerouted_ != nullptr)
        rerouted_->Inc();
      log::Info("handed-back ticket rerouted", {{"reference", reference},
                                                {"from", from},
                                                {"to", d.department},
                                                {"rule", to_triage ? "" : d.rule_id}});
      return true;
    });
    if (!r) {
      if (!IsTransientDbError(r.error()) && !current.empty()) {
        // Not the environment's fault: this ticket goes to the back of the queue so the others
        // proceed; it is tried again on the next pass.
        log::Error("handed-back ticket could not be rerouted",
                   {{"ticket", current}, {"error", r.error().message + ": " + r.error().detail}});
        auto later = RunDb<Ok>([&] {
          pqxx::work tx(*conn_);
          tx.exec_params0("UPDATE tickets SET updated_at = now() WHERE id = $1::uuid", current);
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

Status TicketJobs::Deadline(int64_t now, std::vector<Action>& actions) {
  // Only tickets old enough for the shortest configured span can be due.
  int64_t shortest = std::numeric_limits<int64_t>::max();
  auto consider = [&](const Span& s) {
    if (s.set())
      shortest = std::min(shortest, routing::MinimumSeconds(s));
  };
  consider(config_.tickets.remind_after);
  consider(config_.tickets.reassign_after);
  for (const auto& d : config_.departments) {
    consider(d.remind_after);
    consider(d.reassign_after);
  }
  if (shortest == std::numeric_limits<int64_t>::max())
    return Ok{};  // no deadlines configured
  auto rules = rules_();
  if (!rules)
    return MakeError("rules_unavailable", "no rule set loaded");
  const std::string triage = TriageDepartment(*rules);

  struct Candidate {
    std::string id;
    int64_t assigned_at;
  };
  int64_t after_id_at = std::numeric_limits<int64_t>::min();
  std::string after_id;
  while (true) {
    // Candidates in pages (keyset on assigned_at, id); each is re-checked under its row lock.
    auto page = RunDb<std::vector<Candidate>>([&] {
      pqxx::work tx(*conn_);
      auto rows = tx.exec_params(
          "SELECT id::text, floor(extract(epoch FROM assigned_at))::bigint FROM tickets"
          " WHERE status = 'assigned' AND escalation_level < 2"
          " AND assigned_at <= to_timestamp($1)"
          " AND (floor(extract(epoch FROM assigned_at))::bigint, id::text) > ($2, $3)"
          " ORDER BY 2, 1 LIMIT $4",
          now - shortest, after_id_at, after_id, kBatch);
      std::vector<Candidate> out;
      for (const auto& row : rows)
        out.push_back({row[0].as<std::string>(), row[1].as<int64_t>()});
      return out;
    });
    if (!page)
      return page.error();
    if (page->empty())
      return Ok{};
    after_id = page->back().id;
    after_id_at = page->back().assigned_at;
    for (const auto& c : *page) {
      auto r = RunDb<Ok>([&]() -> Ok {
        pqxx::work tx(*conn_);
        auto rows = tx.exec_params(
            "SELECT reference, department_id, escalation_level,"
            " floor(extract(epoch FROM assigned_at))::bigint FROM tickets"
            " WHERE id = $1::uuid AND status = 'assigned' AND escalation_level < 2"
            " FOR UPDATE SKIP LOCKED",
            c.id);
        if (rows.empty())
          return Ok{};  // changed meanwhile, or another worker has it
        std::string reference = rows[0][0].as<std::string>();
        std::string dept = rows[0][1].as<std::string>();
        int level = rows[0][2].as<int>();
        int64_t assigned_at = rows[0][3].as<int64_t>();
        Deadlines due = DeadlinesFor(dept, assigned_at);
        bool reassign = due.reassign != 0 && now >= due.reassign && dept != triage;
        bool remind = !reassign && level == 0 && due.remind != 0 && now >= due.remind;
        if (!reassign && !remind)
          return Ok{};
        HistoryEntry h;
        h.actor = "system:deadline";
        h.from_status = "assigned";
        h.to_status = "assigned";
        h.from_department = dept;
        if (remind) {
          h.action = "reminder";
          h.to_department = dept;
          h.details = {{"assigned_at", FormatUnixSeconds(assigned_at)},
                       {"deadline", FormatUnixSeconds(due.remind)}};
          tx.exec_params0(
              "UPDATE tickets SET escalation_level = 1, updated_at = now() WHERE id = $1::uuid",
              c.id);
          int64_t hid = RecordHistory(tx, c.id, h);
          EnqueueDelivery(tx, config_, c.id, dept, "reminder", hid);
          tx.commit();
          actions.push_back({reference, "reminder", dept, dept,
                             "not accepted by " + FormatUnixSeconds(due.remind)});
          if (reminders_ != nullptr)
            reminders_->Inc();
          log::Info("acceptance reminder", {{"reference", reference}, {"department", dept}});
          return Ok{};
        }
        const std::string name = DepartmentName(triage);
        h.action = "escalated";
        h.to_department = triage;
        h.details = {{"assigned_at", FormatUnixSeconds(assigned_at)},
                     {"deadline", FormatUnixSeconds(due.reassign)}};
        tx.exec_params0(
            "UPDATE tickets SET department_id = $2, department_name = $3,"
            " excluded_departments = CASE WHEN $4 = ANY (excluded_departments)"
            "  THEN excluded_departments ELSE array_append(excluded_departments, $4) END,"
            " escalation_level = 2, assigned_at = to_timestamp($5), updated_at = now()"
            " WHERE id = $1::uuid",
            c.id, triage, name, dept, now);
        int64_t hid = RecordHistory(tx, c.id, h);
        EnqueueDelivery(tx, config_, c.id, triage, "reassigned", hid);
        EnqueueCitizenNotifications(tx, config_, c.id, "forwarded", name, "", hid);
        tx.commit();
        actions.push_back({reference, "escalated", dept, triage,
                           "not accepted by " + FormatUnixSeconds(due.reassign)});
        if (escalations_ != nullptr)
          escalations_->Inc();
        log::Info("ticket escalated to triage",
                  {{"reference", reference}, {"from", dept}, {"to", triage}});
        return Ok{};
      });
      if (!r) {
        if (IsTransientDbError(r.error()))
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

Status TicketJobs::RefreshMetrics(int64_t now) {
  if (registry_ == nullptr)
    return Ok{};
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  auto q = RunDb<RoutingQuality>([&] {
    pqxx::read_transaction tx(*conn_);
    return LoadRoutingQuality(tx, now - kMetricsWindowSeconds, std::nullopt);
  });
  if (!q) {
    if (IsTransientDbError(q.error()))
      conn_.reset();
    return q.error();
  }
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

}  // namespace meldestelle::workers
