#include "privacy/retention.hpp"

#include <chrono>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "privacy/settings.hpp"

namespace meldestelle::privacy {

namespace {

constexpr int kBatch = 500;

// The tickets whose contact data is due: closed (done, rejected; a duplicate when the ticket it
// joined is) `after_close` days before now, or in any state `open_days` after they came in.
constexpr const char* kDueTickets =
    " FROM tickets t WHERE t.anonymised_at IS NULL AND ("
    "  (t.status IN ('done', 'rejected') AND t.closed_at < to_timestamp($1) - make_interval(days"
    "   => $2))"
    "  OR (t.status = 'duplicate' AND EXISTS (SELECT 1 FROM tickets o WHERE o.id = t.duplicate_of"
    "   AND o.status IN ('done', 'rejected')"
    "   AND o.closed_at < to_timestamp($1) - make_interval(days => $2)))"
    "  OR t.received_at < to_timestamp($1) - make_interval(days => $3))";

std::string Cutoff(int days) {
  return "to_timestamp($1) - make_interval(days => " + std::to_string(days) + ")";
}

}  // namespace

Retention::Retention(const Config& config, ChannelPeriods periods, DeadLetterExpiry dead_letters)
    : config_(config),
      periods_(periods),
      dead_letters_(std::move(dead_letters)),
      session_(config.database.url),
      blobs_(config.storage.media_dir) {}

Result<Counts> Retention::RunOnce(int64_t now, bool dry_run) {
  // One pass at a time in the whole installation (every worker runs it): a session lock on this
  // session's connection, released at the end or when the connection ends.
  auto locked = session_.Run<bool>([](db::Connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_try_advisory_lock(7412013)")[0][0].as<bool>();
  });
  if (!locked)
    return locked.error();
  if (!*locked)
    return MakeError(errors::kUnavailable, "another retention pass is running; try again later");
  auto counts = Pass(now, dry_run);
  (void)session_.Run<Ok>([](db::Connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_advisory_unlock(7412013)");
    return Ok{};
  });
  return counts;
}

Result<Counts> Retention::Pass(int64_t now, bool dry_run) {
  const RetentionPeriods& k = config_.Get<Settings>().retention;
  Counts counts;
  // Every class, in this order, also when nothing was due.
  for (const char* klass :
       {"tickets", "photos and documents", "follow-ups", "messages", "calls", "chat drafts",
        "idempotency envelopes", "raw payloads", "chat events", "chat contacts", "transcripts",
        "recordings", "opt-outs", "access log", "dead letters", "files"})
    counts.Add(klass, 0);
  std::set<std::string> files;

  // Each step changes one class in `tx` and says how many rows it changed (the tickets step
  // counts the classes that go with a ticket itself). A real pass commits each step (the tickets
  // in batches); a dry run runs them all in one transaction and rolls it back, so its counts are
  // what the pass would do.
  using Step = std::function<long long(db::Tx&)>;
  std::vector<std::pair<std::string, Step>> steps;
  steps.emplace_back("", [&](db::Tx& tx) -> long long {
    auto ids =
        tx.exec_params(std::string("SELECT t.id::text") + kDueTickets + " ORDER BY t.received_at" +
                           (dry_run ? std::string() : " LIMIT " + std::to_string(kBatch)) +
                           " FOR UPDATE OF t SKIP LOCKED",
                       now, k.contact_after_close_days, k.contact_open_days);
    Anonymisation how;
    for (const auto& row : ids)
      AnonymiseTicket(tx, row[0].as<std::string>(), how, files, counts);
    return static_cast<long long>(ids.size());
  });
  const std::vector<std::pair<const char*, std::string>> simple = {
      {"raw payloads",
       "DELETE FROM raw_payloads WHERE stored_at < " + Cutoff(k.raw_payload_days) + " RETURNING 1"},
      {"idempotency envelopes",
       "DELETE FROM intake_keys WHERE created_at < " + Cutoff(k.intake_key_days) + " RETURNING 1"},
      {"chat drafts", "DELETE FROM chat_drafts WHERE state = 'published' AND published_at < " +
                          Cutoff(k.chat_draft_days) + " RETURNING 1"},
      {"chat events", "DELETE FROM chat_events WHERE received_at < " +
                          Cutoff(periods_.chat_event_days) + " RETURNING 1"},
      // Not while a ticket of theirs is open: its notices are answered from the number the
      // citizen wrote to (the contact's account), as the ticket keeps their address.
      {"chat contacts",
       "DELETE FROM chat_contacts c WHERE last_inbound_at < " + Cutoff(k.chat_contact_days) +
           " AND NOT EXISTS (SELECT 1 FROM outbox a JOIN tickets t ON t.id = a.ticket_id"
           " WHERE a.kind = 'ack' AND a.channel = c.channel AND a.address = c.address"
           " AND t.anonymised_at IS NULL AND t.status NOT IN ('done', 'rejected'))"
           " RETURNING 1"},
      {"follow-ups", "UPDATE ticket_followups SET text = '' WHERE text <> '' AND at < " +
                         Cutoff(k.followup_days) + " RETURNING 1"},
      {"history notes",
       "UPDATE ticket_history SET note = '' WHERE action = 'reopened' AND note <> ''"
       " AND details ? 'fix_answer' AND at < " +
           Cutoff(k.followup_days) + " RETURNING 1"},
      {"follow-ups", "UPDATE fix_answers SET note = '' WHERE note <> '' AND at < " +
                         Cutoff(k.followup_days) + " RETURNING 1"},
      {"transcripts",
       "UPDATE phone_calls SET transcript = NULL, caller = '' WHERE (transcript IS NOT NULL OR"
       " caller <> '') AND created_at < " +
           Cutoff(k.transcript_days) + " RETURNING 1"},
      // The ticket keeps its text; the recording's attachment goes with the file.
      {"recordings",
       "WITH r AS (UPDATE phone_calls SET recording_deleted_at = now(), recording_url = '' WHERE"
       " recording_sha256 IS NOT NULL AND recording_deleted_at IS NULL AND recorded_at < " +
           Cutoff(periods_.recording_days) +
           " RETURNING recording_sha256, ticket_id), a AS (DELETE FROM attachments USING r"
           " WHERE attachments.ticket_id = r.ticket_id AND attachments.sha256 ="
           " r.recording_sha256) SELECT recording_sha256 FROM r"},
      // Voice notes (and other recordings) sent by chat or e-mail go after the same period, with
      // their drafts' copies; the ticket keeps the text heard in them.
      {"recordings",
       "WITH old AS (SELECT i.draft_id, i.message_id, i.kind, i.sha256 FROM chat_draft_items i"
       " JOIN chat_drafts dr ON dr.id = i.draft_id WHERE i.kind = 'audio' AND i.sha256 IS NOT"
       " NULL AND dr.opened_at < " +
           Cutoff(periods_.recording_days) +
           "), d AS (UPDATE chat_draft_items i SET sha256 = NULL, transcript = '' FROM old WHERE"
           " i.draft_id = old.draft_id AND i.message_id = old.message_id AND i.kind = old.kind"
           " RETURNING old.sha256 AS sha), a AS (DELETE FROM attachments a USING tickets t WHERE"
           " a.ticket_id = t.id AND t.channel <> 'phone' AND a.media_type LIKE 'audio/%' AND"
           " t.received_at < " +
           Cutoff(periods_.recording_days) +
           " RETURNING a.sha256 AS sha) SELECT sha FROM a UNION ALL SELECT sha FROM d WHERE sha"
           " NOT IN (SELECT sha FROM a)"},
      {"recordings",
       "WITH old AS (SELECT f.id, x->>'sha256' AS sha FROM ticket_followups f,"
       " jsonb_array_elements(f.attachments) x WHERE coalesce(x->>'media_type', '') LIKE"
       " 'audio/%' AND f.at < " +
           Cutoff(periods_.recording_days) +
           "), u AS (UPDATE ticket_followups f SET attachments = (SELECT coalesce(jsonb_agg(e.x"
           " ORDER BY e.n), '[]'::jsonb) FROM jsonb_array_elements(f.attachments) WITH"
           " ORDINALITY AS e(x, n) WHERE coalesce(e.x->>'media_type', '') NOT LIKE 'audio/%')"
           " WHERE f.id IN (SELECT id FROM old)) SELECT sha FROM old"},
      // Not a ticket's acknowledgement while the ticket keeps its contact (until the tickets
      // step anonymises it): its address and thread are where the ticket's notices go, however
      // long the ticket stays open.
      {"messages",
       "UPDATE outbox SET address = '', payload = '{}'::jsonb, provider_message_id = NULL,"
       " last_error = NULL WHERE status NOT IN ('pending', 'sending') AND (address <> '' OR"
       " payload <> '{}'::jsonb OR provider_message_id IS NOT NULL) AND updated_at < " +
           Cutoff(k.outbox_days) +
           " AND NOT (kind = 'ack' AND EXISTS (SELECT 1 FROM tickets t WHERE t.id ="
           " outbox.ticket_id AND t.anonymised_at IS NULL)) RETURNING id"},
      // Opt-outs of ours (the Telegram bot blocked, the provider refusing the address) only
      // spare messages in vain: they go once no message to the address is kept. The citizen's
      // own (STOP, the e-mail link) stay while they stand.
      {"opt-outs",
       "DELETE FROM notification_optouts o WHERE source IN ('blocked', 'refused')"
       " AND NOT EXISTS (SELECT 1 FROM outbox a WHERE a.channel = o.channel"
       " AND a.address = o.address) RETURNING 1"},
      {"access log",
       "DELETE FROM contact_views WHERE at < " + Cutoff(k.access_log_days) + " RETURNING 1"},
  };
  for (const auto& [klass, sql] : simple) {
    std::string name = klass, change = sql;
    steps.emplace_back(name, [&, name, change](db::Tx& tx) -> long long {
      // Files of the drafts and recordings go after the commit, if nothing else needs them.
      if (name == "chat drafts") {
        for (const auto& row : tx.exec_params(
                 "SELECT i.sha256 FROM chat_draft_items i JOIN chat_drafts d ON d.id = i.draft_id"
                 " WHERE d.state = 'published' AND i.sha256 IS NOT NULL AND d.published_at < " +
                     Cutoff(k.chat_draft_days),
                 now))
          files.insert(row[0].as<std::string>());
      }
      // A step that depends on no period (opt-outs) takes no time.
      auto r =
          change.find("$1") == std::string::npos ? tx.exec(change) : tx.exec_params(change, now);
      if (name == "recordings") {
        for (const auto& row : r)
          files.insert(row[0].as<std::string>());
      }
      if (name == "messages" && !r.empty()) {
        tx.exec_params0(
            "UPDATE outbox_attempts SET detail = '' WHERE detail <> '' AND outbox_id IN"
            " (SELECT id FROM outbox WHERE address = '' AND payload = '{}'::jsonb"
            " AND updated_at < " +
                Cutoff(k.outbox_days) + ")",
            now);
      }
      return static_cast<long long>(r.size());
    });
  }
  if (dry_run) {
    auto st = session_.Transact<Ok>([&](db::Tx& tx) {
      for (auto& [name, step] : steps) {
        long long n = step(tx);
        if (!name.empty())
          counts.Add(name, n);
      }
      return Ok{};  // not committed: rolled back
    });
    if (!st)
      return st.error();
  } else {
    for (auto& [name, step] : steps) {
      for (;;) {
        auto n = session_.Transact<long long>([&](db::Tx& tx) {
          long long changed = step(tx);
          tx.commit();
          return changed;
        });
        if (!n)
          return n.error();
        if (!name.empty())
          counts.Add(name, *n);
        // The tickets go in batches; the other steps are single statements.
        if (!name.empty() || *n < kBatch)
          break;
      }
    }
  }

  if (dead_letters_) {
    auto n = dead_letters_(now - int64_t{k.dead_letter_days} * 86400, dry_run);
    if (n) {
      counts.Add("dead letters", *n);
    } else {
      // The broker is away: the database's classes are done all the same.
      log::Warn("dead letters not expired",
                {{"error", n.error().message + ": " + n.error().detail}});
      counts.Skip("dead letters: " + n.error().message + ": " + n.error().detail);
    }
  }

  // Files: those the pass freed, then any older than the dead-letter period that nothing refers
  // to (a report refused after its photos were stored; the queue and the dead letters may still
  // refer to newer ones).
  if (dry_run) {
    // At most: a file another row still needs stays.
    counts.Add("files", static_cast<long long>(files.size()));
    return counts;
  }
  auto freed = DeleteUnreferenced(session_, blobs_, files);
  if (!freed)
    return freed.error();
  long long orphans = 0;
  std::error_code ec;
  const auto grace = std::chrono::hours(24) * (k.dead_letter_days + 1);
  const auto horizon = std::filesystem::file_time_type::clock::now() - grace;
  std::set<std::string> old;
  for (auto it = std::filesystem::recursive_directory_iterator(blobs_.root(), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec))
      continue;
    std::string name = it->path().filename().string();
    if (name.size() != 64 || name.find_first_not_of("0123456789abcdef") != std::string::npos)
      continue;  // a temporary file of a write in progress, or not ours
    if (it->last_write_time(ec) < horizon)
      old.insert(name);
  }
  if (!old.empty()) {
    auto n = DeleteUnreferenced(session_, blobs_, old);
    if (!n)
      return n.error();
    orphans = *n;
  }
  counts.Add("files", *freed + orphans);
  return counts;
}

void Retention::Run(const std::atomic<bool>& stop) {
  const auto interval = std::chrono::minutes(config_.Get<Settings>().job_interval_minutes);
  while (!stop.load()) {
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto r = RunOnce(now, false);
    if (!r && r.error().code == errors::kUnavailable) {
      // Another worker's pass is running: nothing to do.
    } else if (!r) {
      log::Warn("retention pass failed, retrying",
                {{"error", r.error().message + ": " + r.error().detail}});
    } else {
      long long total = 0;
      for (const auto& item : r->items())
        total += item.second;
      if (total > 0)
        log::Info("retention pass", {{"counts", r->ToJson()}});
    }
    // Pacing of a background loop (not a test synchronisation).
    WaitUnlessStopped(std::chrono::duration_cast<std::chrono::milliseconds>(interval), stop);
  }
}

}  // namespace meldestelle::privacy
