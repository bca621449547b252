#include "workers/admit.hpp"

#include <optional>

#include "core/log.hpp"
#include "core/text.hpp"
#include "outbox/outbox.hpp"
#include "routing/settings.hpp"

namespace meldestelle::workers {

using channels::Admitted;

namespace {

// The report's position from the street list, on the copy `located` of the request; the trace
// for the routing explanation. Sure enough: the position (`location.source: address`), the typed
// address kept (or, from the text, the one found); "Ort fehlt" no longer true. Too unsure: only
// noted. An address that names no place of the list: flagged, kept as text.
std::optional<routing::Decision::Place> Locate(const routing::Gazetteer* gazetteer,
                                               Geocoder* geocoder, double min_confidence,
                                               channels::AdmitRequest& located,
                                               metrics::Registry& registry) {
  Report& r = located.envelope.report;
  std::optional<routing::LocatedPlace> found;
  if (gazetteer != nullptr)
    found = routing::LocateReport(*gazetteer, r);
  if (!found && geocoder != nullptr && !r.location.address.empty()) {
    // Not in the street list: the external geocoder, asked with the typed address only.
    auto g = geocoder->Find(r.location.address);
    std::string outcome = !g ? g.error().code.str() : g->has_value() ? "found" : "not_found";
    registry
        .GetCounter("meldestelle_geocoder_requests_total",
                    "Addresses sent to the external geocoder (routing.geocoder_url), by outcome.",
                    {{"outcome", outcome}})
        .Inc();
    if (g && g->has_value()) {
      const GeocodedPlace& p = **g;
      routing::Decision::Place trace{"geocoder",         "address", p.label, "",
                                     r.location.address, 1.0,       true};
      located.flags.push_back("Ort aus Geocoder: " + p.label);
      r.location.lat = p.lat;
      r.location.lon = p.lon;
      r.location.accuracy_m.reset();
      r.location.source = LocationSource::kAddress;
      std::erase(located.flags, std::string("Ort fehlt"));
      return trace;
    }
    if (!g) {
      bool ambiguous = g.error().code.str() == "geocoder_ambiguous";
      if (!ambiguous) {
        log::Warn("geocoder unavailable: the address stays text",
                  {{"error", g.error().message}, {"reference", r.reference}});
      }
      located.flags.push_back(ambiguous ? "Adresse mehrdeutig" : "Geocoder nicht erreichbar");
      return std::nullopt;
    }
  }
  if (!found) {
    if (!r.location.lat && !r.location.address.empty())
      located.flags.push_back(geocoder != nullptr ? "Adresse nicht gefunden"
                                                  : "Adresse nicht im Straßenverzeichnis");
    return std::nullopt;
  }
  const routing::PlaceMatch& m = found->match;
  routing::Decision::Place trace{found->from,    m.kind,       m.street, m.house_number,
                                 m.matched_text, m.confidence, false};
  located.flags.push_back(routing::LocatedFlag(*found));
  if (m.confidence < min_confidence) {
    located.flags.push_back("Ort unsicher");
    return trace;
  }
  trace.used = true;
  r.location.lat = m.lat;
  r.location.lon = m.lon;
  r.location.accuracy_m.reset();
  r.location.source = LocationSource::kAddress;
  if (r.location.address.empty())
    r.location.address = m.street + (m.house_number.empty() ? "" : " " + m.house_number);
  std::erase(located.flags, std::string("Ort fehlt"));
  return trace;
}

}  // namespace

Admitter::Admitter(const Config& config, const RuleSource& rules, metrics::Registry& registry,
                   const routing::Gazetteer* gazetteer,
                   std::set<std::string, std::less<>> ack_channels,
                   std::set<std::string, std::less<>> ack_senders)
    : config_(config),
      rules_(rules),
      gazetteer_(gazetteer),
      place_min_confidence_(config.Get<routing::Settings>().place_min_confidence),
      ack_channels_(std::move(ack_channels)),
      ack_senders_(std::move(ack_senders)),
      geocoder_(
          config.Get<routing::Settings>().geocoder_url.empty()
              ? nullptr
              : std::make_unique<Geocoder>(config.Get<routing::Settings>().geocoder_url,
                                           "Meldestelle (Mängelmelder of " + config.town.name + ")",
                                           config.Get<routing::Settings>().geocoder_timeout_ms)),
      store_(config),
      placed_(registry.GetCounter(
          "meldestelle_reports_placed_by_address_total",
          "Reports without a position placed by the street list (their address or text).")),
      place_unsure_(registry.GetCounter(
          "meldestelle_reports_place_unsure_total",
          "Reports whose address or text named a place too unsure to use; kept as text.")),
      registry_(registry),
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

Result<Admitted> Admitter::Admit(const channels::AdmitRequest& given) {
  // The request is copied only when the admit step changes it (`located`).
  std::optional<channels::AdmitRequest> located;
  // A category the configuration does not know (removed since, or never one): not lost, not
  // routed by a code no rule means — routed as a report without one (the classifier may find
  // one), and flagged with the code, which the raw payload keeps too.
  if (const std::string& code = given.envelope.report.category;
      !code.empty() && config_.FindCategory(code) == nullptr) {
    located = given;
    located->flags.push_back(
        Concat({kFlagCategoryUnknown, ": ", Utf8Prefix(located->envelope.report.category, 64)}));
    located->envelope.report.category.clear();
  }
  // A report without a position: placed by its address or text first, so that the location
  // checks and the rules see the place.
  std::optional<routing::Decision::Place> place;
  if ((gazetteer_ != nullptr || geocoder_ != nullptr) && !given.envelope.report.location.lat) {
    if (!located)
      located = given;
    place = Locate(gazetteer_, geocoder_.get(), place_min_confidence_, *located, registry_);
    if (place)
      (place->used ? placed_ : place_unsure_).Inc();
  }
  const channels::AdmitRequest& request = located ? *located : given;
  const Report& report = request.envelope.report;
  // One snapshot per report: a reload in the meantime does not affect this one.
  RuleSets sets = rules_.Current();
  routing::Decision decision = routing::Route(*sets.live, report);
  decision.place = place;
  for (const auto& flag : request.flags)
    decision.flags.push_back(flag);
  std::optional<routing::Decision> shadow;
  if (sets.candidate) {
    routing::Decision candidate = routing::Route(*sets.candidate, report);
    if (candidate.department != decision.department || candidate.rule_id != decision.rule_id) {
      shadow = std::move(candidate);
    }
  }
  // An acknowledgement nothing would ever send (no channel of the registry sends on its
  // channel, or this town has not configured its sender): the ticket is written, the
  // acknowledgement recorded as failed at once, and staff see why in a flag.
  std::string ack_unsendable;
  if (const std::string& ack = report.reporter.ack_channel;
      !ack.empty() && ack != outbox::kNoChannel) {
    const std::string_view shown = Utf8Prefix(ack, 64);
    if (ack_channels_.find(ack) == ack_channels_.end()) {
      ack_unsendable = Concat({"no channel sends acknowledgements on \"", shown, "\""});
    } else if (ack_senders_.find(ack) == ack_senders_.end()) {
      ack_unsendable = outbox::NoSenderError(shown);
    }
    if (!ack_unsendable.empty())
      decision.flags.push_back(Concat({kFlagAckUnsendable, ": ", shown}));
  }
  const Department* dept = config_.FindDepartment(decision.department);
  auto created =
      store_.Create({request.envelope, decision, dept != nullptr ? dept->name : decision.department,
                     shadow ? &*shadow : nullptr, request.ack_extra, ack_unsendable});
  if (!created)
    return created.error();
  if (created->outcome == tickets::TicketStore::Outcome::kConflict) {
    log::Warn("report refused: its id or reference is another report's",
              {{"reference", report.reference}, {"channel", report.channel}});
    return MakeError(errors::kMessageInvalid, created->conflict);
  }
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
  if (!ack_unsendable.empty() && a.outcome != Admitted::Outcome::kRedelivered) {
    // Counted once, when its row was written (not for a redelivery or a retry), by channel
    // where it is one of ours (a report names any string).
    const std::string& ack = report.reporter.ack_channel;
    outbox::UnsendableCounter(registry_, ack_channels_.count(ack) > 0 ? ack : std::string("other"))
        .Inc();
  }
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
