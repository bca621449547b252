// Personal sign-in to the staff inbox (tickets/staff_accounts.hpp): against the town's directory
// (the private slapd of scripts/services, seeded from config/example/directory.ldif) and with
// local accounts (meldestelle staff), through the inbox's own form, with the real database.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace sign_in_test {

using namespace meldestelle::testing;
using nlohmann::json;

namespace {

StackOptions WithDirectory(const std::vector<std::string>& more = {}) {
  StackOptions o;
  o.extra_env = DirectoryEnv();
  for (const auto& kv : more) {
    const std::string name = kv.substr(0, kv.find('=') + 1);
    for (auto& e : o.extra_env) {
      if (e.rfind(name, 0) == 0)
        e = kv;
    }
  }
  return o;
}

std::string Location(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->status << " " << r->body);
  REQUIRE(r->status == 303);
  return r->get_header_value("Location");
}

// A report of a pothole at the Markt (routed to the Tiefbauamt); its reference.
std::string Pothole(Stack& s) {
  auto res = s.Client().Post("/api/v1/reports",
                             json{{"description", "Tiefes Loch in der Fahrbahn"},
                                  {"category", "STR-01"},
                                  {"lat", 50.948},
                                  {"lon", 6.975}}
                                 .dump(),
                             "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  std::string ref = json::parse(res->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref) +
                             " AND department_id = 'tiefbauamt'",
                         1));
  return ref;
}

std::string Csrf(const std::string& page) {
  std::smatch m;
  REQUIRE(std::regex_search(page, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  return m[1];
}

}  // namespace

TEST_CASE("directory sign-in: the groups give department and role, the history names the person",
          "[staff][directory]") {
  Stack s(WithDirectory());
  const std::string pw = DirectoryPassword();
  std::string ref = Pothole(s);
  auto c = s.Client();

  // Anna Beispiel is in the group of the Tiefbauamt; she types her name as people do.
  auto anna = InboxSignIn(s, "Anna", pw);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'anna' AND source ="
                " 'directory' AND role = 'department' AND department_id = 'tiefbauamt'"
                " AND display_name = 'Anna Beispiel'") == 1);
  auto list = c.Get("/staff", anna);
  REQUIRE(list);
  CHECK(list->status == 200);
  CHECK(list->body.find(ref) != std::string::npos);
  CHECK(list->body.find("Anna Beispiel") != std::string::npos);
  auto console = c.Get("/staff/leitstelle", anna);
  REQUIRE(console);
  CHECK(console->status == 403);  // not an operator
  auto page = c.Get(("/staff/tickets/" + ref).c_str(), anna);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  auto accepted =
      c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), anna,
             "aktion=accept&csrf=" + Csrf(page->body), "application/x-www-form-urlencoded");
  CHECK(Location(accepted).find("/staff/tickets/") == 0);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'accepted' AND actor ="
                " 'Anna Beispiel (anna)' AND actor_department = 'tiefbauamt'") == 1);

  // Olga Leitner is in the operators' group; Ali Kaya in both: the operator role wins.
  for (const char* op : {"olga", "ali.kaya"}) {
    INFO(op);
    auto h = InboxSignIn(s, op, pw);
    auto r = c.Get("/staff/leitstelle", h);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE role = 'operator'"
                " AND department_id IS NULL") == 2);

  // Paul's password is right, but he is in no group of the Meldestelle: told so, no session.
  CHECK(Location(PostSignIn(s, "paul", pw)) == "/staff/login?fehler=zuordnung");
  auto told = c.Get("/staff/login?fehler=zuordnung");
  REQUIRE(told);
  CHECK(told->body.find("keinem Fachbereich") != std::string::npos);

  // Refused alike: a wrong password, none (an LDAP bind without one would be anonymous and
  // succeed), names that would widen the search, an unknown name.
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"anna", "falsch"},
           {"anna", ""},
           {"*", pw},
           {"anna)(uid=*", pw},
           {"a*", pw},
           {"niemand", pw},
           {"uid=anna,ou=people,dc=musterstadt,dc=example", pw}}) {
    INFO(user << " / " << password.size());
    CHECK(Location(PostSignIn(s, user, password)).rfind("/staff/login?fehler=1", 0) == 0);
  }
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username <> 'anna'"
                " AND role <> 'operator'") == 0);

  // A local account of the same name comes first: Bernd's directory password no longer works.
  AddStaffAccount(s, "bernd", {"--department", "tiefbauamt", "--name", "Bernd (lokal)"},
                  "Bernds-lokales-Passwort");
  CHECK(Location(PostSignIn(s, "bernd", pw)).rfind("/staff/login?fehler=1", 0) == 0);
  InboxSignIn(s, "bernd", "Bernds-lokales-Passwort");
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'bernd' AND source ="
                " 'local' AND department_id = 'tiefbauamt'") == 1);

  // The directory itself takes a name without a password as an anonymous bind and says yes
  // (as Active Directory does): the gateway never asks it so.
  int rc = -1;
  std::string out = s.RunShell(
      "ldapwhoami -x -H \"$MELDESTELLE_LDAP_URL\" -D uid=anna,ou=people,dc=musterstadt,dc=example"
      " -w ''",
      &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("anonymous") != std::string::npos);

  // An operator ends a person's sessions (a lost laptop), a directory account's too.
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'anna'") == 1);
  out = s.RunCommand({"staff", "logout", "anna"}, &rc);
  CHECK(rc == 0);
  CHECK(out.find("ended 1 session(s) of anna") != std::string::npos);
  auto after = c.Get("/staff", anna);
  REQUIRE(after);
  CHECK(after->status == 303);

  // The command line tries a sign-in the same way, without opening a session.
  out = s.RunShell(
      "printf '%s\\n' '" + pw + "' | \"$MELDESTELLE\" staff check ali.kaya --password-stdin", &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("ali.kaya: Ali Kaya, directory account, role operator (all departments)") !=
        std::string::npos);
  out = s.RunShell("printf 'falsch\\n' | \"$MELDESTELLE\" staff check anna --password-stdin", &rc);
  CHECK(rc == 1);
  CHECK(out.find("refused") != std::string::npos);

  // Counted for monitoring (brute force, a directory that fails).
  auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find(
            "meldestelle_staff_sign_ins_total{source=\"directory\",outcome=\"signed_in\"} 3") !=
        std::string::npos);
  CHECK(metrics->body.find(
            "meldestelle_staff_sign_ins_total{source=\"directory\",outcome=\"no_department\"} 1") !=
        std::string::npos);
}

TEST_CASE("directory away or refusing our account: 503 with Retry-After, local accounts still work",
          "[staff][directory]") {
  SECTION("nothing listens at the directory's address") {
    Stack s(WithDirectory({"MELDESTELLE_LDAP_URL=ldap://127.0.0.1:" + std::to_string(FreePort())}));
    AddStaffAccount(s, "notfall", {"--department", "tiefbauamt"}, "Notfall-Passwort-1");
    auto r = PostSignIn(s, "anna", DirectoryPassword());
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Retry-After") == "30");
    CHECK(r->body.find("nicht erreichbar") != std::string::npos);
    CHECK(r->body.find("value=\"anna\"") != std::string::npos);           // the name stays typed
    CHECK(r->get_header_value("Set-Cookie").rfind("ms_login=", 0) == 0);  // a fresh form
    InboxSignIn(s, "notfall", "Notfall-Passwort-1");
  }
  SECTION("a user filter that finds several people refuses, and never picks one") {
    StackOptions o = WithDirectory();
    o.edit_config = [](std::string& yaml) {
      Replace(yaml, "(&(objectClass=inetOrgPerson)(uid={user}))",
              "(&(objectClass=inetOrgPerson)(|(uid={user})(sn=*)))");
    };
    Stack s(o);
    CHECK(Location(PostSignIn(s, "anna", DirectoryPassword())).rfind("/staff/login?fehler=1", 0) ==
          0);
    CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 0);
    CHECK(s.GatewayLog().find("more than one entry") != std::string::npos);
  }
  SECTION("the directory refuses our search account") {
    Stack s(WithDirectory({"MELDESTELLE_LDAP_BIND_PASSWORD=nicht-das-richtige"}));
    auto r = PostSignIn(s, "anna", DirectoryPassword());
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(s.GatewayLog().find("refused staff.directory.bind_dn") != std::string::npos);
    CHECK(s.GatewayLog().find("nicht-das-richtige") == std::string::npos);
    CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 0);
  }
}

TEST_CASE(
    "sign-in guessing is slowed per user name and address, and the password never leaves a trace",
    "[staff]") {
  Stack s;
  AddStaffAccount(s, "kasse", {"--department", "tiefbauamt"}, "Kassen-Passwort-2026");
  AddStaffAccount(s, "hof", {"--department", "tiefbauamt"}, "Hof-Passwort-2026-x");
  // The browser kasse always uses has signed in before: it carries the device cookie.
  auto earlier = PostSignIn(s, "kasse", "Kassen-Passwort-2026");
  REQUIRE(earlier);
  REQUIRE(earlier->status == 303);
  std::string device;
  for (size_t i = 0; i < earlier->get_header_value_count("Set-Cookie"); ++i) {
    const std::string c = earlier->get_header_value("Set-Cookie", i);
    if (c.rfind("ms_geraet=", 0) == 0)
      device = c;
  }
  REQUIRE_FALSE(device.empty());
  CHECK(device.find("Path=/staff/login") != std::string::npos);
  CHECK(device.find("HttpOnly") != std::string::npos);
  device = device.substr(0, device.find(';'));
  for (int i = 0; i < 5; ++i) {
    INFO(i);
    CHECK(Location(PostSignIn(s, "kasse", "rate-" + std::to_string(i)))
              .rfind("/staff/login?fehler=1", 0) == 0);
  }
  // The sixth try from this address waits, even with the right password; another name is not
  // held up, and sign-ins that succeed do not count.
  auto held = PostSignIn(s, "kasse", "Kassen-Passwort-2026");
  REQUIRE(held);
  CHECK(held->status == 429);
  CHECK(std::stoi(held->get_header_value("Retry-After")) >= 1);
  CHECK(held->body.find("Zu viele Anmeldeversuche") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 1);  // the earlier one
  // The guesses held the name, not kasse's own browser: with its device cookie she gets in. A
  // cookie signed for another name, or altered, is no device cookie.
  auto known = PostSignIn(s, "kasse", "Kassen-Passwort-2026", "/staff", device);
  REQUIRE(known);
  CHECK(known->status == 303);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'kasse'") == 2);
  std::string altered = device;
  altered.back() = altered.back() == '0' ? '1' : '0';
  auto forged = PostSignIn(s, "kasse", "Kassen-Passwort-2026", "/staff", altered);
  REQUIRE(forged);
  CHECK(forged->status == 429);
  for (int i = 0; i < 25; ++i)
    InboxSignIn(s, "hof", "Hof-Passwort-2026-x");
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'hof'") == 25);
  // Only the Argon2id hash is stored; neither the database nor the log holds a password.
  CHECK(s.Count("SELECT count(*) FROM staff_accounts WHERE password_hash LIKE '$argon2id$%'") == 2);
  CHECK(s.Count("SELECT count(*) FROM staff_accounts WHERE password_hash LIKE '%Passwort%'") == 0);
  CHECK(s.GatewayLog().find("Kassen-Passwort") == std::string::npos);
  CHECK(s.GatewayLog().find("rate-3") == std::string::npos);
}

TEST_CASE("meldestelle staff: accounts added, listed and refused with clear errors", "[staff]") {
  Stack s;
  auto add = [&](const std::string& args, const std::string& password, int* rc) {
    return s.RunShell("printf '%s\\n' '" + password + "' | \"$MELDESTELLE\" staff add " + args, rc);
  };
  int rc = -1;
  std::string out = add("anna.k --department tiefbauamt --name 'Anna König' --password-stdin",
                        "Ein-gutes-Passwort", &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("added anna.k (Anna König), role staff, department tiefbauamt") !=
        std::string::npos);
  struct Refusal {
    std::string args, password, says;
  };
  // A name that is taken is a state of the database (1), not a mistake of the command line (2).
  out = add("anna.k --department tiefbauamt --password-stdin", "Ein-gutes-Passwort", &rc);
  CHECK(rc == 1);
  CHECK(out.find("a local account \"anna.k\" exists") != std::string::npos);
  for (const auto& r : std::vector<Refusal>{
           {"neu --department tiefbauamt --password-stdin", "kurz", "at least 12"},
           {"neu --department bauhof --password-stdin", "Ein-gutes-Passwort", "unknown department"},
           {"neu --department tiefbauamt", "Ein-gutes-Passwort", "needs --password-stdin"},
           {"neu --password-stdin", "Ein-gutes-Passwort", "needs --department"},
           {"neu --role operator --department tiefbauamt --password-stdin", "Ein-gutes-Passwort",
            "has no --department"},
           {"neu --role chef --password-stdin", "Ein-gutes-Passwort", "staff or operator"},
           {"'Neu Mit Leer' --department tiefbauamt --password-stdin", "Ein-gutes-Passwort",
            "will not do"},
       }) {
    INFO(r.args);
    out = add(r.args, r.password, &rc);
    INFO(out);
    CHECK(rc == 2);
    CHECK(out.find(r.says) != std::string::npos);
  }
  CHECK(s.Count("SELECT count(*) FROM staff_accounts") == 1);
  out = add("chefin --role operator --password-stdin", "Leitstellen-Passwort", &rc);
  CHECK(rc == 0);
  out = s.RunCommand({"staff", "list", "--format", "json"}, &rc);
  REQUIRE(rc == 0);
  REQUIRE(out.find('[') != std::string::npos);
  auto list = json::parse(out.substr(out.find('[')));
  REQUIRE(list.size() == 2);
  CHECK(list[0]["user"] == "anna.k");
  CHECK(list[0]["name"] == "Anna König");
  CHECK(list[0]["role"] == "staff");
  CHECK(list[0]["last_login_at"] == "");
  CHECK(list[1]["user"] == "chefin");
  CHECK(list[1]["role"] == "operator");
  CHECK(list[1]["department"] == "");
  out = s.RunCommand({"staff", "disable", "niemand"}, &rc);
  CHECK(rc == 1);
  CHECK(out.find("no local account \"niemand\"") != std::string::npos);
  // The staff API stays for machines, with a department's token.
  out = s.RunCommand({"token", "create", "--department", "tiefbauamt"}, &rc);
  REQUIRE(rc == 0);
  std::string token = out.substr(out.find("mst_"), 61);
  auto api = s.Client().Get("/api/v1/tickets", {{"Authorization", "Bearer " + token}});
  REQUIRE(api);
  CHECK(api->status == 200);
}

}  // namespace sign_in_test
