#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <pqxx/pqxx>

#include "channels/phone/message.hpp"
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/store.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// Joins the events of a phone call by its call id in `phone_calls` (docs/channels/phone.md).
// Each event is handled once (its dedupe key is remembered in chat_events with channel "phone"),
// so repeated callbacks change nothing. One instance per thread.
class PhoneIntake {
 public:
  PhoneIntake(const Config& config, metrics::Registry& registry);
  // Errors are transient ("db_unavailable") or the message's own.
  Status Process(const phone::Message& message);

 private:
  const Config& config_;
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Counter& duplicates_;
};

// Turns recorded calls into tickets once their text is settled: the provider's transcription
// arrived (or its wait ran out), the speech-to-text service answered (or failed for good), or
// there is no transcription. Downloads the recording (with the provider's credentials), stores
// it content-addressed, finds the place in the transcript (gazetteer), routes and stores the
// ticket with the recording attached. A failed or empty transcription never loses the report:
// it goes out with the recording, flagged "Sprachaufnahme, nicht transkribiert". Also deletes
// recordings past phone.recording_retention_days. One instance per thread.
class PhoneCloser {
 public:
  PhoneCloser(const Config& config, const RuleSource& rules, const routing::Gazetteer* gazetteer,
              metrics::Registry& registry);
  Result<int> RunOnce();
  Result<int> DeleteExpiredRecordings();
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

 private:
  const Config& config_;
  const RuleSource& rules_;
  const routing::Gazetteer* gazetteer_;
  BlobStore blobs_;
  tickets::TicketStore store_;
  HttpClient http_;
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Counter& published_;
  metrics::Counter& untranscribed_;
};

}  // namespace meldestelle::workers
