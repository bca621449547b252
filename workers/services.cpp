#include "workers/services.hpp"

#include "workers/admit.hpp"

namespace meldestelle::workers {

namespace {

std::set<std::string, std::less<>> AckChannels(const channels::Registry& channels) {
  std::set<std::string, std::less<>> out;
  for (const auto& channel : channels.channels())
    out.insert(channel.ack_channels.begin(), channel.ack_channels.end());
  return out;
}

}  // namespace

Services::Services(const Config& config, const RuleSource& rules, metrics::Registry& registry,
                   const routing::Gazetteer* gazetteer, std::string holder,
                   const channels::Registry& channels)
    : config_(config),
      rules_(rules),
      registry_(registry),
      gazetteer_(gazetteer),
      holder_(std::move(holder)),
      ack_channels_(AckChannels(channels)),
      ack_senders_(channels.AcknowledgementSenders(config)) {}

std::unique_ptr<channels::Admission> Services::NewAdmission() {
  return std::make_unique<Admitter>(config_, rules_, registry_, gazetteer_, ack_channels_,
                                    ack_senders_);
}

}  // namespace meldestelle::workers
