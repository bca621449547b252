#pragma once

#include <optional>
#include <string>

#include "core/db.hpp"
#include "tickets/api_tokens.hpp"
#include "tickets/staff_accounts.hpp"

// The staff inbox's sessions (docs/security.md, "Inbox sessions"): after a person signed in
// (tickets/staff_accounts.hpp), the browser holds a random session id in a cookie; the table
// holds only its SHA-256, who it is (name, source, role and department as at sign-in) and its
// times. A session ends when it has not been used for `idle_minutes`, `hours` after the sign-in,
// when its local account is disabled or gets a new password, or at logout (its row is deleted).
namespace meldestelle::tickets {

struct SessionLimits {
  int idle_minutes = 30;
  int hours = 12;
};

struct StaffSession {
  std::string id_sha256;  // names the session (the CSRF token is derived from it)
  ApiToken who;           // the person as a principal (ApiToken::person set; no token id)
};

// Opens a session for a person who signed in; returns the id for the cookie (64 hex digits).
// Deletes the sessions that have ended meanwhile.
std::string OpenSession(db::Tx& tx, const Person& person, const SessionLimits& limits);
// The live session for a cookie's id, or nullopt (unknown, malformed, ended, account disabled).
// Records its use (at most once a minute); an ended session is deleted.
std::optional<StaffSession> FindSession(db::Tx& tx, const std::string& id,
                                        const SessionLimits& limits);
// Deletes the session (logout). Unknown ids are fine.
void CloseSession(db::Tx& tx, const std::string& id);

}  // namespace meldestelle::tickets
