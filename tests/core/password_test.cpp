#include "core/password.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/ldap_client.hpp"

// Local accounts' passwords (Argon2id) and what the directory sign-in builds its searches from.
namespace password_test {

using namespace meldestelle;

TEST_CASE("passwords are kept as Argon2id PHC strings and verified against them") {
  auto h = HashPassword("Schlagloch-am-Markt-7");
  REQUIRE(h);
  CHECK(h->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(VerifyPassword(*h, "Schlagloch-am-Markt-7"));
  CHECK_FALSE(VerifyPassword(*h, "Schlagloch-am-Markt-8"));
  CHECK_FALSE(VerifyPassword(*h, ""));
  // Salted: the same password twice is two different strings, both valid.
  auto again = HashPassword("Schlagloch-am-Markt-7");
  REQUIRE(again);
  CHECK(*again != *h);
  CHECK(VerifyPassword(*again, "Schlagloch-am-Markt-7"));
  // Broken or foreign stored values are no match (never an exception or a crash).
  for (std::string stored :
       {std::string(), std::string("$argon2id$"), h->substr(0, h->size() - 5),
        "$argon2i$" + h->substr(10), std::string("plain-text-password"),
        std::string("$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123")}) {
    INFO(stored);
    CHECK_FALSE(VerifyPassword(stored, "Schlagloch-am-Markt-7"));
  }
  CHECK_FALSE(VerifyPasswordOfNobody("Schlagloch-am-Markt-7"));
}

TEST_CASE("password rules: length in characters, a bound in bytes, no control characters") {
  CHECK(CheckPasswordRules("zwölf-Zeichn") == "");  // 12 characters, 13 bytes
  CHECK_THAT(CheckPasswordRules("zu-kurz"), Catch::Contains("at least 12"));
  CHECK_THAT(CheckPasswordRules("ääääääääääa"), Catch::Contains("at least 12"));  // 11 chars
  CHECK_THAT(CheckPasswordRules(std::string(1025, 'a')), Catch::Contains("longer than 1024"));
  CHECK_THAT(CheckPasswordRules("zwei\nZeilen-Passwort"), Catch::Contains("control character"));
  CHECK_THAT(CheckPasswordRules("mit\tTabulator-Passwort"), Catch::Contains("control character"));
}

TEST_CASE("LDAP filters: typed values are escaped (RFC 4515), so a name cannot widen a search") {
  CHECK(ldap::EscapeFilterValue("anna") == "anna");
  CHECK(ldap::EscapeFilterValue("*") == "\\2a");
  CHECK(ldap::EscapeFilterValue("a)(uid=*") == "a\\29\\28uid=\\2a");
  CHECK(ldap::EscapeFilterValue(std::string("x\0y", 3)) == "x\\00y");
  CHECK(ldap::EscapeFilterValue("back\\slash") == "back\\5cslash");
  CHECK(ldap::EscapeFilterValue("Jürgen") == "Jürgen");  // UTF-8 as it is
  CHECK(ldap::FillFilter("(&(objectClass=inetOrgPerson)(uid={user}))", {{"user", "*)(cn=*"}}) ==
        "(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28cn=\\2a))");
  CHECK(ldap::FillFilter("(member={dn})", {{"dn", "uid=a,ou=people,dc=x"}}) ==
        "(member=uid=a,ou=people,dc=x)");
  // Unknown or unclosed placeholders stay as written.
  CHECK(ldap::FillFilter("(x={other})(y={user", {{"user", "u"}}) == "(x={other})(y={user");
}

TEST_CASE("DNs compare after normalising: case and spaces do not matter, broken ones never match") {
  CHECK(ldap::ComparableDn("CN=Tiefbauamt, OU=Gruppen,DC=musterstadt,DC=example") ==
        ldap::ComparableDn("cn=tiefbauamt,ou=gruppen,dc=musterstadt,dc=example"));
  CHECK(ldap::ComparableDn("cn=tiefbauamt,ou=gruppen,dc=musterstadt,dc=example") !=
        ldap::ComparableDn("cn=tiefbauamt2,ou=gruppen,dc=musterstadt,dc=example"));
  CHECK(ldap::ComparableDn("not a dn") == "");
  CHECK(ldap::ComparableDn("cn=") != ldap::ComparableDn("cn=a"));
}

}  // namespace password_test
