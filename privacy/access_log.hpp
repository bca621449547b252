#pragma once

// Who saw a citizen's contact data (docs/datenschutz.md, "Who sees contact data"): every time the
// staff API or the inbox shows a ticket's reporter, a row in contact_views records who (the
// token, or the inbox session's token), when, which ticket and where; `meldestelle privacy
// access-log --reference REF` lists them.
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/result.hpp"

namespace meldestelle::privacy {

// In `tx`, before the contact is shown. `surface`: "api" or "inbox".
void RecordContactView(db::Tx& tx, const std::string& ticket_id, const std::string& actor,
                       const std::string& actor_role, const std::string& surface);

struct ContactView {
  std::string at;  // ISO 8601 UTC
  std::string actor, actor_role, surface;
};
// The views of the ticket `reference`, oldest first. Error kNotFound for an unknown reference.
Result<std::vector<ContactView>> ContactViews(const std::string& database_url,
                                              const std::string& reference);

}  // namespace meldestelle::privacy
