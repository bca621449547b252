// `meldestelle staff add|password|disable|enable|list|check`: the staff inbox's local accounts,
// and a sign-in tried as the inbox does it (tickets/staff_accounts.hpp).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/command.hpp"
#include "core/errors.hpp"
#include "core/sql.hpp"
#include "tickets/staff_accounts.hpp"

namespace meldestelle::app {

namespace {

const char* kStaffHelp =
    R"HELP(Usage: meldestelle staff add USER --department ID [--role staff] [--name TEXT] --password-stdin
       meldestelle staff add USER --role operator [--name TEXT] --password-stdin
       meldestelle staff password USER --password-stdin
       meldestelle staff disable USER
       meldestelle staff enable USER
       meldestelle staff logout USER
       meldestelle staff list [--format text|json]
       meldestelle staff check USER --password-stdin

People sign in to the staff inbox (/staff) as themselves: with a local account made here, or with
their account in the town's directory (staff.directory in the config: an LDAP bind, the groups
say department and role; docs/departments.md, "Signing in"). A local account of the same name
comes first. The ticket history names the person ("Anna Beispiel (anna)").

  add       a local account: USER is 1 to 64 of a-z 0-9 . _ @ -; --department ID for the role
            staff (the default), none for --role operator (all departments, the routing
            console); --name is the name shown in the history (default: USER)
  password  a new password; the account's open sessions end
  disable   the account can no longer sign in; its open sessions end (its history stays)
  enable    it can again
  logout    ends every open session of USER, a local or a directory account (a lost laptop;
            for a directory account, remove it from the groups too, or it can sign in again)
  list      the local accounts, with their last sign-in
  check     signs USER in as the inbox would (local account, else the directory) and prints
            who they would be, without opening a session or recording a sign-in: to try the
            directory settings

--password-stdin reads the password from the first line of standard input (typed without echo on
a terminal); a password has at least 12 characters. Passwords are stored as Argon2id hashes only.
Department tokens (meldestelle token) are for machines using the staff API, not for people.
Exit codes: 0 success, 1 database or directory failure, unknown or existing account, sign-in
refused, 2 usage error.
)HELP";

// The first line of stdin; on a terminal, asked for without echo.
std::optional<std::string> ReadPassword(const char* prompt) {
  const bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!got)
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

int Failed(const char* what, const Error& e) {
  std::cerr << "meldestelle staff " << what << ": " << e.message
            << (e.detail.empty() ? "" : " (" + e.detail + ")") << "\n";
  return e.code == errors::kUsage || e.code == errors::kUnknownDepartment ? kExitUsage
                                                                          : kExitFailure;
}

std::string RoleName(const std::string& role) { return role == "operator" ? "operator" : "staff"; }

int List(db::Session& conn, const Args& args) {
  auto list = tickets::ListAccounts(conn);
  if (!list)
    return Failed("list", list.error());
  if (args.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : *list) {
      out.push_back({{"user", a.username},
                     {"name", a.display_name},
                     {"role", RoleName(a.role)},
                     {"department", a.department_id},
                     {"created_at", a.created_at},
                     {"disabled_at", a.disabled_at},
                     {"last_login_at", a.last_login_at}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-20s %-9s %-22s %-21s %s\n", "USER", "ROLE", "DEPARTMENT", "LAST SIGN-IN", "NAME");
  for (const auto& a : *list) {
    std::printf("%-20s %-9s %-22s %-21s %s%s\n", a.username.c_str(), RoleName(a.role).c_str(),
                a.department_id.empty() ? "-" : a.department_id.c_str(),
                a.last_login_at.empty() ? "never" : a.last_login_at.c_str(), a.display_name.c_str(),
                a.disabled_at.empty() ? "" : (" [disabled " + a.disabled_at + "]").c_str());
  }
  return kExitOk;
}

int Check(const Config& cfg, const std::string& user, const std::string& password) {
  db::Pool pool(cfg.database.url, 1);
  auto who = tickets::SignIn(pool, cfg, user, password, /*record=*/false);
  if (!who) {
    if (who.error().code == errors::kNoDepartment) {
      std::cerr << "meldestelle staff check: the password is right, but none of the person's "
                   "directory groups is in staff.directory.groups ("
                << who.error().detail << ")\n";
      return kExitFailure;
    }
    return Failed("check", who.error());
  }
  if (!*who) {
    std::cerr << "meldestelle staff check: refused: no such user, wrong password or a disabled "
                 "account"
              << (cfg.Get<tickets::StaffSettings>().directory.enabled()
                      ? ""
                      : " (no directory is configured: staff.directory.url)")
              << "\n";
    return kExitFailure;
  }
  const auto& p = **who;
  std::cout << p.username << ": " << p.display_name << ", " << p.source << " account, role "
            << RoleName(p.role)
            << (p.department_id.empty() ? std::string(" (all departments)")
                                        : ", department " + p.department_id)
            << "\n";
  return kExitOk;
}

}  // namespace

int RunStaff(const Args& args) {
  if (args.help) {
    std::cout << kStaffHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kStaffHelp, "staff"))
    return kExitUsage;
  const std::string action = args.positional.empty() ? "" : args.positional[0];
  const bool with_user = args.positional.size() == 2;
  const bool needs_password = action == "add" || action == "password" || action == "check";
  bool shape_ok =
      ((needs_password || action == "disable" || action == "enable" || action == "logout") &&
       with_user) ||
      (action == "list" && args.positional.size() == 1);
  std::string why;
  if (!shape_ok) {
    why =
        "expected add USER | password USER | disable USER | enable USER | logout USER | list |"
        " check USER";
  } else if (needs_password && !args.password_stdin) {
    why = action +
          " needs --password-stdin (a password is never an argument: it would show in "
          "the process list and the shell's history)";
  } else if (action == "add" && !args.role.empty() && args.role != "staff" &&
             args.role != "operator") {
    why = "--role is staff or operator";
  } else if (action == "add" && (args.role == "operator") == !args.department.empty()) {
    why = args.role == "operator" ? "an operator has no --department (operators see all)"
                                  : "add needs --department ID (or --role operator)";
  }
  if (!why.empty()) {
    std::cerr << "meldestelle staff: " << why << "\n\n" << kStaffHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  const std::string user = args.positional.size() > 1 ? args.positional[1] : "";
  std::string password;
  if (needs_password) {
    auto read = ReadPassword(action == "check" ? "Password: " : "New password: ");
    if (!read) {
      std::cerr << "meldestelle staff " << action << ": no password on standard input\n";
      return kExitUsage;
    }
    password = *read;
  }
  if (action == "check")
    return Check(*cfg, user, password);
  db::Session conn(cfg->database.url);
  if (action == "list")
    return List(conn, args);
  if (action == "add") {
    tickets::StaffAccount a;
    a.username = user;
    a.display_name = args.name.empty() ? user : args.name;
    a.role = args.role == "operator" ? "operator" : "department";
    a.department_id = args.department;
    if (auto st = tickets::AddAccount(conn, *cfg, a, password); !st)
      return Failed("add", st.error());
    std::cout << "added " << user << " (" << a.display_name << "), role " << RoleName(a.role)
              << (a.department_id.empty() ? std::string(" (all departments)")
                                          : ", department " + a.department_id)
              << "\n";
    return kExitOk;
  }
  if (action == "password") {
    if (auto st = tickets::SetPassword(conn, user, password); !st)
      return Failed("password", st.error());
    std::cout << "new password for " << user << "; its open sessions have ended\n";
    return kExitOk;
  }
  if (action == "logout") {
    auto ended = tickets::EndSessions(conn, user);
    if (!ended)
      return Failed("logout", ended.error());
    std::cout << "ended " << *ended << " session(s) of " << user << "\n";
    return kExitOk;
  }
  const bool disable = action == "disable";
  if (auto st = tickets::SetDisabled(conn, user, disable); !st)
    return Failed(action.c_str(), st.error());
  std::cout << (disable ? "disabled " : "enabled ") << user
            << (disable ? "; its open sessions have ended\n" : "\n");
  return kExitOk;
}

}  // namespace meldestelle::app
