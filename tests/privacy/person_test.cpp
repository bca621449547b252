// Finding a citizen in stored text (privacy/person.hpp): selectors, the patterns for PostgreSQL
// and std::regex, redaction.
#include "privacy/person.hpp"

#include <catch2/catch.hpp>
#include <regex>

namespace person_test {

using namespace meldestelle::privacy;
using K = Selector::Kind;

TEST_CASE("privacy selectors: a number in any spelling is the same E.164 digits") {
  for (const char* typed : {"+49 176 1234567", "0176 1234567", "0176/123 45 67", "00491761234567",
                            "491761234567", "whatsapp:+491761234567", "(0176) 123-4567"}) {
    auto s = ParseSelector(K::kPhone, typed);
    INFO(typed);
    REQUIRE(s);
    CHECK(s->value == "491761234567");
  }
  // Another country's code is kept; a national number takes the given one.
  CHECK(ParseSelector(K::kPhone, "+43 664 1234567")->value == "436641234567");
  CHECK(ParseSelector(K::kPhone, "0664 1234567", "43")->value == "436641234567");
}

TEST_CASE("privacy selectors: malformed values are refused with the reason") {
  CHECK_FALSE(ParseSelector(K::kPhone, "hello"));
  CHECK_FALSE(ParseSelector(K::kPhone, "123"));
  CHECK_FALSE(ParseSelector(K::kPhone, "+49 176 12345678901234"));
  CHECK_FALSE(ParseSelector(K::kPhone, "0176 12x4567"));
  CHECK_FALSE(ParseSelector(K::kEmail, "no-at-sign"));
  CHECK_FALSE(ParseSelector(K::kEmail, "@example.net"));
  CHECK_FALSE(ParseSelector(K::kEmail, "a b@example.net"));
  CHECK_FALSE(ParseSelector(K::kEmail, std::string("a\xff@example.net")));
  CHECK_FALSE(ParseSelector(K::kTelegram, "12a"));
  CHECK_FALSE(ParseSelector(K::kReference, ""));
  auto e = ParseSelector(K::kPhone, "hello");
  CHECK(e.error().message.find("--phone \"hello\": not a phone number") != std::string::npos);
  CHECK(ParseSelector(K::kEmail, " Erika.M@Example.NET ")->value == "erika.m@example.net");
  CHECK(ParseSelector(K::kTelegram, "-100123")->value == "-100123");
}

TEST_CASE("privacy patterns find a number in every form people write it, and nothing longer") {
  Contact c{K::kPhone, "491761234567"};
  std::regex re(EcmaPatternFor(c), std::regex::icase);
  for (const char* text :
       {"ruf an: 0176 1234567", "+49 176 123 45 67.", "491761234567", "0049-176-1234567",
        "(0176) 123-4567", "\"from\":\"491761234567\"", "tel 0176/1234567 bitte"}) {
    INFO(text);
    CHECK(std::regex_search(std::string(text), re));
  }
  for (const char* text : {"01761234568", "901761234567", "017612345670", "1761234"}) {
    INFO(text);
    CHECK_FALSE(std::regex_search(std::string(text), re));
  }
}

TEST_CASE("privacy redaction removes the person's contacts and names, keeps the rest") {
  std::vector<Contact> who = {{K::kPhone, "491761234567"}, {K::kEmail, "erika.m@example.net"}};
  CHECK(Redact("Loch vor Nr. 7, Rückruf 0176 1234567 oder Erika.M@Example.net. Erika M.", who,
               {"Erika M."}) == "Loch vor Nr. 7, Rückruf [entfernt] oder [entfernt]. [entfernt]");
  // Twice in a row, and at the ends.
  CHECK(Redact("491761234567 491761234567", who, {}) == "[entfernt] [entfernt]");
  // Another address of the same domain, another number: kept.
  CHECK(Redact("max@example.net 0176 7654321", who, {}) == "max@example.net 0176 7654321");
  // Names shorter than three characters are not redacted (they would hit ordinary words).
  CHECK(Redact("Am Ende", {}, {"Am"}) == "Am Ende");
  CHECK(Mentions("Nummer: +49 (176) 1234567", who));
  CHECK_FALSE(Mentions("Nummer: +49 (176) 1234568", who));
}

TEST_CASE("privacy: a Telegram chat id is found as a JSON id, not inside other numbers") {
  Contact c{K::kTelegram, "5551234"};
  CHECK(Mentions(R"({"chat":{"id":5551234,"type":"private"}})", {c}));
  CHECK(Mentions(R"({"chat_id": "5551234"})", {c}));
  CHECK_FALSE(Mentions(R"({"update_id":5551234,"message_id":15551234})", {c}));
  CHECK_FALSE(Mentions(R"({"chat":{"id":55512345}})", {c}));
}

TEST_CASE("privacy: a reporter's stored address becomes the contact of its channel") {
  CHECK(ContactFromAddress("whatsapp", "491761234567")->kind == K::kPhone);
  CHECK(ContactFromAddress("sms", "+49 176 1234567")->value == "491761234567");
  CHECK(ContactFromAddress("telegram", "5551234")->kind == K::kTelegram);
  CHECK(ContactFromAddress("email", "A@B.de")->value == "a@b.de");
  CHECK_FALSE(ContactFromAddress("email", ""));
  CHECK_FALSE(ContactFromAddress("telegram", "not-an-id"));
  // A WhatsApp user with a username, known by the user id Meta gives them, not a number.
  auto id = ContactFromAddress("phone", "DE.1349120865530274");
  REQUIRE(id);
  CHECK(id->kind == K::kWhatsAppId);
  CHECK(id->value == "DE.1349120865530274");
  CHECK(ContactFromAddress("whatsapp", "US.ENT.11815799212886844830")->kind == K::kWhatsAppId);
}

TEST_CASE("privacy: a WhatsApp user id is found whole, and refused in another shape") {
  Contact c{K::kWhatsAppId, "DE.1349120865530274"};
  CHECK(Mentions(R"({"from_user_id":"DE.1349120865530274","id":"wamid.X"})", {c}));
  CHECK(Mentions("DE.1349120865530274", {c}));
  CHECK_FALSE(Mentions(R"({"user_id":"DE.13491208655302741"})", {c}));  // longer
  CHECK_FALSE(Mentions(R"({"user_id":"XDE.1349120865530274"})", {c}));  // inside another
  CHECK(Redact(R"({"from_user_id":"DE.1349120865530274"})", {c}, {}) ==
        R"({"from_user_id":"[entfernt]"})");
  CHECK(ParseSelector(K::kWhatsAppId, " DE.1349120865530274 ")->value == "DE.1349120865530274");
  CHECK_FALSE(ParseSelector(K::kWhatsAppId, "491761234567"));
  CHECK_FALSE(ParseSelector(K::kWhatsAppId, "de.1349"));
  CHECK(KindName(K::kWhatsAppId) == std::string("whatsapp_id"));
}

}  // namespace person_test

namespace person_boundary_test {

using namespace meldestelle::privacy;
using K = Selector::Kind;

TEST_CASE(
    "privacy patterns: an address is not found inside a longer one, a name inside the "
    "marker cannot loop") {
  std::vector<Contact> anna = {{K::kEmail, "anna@example.com"}};
  CHECK_FALSE(Mentions("anna@example.com.au", anna));
  CHECK_FALSE(Mentions("anna@example.com-mail.de", anna));
  CHECK_FALSE(Mentions("joanna@example.com", anna));
  CHECK(Mentions("Schreiben Sie an anna@example.com.", anna));
  CHECK(Mentions("<ANNA@example.com>", anna));
  CHECK(Redact("an anna@example.com. Danke", anna, {}) == "an [entfernt]. Danke");
  CHECK(Redact("anna@example.com.au", anna, {}) == "anna@example.com.au");
  // Names that are part of the marker itself.
  CHECK(Redact("Herr Fern", {}, {"Fern", "ern"}) == "Herr [entfernt]");
}

TEST_CASE("privacy redaction keeps JSON readable: a chat id becomes 0") {
  std::vector<Contact> tg = {{K::kTelegram, "5551234"}};
  std::string redacted =
      Redact(R"({"chat":{"id":5551234},"from":"5551234","update_id":5551234})", tg, {});
  CHECK(redacted == R"({"chat":{"id":0},"from":"0","update_id":5551234})");
}

}  // namespace person_boundary_test
