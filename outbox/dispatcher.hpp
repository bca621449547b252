#pragma once

// The one sending loop of the outbox (docs/architecture.md, "The outbox"). A Lane claims due rows
// of the (kind, channel) pairs it has senders for, with a lease (status 'sending', the next
// attempt pushed past the lease), so several dispatchers never send a row at once and a crashed
// one's rows are taken up again. For each row, in one transaction, it renews the lease and asks
// the row's sender to prepare it — read what the message needs, the department, the contact, the
// ticket as it is now — or to skip it (opted out, obsolete); then the sender sends, outside any
// transaction; then the outcome is recorded: sent, retry with exponential backoff (1 s, 2 s,
// 4 s … 10 min; longer if the provider asked), or failed (permanent, or out of attempts). Every
// attempt is a row of outbox_attempts. A send whose record meets the database away is recorded
// once it answers (within the lease), not sent again. A row another dispatcher took over (after
// our lease ran out) is left to it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/db.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "outbox/outbox.hpp"

namespace meldestelle::outbox {

// One claimed row.
struct Row {
  int64_t id = 0;
  Kind kind = Kind::kAck;
  std::string ticket_id;  // empty: none
  std::string channel, address;
  std::string payload;  // the JSON object it was enqueued with
  int attempts = 0;     // including the current one
};

// What one attempt came to.
struct Attempt {
  bool sent = false;
  bool permanent = false;  // a failure that retrying will not mend
  // The provider never confirmed: the request went out whole and its answer did not come (a
  // timeout after sending; SMTP: after the end of data) or could not be read (a 2xx with a
  // broken body). The message may have gone out. Recorded as 'unconfirmed' in outbox_attempts
  // and counted in meldestelle_outbox_unconfirmed_total{channel}. With `sent` the row counts as
  // sent and is not sent again (the provider said 2xx); without, it is tried again like a
  // failure: a possible double rather than a possible loss (docs/reliability.md).
  bool unconfirmed = false;
  // The provider says the recipient refuses our messages (Telegram: the user blocked the bot or
  // deleted the account; Twilio 21610: the number sent STOP). A failure so is recorded as an
  // opt-out from status notices (source 'refused'), so that they are not tried in vain; an
  // acknowledgement that reaches the address later ends it.
  bool recipient_refuses = false;
  std::string provider_id;  // sent: the provider's message id (e-mail: our Message-ID)
  std::string detail;       // what went wrong ("HTTP 500", the SMTP error); or a note
  int retry_after_s = 0;    // the provider asked to wait at least this long
  static Attempt Sent(std::string provider_id, std::string detail = {});
  static Attempt Failed(std::string detail, bool permanent, int retry_after_s = 0);
  // `resend`: try the row again (subject to its attempts); otherwise the row is sent.
  // `provider_id`: what is known of the message's id (e-mail: our Message-ID), or "".
  static Attempt Unconfirmed(std::string detail, bool resend, std::string provider_id = {});
  // A provider's HTTP API call that got no answer (core/http_client.hpp's errors):
  // "http_unanswered" (the request went out whole) is unconfirmed and tried again; any other is a
  // transient failure (nothing reached the provider whole).
  static Attempt NotAnswered(const Error& error);
};

// How an attempt was recorded: what became of the row.
enum class Outcome { kSent, kRetry, kFailed };
std::string_view Name(Outcome outcome);
// The attempt's outcome in outbox_attempts: "unconfirmed" for an unconfirmed attempt, else the
// row's (Name(outcome)).
std::string_view AttemptName(const Attempt& attempt, Outcome outcome);

// One row made ready to send by its sender, holding what the sender resolved once for it (the
// department, the address, the text, the ticket as it is now) until its outcome is recorded.
class Prepared {
 public:
  virtual ~Prepared() = default;
  // Sends; runs outside any transaction.
  virtual Attempt Send() = 0;
  // In the transaction that records the attempt, after the row's new status is written.
  virtual void Recorded(db::Tx& tx, const Attempt& attempt, Outcome outcome);
  // After that transaction committed (alerts).
  virtual void Committed(const Attempt& attempt, Outcome outcome);
};

// What a sender makes of a row: send it, or nothing to send (the row is done; `reason` is
// recorded), or fail it at once (`reason` is the error), or not yet (the row waits
// `defer_seconds` without using up an attempt; `reason` is recorded).
struct Plan {
  enum class Action { kSend, kSkip, kFail, kDefer } action = Action::kSend;
  std::string reason;
  // Skips and deferrals with a code are counted in meldestelle_outbox_held_total{channel,code}.
  std::string code;
  int defer_seconds = 0;
  std::unique_ptr<Prepared> prepared;  // kSend
  static Plan Send(std::unique_ptr<Prepared> prepared);
  // A Prepared that only sends.
  static Plan Send(std::function<Attempt()> send);
  static Plan Skip(std::string reason, std::string code = {});
  static Plan Fail(std::string reason);
  static Plan Defer(int seconds, std::string reason, std::string code);
};

// Sends rows of one or more kinds on one channel. Each lane thread has its own instances (the
// dispatcher builds a table per lane), so a sender need not be thread-safe.
class Sender {
 public:
  virtual ~Sender() = default;
  // In the transaction that renews the row's lease, just before sending.
  virtual Plan Prepare(db::Tx& tx, const Row& row) = 0;
};

// The senders by kind and channel: the one table of what the outbox can send.
class Senders {
 public:
  void Add(std::initializer_list<Kind> kinds, std::string channel, std::shared_ptr<Sender> sender);
  Sender* Find(Kind kind, std::string_view channel) const;
  // The channels and kinds with a sender, as PostgreSQL array literals for the claim.
  std::string ChannelArray() const;
  std::string KindArray() const;
  bool empty() const { return entries_.empty(); }
  // The channels with a sender, in the order they were added.
  std::vector<std::string> Channels() const;
  // The senders of `channel` alone (the same instances: give each table to one lane only).
  Senders Only(std::string_view channel) const;

 private:
  struct Entry {
    Kind kind;
    std::string channel;
    std::shared_ptr<Sender> sender;
  };
  std::vector<Entry> entries_;
};

// The wait before attempt `attempts` + 1: 1 s, 2 s, 4 s, … capped at 10 minutes.
int BackoffSeconds(int attempts);

// The default of LaneSettings::takeover_grace (below).
inline constexpr std::chrono::seconds kTakeoverGrace{10};

struct LaneSettings {
  std::string name;  // in logs: "citizens", "departments"
  std::chrono::seconds lease{120};
  int max_attempts = 8;
  int batch = 4;  // rows claimed at once
  // The counter of attempts by channel and outcome (sent, retry, failed).
  std::string counter_name;
  std::string counter_help;
  // Who claims ("<host>/<dispatcher instance>"; empty: nobody in particular). Rows are claimed
  // under this name; a lane that starts takes up at once the rows its name still holds — they
  // were in the hands of this dispatcher before it died — instead of waiting for their lease.
  std::string holder;
  // After this lane has lost the database and has it back, and after it starts (it may have
  // missed an outage that just ended), how long it leaves alone the rows whose lease ran out in
  // another holder's hands: a dispatcher that sent a message while the database was away holds
  // its outcome and records it within 2 s of the database answering (Lane::RecordWhenBack);
  // taking the row over first would send the message again. Its own rows it takes up at once.
  std::chrono::seconds takeover_grace = kTakeoverGrace;
};

// One sending loop over its senders. One instance per thread (it owns a database session).
class Lane {
 public:
  Lane(const std::string& database_url, Senders senders, LaneSettings settings,
       metrics::Registry& registry);
  // Sends every due row once; returns how many were claimed. Every 5 s it also sets the lane's
  // gauges (docs/operations.md, "Monitoring"): meldestelle_outbox_waiting{lane} (rows not sent
  // yet), meldestelle_outbox_overdue_seconds{lane} (how long the oldest due row has waited past
  // its time: a dispatcher that is down or stuck), and on every pass
  // meldestelle_outbox_last_pass_timestamp_seconds{lane}.
  Result<int> RunOnce();
  // RunOnce again at once while there is work, every `interval` when idle, until `stop`.
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

 private:
  Result<std::vector<Row>> Claim();
  // Claimed rows not sent because the dispatcher stops: pending again at once, for any holder
  // (best effort: their lease ends them otherwise).
  void GiveBack(const std::vector<int64_t>& ids);
  // Renews the lease and prepares; nullopt when the row is no longer ours.
  Result<std::optional<Plan>> Prepare(const Row& row);
  Status Finish(const Row& row, Plan plan);
  Status MarkDone(const Row& row, const std::string& reason);
  // Writes the attempt's outcome; nullopt when another dispatcher took the row over.
  Result<std::optional<Outcome>> Record(const Row& row, const Attempt& attempt, Prepared* prepared);
  // Record again and again while the database is away (`error`), however long, until it answers
  // or Run's stop: a sent message is recorded, not sent twice.
  Result<std::optional<Outcome>> RecordWhenBack(const Row& row, const Attempt& attempt,
                                                Prepared* prepared, Error error);
  void Report(const Row& row, const Attempt& attempt, Outcome outcome);
  void MeasureBacklog();
  // At the first pass, and at the first after a failure: the rows this holder leased and no
  // longer has in hand (before it restarted, or when the database went away) become due.
  void TakeUpOwnRows();
  bool took_up_ = false;
  // Set by a failure the database being away caused; the first claim that succeeds after it
  // starts the takeover grace (LaneSettings::takeover_grace), which ends at takeover_after_.
  bool lost_database_ = false;
  // Sets lost_database_ when `e` is the database being away (db::IsAway).
  void NoteFailure(const Error& e);
  std::chrono::steady_clock::time_point takeover_after_{};
  // Run's stop flag; RunOnce called alone holds an unrecorded send until the database answers.
  const std::atomic<bool>* stop_ = nullptr;

  db::Session session_;
  Senders senders_;
  LaneSettings settings_;
  metrics::Registry& registry_;
  std::chrono::steady_clock::time_point measured_{};
};

}  // namespace meldestelle::outbox
