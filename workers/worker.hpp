#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "routing/rules.hpp"
#include "tickets/store.hpp"
#include "workers/chat_intake.hpp"
#include "workers/chat_media.hpp"
#include "workers/mail_intake.hpp"
#include "workers/open311_media.hpp"
#include "workers/phone_calls.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// The routing worker: consumes reports with manual acknowledgement and a prefetch window, routes
// them, writes the ticket in one transaction, then acks. Failures of the environment (database
// down) are retried in place without counting; failures of the message count as attempts and
// after worker.max_attempts the message goes to the dead-letter queue with the reason.
// An unparseable message goes there at once. Several worker processes may run side by side.
// Each report is routed by one snapshot of `rules` (live set, and the candidate in shadow mode);
// `rules` must outlive the worker.
class Worker {
 public:
  // `gazetteer` (may be null) finds places in e-mail text.
  Worker(const Config& config, const RuleSource& rules, metrics::Registry& registry,
         const routing::Gazetteer* gazetteer = nullptr);
  // Runs until `stop` becomes true. Returns non-zero only for unrecoverable setup errors.
  int Run(const std::atomic<bool>& stop);

  enum class Verdict { kAck, kRequeue, kDeadLetter };
  struct Handled {
    Verdict verdict;
    std::string reason;  // for dead letters and logs
  };
  // Processes one delivery body (exposed for tests). `attempt` counts from 1.
  Handled Process(std::string_view body, int attempt, const std::atomic<bool>& stop);

 private:
  Status Connect();
  Status DeadLetter(std::string_view body, const amqp_basic_properties_t& props,
                    const std::string& reason);
  // A chat notification's events (messages, edits, statuses) into drafts.
  Handled ProcessChat(std::string_view body, int attempt, const std::atomic<bool>& stop);
  // A phone webhook's event into the call it belongs to.
  Handled ProcessPhone(std::string_view body, int attempt, const std::atomic<bool>& stop);
  Handled ProcessMail(std::string_view body, int attempt, const std::atomic<bool>& stop);
  // Retries `step` in place while the database is unavailable; other errors count an attempt.
  Handled Retrying(const std::function<Status()>& step, int attempt, const std::atomic<bool>& stop);

  const Config& config_;
  const RuleSource& rules_;
  tickets::TicketStore store_;
  ProviderMedia media_;
  ChatIntake chat_;
  PhoneIntake phone_;
  MailIntake mail_;
  Open311Media open311_media_;
  std::optional<AmqpConnection> conn_;
  std::optional<AmqpConnection> dl_conn_;  // separate connection for dead-letter publishes
  metrics::Counter& processed_created_;
  metrics::Counter& processed_duplicate_;
  metrics::Counter& duplicates_linked_;
  metrics::Counter& dead_lettered_;
  metrics::Counter& requeued_;
  metrics::Counter& db_retries_;
  metrics::Counter& shadow_evaluated_;
  metrics::Counter& shadow_disagreements_;
  metrics::Histogram& latency_;
};

}  // namespace meldestelle::workers
