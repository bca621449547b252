#pragma once

#include <ostream>
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"

namespace meldestelle::app {

// Lists up to `limit` messages of the dead-letter queue (reason, message id, reference, failure
// time) without removing them. Returns how many were listed.
Result<int> ListDeadLetters(const Config& config, int limit, std::ostream& out);

// Moves up to `limit` dead letters back onto the work queue (after the cause was fixed): each is
// republished with a confirm and only then removed from the dead-letter queue.
Result<int> RequeueDeadLetters(const Config& config, int limit, std::ostream& out);

}  // namespace meldestelle::app
