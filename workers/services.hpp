#pragma once

#include <memory>
#include <set>
#include <string>

#include "channels/channel.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// What the worker process offers the channels' handlers and jobs: the config, the metrics, the
// street list and the admit step on the live (and shadow) rules. Thread-safe; every admit step
// it makes belongs to the thread that asked for it.
class Services final : public channels::WorkerServices {
 public:
  // All four must outlive the services; `gazetteer` may be null. `channels` says on which
  // outbox channels acknowledgements are sent (channels::Registry::SendsAcknowledgements), and
  // on which of them `config` has a sender (AcknowledgementSenders).
  Services(const Config& config, const RuleSource& rules, metrics::Registry& registry,
           const routing::Gazetteer* gazetteer, std::string holder,
           const channels::Registry& channels);
  const Config& config() const override { return config_; }
  metrics::Registry& metrics() override { return registry_; }
  const routing::Gazetteer* gazetteer() const override { return gazetteer_; }
  std::unique_ptr<channels::Admission> NewAdmission() override;
  const std::string& holder() const override { return holder_; }
  bool SendsAcknowledgementsOn(std::string_view channel) const override {
    return ack_senders_.count(channel) > 0;
  }

 private:
  const Config& config_;
  const RuleSource& rules_;
  metrics::Registry& registry_;
  const routing::Gazetteer* gazetteer_;
  const std::string holder_;
  const std::set<std::string, std::less<>> ack_channels_;  // of the registry's channels
  const std::set<std::string, std::less<>> ack_senders_;   // those with a sender configured
};

}  // namespace meldestelle::workers
