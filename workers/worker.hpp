#pragma once

#include <amqp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "channels/channel.hpp"
#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/settings.hpp"

namespace meldestelle::workers {

// The header a retry queue's copy of a message carries: the attempts that failed before it.
inline constexpr const char* kAttemptsHeader = "x-meldestelle-attempts";

// The delivery's attempt, from 1: the failed attempts of the copies before it and this copy's
// own deliveries.
int AttemptOf(const amqp_basic_properties_t& props);

// The retry queue of work queue `queue` whose messages wait `delay_seconds`
// ("meldestelle.reports.retry.15s").
std::string RetryQueueName(std::string_view queue, int delay_seconds);

// The routing worker's consumer: takes messages from the work queue with manual acknowledgement
// and a prefetch window, and hands each to the handler its channel registered for the message's
// type (the AMQP `type` property; a message queued before messages were typed is recognised by
// the registry). Failures of the environment (database down) are retried in place without
// counting; failures of the message count as attempts, each tried again after the next of
// worker.retry_delays_seconds (through a retry queue: RetryQueueName), and after
// worker.max_attempts the message goes to the dead-letter queue with the reason. A message that
// cannot be parsed, or of a type nobody handles, goes there at once. Several worker processes may
// run side by side.
class Worker {
 public:
  // `services` makes the handlers (one per message type, on this thread); both must outlive
  // the worker.
  Worker(const Config& config, const channels::Registry& channels,
         channels::WorkerServices& services, metrics::Registry& registry);
  // Runs until `stop` becomes true. Returns non-zero only for unrecoverable setup errors.
  int Run(const std::atomic<bool>& stop);

  // kRetry: the attempt failed; tried again after worker.retry_delays_seconds (kRequeue: at
  // once, as when the worker stops).
  enum class Verdict { kAck, kRequeue, kRetry, kDeadLetter };
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
  // The connection with publisher confirms for dead letters and retries (dl_conn_).
  Status OpenRepublisher();
  // Publishes a copy of a delivery to `queue` and waits for the broker's confirm; `ours` are
  // headers added to those the message came with (less those of its trip: IsPerTripHeader).
  Status PublishConfirmed(const std::string& queue, std::string_view body,
                          const amqp_basic_properties_t& in_props,
                          const std::vector<amqp_table_entry_t>& ours);
  Status PublishConfirmedOnce(const std::string& queue, std::string_view body,
                              const amqp_basic_properties_t& in_props,
                              const std::vector<amqp_table_entry_t>& ours);
  Status DeadLetter(std::string_view body, const amqp_basic_properties_t& props,
                    const std::string& reason);
  Status DeclareRetryQueue(const std::string& name, int delay_seconds);
  // Sets the delivery aside for `delay_seconds` in its retry queue, which hands it back to the
  // work queue with the attempts so far counted (kAttemptsHeader).
  Status RetryLater(std::string_view body, const amqp_basic_properties_t& props, int attempt,
                    int delay_seconds, const std::string& reason);
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
  std::optional<AmqpConnection> dl_conn_;  // separate connection for dead letters and retries
  std::set<std::string> declared_;         // retry queues declared on dl_conn_
  // Until then a failed attempt is handed back at once: the broker refused to declare a retry
  // queue (cleared when the worker connects and declares them all).
  std::chrono::steady_clock::time_point retry_queues_refused_until_{};
  size_t node_ = 0;                        // the broker node to try first (OpenAnyNode)
  metrics::Counter& dead_lettered_;
  metrics::Counter& requeued_;
  metrics::Counter& db_retries_;
  metrics::Histogram& latency_;
};

}  // namespace meldestelle::workers
