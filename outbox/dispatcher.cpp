#include "outbox/dispatcher.hpp"

#include <algorithm>
#include <optional>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/wait.hpp"

namespace meldestelle::outbox {

Attempt Attempt::Sent(std::string provider_id, std::string detail) {
  Attempt a;
  a.sent = true;
  a.provider_id = std::move(provider_id);
  a.detail = std::move(detail);
  return a;
}

Attempt Attempt::Failed(std::string detail, bool permanent, int retry_after_s) {
  Attempt a;
  a.permanent = permanent;
  a.detail = std::move(detail);
  a.retry_after_s = retry_after_s;
  return a;
}

Attempt Attempt::Unconfirmed(std::string detail, bool resend, std::string provider_id) {
  Attempt a;
  a.sent = !resend;
  a.unconfirmed = true;
  a.provider_id = std::move(provider_id);
  a.detail = std::move(detail);
  return a;
}

Attempt Attempt::NotAnswered(const Error& e) {
  std::string detail = e.code.str() + ": " + e.message;
  if (e.code == errors::kHttpUnanswered)
    return Unconfirmed(std::move(detail), true);
  // The provider said 2xx, its body was cut: taken, its message id unknown. Not sent again (a
  // known double), as a 2xx whose body cannot be read.
  if (e.code == errors::kHttpAcceptedUnread)
    return Unconfirmed(std::move(detail), false);
  return Failed(std::move(detail), false);
}

void Prepared::Recorded(db::Tx&, const Attempt&, Outcome) {}
void Prepared::Committed(const Attempt&, Outcome) {}

namespace {

class OnlySend final : public Prepared {
 public:
  explicit OnlySend(std::function<Attempt()> send) : send_(std::move(send)) {}
  Attempt Send() override { return send_(); }

 private:
  std::function<Attempt()> send_;
};

}  // namespace

Plan Plan::Send(std::unique_ptr<Prepared> prepared) {
  Plan p;
  p.prepared = std::move(prepared);
  return p;
}

Plan Plan::Send(std::function<Attempt()> send) {
  return Send(std::make_unique<OnlySend>(std::move(send)));
}

Plan Plan::Skip(std::string reason, std::string code) {
  Plan p;
  p.action = Action::kSkip;
  p.reason = std::move(reason);
  p.code = std::move(code);
  return p;
}

Plan Plan::Defer(int seconds, std::string reason, std::string code) {
  Plan p;
  p.action = Action::kDefer;
  p.defer_seconds = std::max(seconds, 1);
  p.reason = std::move(reason);
  p.code = std::move(code);
  return p;
}

Plan Plan::Fail(std::string reason) {
  Plan p;
  p.action = Action::kFail;
  p.reason = std::move(reason);
  return p;
}

std::string_view Name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSent:
      return "sent";
    case Outcome::kRetry:
      return "retry";
    case Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

std::string_view AttemptName(const Attempt& attempt, Outcome outcome) {
  return attempt.unconfirmed ? "unconfirmed" : Name(outcome);
}

void Senders::Add(std::initializer_list<Kind> kinds, std::string channel,
                  std::shared_ptr<Sender> sender) {
  for (Kind k : kinds)
    entries_.push_back({k, channel, sender});
}

Sender* Senders::Find(Kind kind, std::string_view channel) const {
  for (const auto& e : entries_) {
    if (e.kind == kind && e.channel == channel)
      return e.sender.get();
  }
  return nullptr;
}

namespace {

// {a,b} of the distinct values, for `= ANY($1::text[])` (channel and kind names need no quoting).
std::string ArrayOf(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? "," : "") + values[i];
  return out + "}";
}

void AddDistinct(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end())
    v.push_back(std::move(s));
}

}  // namespace

std::string Senders::ChannelArray() const {
  std::vector<std::string> v;
  for (const auto& e : entries_)
    AddDistinct(v, e.channel);
  return ArrayOf(v);
}

std::vector<std::string> Senders::Channels() const {
  std::vector<std::string> v;
  for (const auto& e : entries_)
    AddDistinct(v, e.channel);
  return v;
}

Senders Senders::Only(std::string_view channel) const {
  Senders s;
  for (const auto& e : entries_) {
    if (e.channel == channel)
      s.entries_.push_back(e);
  }
  return s;
}

std::string Senders::KindArray() const {
  std::vector<std::string> v;
  for (const auto& e : entries_)
    AddDistinct(v, std::string(Name(e.kind)));
  return ArrayOf(v);
}

int BackoffSeconds(int attempts) { return std::min(600, 1 << std::clamp(attempts - 1, 0, 10)); }

Lane::Lane(const std::string& database_url, Senders senders, LaneSettings settings,
           metrics::Registry& registry)
    : session_(database_url),
      senders_(std::move(senders)),
      settings_(std::move(settings)),
      registry_(registry) {
  // A lane that starts may have missed an outage of the database that just ended: it leaves
  // other holders' rows alone for the grace too, as one that saw the outage does.
  takeover_after_ = std::chrono::steady_clock::now() + settings_.takeover_grace;
}

Result<std::vector<Row>> Lane::Claim() {
  const int lease = static_cast<int>(settings_.lease.count());
  // Rows whose lease ran out in another holder's hands are taken over, except in the grace after
  // this lane had lost the database: a holder may still record what it sent meanwhile.
  const bool take_over = !lost_database_ && std::chrono::steady_clock::now() >= takeover_after_;
  auto claimed = session_.Transact<std::vector<Row>>([&](db::Tx& tx) {
    auto r = tx.exec_params(
        "UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,"
        " next_attempt_at = now() + make_interval(secs => $3), updated_at = now(),"
        " leased_by = nullif($5, '')"
        " FROM (SELECT id FROM outbox WHERE channel = ANY($1::text[]) AND kind = ANY($2::text[])"
        "       AND status IN ('pending', 'sending') AND next_attempt_at <= now()"
        "       AND (status = 'pending' OR $6 OR ($5 <> '' AND leased_by = $5))"
        "       ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) due"
        " WHERE o.id = due.id"
        " RETURNING o.id, coalesce(o.ticket_id::text, ''), o.kind, o.channel, o.address,"
        " o.payload::text, o.attempts",
        senders_.ChannelArray(), senders_.KindArray(), lease, settings_.batch, settings_.holder,
        take_over);
    std::vector<Row> rows;
    for (const auto& row : r) {
      Row x;
      x.id = row[0].as<int64_t>();
      x.ticket_id = row[1].as<std::string>();
      x.kind = KindNamed(row[2].as<std::string>()).value_or(Kind::kChatReply);
      x.channel = row[3].as<std::string>();
      x.address = row[4].as<std::string>();
      x.payload = row[5].as<std::string>();
      x.attempts = row[6].as<int>();
      rows.push_back(std::move(x));
    }
    tx.commit();
    return rows;
  });
  if (claimed && lost_database_) {
    lost_database_ = false;
    takeover_after_ = std::chrono::steady_clock::now() + settings_.takeover_grace;
    log::Info(
        "the database answers again: rows other dispatchers held are left to them a while",
        {{"lane", settings_.name}, {"seconds", std::to_string(settings_.takeover_grace.count())}});
  }
  return claimed;
}

Result<std::optional<Plan>> Lane::Prepare(const Row& row) {
  const int lease = static_cast<int>(settings_.lease.count());
  return session_.Transact<std::optional<Plan>>([&](db::Tx& tx) -> std::optional<Plan> {
    // Renewed just before sending: if another dispatcher took the row over after our lease ran
    // out (a slow provider), it is its row now and we leave it.
    bool mine = !tx.exec_params(
                       "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $3)"
                       " WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING 1",
                       row.id, row.attempts, lease)
                     .empty();
    if (!mine)
      return std::nullopt;
    Sender* sender = senders_.Find(row.kind, row.channel);
    Plan plan =
        sender != nullptr
            ? sender->Prepare(tx, row)
            : Plan::Fail("no sender for " + std::string(Name(row.kind)) + " on " + row.channel);
    tx.commit();
    return plan;
  });
}

Status Lane::MarkDone(const Row& row, const std::string& reason) {
  return session_.Transact<Ok>([&](db::Tx& tx) {
    tx.exec_params0(
        "UPDATE outbox SET status = 'done', last_error = $2, updated_at = now()"
        " WHERE id = $1 AND attempts = $3 AND status = 'sending'",
        row.id, reason, row.attempts);
    tx.commit();
    return Ok{};
  });
}

Result<std::optional<Outcome>> Lane::Record(const Row& row, const Attempt& a, Prepared* prepared) {
  return session_.Transact<std::optional<Outcome>>([&](db::Tx& tx) -> std::optional<Outcome> {
    Outcome outcome = a.sent                                                  ? Outcome::kSent
                      : a.permanent || row.attempts >= settings_.max_attempts ? Outcome::kFailed
                                                                              : Outcome::kRetry;
    pqxx::result updated;
    if (outcome == Outcome::kSent) {
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'sent', provider_message_id = NULLIF($2, ''),"
          " delivery_state = 'sent', sent_at = now(), updated_at = now(),"
          " last_error = NULLIF($4, '')"
          " WHERE id = $1 AND attempts = $3 AND status = 'sending' RETURNING 1",
          row.id, a.provider_id, row.attempts, a.unconfirmed ? a.detail : std::string());
    } else if (outcome == Outcome::kFailed) {
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'failed', delivery_state = 'failed', last_error = $2,"
          " updated_at = now() WHERE id = $1 AND attempts = $3 AND status = 'sending'"
          " RETURNING 1",
          row.id, a.detail, row.attempts);
    } else {
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'pending', last_error = $2, updated_at = now(),"
          " next_attempt_at = now() + make_interval(secs => $3)"
          " WHERE id = $1 AND attempts = $4 AND status = 'sending' RETURNING 1",
          row.id, a.detail, std::max(BackoffSeconds(row.attempts), a.retry_after_s), row.attempts);
    }
    if (updated.empty())
      return std::nullopt;  // taken over by another dispatcher: its outcome
    // Every attempt, for the delivery log (staff see why a citizen or a department was not
    // reached).
    tx.exec_params0(
        "INSERT INTO outbox_attempts (outbox_id, attempt, outcome, detail)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (outbox_id, attempt) DO UPDATE"
        " SET outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, at = now()",
        row.id, row.attempts, std::string(AttemptName(a, outcome)),
        a.sent && !a.unconfirmed ? a.provider_id : a.detail);
    if (outcome == Outcome::kFailed && a.recipient_refuses) {
      tx.exec_params0(
          "INSERT INTO notification_optouts (channel, address, source)"
          " VALUES ($1, $2, 'refused') ON CONFLICT (channel, address) DO NOTHING",
          row.channel, row.address);
    } else if (outcome == Outcome::kSent && row.kind == Kind::kAck) {
      // Reached again (a new report from a number that sent START to the provider since, a
      // Telegram chat that started the bot again): an opt-out of ours ends; one the citizen
      // asked for stays.
      tx.exec_params0(
          "DELETE FROM notification_optouts WHERE channel = $1 AND address = $2"
          " AND source IN ('refused', 'blocked')",
          row.channel, row.address);
    }
    if (prepared != nullptr)
      prepared->Recorded(tx, a, outcome);
    tx.commit();
    return outcome;
  });
}

void Lane::Report(const Row& row, const Attempt& a, Outcome outcome) {
  registry_
      .GetCounter(settings_.counter_name, settings_.counter_help,
                  {{"channel", row.channel}, {"outcome", std::string(Name(outcome))}})
      .Inc();
  if (a.unconfirmed) {
    // The faults suite's contract: a double is allowed only where the provider never confirmed
    // a send, and such sends are counted.
    registry_
        .GetCounter("meldestelle_outbox_unconfirmed_total",
                    "Outbox attempts the provider never confirmed (sent whole, no readable "
                    "answer): the message may have gone out, and again if the row is retried.",
                    {{"channel", row.channel}})
        .Inc();
    log::Warn("outbox attempt unconfirmed: the message may have gone out",
              {{"lane", settings_.name},
               {"outbox_id", std::to_string(row.id)},
               {"channel", row.channel},
               {"attempt", std::to_string(row.attempts)},
               {"row", std::string(Name(outcome))},
               {"detail", RedactContacts(a.detail)}});
    return;
  }
  log::Info("outbox attempt", {{"lane", settings_.name},
                               {"outbox_id", std::to_string(row.id)},
                               {"kind", std::string(Name(row.kind))},
                               {"channel", row.channel},
                               {"attempt", std::to_string(row.attempts)},
                               {"outcome", std::string(Name(outcome))},
                               // A provider's message id can encode the recipient (WhatsApp's
                               // wamid, our Telegram ids): not logged; errors without contacts.
                               {"detail", a.sent ? std::string() : RedactContacts(a.detail)}});
}

Status Lane::Finish(const Row& row, Plan plan) {
  if (!plan.code.empty()) {
    registry_
        .GetCounter("meldestelle_outbox_held_total",
                    "Outbox rows not sent (skipped) or not yet (deferred) by a limit, by code.",
                    {{"channel", row.channel}, {"code", plan.code}})
        .Inc();
  }
  if (plan.action == Plan::Action::kDefer) {
    auto st = session_.Transact<Ok>([&](db::Tx& tx) {
      tx.exec_params0(
          "UPDATE outbox SET status = 'pending', attempts = attempts - 1, last_error = $2,"
          " next_attempt_at = now() + make_interval(secs => $4), updated_at = now()"
          " WHERE id = $1 AND attempts = $3 AND status = 'sending'",
          row.id, plan.reason, row.attempts, plan.defer_seconds);
      tx.commit();
      return Ok{};
    });
    if (!st)
      return st;
    log::Info("outbox row deferred", {{"lane", settings_.name},
                                      {"outbox_id", std::to_string(row.id)},
                                      {"channel", row.channel},
                                      {"seconds", std::to_string(plan.defer_seconds)},
                                      {"why", RedactContacts(plan.reason)}});
    return Ok{};
  }
  if (plan.action == Plan::Action::kSkip) {
    if (auto st = MarkDone(row, plan.reason); !st)
      return st;
    log::Info("outbox row not sent", {{"lane", settings_.name},
                                      {"outbox_id", std::to_string(row.id)},
                                      {"channel", row.channel},
                                      {"why", RedactContacts(plan.reason)}});
    return Ok{};
  }
  // The lease was renewed just now (Prepare): until it runs out, no other dispatcher takes the row.
  Attempt a = plan.action == Plan::Action::kFail ? Attempt::Failed(plan.reason, true)
                                                 : plan.prepared->Send();
  auto recorded = Record(row, a, plan.prepared.get());
  if (!recorded && a.sent && db::IsTransient(recorded.error()))
    recorded = RecordWhenBack(row, a, plan.prepared.get(), recorded.error());
  if (!recorded) {
    // The lease runs out and the row is sent again: at-least-once (receivers deduplicate on the
    // delivery id), logged. A send is recorded late rather than made twice where it can be
    // (RecordWhenBack).
    log::Warn("outcome of an outbox row not recorded",
              {{"outbox_id", std::to_string(row.id)}, {"error", recorded.error().detail}});
    return recorded.error();
  }
  if (!*recorded)
    return Ok{};
  Report(row, a, **recorded);
  if (plan.prepared)
    plan.prepared->Committed(a, **recorded);
  return Ok{};
}

// A message the provider took is recorded as sent once the database answers again, rather than
// sent again: the lane holds the outcome and tries again (0.1 s, doubling up to 2 s) while the
// error is the database being away, however long that is, until the dispatcher stops. The lane
// sends nothing meanwhile; nothing could be claimed or recorded anyway. The record only applies
// while nobody else has claimed the row (Record): an outage longer than the lease leaves the
// row to this holder as long as no other dispatcher reached the database meanwhile, and the
// others, back with the database, leave it alone for a grace (Claim).
Result<std::optional<Outcome>> Lane::RecordWhenBack(const Row& row, const Attempt& a,
                                                    Prepared* prepared, Error error) {
  log::Warn(
      "outbox row sent, its outcome not recorded yet: holding it until the database answers",
      {{"lane", settings_.name}, {"outbox_id", std::to_string(row.id)}, {"error", error.detail}});
  NoteFailure(error);
  const std::atomic<bool> never{false};
  const std::atomic<bool>& stop = stop_ != nullptr ? *stop_ : never;
  const auto started = std::chrono::steady_clock::now();
  auto told = started;
  std::chrono::milliseconds wait(100);
  int tries = 1;
  while (!stop.load()) {
    WaitUnlessStopped(wait, stop);
    wait = std::min(wait * 2, std::chrono::milliseconds(2000));
    auto recorded = Record(row, a, prepared);
    ++tries;
    const auto now = std::chrono::steady_clock::now();
    const auto held_s = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    if (recorded && !*recorded) {
      // Another dispatcher took the row over first (it reached the database while this one
      // could not, or after the grace): it may have sent the message a second time.
      log::Warn("outbox row taken over while its outcome was held: it may have gone out twice",
                {{"lane", settings_.name},
                 {"outbox_id", std::to_string(row.id)},
                 {"held_seconds", std::to_string(held_s)}});
      registry_
          .GetCounter("meldestelle_outbox_taken_over_while_held_total",
                      "Sent outbox rows whose outcome could not be recorded because another "
                      "dispatcher had taken the row over: possibly sent twice.",
                      {{"lane", settings_.name}})
          .Inc();
      return recorded;
    }
    if (recorded) {
      log::Info("outbox row's outcome recorded after the database came back",
                {{"lane", settings_.name},
                 {"outbox_id", std::to_string(row.id)},
                 {"tries", std::to_string(tries)},
                 {"held_seconds", std::to_string(held_s)}});
      return recorded;
    }
    error = recorded.error();
    if (!db::IsTransient(error))
      break;
    NoteFailure(error);
    if (now - told >= std::chrono::minutes(1)) {
      told = now;
      log::Warn("still holding an outbox row's outcome: the database does not answer",
                {{"lane", settings_.name},
                 {"outbox_id", std::to_string(row.id)},
                 {"held_seconds", std::to_string(held_s)},
                 {"error", error.detail}});
    }
  }
  return error;
}

void Lane::NoteFailure(const Error& e) {
  if (db::IsAway(e))
    lost_database_ = true;
}

void Lane::MeasureBacklog() {
  const auto now = std::chrono::steady_clock::now();
  const metrics::Labels lane = {{"lane", settings_.name}};
  registry_
      .GetGauge("meldestelle_outbox_last_pass_timestamp_seconds",
                "When the lane last looked for rows to send (Unix time).", lane)
      .Set(static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()) /
           1000.0);
  if (measured_ != std::chrono::steady_clock::time_point{} &&
      now - measured_ < std::chrono::seconds(5))
    return;
  measured_ = now;
  auto r = session_.Transact<std::pair<double, double>>([&](db::Tx& tx) {
    auto row = tx.exec_params1(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(next_attempt_at)"
        "                FILTER (WHERE next_attempt_at <= now())), 0)"
        " FROM outbox WHERE status IN ('pending', 'sending')"
        " AND channel = ANY($1::text[]) AND kind = ANY($2::text[])",
        senders_.ChannelArray(), senders_.KindArray());
    tx.commit();
    return std::pair<double, double>(row[0].as<double>(), row[1].as<double>());
  });
  if (!r)
    return;  // the claim that follows meets the same trouble and reports it
  registry_.GetGauge("meldestelle_outbox_waiting", "Outbox rows not sent yet, by lane.", lane)
      .Set(r->first);
  registry_
      .GetGauge("meldestelle_outbox_overdue_seconds",
                "How long the oldest due row has waited past its time, by lane (0: none).", lane)
      .Set(r->second);
}

void Lane::TakeUpOwnRows() {
  if (took_up_ || settings_.holder.empty())
    return;
  auto n = session_.Transact<int>([&](db::Tx& tx) {
    auto r = tx.exec_params(
        "UPDATE outbox SET next_attempt_at = now(), updated_at = now()"
        " WHERE status = 'sending' AND leased_by = $1 AND next_attempt_at > now()"
        " AND channel = ANY($2::text[]) AND kind = ANY($3::text[]) RETURNING id",
        settings_.holder, senders_.ChannelArray(), senders_.KindArray());
    tx.commit();
    return static_cast<int>(r.size());
  });
  if (!n)
    return;  // the database is away: the next pass tries again
  took_up_ = true;
  if (*n > 0)
    log::Info(
        "taking up the rows this dispatcher held when it stopped or lost the database",
        {{"lane", settings_.name}, {"holder", settings_.holder}, {"rows", std::to_string(*n)}});
}

Result<int> Lane::RunOnce() {
  if (senders_.empty())
    return 0;
  TakeUpOwnRows();
  MeasureBacklog();
  auto rows = Claim();
  if (!rows) {
    NoteFailure(rows.error());
    return rows.error();
  }
  for (size_t i = 0; i < rows->size(); ++i) {
    const Row& row = (*rows)[i];
    // Stopping: no new send (one may take a provider's whole timeout, beyond what systemd
    // waits before it kills); the rest of the batch goes back.
    if (stop_ != nullptr && stop_->load()) {
      std::vector<int64_t> rest;
      for (size_t k = i; k < rows->size(); ++k)
        rest.push_back((*rows)[k].id);
      GiveBack(rest);
      return static_cast<int>(i);
    }
    auto plan = Prepare(row);
    Status st = !plan ? Status(plan.error()) : *plan ? Finish(row, std::move(**plan)) : Ok{};
    if (!st) {
      // The rows of this batch not yet recorded are not being sent any more (one lane, one
      // thread): once the database answers again, the next pass takes them up at once rather
      // than leaving them to their lease. One whose send went out and whose record was held in
      // vain (the dispatcher stopping) goes out again, as it would after the lease.
      NoteFailure(st.error());
      took_up_ = false;
      return st.error();
    }
  }
  return static_cast<int>(rows->size());
}

void Lane::GiveBack(const std::vector<int64_t>& ids) {
  std::string list = "{";
  for (int64_t id : ids)
    list += (list.size() > 1 ? "," : "") + std::to_string(id);
  list += "}";
  auto given = session_.Transact<bool>([&](db::Tx& tx) {
    tx.exec_params0(
        "UPDATE outbox SET status = 'pending', attempts = greatest(attempts - 1, 0),"
        " next_attempt_at = now(), leased_by = NULL, updated_at = now()"
        " WHERE id = ANY($1::bigint[]) AND status = 'sending'"
        " AND leased_by IS NOT DISTINCT FROM nullif($2, '')",
        list, settings_.holder);
    tx.commit();
    return true;
  });
  if (!given)
    log::Warn("outbox rows not given back as the dispatcher stops: their lease ends them",
              {{"lane", settings_.name},
               {"rows", std::to_string(ids.size())},
               {"error", given.error().message}});
}

void Lane::Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
  stop_ = &stop;
  PollUntilStopped(
      settings_.name.c_str(), [this] { return RunOnce(); }, stop, interval);
}

}  // namespace meldestelle::outbox
