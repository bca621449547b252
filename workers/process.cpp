#include "workers/process.hpp"

#include "core/errors.hpp"
#include "core/log.hpp"
#include "routing/settings.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::workers {

WorkerProcess::WorkerProcess(const Config& config, const channels::Registry& channels,
                             metrics::Registry& registry, std::string holder)
    : config_(config),
      channels_(channels),
      registry_(registry),
      holder_(std::move(holder)),
      rules_(config, registry) {}

WorkerProcess::~WorkerProcess() { Stop(); }

Status WorkerProcess::Start() {
  if (auto st = rules_.LoadInitial(); !st)
    return st;
  const auto& gazetteer = config_.Get<routing::Settings>().gazetteer_file;
  if (!gazetteer.empty()) {
    auto g = routing::LoadGazetteer(gazetteer);
    if (!g)
      return MakeError(errors::kConfigInvalid, g.error().message);
    gazetteer_ = std::move(g).value();
  }
  services_ = std::make_unique<Services>(config_, rules_, registry_,
                                         gazetteer_ ? &*gazetteer_ : nullptr, holder_, channels_);
  worker_ = std::make_unique<Worker>(config_, channels_, *services_, registry_);
  ticket_jobs_ = std::make_unique<tickets::TicketJobs>(
      config_, [this] { return rules_.Current().live; }, &registry_);
  for (const auto& channel : channels_.channels()) {
    for (const auto& job : channel.jobs)
      jobs_.push_back(job.make(*services_));
  }
  // Where acknowledgements go out, and where a report's acknowledgement is recorded as not
  // sendable at once (Admitter): a town without a Twilio account sends no SMS.
  std::string sent_on, not_sent_on;
  for (const auto& channel : channels_.channels()) {
    for (const auto& ack : channel.ack_channels) {
      std::string& list = services_->SendsAcknowledgementsOn(ack) ? sent_on : not_sent_on;
      list += (list.empty() ? "" : ",") + ack;
    }
  }
  log::Info("worker starting", {{"rules", rules_.Current().live->version},
                                {"acknowledgements_sent_on", sent_on},
                                {"acknowledgements_not_sendable_on", not_sent_on}});
  threads_.emplace_back([this] { worker_->Run(stop_); });
  threads_.emplace_back([this] { rules_.Run(stop_); });
  threads_.emplace_back([this] {
    ticket_jobs_->Run(stop_,
                      std::chrono::milliseconds(config_.Get<tickets::Settings>().jobs_interval_ms));
  });
  for (auto& job : jobs_) {
    channels::Job* j = job.get();
    threads_.emplace_back([this, j] { j->Run(stop_); });
  }
  for (auto& job : extra_jobs_)
    threads_.emplace_back([this, &job] { job(stop_); });
  return Ok{};
}

void WorkerProcess::AddJob(std::function<void(const std::atomic<bool>& stop)> job) {
  extra_jobs_.push_back(std::move(job));
}

void WorkerProcess::RequestReload() { rules_.RequestReload(); }

void WorkerProcess::Stop() {
  stop_.store(true);
  rules_.Wake();
  for (auto& t : threads_) {
    if (t.joinable())
      t.join();
  }
  threads_.clear();
}

}  // namespace meldestelle::workers
