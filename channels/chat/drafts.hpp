#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "channels/channel.hpp"
#include "channels/chat/settings.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "core/texts.hpp"
#include "routing/gazetteer.hpp"

namespace meldestelle::chat {

// Closes chat drafts whose window has passed (docs/channels/whatsapp.md, "Multi-message
// reports"): a draft with a place (pin, or GPS in a photo) becomes a report, admitted like any
// other (route, ticket, acknowledgement in the outbox); a draft without one asks the citizen once
// and waits another window, after which it is admitted anyway, flagged "Ort fehlt". Several
// workers may run closers side by side (FOR UPDATE SKIP LOCKED); admitting is idempotent (the
// ticket's deduplication key is the draft's first message id), so a crash between the ticket and
// the draft update is repaired on the next pass. Every 10 minutes it forgets provider event ids
// older than chat.dedupe_days. One instance per thread.
class DraftCloser final : public channels::Job {
 public:
  // `gazetteer` may be null; with it, a draft whose text names a street and number (or a
  // landmark) of the town is not asked for its place: the admit step places it.
  DraftCloser(const Config& config, std::unique_ptr<channels::Admission> admission,
              const routing::Gazetteer* gazetteer, metrics::Registry& registry);
  // Handles every due draft once; returns how many it closed or asked about.
  Result<int> RunOnce();
  // Deletes chat_events (and parked receipts) older than chat.dedupe_days; returns how many.
  Result<int64_t> ForgetOldEvents();
  // RunOnce every quarter window (at most every second) until `stop`; database outages are
  // logged and retried.
  void Run(const std::atomic<bool>& stop) override;

 private:
  struct Draft;
  struct Contents;
  // Takes one due draft and closes it (or asks for the place); false when none is due.
  bool CloseOne(db::Tx& tx, int64_t* taken);
  Contents Read(db::Tx& tx, const Draft& d) const;
  void AskForPlace(db::Tx& tx, const Draft& d);
  void Publish(db::Tx& tx, const Draft& d, Contents c);
  Status SetAside(int64_t draft);

  const Settings& settings_;
  std::unique_ptr<channels::Admission> admission_;
  const routing::Gazetteer* gazetteer_;
  const double place_min_confidence_;
  std::shared_ptr<const texts::Catalogue> texts_;  // the citizens' texts
  db::Session session_;
  metrics::Counter& published_;
  metrics::Counter& asked_;
};

}  // namespace meldestelle::chat
