#pragma once

// What the retention pass and the erasure need beyond the database, put together here where all
// components are in reach: the dead-letter queue (core/dead_letters.hpp) and the phone channel's
// period for recordings.
#include <memory>

#include "core/config.hpp"
#include "privacy/retention.hpp"
#include "privacy/subject.hpp"

namespace meldestelle::app {

// The retention pass of an installation: recordings after phone.recording_retention_days, chat
// event ids after chat.dedupe_days, dead letters through the configured broker.
std::unique_ptr<privacy::Retention> NewRetention(const Config& config);
// Drops the dead letters that mention a person (for privacy::Erase).
privacy::DeadLetterDrop DeadLetterDropFor(const Config& config);

}  // namespace meldestelle::app
