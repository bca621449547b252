#include <catch2/catch.hpp>
#include <string>

#include "core/config.hpp"
#include "tickets/settings.hpp"
#include "tickets/staff_accounts.hpp"

// staff.directory: the town's directory for personal sign-in, with every mistake a town's IT
// could make in it refused with its line and key.
namespace staff_settings_test {

using namespace meldestelle;

namespace {

const char* kMinimal = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
)";

Result<Config> Parse(const std::string& more) {
  return ParseConfig(std::string(kMinimal) + more, "/tmp/staff.yaml", tickets::Sections(), true);
}

const char* kDirectory = R"(staff:
  directory:
    url: ldap://127.0.0.1:10389
    bind_dn: cn=meldestelle,ou=dienste,dc=musterstadt,dc=example
    bind_password: ${MELDESTELLE_TEST_LDAP_PW}
    base_dn: dc=musterstadt,dc=example
    groups:
      - group: CN=Leitstelle,OU=Gruppen,DC=musterstadt,DC=example
        role: operator
      - group: cn=tiefbau,ou=gruppen,dc=musterstadt,dc=example
        department: tiefbauamt
)";

}  // namespace

TEST_CASE("staff.directory: read with its defaults, groups in order") {
  setenv("MELDESTELLE_TEST_LDAP_PW", "geheim-und-lang", 1);
  auto cfg = Parse(kDirectory);
  INFO((cfg ? "" : cfg.error().message));
  REQUIRE(cfg);
  const auto& d = cfg->Get<tickets::StaffSettings>().directory;
  CHECK(d.enabled());
  CHECK(d.bind_password == "geheim-und-lang");
  CHECK(d.user_filter == "(&(objectClass=inetOrgPerson)(uid={user}))");
  CHECK(d.group_filter == "(&(objectClass=groupOfNames)(member={dn}))");
  CHECK(d.timeout_seconds == 5);
  REQUIRE(d.groups.size() == 2);
  CHECK(d.groups[0].is_operator);
  CHECK(d.groups[0].comparable_dn == "cn=leitstelle,ou=gruppen,dc=musterstadt,dc=example");
  CHECK(d.groups[1].department_id == "tiefbauamt");
  // Without a url (its variable unset) the directory is off, and nothing else is required.
  auto off = Parse("staff:\n  directory:\n    url: ${MELDESTELLE_UNSET_LDAP_URL:-}\n");
  REQUIRE(off);
  CHECK_FALSE(off->Get<tickets::StaffSettings>().directory.enabled());
  auto none = Parse("");
  REQUIRE(none);
  CHECK_FALSE(none->Get<tickets::StaffSettings>().directory.enabled());
}

TEST_CASE("staff.directory: broken settings are refused with their key") {
  setenv("MELDESTELLE_TEST_LDAP_PW", "geheim-und-lang", 1);
  unsetenv("MELDESTELLE_UNSET_LDAP_PW");
  const std::string base = kDirectory;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = base;
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
  };
  struct Case {
    std::string yaml, expect;
  };
  for (const Case& c : std::vector<Case>{
           {with("ldap://127.0.0.1:10389", "http://127.0.0.1:10389"), "ldap:// or ldaps://"},
           {with("    base_dn: dc=musterstadt,dc=example\n", ""), "base_dn: is required"},
           {with("department: tiefbauamt", "department: bauhof"), "unknown department \"bauhof\""},
           {with("        role: operator\n", ""), "names the department"},
           {with("        role: operator\n", "        role: chef\n"), "staff or operator"},
           {with("        role: operator\n",
                 "        role: operator\n        department: "
                 "tiefbauamt\n"),
            "operator group names no department"},
           {with("CN=Leitstelle,OU=Gruppen,DC=musterstadt,DC=example", "Leitstelle"),
            "is not a DN"},
           {with("${MELDESTELLE_TEST_LDAP_PW}", "im-klartext"), "must reference an environment"},
           {with("${MELDESTELLE_TEST_LDAP_PW}", "${MELDESTELLE_UNSET_LDAP_PW}"),
            "bind_password: is empty"},
           {with("    base_dn:", "    user_filter: (uid=anna)\n    base_dn:"),
            "must contain {user}"},
           {with("    base_dn:", "    group_filter: (objectClass=group)\n    base_dn:"),
            "must contain {dn} or {user}"},
           {with("    base_dn:", "    start_tls: vielleicht\n    base_dn:"), "start_tls"},
           {with("    base_dn:", "    timeout_seconds: 0\n    base_dn:"), "timeout_seconds"},
           {with("    base_dn:", "    passwort: x\n    base_dn:"), "passwort: unknown key"},
           {with("    groups:\n", "    groups: tiefbauamt\n    ignored:\n"), "groups"},
           {with("ldap://127.0.0.1:10389", "ldap://dc1.stadt.local"), "unencrypted"},
       }) {
    INFO(c.yaml);
    auto cfg = Parse(c.yaml);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error().message, Catch::Contains(c.expect));
  }
  // Not in clear text to another machine, unless the town says its network is protected.
  for (const std::string& fine :
       {std::string("url: ldaps://dc1.stadt.local:636"),
        std::string("url: ldap://dc1.stadt.local\n    start_tls: true"),
        std::string("url: ldap://dc1.stadt.local\n    allow_plaintext: true"),
        std::string("url: ldap://localhost:389")}) {
    INFO(fine);
    auto cfg = Parse(with("url: ldap://127.0.0.1:10389", fine));
    CHECK(cfg);
  }
  auto both = Parse(with("url: ldap://127.0.0.1:10389", "url: ldaps://dc1\n    start_tls: true"));
  REQUIRE_FALSE(both);
  CHECK_THAT(both.error().message, Catch::Contains("ldaps:// is TLS already"));
  auto no_groups = Parse("staff:\n  directory:\n    url: ldap://127.0.0.1:1\n    base_dn: dc=x\n");
  REQUIRE_FALSE(no_groups);
  CHECK_THAT(no_groups.error().message, Catch::Contains("groups: is required"));
}

TEST_CASE("user names at sign-in: trimmed, lower-case, never empty or with control characters") {
  CHECK(tickets::NormalUsername(" Anna.Beispiel ") == "anna.beispiel");
  CHECK(tickets::NormalUsername("A.Kaya@Stadt") == "a.kaya@stadt");
  // One spelling per person: what a directory would match in other forms is refused.
  CHECK(tickets::NormalUsername("JÜRGEN") == "");
  CHECK(tickets::NormalUsername("anna\xc2\xa0") == "");  // a no-break space
  CHECK(tickets::NormalUsername("*") == "");
  CHECK(tickets::NormalUsername("anna)(uid=*") == "");
  CHECK(tickets::NormalUsername(".anna") == "");
  CHECK(tickets::NormalUsername("") == "");
  CHECK(tickets::NormalUsername("   ") == "");
  CHECK(tickets::NormalUsername("an\nna") == "");
  CHECK(tickets::NormalUsername(std::string(64, 'a')) == std::string(64, 'a'));
  CHECK(tickets::NormalUsername(std::string(65, 'a')) == "");
}

}  // namespace staff_settings_test
