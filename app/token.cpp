// `meldestelle token create|list|revoke`: the staff API's and inbox's tokens.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/command.hpp"
#include "core/errors.hpp"
#include "core/sql.hpp"
#include "tickets/api_tokens.hpp"

namespace meldestelle::app {

namespace {

const char* kTokenHelp =
    R"(Usage: meldestelle token create --department ID [--label TEXT] [--config FILE]
       meldestelle token create --operator [--label TEXT]
       meldestelle token list [--format text|json]
       meldestelle token revoke ID

Tokens let departments use the staff API (/api/v1/tickets) and the staff inbox (/staff); see
docs/api.md. A department token sees and works only that department's tickets; an operator token
sees all of them. `create` prints the token once: it is stored only as a SHA-256 hash, so keep it
(a lost token is revoked and replaced). The label (a person's or a system's name) appears in the
ticket history as who acted. `revoke` takes the id from `list`; it takes effect at once.
Exit codes: 0 success, 1 database failure or unknown token id, 2 usage error.
)";

}  // namespace

int RunToken(const Args& args) {
  if (args.help) {
    std::cout << kTokenHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kTokenHelp, "token"))
    return kExitUsage;
  const std::string action = args.positional.empty() ? "" : args.positional[0];
  bool shape_ok = (action == "create" && args.positional.size() == 1 &&
                   (args.operator_role != !args.department.empty())) ||
                  (action == "list" && args.positional.size() == 1) ||
                  (action == "revoke" && args.positional.size() == 2);
  if (!shape_ok) {
    std::cerr << "meldestelle token: expected create --department ID | create --operator | list"
                 " | revoke ID\n\n"
              << kTokenHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  db::Session conn(cfg->database.url);
  if (action == "create") {
    auto c = tickets::CreateToken(conn, *cfg, args.department, args.operator_role, args.label);
    if (!c) {
      std::cerr << "meldestelle token create: " << c.error().message
                << (c.error().detail.empty() ? "" : " (" + c.error().detail + ")") << "\n";
      return c.error().code == errors::kUnknownDepartment ? kExitUsage : kExitFailure;
    }
    std::cerr << "created token " << c->token.id << " for "
              << (args.operator_role ? std::string("operators (all departments)")
                                     : "department " + args.department)
              << "; it is shown only now:\n";
    std::cout << c->secret << "\n";
    return kExitOk;
  }
  if (action == "list") {
    auto list = tickets::ListTokens(conn);
    if (!list) {
      std::cerr << "meldestelle token list: " << list.error().message << "\n";
      return kExitFailure;
    }
    if (args.format == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : *list) {
        out.push_back({{"id", t.id},
                       {"role", t.role},
                       {"department", t.department_id},
                       {"label", t.label},
                       {"created_at", t.created_at},
                       {"revoked_at", t.revoked_at},
                       {"last_used_at", t.last_used_at}});
      }
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    std::printf("%-9s %-10s %-22s %-21s %-21s %s\n", "ID", "ROLE", "DEPARTMENT", "CREATED",
                "LAST USED", "LABEL");
    for (const auto& t : *list) {
      std::printf("%-9s %-10s %-22s %-21s %-21s %s%s\n", t.id.c_str(), t.role.c_str(),
                  t.department_id.empty() ? "-" : t.department_id.c_str(), t.created_at.c_str(),
                  t.last_used_at.empty() ? "never" : t.last_used_at.c_str(), t.label.c_str(),
                  t.revoked_at.empty() ? "" : (" [revoked " + t.revoked_at + "]").c_str());
    }
    return kExitOk;
  }
  auto st = tickets::RevokeToken(conn, args.positional[1]);
  if (!st) {
    std::cerr << "meldestelle token revoke: " << st.error().message << "\n";
    return kExitFailure;
  }
  std::cout << "revoked token " << args.positional[1] << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
