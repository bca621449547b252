#include "app/privacy_admin.hpp"

#include <optional>

#include "channels/chat/settings.hpp"
#include "channels/phone/settings.hpp"
#include "core/dead_letters.hpp"
#include "core/envelope.hpp"
#include "core/sql.hpp"
#include "routing/timezone.hpp"
#include "workers/settings.hpp"
#include "workers/worker.hpp"

namespace meldestelle::app {

namespace {

// When a dead letter failed: our header, else the broker's (x-death, when it dead-lettered the
// message itself), else when its report came in. A letter without any of them is kept (it is
// listed by `meldestelle dead-letters` for an operator to decide).
std::optional<int64_t> FailedAt(const DeadLetter& l) {
  if (!l.failed_at_ms.empty() &&
      l.failed_at_ms.find_first_not_of("0123456789") == std::string::npos &&
      l.failed_at_ms.size() < 16)
    return std::stoll(l.failed_at_ms) / 1000;
  if (l.broker_time > 0)
    return l.broker_time;
  if (auto env = DecodeEnvelope(l.body)) {
    if (auto t = routing::ParseRfc3339(env->report.received_at))
      return *t;
  }
  return std::nullopt;
}

// Runs `drop` while holding a PostgreSQL advisory lock, so that the workers' retention passes and
// an erasure take the dead-letter queue one at a time (a letter another holds unacknowledged is
// invisible to the others). The lock ends with the connection if the process dies.
Result<long long> OneAtATime(const Config& config, const std::function<Result<long long>()>& drop) {
  auto conn = db::Connect(config.database.url);
  if (!conn)
    return conn.error();
  auto locked = db::Guard<Ok>([&]() -> Ok {
    pqxx::nontransaction tx(**conn);
    tx.exec("SELECT pg_advisory_lock(7412014)");
    return Ok{};
  });
  if (!locked)
    return locked.error();
  auto n = drop();
  (void)db::Guard<Ok>([&]() -> Ok {
    pqxx::nontransaction tx(**conn);
    tx.exec("SELECT pg_advisory_unlock(7412014)");
    return Ok{};
  });
  return n;
}

}  // namespace

std::unique_ptr<privacy::Retention> NewRetention(const Config& config) {
  privacy::DeadLetterExpiry expiry = [&config](int64_t cutoff, bool dry_run) {
    return OneAtATime(config, [&] {
      return DropDeadLetters(
          config,
          [cutoff](const DeadLetter& l) {
            auto at = FailedAt(l);
            return at && *at < cutoff;
          },
          dry_run);
    });
  };
  return std::make_unique<privacy::Retention>(
      config,
      privacy::Retention::ChannelPeriods{config.Get<phone::Settings>().recording_retention_days,
                                         config.Get<chat::Settings>().dedupe_days},
      std::move(expiry));
}

privacy::DeadLetterDrop DeadLetterDropFor(const Config& config) {
  return [&config](const std::function<bool(const std::string&)>& mentions,
                   bool dry_run) -> Result<long long> {
    auto selected = [&mentions](const DeadLetter& l) { return mentions(l.body); };
    return OneAtATime(config, [&]() -> Result<long long> {
      auto dropped = DropDeadLetters(config, selected, dry_run);
      if (!dropped)
        return dropped;
      // A message of theirs waiting for another attempt in a retry queue would come back after
      // the erasure and make its ticket again (the queues of the delays configured now; one of
      // a delay taken out of the list empties itself within that delay).
      for (int delay : config.Get<workers::Settings>().retry_delays_seconds) {
        auto n = DropQueuedMessages(config, workers::RetryQueueName(config.amqp.queue, delay),
                                    selected, dry_run);
        if (!n)
          return n;
        *dropped += *n;
      }
      return dropped;
    });
  };
}

}  // namespace meldestelle::app
