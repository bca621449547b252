#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"

namespace meldestelle::tickets {

// Asking the citizen back ("Rückfrage", docs/departments.md): staff send a question in the
// channel the citizen reported through (tickets/actions.hpp, action "question"); the ticket waits
// in status 'waiting_for_citizen' with its acceptance and done clocks paused. The wait ends when
// the citizen answers (anything they send about the ticket: tickets/followups.hpp) or when
// tickets.question_timeout has passed (tickets/jobs.hpp); either way the department is told.

// Clears the wait of ticket `ticket_id` at `at` (the clocks as EndWaiting) without a history
// entry or delivery: staff act on a waiting ticket themselves (set its status, hand it back …),
// and their action's entry says what happened. Returns the status it returned to; "" (nothing
// changed) if it was not waiting.
std::string SettleWait(db::Tx& tx, const std::string& ticket_id, std::optional<int64_t> at);

// Ends the wait of ticket `ticket_id` at `at` (Unix seconds; nullopt = the transaction's time,
// now()): back to the status it came from; the time it
// waited is added to its paused clocks and to assigned_at (its deadlines move on by as much). The
// history gets `action` ('answered' or 'question_expired') by `actor` with `note` and
// `details_json`; the department a delivery with reason `action`. Returns false, changing
// nothing, if the ticket is not waiting. The caller holds the ticket's row lock or takes it here.
bool EndWaiting(db::Tx& tx, const Config& config, const std::string& ticket_id,
                std::optional<int64_t> at, const std::string& action, const std::string& actor,
                const std::string& note, const std::string& details_json);

// The ticket that waits for an answer from `address` on `channel` (the question went there), the
// latest if several; "" if none. A chat message that quotes none of our messages is the answer.
std::string WaitingTicketOf(db::Tx& tx, const std::string& channel, const std::string& address);

// Whether `event` may be sent to the citizen through their channel although it is no status
// change: the question, which goes to the ticket's own reporter only.
inline bool IsQuestionEvent(const std::string& event) { return event == "question"; }

}  // namespace meldestelle::tickets
