#pragma once

#include <optional>
#include <string>

#include "core/db.hpp"
#include "core/result.hpp"
#include "tickets/api_tokens.hpp"

// The staff inbox's sessions (docs/security.md, "Inbox sessions"): after a login with a token,
// the browser holds a random session id in a cookie; the table holds only its SHA-256, the
// token it belongs to and its times. A session ends when it has not been used for `idle_minutes`,
// `hours` after the login, when its token is revoked, or at logout (its row is deleted).
namespace meldestelle::tickets {

struct SessionLimits {
  int idle_minutes = 30;
  int hours = 12;
};

struct StaffSession {
  std::string id_sha256;  // names the session (the CSRF token is derived from it)
  ApiToken token;
};

// Opens a session for a live token; returns the id for the cookie (64 hex digits). Deletes the
// sessions that have ended meanwhile.
std::string OpenSession(db::Tx& tx, const std::string& token_id, const SessionLimits& limits);
// The live session for a cookie's id, or nullopt (unknown, malformed, ended, token revoked).
// Records its use (at most once a minute); an ended session is deleted.
std::optional<StaffSession> FindSession(db::Tx& tx, const std::string& id,
                                        const SessionLimits& limits);
// Deletes the session (logout). Unknown ids are fine.
void CloseSession(db::Tx& tx, const std::string& id);

}  // namespace meldestelle::tickets
