#include "workers/admit.hpp"

#include <optional>

#include "core/log.hpp"

namespace meldestelle::workers {

using channels::Admitted;

Admitter::Admitter(const Config& config, const RuleSource& rules, metrics::Registry& registry)
    : config_(config),
      rules_(rules),
      store_(config),
      created_(registry.GetCounter("meldestelle_worker_processed_total",
                                   "Reports processed by the worker, by outcome.",
                                   {{"outcome", "ticket_created"}})),
      redelivered_(registry.GetCounter("meldestelle_worker_processed_total",
                                       "Reports processed by the worker, by outcome.",
                                       {{"outcome", "duplicate"}})),
      linked_(registry.GetCounter(
          "meldestelle_duplicates_linked_total",
          "Reports linked to an open ticket of the same category nearby (docs/duplicates.md).")),
      shadow_evaluated_(
          registry.GetCounter("meldestelle_shadow_evaluated_total",
                              "Tickets also routed by the candidate rule set (shadow mode).")),
      shadow_disagreements_(registry.GetCounter(
          "meldestelle_shadow_disagreements_total",
          "Tickets the candidate rule set would have routed to another department or rule.")) {}

Result<Admitted> Admitter::Admit(const channels::AdmitRequest& request) {
  const Report& report = request.envelope.report;
  // One snapshot per report: a reload in the meantime does not affect this one.
  RuleSets sets = rules_.Current();
  routing::Decision decision = routing::Route(*sets.live, report);
  for (const auto& flag : request.flags)
    decision.flags.push_back(flag);
  std::optional<routing::Decision> shadow;
  if (sets.candidate) {
    routing::Decision candidate = routing::Route(*sets.candidate, report);
    if (candidate.department != decision.department || candidate.rule_id != decision.rule_id) {
      shadow = std::move(candidate);
    }
  }
  const Department* dept = config_.FindDepartment(decision.department);
  auto created =
      store_.Create({request.envelope, decision, dept != nullptr ? dept->name : decision.department,
                     shadow ? &*shadow : nullptr, request.ack_extra});
  if (!created)
    return created.error();
  Admitted a;
  a.department = decision.department;
  a.rule = decision.rule_id;
  a.linked_reference = created->linked_reference;
  a.outcome = created->outcome == tickets::TicketStore::Outcome::kCreated
                  ? Admitted::Outcome::kCreated
              : created->outcome == tickets::TicketStore::Outcome::kLinked
                  ? Admitted::Outcome::kLinked
                  : Admitted::Outcome::kRedelivered;
  Count(request, a, sets.candidate != nullptr, shadow.has_value());
  return a;
}

void Admitter::Count(const channels::AdmitRequest& request, const Admitted& a, bool shadow_on,
                     bool disagreed) {
  const Report& r = request.envelope.report;
  if (a.outcome != Admitted::Outcome::kRedelivered) {
    if (shadow_on)
      shadow_evaluated_.Inc();
    if (disagreed)
      shadow_disagreements_.Inc();
  }
  switch (a.outcome) {
    case Admitted::Outcome::kLinked:
      linked_.Inc();
      log::Info("report linked to an open ticket", {{"reference", r.reference},
                                                    {"channel", r.channel},
                                                    {"existing_reference", a.linked_reference}});
      break;
    case Admitted::Outcome::kCreated:
      created_.Inc();
      log::Info("ticket created", {{"reference", r.reference},
                                   {"channel", r.channel},
                                   {"department", a.department},
                                   {"rule", a.rule}});
      break;
    case Admitted::Outcome::kRedelivered:
      redelivered_.Inc();
      log::Info("duplicate report ignored", {{"reference", r.reference}, {"channel", r.channel}});
      break;
  }
}

}  // namespace meldestelle::workers
