#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "channels/chat/batch.hpp"
#include "core/config.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "workers/chat_media.hpp"

namespace meldestelle::workers {

// Turns chat events into drafts (docs/channels/whatsapp.md, "Multi-message reports"). Each event
// is handled in its own transaction and remembered by its provider id (chat_events), so a
// redelivered notification, or a batch retried after a failure half-way, changes nothing.
// Media are downloaded before the transaction, EXIF-read and stripped, stored content-addressed.
// One instance per thread (it owns a database connection).
class ChatIntake {
 public:
  ChatIntake(const Config& config, MediaSource& media, metrics::Registry& registry);

  // Errors: transient ones ("db_unavailable", "media_transient") mean "try the batch again".
  // On the `last_attempt`, media that still cannot be fetched no longer holds the batch up: the
  // message goes into the draft without it (flagged "Anhang nicht geladen").
  Status Process(const chat::Batch& batch, bool last_attempt = false);

 private:
  struct StoredMedia;
  Status ProcessEvent(const chat::Batch& batch, const chat::Batch::Item& item, bool last_attempt);
  Result<std::vector<StoredMedia>> FetchMedia(const chat::ChatEvent& event, bool last_attempt);
  bool Seen(const chat::ChatEvent& event);

  const Config& config_;
  MediaSource& media_;
  BlobStore blobs_;
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Registry& registry_;
  metrics::Counter& rate_limited_;
  metrics::Counter& duplicates_;
};

}  // namespace meldestelle::workers
