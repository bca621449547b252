#pragma once

#include <amqp.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "channels/channel.hpp"
#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/settings.hpp"

namespace meldestelle::workers {

// The routing worker's consumer: takes messages from the work queue with manual acknowledgement
// and a prefetch window, and hands each to the handler its channel registered for the message's
// type (the AMQP `type` property; a message queued before messages were typed is recognised by
// the registry). Failures of the environment (database down) are retried in place without
// counting; failures of the message count as attempts and after worker.max_attempts the message
// goes to the dead-letter queue with the reason. A message that cannot be parsed, or of a type
// nobody handles, goes there at once. Several worker processes may run side by side.
class Worker {
 public:
  // `services` makes the handlers (one per message type, on this thread); both must outlive
  // the worker.
  Worker(const Config& config, const channels::Registry& channels,
         channels::WorkerServices& services, metrics::Registry& registry);
  // Runs until `stop` becomes true. Returns non-zero only for unrecoverable setup errors.
  int Run(const std::atomic<bool>& stop);

  enum class Verdict { kAck, kRequeue, kDeadLetter };
  struct Handled {
    Verdict verdict;
    std::string reason;  // for dead letters and logs
  };
  // Processes one delivery (exposed for tests). `type` is the AMQP type ("" = none); `attempt`
  // counts from 1.
  Handled Process(std::string_view type, std::string_view body, int attempt,
                  const std::atomic<bool>& stop);

 private:
  Status Connect();
  Status DeadLetter(std::string_view body, const amqp_basic_properties_t& props,
                    const std::string& reason);
  channels::Handler* HandlerFor(std::string_view type, std::string_view body);
  // Retries `step` in place while the database is unavailable; other errors count an attempt.
  Handled Retrying(const std::function<Status()>& step, int attempt, const std::atomic<bool>& stop);
  void Settle(const amqp_envelope_t& envelope, int attempt, Handled h,
              const std::atomic<bool>& stop);

  const Config& config_;
  const Settings& settings_;
  const channels::Registry& channels_;
  channels::WorkerServices& services_;
  std::map<std::string, std::unique_ptr<channels::Handler>, std::less<>> handlers_;  // by type
  std::optional<AmqpConnection> conn_;
  std::optional<AmqpConnection> dl_conn_;  // separate connection for dead-letter publishes
  size_t node_ = 0;                        // the broker node to try first (OpenAnyNode)
  metrics::Counter& dead_lettered_;
  metrics::Counter& requeued_;
  metrics::Counter& db_retries_;
  metrics::Histogram& latency_;
};

}  // namespace meldestelle::workers
