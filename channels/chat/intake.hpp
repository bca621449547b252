#pragma once

#include <string>
#include <vector>

#include "channels/chat/batch.hpp"
#include "channels/chat/media.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace meldestelle::chat {

// Turns chat events into drafts (docs/channels/whatsapp.md, "Multi-message reports"). Each event
// is handled in its own transaction and remembered by its provider id (chat_events), so a
// redelivered notification, or a batch retried after a failure half-way, changes nothing. In
// order: a delivery receipt updates our message; a sender over the rate limit is dropped; then
// the contact is updated and an edit, an unsupported message, STOP/START, a reply about a ticket
// (a follow-up) or — everything else — a message of the sender's draft is handled. Media are
// downloaded before the transaction, EXIF-read and stripped, stored content-addressed; voice
// notes are transcribed by the town's speech-to-text service (chat.stt_url), and their text
// counts as the message's words.
// One instance per thread (it owns a database connection).
class ChatIntake {
 public:
  ChatIntake(const Config& config, MediaSource& media, metrics::Registry& registry);

  // Errors: transient ones (db_unavailable, media_transient) mean "try the batch again". On the
  // `last_attempt`, media that still cannot be fetched no longer holds the batch up: the message
  // goes into the draft without it (flagged "Anhang nicht geladen").
  Status Process(const Batch& batch, bool last_attempt = false);

 private:
  struct StoredMedia;
  struct Step;
  Status ProcessEvent(const Batch& batch, const Batch::Item& item, bool last_attempt);
  Result<std::vector<StoredMedia>> FetchMedia(const ChatEvent& event, bool last_attempt);
  Status TranscribeVoice(const ChatEvent& e, const std::string& audio, const std::string& type,
                         bool last_attempt, StoredMedia& s);
  bool Seen(const ChatEvent& event);
  void ApplyReceipt(db::Tx& tx, const ChatEvent& e);
  bool WithinRateLimit(db::Tx& tx, const ChatEvent& e);
  void Remember(db::Tx& tx, const Step& s);
  void ApplyEdit(db::Tx& tx, const ChatEvent& e);
  void MemberChange(db::Tx& tx, const ChatEvent& e);
  void EndBlock(db::Tx& tx, const ChatEvent& e);
  static void LockSender(db::Tx& tx, const ChatEvent& e);
  void Unsupported(db::Tx& tx, const Step& s);
  void TakeWords(db::Tx& tx, const Step& s);
  bool Command(db::Tx& tx, const Step& s);
  bool OptInOrOut(db::Tx& tx, const Step& s);
  bool Followup(db::Tx& tx, const Step& s);
  void AddToTicket(db::Tx& tx, const Step& s, const std::string& ticket);
  // A location and nothing else (no text, no media).
  static bool PinAlone(const Step& s);
  std::string TicketAwaitingPlace(db::Tx& tx, const std::string& channel,
                                  const std::string& sender);
  // "JA" / "NEIN" after we asked whether a ticket is fixed (tickets/fix_answers.hpp).
  bool AnswerFixed(db::Tx& tx, const Step& s);
  void AddToDraft(db::Tx& tx, const Step& s);
  bool AddItems(db::Tx& tx, int64_t draft, const Step& s);

  const Config& config_;
  MediaSource& media_;
  BlobStore blobs_;
  db::Session session_;
  metrics::Counter& rate_limited_;
  metrics::Counter& duplicates_;
  metrics::Counter& transcribed_;
  metrics::Counter& untranscribed_;
  HttpClient stt_http_;  // the speech-to-text service (one ChatIntake per worker thread)
};

}  // namespace meldestelle::chat
