#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"
#include "routing/working_time.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

// The worker's ticket jobs (docs/departments.md, "Re-routing, acceptance deadlines"), a thread of
// every worker:
// - re-routing: a ticket a department handed back is routed again by the current rules without
//   the departments in its excluded_departments; nothing left but the default department (or
//   a forward) → the triage department; a ticket whose category its department changed with
//   re-routing (tickets/actions.hpp) the same way, that department not excluded: chosen again,
//   it keeps the ticket as it was (acceptance, deadlines, no new delivery);
// - unanswered questions: a ticket that waited tickets.question_timeout for the citizen's answer
//   returns to its department ('question_expired', a delivery of that reason);
// - acceptance deadlines: a department that has not accepted a ticket remind_after after it got
//   it is reminded (escalation_level 1); after reassign_after the ticket goes to the triage
//   department (escalation_level 2, the old department excluded). Triage is never escalated
//   from, and an escalated ticket is not reminded again.
// Each ticket is changed in its own transaction, claimed with FOR UPDATE SKIP LOCKED, with its
// history row, the department's delivery and the citizens' notifications in the outbox. The
// clock is a parameter: the thread passes the real time, `meldestelle deadlines run --now`
// any time. A second pass at the same time changes nothing.
class TicketJobs {
 public:
  using RulesFn = std::function<std::shared_ptr<const routing::RuleSet>()>;
  // `registry` may be null (the CLI): no metrics.
  TicketJobs(const Config& config, RulesFn rules, metrics::Registry* registry);

  struct Action {
    std::string reference;
    std::string action;  // rerouted, reminder, escalated, question_expired
    std::string from_department, to_department;
    std::string detail;  // rule, deadline
  };
  // One pass at `now_unix`: every handed-back ticket, then every due deadline.
  Result<std::vector<Action>> RunOnce(int64_t now_unix);
  // Re-reads the routing-quality gauges (the last 30 days before `now_unix`).
  Status RefreshMetrics(int64_t now_unix);
  // RunOnce every `interval` with the real time, RefreshMetrics every minute and after a pass
  // that changed tickets, until `stop`.
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

  // The deadlines of a ticket its department got at `assigned_at` (Unix seconds; 0 = none).
  struct Deadlines {
    int64_t remind = 0;
    int64_t reassign = 0;
  };
  Deadlines DeadlinesFor(const std::string& department_id, int64_t assigned_at) const;

 private:
  struct Rerouting;
  struct Candidate {
    std::string id;
    int64_t assigned_at = 0;
  };
  // A ticket whose deadline may have passed, as read under its row lock.
  struct Due {
    std::string id, reference, department;
    int level = 0;
    int64_t assigned_at = 0;
    Deadlines deadlines;
  };
  Status Reroute(int64_t now, std::vector<Action>& actions);
  bool RerouteOne(db::Tx& tx, const routing::RuleSet& rules, const std::string& triage, int64_t now,
                  std::vector<Action>& actions, std::string* taken);
  Rerouting Reroutes(const routing::RuleSet& rules, const std::string& triage,
                     const std::string& report_json, std::vector<std::string> excluded) const;
  Status Deadline(int64_t now, std::vector<Action>& actions);
  // Tickets whose question went unanswered for tickets.question_timeout go back to their
  // department (tickets/questions.hpp).
  Status ExpireQuestions(int64_t now, std::vector<Action>& actions);
  int64_t ShortestDeadline() const;
  Result<std::vector<Candidate>> Candidates(int64_t now, int64_t shortest, const Candidate& after);
  Ok CheckDeadline(db::Tx& tx, const Candidate& c, int64_t now, const std::string& triage,
                   std::vector<Action>& actions);
  void Remind(db::Tx& tx, const Due& t, std::vector<Action>& actions);
  void Escalate(db::Tx& tx, const Due& t, int64_t now, const std::string& triage,
                std::vector<Action>& actions);
  std::string TriageDepartment(const routing::RuleSet& rules) const;
  std::string DepartmentName(const std::string& id) const;

  const Config& config_;
  const Settings& settings_;
  RulesFn rules_;
  metrics::Registry* registry_;
  routing::WorkingCalendar calendar_;
  db::Session session_;
  metrics::Counter* rerouted_ = nullptr;
  metrics::Counter* reminders_ = nullptr;
  metrics::Counter* escalations_ = nullptr;
  std::set<std::pair<std::string, metrics::Labels>> gauges_seen_;  // (name, labels) set before
};

}  // namespace meldestelle::tickets
