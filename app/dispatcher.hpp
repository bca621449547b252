#pragma once

// The dispatcher's lanes (docs/architecture.md, "The outbox"): which rows each sending thread
// claims, with which senders and settings. Apart from RunDispatcher so that the tests run the
// same lanes in their own process.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::channels {
class Registry;
}

namespace meldestelle::app {

struct LanePlan {
  outbox::Senders senders;
  outbox::LaneSettings settings;
};

// One lane per channel that sends to citizens ("citizens-<channel>": e-mail, SMS, WhatsApp,
// Telegram, …), each with its own senders, so that a provider that hangs or is down delays only
// its own channel's messages; and "departments": the deliveries to departments and the forwards
// to other authorities. Each plan is for one thread (its senders are its own). `holder` is
// LaneSettings::holder.
std::vector<LanePlan> DispatcherLanes(const Config& cfg, const channels::Registry& channels,
                                      const std::string& holder, metrics::Registry& registry);

}  // namespace meldestelle::app
