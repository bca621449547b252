#pragma once

#include <string>

#include "core/result.hpp"

namespace meldestelle::workers {

struct UnlinkResult {
  enum class Kind { kUnlinked, kNotLinked } kind = Kind::kNotLinked;
  std::string existing_reference;  // kUnlinked: the ticket it was linked to
  std::string department;          // its own department, now responsible
};

// Staff correct a wrong duplicate match (docs/duplicates.md): the ticket `reference` stops being
// a duplicate and becomes its own open ticket ('assigned') for the department its own routing
// chose; the link row is removed and the unlinking recorded in duplicate_unlinks (with `by`).
// Idempotent: a ticket that is not (or no longer) linked is left as it is (kNotLinked). Error
// "not_found" for an unknown reference.
Result<UnlinkResult> UnlinkDuplicate(const std::string& database_url,
                                     const std::string& reference, const std::string& by);

}  // namespace meldestelle::workers
