#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/result.hpp"

namespace meldestelle::tickets {

// Bearer tokens of the staff API and inbox (docs/api.md, "Tokens"): one per person or system, for
// one department or with the operator role (all departments). The secret is shown once, at
// creation; only its SHA-256 is stored. A token looks like `mst_<id>_<secret>`: the id (8 hex
// digits) names it in lists, logs and ticket history, the secret is 48 hex digits.
struct ApiToken {
  std::string id;
  std::string role;           // "department" or "operator"
  std::string department_id;  // empty for operators
  std::string label;
  std::string created_at, revoked_at, last_used_at;  // ISO 8601; "" = never
  // A person signed in to the inbox (tickets/staff_sessions.hpp) is checked with the same rights
  // as a token: then `person` is their user name, `label` their name and `id` empty.
  std::string person;
  // Who acted, for the ticket history: "<label> (token <id>)", or "<name> (<user name>)" for a
  // person.
  std::string Actor() const;
};

struct CreatedToken {
  ApiToken token;
  std::string secret;  // the whole bearer token, shown once
};

// Creates a token. `department_id` must be a configured department (role department); empty
// with `operator_role` = operator.
Result<CreatedToken> CreateToken(db::Session& db, const Config& config,
                                 const std::string& department_id, bool operator_role,
                                 const std::string& label);
Result<std::vector<ApiToken>> ListTokens(db::Session& db);
// Revokes by id; error "not_found" if there is no such token. Revoking twice is fine.
Status RevokeToken(db::Session& db, const std::string& id);
// The live token for a presented bearer secret, or nullopt (unknown, malformed or revoked).
// Records last_used_at (at most once a minute).
std::optional<ApiToken> Authenticate(db::Tx& tx, const std::string& bearer);
// The token with this id unless it is revoked (or unknown).
std::optional<ApiToken> LiveToken(db::Tx& tx, const std::string& id);

}  // namespace meldestelle::tickets
