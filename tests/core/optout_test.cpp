// The signed opt-out link of status e-mails (core/optout): built, checked, and broken links
// refused with a German message.
#include "core/optout.hpp"

#include <catch2/catch.hpp>

#include "core/links.hpp"
#include "core/text.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace optout_test {

using namespace meldestelle;

namespace {

Config LinkConfig() {
  Config c;
  c.gateway.public_base_url = "https://meldung.musterstadt.example";
  c.link_secret = "optout-secret-for-tests";
  return c;
}

}  // namespace

TEST_CASE("the opt-out link carries the percent-encoded address and its signature", "[optout]") {
  Config c = LinkConfig();
  std::string url = OptOutUrl(c, "email", "erika+bau@example.org");
  std::string sig = SignLink("optout-secret-for-tests", "optout", "email:erika+bau@example.org", 0);
  CHECK(url ==
        "https://meldung.musterstadt.example/abmelden?c=email&a=erika%2Bbau%40example.org"
        "&s=" +
            sig);
  CHECK(PercentEncode("a b&c=ü") == "a%20b%26c%3D%C3%BC");
  auto ok = CheckOptOutLink(c, "email", "erika+bau@example.org", sig);
  REQUIRE(ok);
  CHECK(ok->address == "erika+bau@example.org");
  CHECK(ok->channel == "email");
}

TEST_CASE("broken or forged opt-out links are refused", "[optout]") {
  Config c = LinkConfig();
  std::string a = "erika@example.org";
  std::string sig = SignLink("optout-secret-for-tests", "optout", "email:" + a, 0);
  struct Case {
    std::string channel, address, sig;
  };
  std::string other = SignLink("optout-secret-for-tests", "optout", "email:max@example.org", 0);
  for (const Case& k : std::vector<Case>{{"", a, sig},
                                         {"email", "", sig},
                                         {"email", a, ""},
                                         {"sms", a, sig},
                                         {"email", "max@example.org", sig},
                                         {"email", a, other},
                                         {"email", a, sig.substr(0, 31)},
                                         {"email", a, sig + "0"},
                                         {"email", "erika", sig},
                                         {"email", "erika@exa\nmple.org", sig},
                                         {"email", std::string(300, 'a') + "@x.org", sig},
                                         {"email", "\xff@example.org", sig}}) {
    auto r = CheckOptOutLink(c, k.channel, k.address, k.sig);
    INFO(k.channel << " " << k.address << " " << k.sig);
    REQUIRE_FALSE(r);
    CHECK(r.error().code.name() == "optout_invalid");
    CHECK(r.error().message.find("Abmeldelink ist ungültig") != std::string::npos);
  }
  // Another secret signs other links: the town's secret changed, old links stop working.
  Config changed = LinkConfig();
  changed.link_secret = "another-secret";
  CHECK_FALSE(CheckOptOutLink(changed, "email", a, sig));
  // Without any secret nothing verifies.
  Config none;
  CHECK_FALSE(CheckOptOutLink(none, "email", a, SignLink("", "optout", "email:" + a, 0)));
}

}  // namespace optout_test
