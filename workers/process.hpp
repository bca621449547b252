#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "channels/channel.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/jobs.hpp"
#include "workers/rule_source.hpp"
#include "workers/services.hpp"
#include "workers/worker.hpp"

namespace meldestelle::workers {

// A worker process's threads: the consumer, the rule reloader, the ticket jobs and every job the
// channels registered (the chat draft closer, the phone closer). `meldestelle worker` runs one;
// tests run one in their own binary with a registry of their own.
class WorkerProcess {
 public:
  // `config`, `channels` and `registry` must outlive the process. `holder`: the worker's name
  // among all workers (channels::WorkerServices::holder), "" for none.
  WorkerProcess(const Config& config, const channels::Registry& channels,
                metrics::Registry& registry, std::string holder = "");
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Loads the rules (live set checked with its fixtures) and the street list, then starts the
  // threads. Errors: the rules or the street list are invalid (config_invalid, rules_invalid).
  Status Start();
  // A further thread the process runs from Start() until Stop() (`meldestelle worker` adds the
  // retention pass, which needs the broker and the channels' settings). Call before Start().
  void AddJob(std::function<void(const std::atomic<bool>& stop)> job);
  // Reloads the rules now (SIGHUP). Any thread.
  void RequestReload();
  // Stops and joins every thread (also done by the destructor).
  void Stop();
  const RuleSource& rules() const { return rules_; }

 private:
  const Config& config_;
  const channels::Registry& channels_;
  metrics::Registry& registry_;
  const std::string holder_;
  RuleSource rules_;
  std::optional<routing::Gazetteer> gazetteer_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<tickets::TicketJobs> ticket_jobs_;
  std::vector<std::unique_ptr<channels::Job>> jobs_;
  std::vector<std::function<void(const std::atomic<bool>&)>> extra_jobs_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace meldestelle::workers
