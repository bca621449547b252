// The signed opt-out link of status e-mails (core/optout): built, checked, and broken links
// refused with a German message.
#include "core/optout.hpp"

#include <catch2/catch.hpp>
#include <set>

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

TEST_CASE("the opt-out link carries the message it came in and its signature, no address",
          "[optout]") {
  Config c = LinkConfig();
  std::string url = OptOutUrl(c, "email", 4711);
  std::string sig = SignLink(PurposeKey(c, KeyPurpose::kOptOutLinks), "optout", "email:#4711", 0);
  CHECK(url == "https://meldung.musterstadt.example/abmelden?c=email&m=4711&s=" + sig);
  CHECK(PercentEncode("a b&c=ü") == "a%20b%26c%3D%C3%BC");
  auto ok = CheckOptOutLink(c, "email", "4711", "", sig);
  REQUIRE(ok);
  CHECK(ok->message_id == 4711);
  CHECK(ok->address.empty());
  CHECK(ok->channel == "email");
  // Another message, a malformed one: refused.
  for (const char* m : {"4712", "04711", "47x1", "-4711", "1234567890123456789"}) {
    INFO(m);
    CHECK_FALSE(CheckOptOutLink(c, "email", m, "", sig));
  }
}

TEST_CASE("opt-out links sent before, with the address in them, are still accepted", "[optout]") {
  Config c = LinkConfig();
  std::string sig =
      SignLink(PurposeKey(c, KeyPurpose::kOptOutLinks), "optout", "email:erika+bau@example.org", 0);
  auto ok = CheckOptOutLink(c, "email", "", "erika+bau@example.org", sig);
  REQUIRE(ok);
  CHECK(ok->address == "erika+bau@example.org");
  CHECK(ok->message_id == 0);
  // Links sent before keys were per purpose were signed with the secret itself: still valid.
  CHECK(CheckOptOutLink(
      c, "email", "", "erika+bau@example.org",
      SignLink("optout-secret-for-tests", "optout", "email:erika+bau@example.org", 0)));
}

TEST_CASE("each purpose has its own key, a purpose's own secret changes only its key", "[links]") {
  Config c = LinkConfig();
  std::set<std::string> keys;
  for (auto p : {KeyPurpose::kFormTokens, KeyPurpose::kOptOutLinks, KeyPurpose::kMediaLinks,
                 KeyPurpose::kInbox}) {
    std::string k = PurposeKey(c, p);
    CHECK(k.size() == 64);
    CHECK(k != c.link_secret);
    keys.insert(k);
  }
  CHECK(keys.size() == 4);
  Config rotated = LinkConfig();
  rotated.purpose_secrets["media_links"] = "a-new-media-secret";
  CHECK(PurposeKey(rotated, KeyPurpose::kMediaLinks) != PurposeKey(c, KeyPurpose::kMediaLinks));
  for (auto p : {KeyPurpose::kFormTokens, KeyPurpose::kOptOutLinks, KeyPurpose::kInbox})
    CHECK(PurposeKey(rotated, p) == PurposeKey(c, p));
  // A media link signed with the inbox's key (or any other purpose's) is not a media link.
  std::string forged = SignLink(PurposeKey(c, KeyPurpose::kInbox), "media", "abc", 4102444800);
  CHECK_FALSE(
      VerifyLinkOrLegacy(c, KeyPurpose::kMediaLinks, "media", "abc", 4102444800, forged, 0));
  std::string good = SignLink(PurposeKey(c, KeyPurpose::kMediaLinks), "media", "abc", 4102444800);
  CHECK(VerifyLinkOrLegacy(c, KeyPurpose::kMediaLinks, "media", "abc", 4102444800, good, 0));
  CHECK_FALSE(
      VerifyLinkOrLegacy(rotated, KeyPurpose::kMediaLinks, "media", "abc", 4102444800, good, 0));
  // Links signed with the one key of old stay valid until the purpose gets a secret of its own.
  std::string legacy = SignLink(c.link_secret, "media", "abc", 4102444800);
  CHECK(VerifyLinkOrLegacy(c, KeyPurpose::kMediaLinks, "media", "abc", 4102444800, legacy, 0));
  CHECK_FALSE(
      VerifyLinkOrLegacy(rotated, KeyPurpose::kMediaLinks, "media", "abc", 4102444800, legacy, 0));
  // Without a master secret there are no keys.
  CHECK(PurposeKey(Config{}, KeyPurpose::kInbox).empty());
}

TEST_CASE("broken or forged opt-out links are refused", "[optout]") {
  Config c = LinkConfig();
  std::string a = "erika@example.org";
  std::string sig = SignLink(PurposeKey(c, KeyPurpose::kOptOutLinks), "optout", "email:" + a, 0);
  struct Case {
    std::string channel, address, sig;
  };
  std::string other =
      SignLink(PurposeKey(c, KeyPurpose::kOptOutLinks), "optout", "email:max@example.org", 0);
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
    auto r = CheckOptOutLink(c, k.channel, "", k.address, k.sig);
    INFO(k.channel << " " << k.address << " " << k.sig);
    REQUIRE_FALSE(r);
    CHECK(r.error().code.name() == "optout_invalid");
    CHECK(r.error().message.find("Abmeldelink ist ungültig") != std::string::npos);
  }
  // Another secret signs other links: the town's secret changed, old links stop working.
  Config changed = LinkConfig();
  changed.link_secret = "another-secret";
  CHECK_FALSE(CheckOptOutLink(changed, "email", "", a, sig));
  // Without any secret nothing verifies.
  Config none;
  CHECK_FALSE(CheckOptOutLink(none, "email", "", a, SignLink("", "optout", "email:" + a, 0)));
}

}  // namespace optout_test
