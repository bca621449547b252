#pragma once

#include <string>

#include "core/config.hpp"
#include "core/result.hpp"

namespace meldestelle::tickets {

struct UnlinkResult {
  enum class Kind { kUnlinked, kNotLinked } kind = Kind::kNotLinked;
  std::string existing_reference;  // kUnlinked: the ticket it was linked to
  std::string department;          // its own department, now responsible
};

// Staff correct a wrong duplicate match (docs/duplicates.md): the ticket `reference` stops being
// a duplicate and becomes its own open ticket ('assigned') for the department its own routing
// chose; the link row is removed and the unlinking recorded in duplicate_unlinks (with `by`).
// Its department's clock starts now (assigned_at, no escalation yet), the history gets a
// "routed" entry and the department its delivery, as for a new ticket.
// Idempotent: a ticket that is not (or no longer) linked is left as it is (kNotLinked). Error
// "not_found" for an unknown reference.
Result<UnlinkResult> UnlinkDuplicate(const Config& config, const std::string& reference,
                                     const std::string& by);

}  // namespace meldestelle::tickets
