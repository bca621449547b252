#pragma once

#include <memory>
#include <set>
#include <string>

#include "channels/admission.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "outbox/outbox.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/store.hpp"
#include "workers/geocoder.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// The flags (for staff, in the routing explanation) of what the admit step could not take as
// given. A category the configuration does not know: the report is routed, and its ticket
// stored, as one without a category; the flag names the code ("Kategorie unbekannt: ZZZ-99").
inline constexpr const char* kFlagCategoryUnknown = "Kategorie unbekannt";
// An acknowledgement on a channel nothing sends on, or none that this configuration has a sender
// for (an SMS without a Twilio account, an e-mail without a relay): its outbox row failed at
// once; the flag names the channel.
inline constexpr const char* kFlagAckUnsendable = outbox::kFlagAckUnsendable;

// The one admit step (channels/admission.hpp): a report without a position first gets one from
// the street list when its address or text names a place (routing::LocateReport), on every
// channel alike; then one rule snapshot per report — the live set, and the candidate in shadow
// mode, whose disagreement is stored with the ticket — then the ticket, its acknowledgement and
// its delivery in one transaction (tickets::TicketStore), then the metrics. One instance per
// thread (it owns the store's connection).
class Admitter final : public channels::Admission {
 public:
  // `gazetteer` (routing.gazetteer_file) may be null: then no report is placed by its address.
  // `ack_channels`: the outbox channels acknowledgements can be sent on (besides "none");
  // `ack_senders`: those of them that have a sender in this configuration.
  Admitter(const Config& config, const RuleSource& rules, metrics::Registry& registry,
           const routing::Gazetteer* gazetteer, std::set<std::string, std::less<>> ack_channels,
           std::set<std::string, std::less<>> ack_senders);
  Result<channels::Admitted> Admit(const channels::AdmitRequest& request) override;
  Status Ping() { return store_.Ping(); }

 private:
  void Count(const channels::AdmitRequest& request, const channels::Admitted& admitted,
             bool shadow_on, bool disagreed);

  const Config& config_;
  const RuleSource& rules_;
  const routing::Gazetteer* gazetteer_;
  const double place_min_confidence_;
  const std::set<std::string, std::less<>> ack_channels_;
  const std::set<std::string, std::less<>> ack_senders_;
  std::unique_ptr<Geocoder> geocoder_;  // routing.geocoder_url; null = none
  tickets::TicketStore store_;
  metrics::Counter& placed_;
  metrics::Counter& place_unsure_;
  metrics::Registry& registry_;
  metrics::Counter& created_;
  metrics::Counter& redelivered_;
  metrics::Counter& linked_;
  metrics::Counter& shadow_evaluated_;
  metrics::Counter& shadow_disagreements_;
};

}  // namespace meldestelle::workers
