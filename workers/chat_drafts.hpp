#pragma once

#include <atomic>
#include <memory>
#include <pqxx/pqxx>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "tickets/store.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// Closes chat drafts whose window has passed (docs/channels/whatsapp.md, "Multi-message
// reports"): a draft with a place (pin, or GPS in a photo) becomes a report, routed and stored
// like any other with its acknowledgement in the outbox; a draft without one asks the citizen
// once and waits another window, after which it is routed anyway, flagged "Ort fehlt".
// Several workers may run closers side by side (FOR UPDATE SKIP LOCKED); publishing is idempotent
// (the ticket's deduplication key is the draft's first message id), so a crash between the
// ticket and the draft update is repaired on the next pass. One instance per thread.
class DraftCloser {
 public:
  DraftCloser(const Config& config, const RuleSource& rules, metrics::Registry& registry);
  // Handles every due draft once; returns how many it closed or asked about.
  Result<int> RunOnce();
  // Deletes chat_events older than chat.dedupe_days; returns how many.
  Result<int64_t> ForgetOldEvents();
  // RunOnce every `interval` until `stop` (and ForgetOldEvents every 10 minutes); database
  // outages are logged and retried.
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

 private:
  const Config& config_;
  const RuleSource& rules_;
  tickets::TicketStore store_;
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Counter& published_;
  metrics::Counter& asked_;
};

}  // namespace meldestelle::workers
