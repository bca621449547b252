#pragma once

// The dead-letter queue as the admin commands and the retention pass read it: messages are taken
// without acknowledging them (they stay owned by the channel until acked or handed back), so a
// failure halfway returns them all to the queue.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/result.hpp"

namespace meldestelle {

struct DeadLetter {
  uint64_t tag = 0;
  std::string body;
  std::string reason;
  std::string message_id;    // our header, else the message's own message_id
  std::string type;          // the AMQP type ("" = none: a report envelope)
  std::string failed_at_ms;  // when it was dead-lettered (ms since 1970), "" if the broker did it
  int64_t broker_time = 0;   // the broker's x-death time (s since 1970), 0 if none
  OwnedProperties properties;  // as it lies in the dead-letter queue: republished with them
};

// Takes up to `limit` dead letters without acknowledging them.
Result<std::vector<DeadLetter>> TakeDeadLetters(AmqpConnection& conn, const std::string& queue,
                                                int limit);

// Takes every dead letter (up to 100,000), removes those `drop` selects (with `dry_run` only
// counts them) and hands the others back in their order. Returns how many were selected.
Result<long long> DropDeadLetters(const Config& config,
                                  const std::function<bool(const DeadLetter&)>& drop, bool dry_run);
// The same for another queue of ours that no one consumes (a worker's retry queue); a queue
// that does not exist holds none.
Result<long long> DropQueuedMessages(const Config& config, const std::string& queue,
                                     const std::function<bool(const DeadLetter&)>& drop,
                                     bool dry_run);

// Lists up to `limit` messages of the dead-letter queue (reason, message id, type, reference,
// size) without removing them. Returns how many were listed. What comes from the message is
// printed with its control characters escaped (EscapeForTerminal).
Result<int> ListDeadLetters(const Config& config, int limit, std::ostream& out);

// Moves up to `limit` dead letters back onto the work queue (after the cause was fixed): each is
// republished with a confirm and only then removed from the dead-letter queue, with its type,
// message id, timestamp and headers (RepublishProperties: the dead-letter queue's own and the
// broker's per-trip headers left out), so that it is the message it was.
Result<int> RequeueDeadLetters(const Config& config, int limit, std::ostream& out);

// `s` for an operator's terminal: every control character (C0, DEL, C1 — an escape sequence
// would act on the terminal) and every byte that is not UTF-8 as \xNN, a backslash as \\.
std::string EscapeForTerminal(std::string_view s);

// One dead letter as `dead-letters list` prints it (two lines), escaped.
std::string DescribeDeadLetter(const DeadLetter& l);

}  // namespace meldestelle
