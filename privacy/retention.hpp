#pragma once

// The retention pass (docs/datenschutz.md, "Retention"): every class of personal data is deleted
// or anonymised when its period in `privacy.retention` has passed. Each worker runs it every
// privacy.job_interval_minutes; `meldestelle privacy retention run [--now TIME] [--dry-run]` runs
// one pass at any time, or counts what it would do. Passes are idempotent and safe to run in
// several workers at once (rows are claimed with SKIP LOCKED, deletes and updates are
// conditional).
#include <atomic>
#include <cstdint>
#include <functional>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/media.hpp"
#include "core/result.hpp"
#include "privacy/anonymise.hpp"

namespace meldestelle::privacy {

// The dead-letter queue's part, given by the caller that can reach the broker: deletes (or with
// `dry_run` counts) the dead letters that failed before `cutoff_unix`.
using DeadLetterExpiry = std::function<Result<long long>(int64_t cutoff_unix, bool dry_run)>;

class Retention {
 public:
  // The periods the channels set: call recordings (phone.recording_retention_days) and the
  // provider event ids remembered for deduplication (chat.dedupe_days).
  struct ChannelPeriods {
    int recording_days = 90;
    int chat_event_days = 7;
  };
  // `dead_letters` may be empty (no broker: the class is skipped).
  Retention(const Config& config, ChannelPeriods periods, DeadLetterExpiry dead_letters);

  // One pass as if it were `now_unix`; with `dry_run` nothing is changed and the counts are what
  // would be. Classes, in order: tickets (and with them their photos, follow-ups, messages,
  // calls, drafts, envelopes and raw payloads), raw payloads, idempotency envelopes, chat drafts,
  // chat events, chat contacts, follow-up texts, transcripts, recordings, messages, access log,
  // dead letters, files (media nobody refers to).
  Result<Counts> RunOnce(int64_t now_unix, bool dry_run);
  // (Error kUnavailable: another pass is running — in this or another process.)
  // RunOnce with the real time every privacy.job_interval_minutes, until `stop`.
  void Run(const std::atomic<bool>& stop);

 private:
  Result<Counts> Pass(int64_t now_unix, bool dry_run);
  const Config& config_;
  ChannelPeriods periods_;
  DeadLetterExpiry dead_letters_;
  db::Session session_;
  BlobStore blobs_;
};

}  // namespace meldestelle::privacy
