#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/result.hpp"
#include "tickets/api_tokens.hpp"

// Staff sign in as themselves (docs/departments.md, "Signing in"; docs/security.md, "Staff
// sign-in"): with a local account (user name and an Argon2id hash, `meldestelle staff add`) or
// against the town's directory by LDAP bind (Active Directory or OpenLDAP; `staff.directory`),
// whose groups say the department and role. A local account of the same name comes first. The
// person then works in a server-side session (tickets/staff_sessions.hpp) and the ticket history
// names them. Department tokens (tickets/api_tokens.hpp) are for machines: the staff API only.
namespace meldestelle::tickets {

// A directory group and what its members are.
struct DirectoryGroup {
  std::string group;          // the group's DN as configured
  std::string comparable_dn;  // ldap::ComparableDn(group)
  std::string department_id;  // empty for operators
  bool is_operator = false;
};

// staff.directory: the LDAP server and how people and their groups are found in it.
struct DirectorySettings {
  std::string url;  // ldap:// or ldaps://; empty = no directory
  bool start_tls = false;
  // ldap:// without StartTLS to another machine than this one: refused unless set.
  bool allow_plaintext = false;
  std::string ca_file;
  int timeout_seconds = 5;
  // The account that searches for people and groups (${VAR} for the password); empty = anonymous.
  std::string bind_dn, bind_password;
  std::string base_dn;
  // {user}: the name typed at sign-in (escaped, RFC 4515).
  std::string user_filter = "(&(objectClass=inetOrgPerson)(uid={user}))";
  std::string name_attribute = "displayName";  // the person's name in the history; else cn
  std::string group_base_dn;                   // empty = base_dn
  // {dn}: the person's DN, {user}: the name typed (both escaped).
  std::string group_filter = "(&(objectClass=groupOfNames)(member={dn}))";
  std::vector<DirectoryGroup> groups;  // in order: an operator group wins, else the first match
  bool enabled() const { return !url.empty(); }
};

struct StaffSettings {
  static constexpr std::string_view kKey = "staff";
  static constexpr bool kRequired = false;
  DirectorySettings directory;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, StaffSettings& out);
};

// Who signed in.
struct Person {
  std::string username;       // lower-case, as typed
  std::string display_name;   // for the history; the user name if the directory has none
  std::string source;         // "local" or "directory"
  std::string role;           // "department" or "operator" (as ApiToken::role)
  std::string department_id;  // empty for operators
  // The principal the staff API and inbox check rights with (ApiToken::person set).
  ApiToken AsPrincipal() const;
};

// Signs a person in: the local account of that name, else the directory. nullopt: wrong name or
// password (the same answer for both; every path costs an Argon2id check, so that the time
// tells little). Errors: kNoDepartment (the password was right, but none of the person's groups
// is configured), kLdapUnavailable / kLdapError (the directory is away or refused our search
// account), the database's. `record`: a local account's last sign-in is recorded.
Result<std::optional<Person>> SignIn(db::Pool& db, const Config& config, std::string_view username,
                                     std::string_view password, bool record = true);
// The directory part of SignIn alone (for `meldestelle staff check`).
Result<std::optional<Person>> SignInByDirectory(const DirectorySettings& directory,
                                                const std::string& username,
                                                const std::string& password);
// A user name as sign-in compares it: trimmed and lower-case, 1 to 64 of a-z 0-9 . _ @ -
// beginning with a letter or digit; "" if it cannot be one.
std::string NormalUsername(std::string_view typed);

// Local accounts, managed with `meldestelle staff` (app/staff.cpp).
struct StaffAccount {
  std::string username;  // [a-z0-9][a-z0-9._@-]{0,63}
  std::string display_name;
  std::string role;                                    // "department" or "operator"
  std::string department_id;                           // empty for operators
  std::string created_at, disabled_at, last_login_at;  // ISO 8601, "" = never
};
// Errors: kUsage (a name, department, role or password that will not do; the account exists).
Status AddAccount(db::Session& db, const Config& config, const StaffAccount& account,
                  std::string_view password);
Result<std::vector<StaffAccount>> ListAccounts(db::Session& db);
// A new password; the account's sessions end. kNotFound if there is no such account.
Status SetPassword(db::Session& db, const std::string& username, std::string_view password);
// Disables (true) or enables an account; disabling ends its sessions. kNotFound as above.
Status SetDisabled(db::Session& db, const std::string& username, bool disabled);
// Ends every open session of that user name, local or directory (a lost laptop); how many.
Result<long long> EndSessions(db::Session& db, const std::string& username);

}  // namespace meldestelle::tickets
