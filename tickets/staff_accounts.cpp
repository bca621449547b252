#include "tickets/staff_accounts.hpp"

#include <algorithm>
#include <regex>

#include "core/config_section.hpp"
#include "core/errors.hpp"
#include "core/ldap_client.hpp"
#include "core/log.hpp"
#include "core/password.hpp"
#include "core/sql.hpp"

namespace meldestelle::tickets {

namespace {

constexpr const char* kIso = "YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"";

void ReadGroups(YamlReader& rd, const YAML::Node& n, const Config& config, DirectorySettings& d) {
  auto list = n["groups"];
  if (!list || !rd.ExpectSequence(list, "staff.directory.groups"))
    return;
  for (const auto& item : list) {
    const std::string path = "staff.directory.groups[" + std::to_string(d.groups.size()) + "]";
    if (!rd.ExpectMap(item, path, {"group", "department", "role"}))
      continue;
    DirectoryGroup g;
    std::string role = "staff";
    rd.String(item, "group", &g.group, true, path);
    rd.String(item, "department", &g.department_id, false, path);
    rd.String(item, "role", &role, false, path);
    g.comparable_dn = ldap::ComparableDn(g.group);
    if (!g.group.empty() && g.comparable_dn.empty())
      rd.Fail(item["group"], path + ".group", "\"" + g.group + "\" is not a DN (RFC 4514)");
    if (role != "staff" && role != "operator")
      rd.Fail(item["role"], path + ".role", "must be staff or operator");
    g.is_operator = role == "operator";
    if (g.is_operator && !g.department_id.empty()) {
      rd.Fail(item, path, "an operator group names no department (operators see all)");
    } else if (!g.is_operator && g.department_id.empty()) {
      rd.Fail(item, path, "names the department its members work in (or role: operator)");
    } else if (!g.department_id.empty() && config.FindDepartment(g.department_id) == nullptr) {
      rd.Fail(item["department"], path + ".department",
              "unknown department \"" + g.department_id + "\"");
    }
    d.groups.push_back(std::move(g));
  }
}

void ReadDirectory(YamlReader& rd, const YAML::Node& n, const Config& config,
                   DirectorySettings& d) {
  if (!n || !rd.ExpectMap(n, "staff.directory",
                          {"url", "start_tls", "allow_plaintext", "ca_file", "timeout_seconds",
                           "bind_dn", "bind_password", "base_dn", "user_filter", "name_attribute",
                           "group_base_dn", "group_filter", "groups"})) {
    return;
  }
  const std::string path = "staff.directory";
  rd.String(n, "url", &d.url, false, path);
  rd.Bool(n, "start_tls", &d.start_tls, path);
  rd.Bool(n, "allow_plaintext", &d.allow_plaintext, path);
  rd.String(n, "ca_file", &d.ca_file, false, path);
  rd.Int(n, "timeout_seconds", &d.timeout_seconds, 1, 60, path);
  rd.String(n, "bind_dn", &d.bind_dn, false, path);
  ReadSecret(rd, n, "bind_password", path, "MELDESTELLE_LDAP_BIND_PASSWORD", &d.bind_password);
  rd.String(n, "base_dn", &d.base_dn, false, path);
  rd.String(n, "user_filter", &d.user_filter, false, path);
  rd.String(n, "name_attribute", &d.name_attribute, false, path);
  rd.String(n, "group_base_dn", &d.group_base_dn, false, path);
  rd.String(n, "group_filter", &d.group_filter, false, path);
  ReadGroups(rd, n, config, d);
  if (d.url.empty())
    return;  // the directory is off (e.g. ${MELDESTELLE_LDAP_URL:-} unset)
  if (d.url.rfind("ldap://", 0) != 0 && d.url.rfind("ldaps://", 0) != 0)
    rd.Fail(n["url"], path + ".url", "must be an ldap:// or ldaps:// URL");
  if (d.start_tls && d.url.rfind("ldaps://", 0) == 0)
    rd.Fail(n["start_tls"], path + ".start_tls", "is for ldap:// URLs (ldaps:// is TLS already)");
  // Every person's password crosses this connection: in clear text only to this machine.
  static const std::regex kLoopback(R"(^ldap://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?/?$)");
  if (d.url.rfind("ldap://", 0) == 0 && !d.start_tls && !d.allow_plaintext &&
      !std::regex_match(d.url, kLoopback)) {
    rd.Fail(n["url"], path + ".url",
            "would send the staff's passwords unencrypted: use ldaps://, start_tls: true, or "
            "allow_plaintext: true where the network itself is protected");
  }
  if (d.base_dn.empty())
    rd.Fail(n, path + ".base_dn", "is required with a url (where people are found)");
  if (d.user_filter.find("{user}") == std::string::npos)
    rd.Fail(n["user_filter"], path + ".user_filter", "must contain {user}");
  if (d.group_filter.find("{dn}") == std::string::npos &&
      d.group_filter.find("{user}") == std::string::npos) {
    rd.Fail(n["group_filter"], path + ".group_filter", "must contain {dn} or {user}");
  }
  if (d.groups.empty())
    rd.Fail(n, path + ".groups", "is required with a url: nobody could work without a department");
  if (!d.bind_dn.empty() && d.bind_password.empty()) {
    rd.Fail(n, path + ".bind_password",
            "is empty although bind_dn is set (is its environment variable set?)");
  }
}

StaffAccount AccountFromRow(const pqxx::row& row) {
  StaffAccount a;
  a.username = row[0].as<std::string>();
  a.display_name = row[1].as<std::string>();
  a.role = row[2].as<std::string>();
  a.department_id = row[3].as<std::string>();
  a.created_at = row[4].as<std::string>();
  a.disabled_at = row[5].as<std::string>();
  a.last_login_at = row[6].as<std::string>();
  return a;
}

std::string AccountColumns() {
  auto iso = [](const char* col) {
    return std::string("coalesce(to_char(") + col + " AT TIME ZONE 'UTC', '" + kIso + "'), '')";
  };
  return "SELECT username, display_name, CASE role WHEN 'staff' THEN 'department' ELSE role END,"
         " coalesce(department_id, ''), " +
         iso("created_at") + ", " + iso("disabled_at") + ", " + iso("last_login_at");
}

Status NoSuchAccount(const std::string& username) {
  return MakeError(errors::kNotFound, "no local account \"" + username + "\"",
                   "meldestelle staff list shows them");
}

}  // namespace

void StaffSettings::Read(YamlReader& rd, const YAML::Node& n, Config& config, StaffSettings& out) {
  if (!n || !rd.ExpectMap(n, "staff", {"directory"}))
    return;
  ReadDirectory(rd, n["directory"], config, out.directory);
}

ApiToken Person::AsPrincipal() const {
  ApiToken t;
  t.role = role;
  t.department_id = department_id;
  t.label = display_name;
  t.person = username;
  return t;
}

std::string NormalUsername(std::string_view typed) {
  size_t b = 0, e = typed.size();
  while (b < e && (typed[b] == ' ' || typed[b] == '\t'))
    ++b;
  while (e > b && (typed[e - 1] == ' ' || typed[e - 1] == '\t' || typed[e - 1] == '\r' ||
                   typed[e - 1] == '\n')) {
    --e;
  }
  std::string out(typed.substr(b, e - b));
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // One spelling per person: a directory would match other forms of the same name (case
  // variants beyond ASCII, look-alike letters), each slowed apart and shown apart in the history.
  static const std::regex kName("^[a-z0-9][a-z0-9._@-]{0,63}$");
  return std::regex_match(out, kName) ? out : std::string();
}

Result<std::optional<Person>> SignInByDirectory(const DirectorySettings& d,
                                                const std::string& username,
                                                const std::string& password) {
  if (!d.enabled() || username.empty() || password.empty() || password.size() > kMaxPasswordBytes)
    return std::optional<Person>{};
  ldap::Options options{d.url, d.start_tls, d.ca_file, std::chrono::seconds(d.timeout_seconds)};
  auto conn = ldap::Connection::Open(options);
  if (!conn)
    return conn.error();
  if (!d.bind_dn.empty()) {
    if (auto bound = conn->Bind(d.bind_dn, d.bind_password); !bound) {
      // Our own account refused: the directory is misconfigured for us, not the person's fault.
      Error e = bound.error();
      if (e.code == errors::kLdapInvalidCredentials)
        e = MakeError(errors::kLdapError, "the directory refused staff.directory.bind_dn");
      return e;
    }
  }
  const std::string name_attr = d.name_attribute.empty() ? "cn" : d.name_attribute;
  auto people = conn->Search(d.base_dn, ldap::FillFilter(d.user_filter, {{"user", username}}),
                             {name_attr, "cn"}, 2);
  if (!people)
    return people.error();
  if (people->size() != 1) {
    if (people->size() > 1)
      log::Warn("directory sign-in: the user filter finds more than one entry, refused",
                {{"user", username}});
    return std::optional<Person>{};
  }
  const ldap::Entry& person = people->front();
  // The groups first, with our account's rights (a person may not read the groups).
  const std::string group_base = d.group_base_dn.empty() ? d.base_dn : d.group_base_dn;
  auto groups = conn->Search(
      group_base, ldap::FillFilter(d.group_filter, {{"dn", person.dn}, {"user", username}}), {"cn"},
      1000);
  if (!groups)
    return groups.error();
  if (auto bound = conn->Bind(person.dn, password); !bound) {
    if (bound.error().code == errors::kLdapInvalidCredentials)
      return std::optional<Person>{};
    return bound.error();
  }
  std::vector<std::string> member_of;
  for (const auto& g : *groups)
    member_of.push_back(ldap::ComparableDn(g.dn));
  auto is_member = [&](const DirectoryGroup& g) {
    return std::find(member_of.begin(), member_of.end(), g.comparable_dn) != member_of.end();
  };
  const DirectoryGroup* chosen = nullptr;
  for (const auto& g : d.groups) {
    if (g.is_operator && is_member(g)) {
      chosen = &g;
      break;
    }
  }
  for (const auto& g : d.groups) {
    if (chosen == nullptr && is_member(g))
      chosen = &g;
  }
  if (chosen == nullptr) {
    return MakeError(errors::kNoDepartment,
                     "Ihr Konto ist keinem Fachbereich der Meldestelle zugeordnet.",
                     "none of " + std::to_string(member_of.size()) +
                         " directory groups is in staff.directory.groups");
  }
  Person p;
  p.username = username;
  p.display_name = person.First(name_attr);
  if (p.display_name.empty())
    p.display_name = person.First("cn");
  if (p.display_name.empty())
    p.display_name = username;
  p.source = "directory";
  p.role = chosen->is_operator ? "operator" : "department";
  p.department_id = chosen->department_id;
  return std::optional<Person>(std::move(p));
}

Result<std::optional<Person>> SignIn(db::Pool& db, const Config& config, std::string_view typed,
                                     std::string_view password, bool record) {
  const std::string username = NormalUsername(typed);
  if (username.empty() || password.empty()) {
    (void)VerifyPasswordOfNobody(password);
    return std::optional<Person>{};
  }
  struct Local {
    StaffAccount account;
    std::string hash;
  };
  auto local = db.Read<std::optional<Local>>([&](db::ReadTx& tx) -> std::optional<Local> {
    auto r = tx.exec_params(
        AccountColumns() + ", password_hash FROM staff_accounts WHERE username = $1", username);
    if (r.empty())
      return std::nullopt;
    return Local{AccountFromRow(r[0]), r[0][7].as<std::string>()};
  });
  if (!local)
    return local.error();
  if (!*local) {
    // An Argon2id check on this path too, so that the time of the answer does not tell a local
    // account from a directory's name or an unknown one.
    (void)VerifyPasswordOfNobody(password);
    const auto& directory = config.Get<StaffSettings>().directory;
    if (directory.enabled())
      return SignInByDirectory(directory, username, std::string(password));
    return std::optional<Person>{};
  }
  const StaffAccount& a = (*local)->account;
  if (!VerifyPassword((*local)->hash, password) || !a.disabled_at.empty())
    return std::optional<Person>{};
  Person person{a.username, a.display_name.empty() ? a.username : a.display_name, "local", a.role,
                a.department_id};
  if (record) {
    auto seen = db.Transact<bool>([&](db::Tx& tx) {
      tx.exec_params0("UPDATE staff_accounts SET last_login_at = now() WHERE username = $1",
                      username);
      tx.commit();
      return true;
    });
    if (!seen)
      return seen.error();
  }
  return std::optional<Person>(std::move(person));
}

Status AddAccount(db::Session& db, const Config& config, const StaffAccount& account,
                  std::string_view password) {
  static const std::regex kName("^[a-z0-9][a-z0-9._@-]{0,63}$");
  if (!std::regex_match(account.username, kName)) {
    return MakeError(errors::kUsage, "the user name \"" + account.username + "\" will not do",
                     "1 to 64 of a-z 0-9 . _ @ -, beginning with a letter or digit");
  }
  if (account.role != "department" && account.role != "operator")
    return MakeError(errors::kUsage, "the role is staff or operator");
  if ((account.role == "operator") != account.department_id.empty()) {
    return MakeError(errors::kUsage, account.role == "operator"
                                         ? "an operator has no department (operators see all)"
                                         : "--department is required for the role staff");
  }
  if (!account.department_id.empty() && config.FindDepartment(account.department_id) == nullptr) {
    return MakeError(errors::kUnknownDepartment,
                     "unknown department \"" + account.department_id + "\"",
                     "configured departments are listed under departments: in the config");
  }
  if (auto why = CheckPasswordRules(password); !why.empty())
    return MakeError(errors::kUsage, why);
  auto hash = HashPassword(password);
  if (!hash)
    return hash.error();
  auto added = db.Transact<bool>([&](db::Tx& tx) {
    bool inserted =
        !tx.exec_params(
               "INSERT INTO staff_accounts (username, display_name, role, department_id,"
               " password_hash) VALUES ($1, $2, $3, NULLIF($4, ''), $5)"
               " ON CONFLICT (username) DO NOTHING RETURNING 1",
               account.username, account.display_name,
               account.role == "operator" ? "operator" : "staff", account.department_id, *hash)
             .empty();
    tx.commit();
    return inserted;
  });
  if (!added)
    return added.error();
  if (!*added) {
    return MakeError(errors::kAccountExists, "a local account \"" + account.username + "\" exists",
                     "meldestelle staff password changes its password");
  }
  return Ok{};
}

Result<std::vector<StaffAccount>> ListAccounts(db::Session& db) {
  return db.Run<std::vector<StaffAccount>>([&](db::Connection& conn) {
    db::ReadTx tx(conn);
    std::vector<StaffAccount> out;
    for (const auto& row : tx.exec(AccountColumns() + " FROM staff_accounts ORDER BY username"))
      out.push_back(AccountFromRow(row));
    return out;
  });
}

namespace {

// Changes an account (`set`: the SET clause; `value` its $2, if any) and, with `end_sessions`,
// ends the sessions of its name, in one transaction. kNotFound without such an account.
Status ChangeAccount(db::Session& db, const std::string& username, const std::string& set,
                     const std::string* value, bool end_sessions) {
  const std::string sql = "UPDATE staff_accounts SET " + set + " WHERE username = $1 RETURNING 1";
  auto found = db.Transact<bool>([&](db::Tx& tx) {
    bool f =
        !(value != nullptr ? tx.exec_params(sql, username, *value) : tx.exec_params(sql, username))
             .empty();
    if (end_sessions)
      tx.exec_params0("DELETE FROM staff_sessions WHERE username = $1", username);
    tx.commit();
    return f;
  });
  if (!found)
    return found.error();
  return *found ? Status(Ok{}) : NoSuchAccount(username);
}

}  // namespace

Status SetPassword(db::Session& db, const std::string& username, std::string_view password) {
  if (auto why = CheckPasswordRules(password); !why.empty())
    return MakeError(errors::kUsage, why);
  auto hash = HashPassword(password);
  if (!hash)
    return hash.error();
  return ChangeAccount(db, username, "password_hash = $2, password_changed_at = now()", &*hash,
                       true);
}

Status SetDisabled(db::Session& db, const std::string& username, bool disabled) {
  return ChangeAccount(
      db, username, disabled ? "disabled_at = coalesce(disabled_at, now())" : "disabled_at = NULL",
      nullptr, disabled);
}

Result<long long> EndSessions(db::Session& db, const std::string& username) {
  return db.Transact<long long>([&](db::Tx& tx) {
    auto r = tx.exec_params("DELETE FROM staff_sessions WHERE username = $1", username);
    tx.commit();
    return static_cast<long long>(r.affected_rows());
  });
}

}  // namespace meldestelle::tickets
