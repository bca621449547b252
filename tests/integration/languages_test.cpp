// The citizens' languages (docs/languages.md) against the real gateway, worker, dispatcher,
// broker and database: the page's language from the browser or the switch, kept through the
// form to the confirmation, the acknowledgement and the status page; right to left for Arabic;
// the chat's language from the provider or from what the citizen writes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "core/crypto.hpp"
#include "core/texts.hpp"
#include "fake_providers.hpp"
#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace languages_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// A text of the built-in catalogue; the tests check it differs from German, so that a
// language that silently fell back would fail.
std::string T(const char* language, const char* key) {
  texts::Lang t(nullptr, language);
  std::string text = t(key);
  if (std::string(language) != "de")
    CHECK(text != texts::Lang(nullptr, "de")(key));
  return text;
}

bool Has(const std::string& html, const std::string& what) {
  return html.find(what) != std::string::npos;
}

// The part of a catalogue text before its first placeholder, and after its last.
std::string Before(const std::string& text) { return text.substr(0, text.find('{')); }
std::string After(const std::string& text) { return text.substr(text.rfind('}') + 1); }

httplib::MultipartFormDataItems Form(const std::string& token, const std::string& language,
                                     const std::string& email) {
  return {{"beschreibung", "Sokakta büyük bir çukur var", "", ""},
          {"kategorie", "STR-01", "", ""},
          {"lat", "50.937531", "", ""},
          {"lon", "6.960279", "", ""},
          {"email", email, "", ""},
          {"sprache", language, "", ""},
          {"website", "", "", ""},
          {"form_token", token, "", ""}};
}

}  // namespace

TEST_CASE(
    "languages: the form in the browser's language, kept to the confirmation, the "
    "acknowledgement and the status page",
    "[integration][languages]") {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = {"MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"),
                 "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example"};
  Stack s(o);

  // The browser's language chooses; the switch offers all seven, each in its own words.
  auto form = s.Client().Get("/", {{"Accept-Language", "tr-TR,tr;q=0.9,en;q=0.5"}});
  REQUIRE(form);
  REQUIRE(form->status == 200);
  CHECK(form->get_header_value("Content-Language") == "tr");
  CHECK(Has(form->body, "<html lang=\"tr\" dir=\"ltr\""));
  CHECK(Has(form->body, T("tr", "formular.titel")));
  CHECK(Has(form->body, "name=\"sprache\" value=\"tr\""));
  for (const auto& l : texts::Languages()) {
    INFO(l);
    CHECK(Has(form->body, "href=\"/?lang=" + l + "\""));
    CHECK(Has(form->body, ">" + texts::Lang(nullptr, l)("sprache.name") + "</a>"));
  }
  // The scripts' texts come with the page, in its language.
  CHECK(Has(form->body, "<script type=\"application/json\" id=\"formular-texte\">"));
  CHECK(Has(form->body, T("tr", "formular.js.standort_sucht")));
  // Arabic is written right to left; the switch wins over the browser.
  auto arabic = s.Client().Get("/?lang=ar", {{"Accept-Language", "tr"}});
  REQUIRE(arabic);
  CHECK(Has(arabic->body, "<html lang=\"ar\" dir=\"rtl\""));
  CHECK(Has(arabic->body, T("ar", "formular.intro")));
  // Leichte Sprache.
  auto easy = s.Client().Get("/?lang=de-x-ls");
  REQUIRE(easy);
  CHECK(Has(easy->body, "<html lang=\"de-x-ls\""));
  CHECK(Has(easy->body, T("de-x-ls", "formular.intro")));

  // What is wrong is said in the form's language, and the form keeps it.
  auto wrong =
      s.Client().Post("/formular/meldung", Form(s.MintFormToken(10), "uk", "keine-adresse"));
  REQUIRE(wrong);
  INFO(wrong->body);
  CHECK(wrong->status == 422);
  CHECK(Has(wrong->body, T("uk", "formular.fehler.email")));
  CHECK(Has(wrong->body, T("uk", "formular.fehler_titel")));
  CHECK(Has(wrong->body, "name=\"sprache\" value=\"uk\""));
  CHECK(Has(wrong->body, "<html lang=\"uk\""));

  // Sent in Turkish: the confirmation, its status link and the report's language.
  const std::string citizen =
      "sprachen-" + std::to_string(s.port()) + "-" + RandomHex(4) + "@example.net";
  auto sent = s.Client().Post("/formular/meldung", Form(s.MintFormToken(10), "tr", citizen));
  REQUIRE(sent);
  INFO(sent->body);
  REQUIRE(sent->status == 200);
  CHECK(Has(sent->body, T("tr", "formular.danke.ueberschrift")));
  const std::string ref = ReferenceOnPage(sent->body);
  CHECK(Has(sent->body, "/meldung/" + ref + "?lang=tr\""));
  CHECK(sent->get_header_value("X-Meldestelle-Statusseite") == "/meldung/" + ref + "?lang=tr");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));

  // The acknowledgement by e-mail is Turkish, with the status page in Turkish.
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return !SinkMessagesTo(citizen).empty(); }, std::chrono::seconds(30)));
  auto mail = email::ParseMail(SinkMessagesTo(citizen)[0]);
  REQUIRE(mail);
  INFO(mail->text);
  CHECK(Has(mail->subject, After(T("tr", "nachricht.email.betreff_eingang"))));
  CHECK(Has(mail->text, Before(T("tr", "nachricht.email.eingang"))));

  // A status notice, in Turkish too.
  std::string token = s.DepartmentToken("tiefbauamt");
  auto accepted = s.Client().Post(("/api/v1/tickets/" + ref + "/accept").c_str(),
                                  {{"Authorization", "Bearer " + token}}, "{}", "application/json");
  REQUIRE(accepted);
  REQUIRE(accepted->status == 200);
  REQUIRE(WaitFor([&] { return SinkMessagesTo(citizen).size() >= 2; }, std::chrono::seconds(30)));
  auto notice = email::ParseMail(SinkMessagesTo(citizen)[1]);
  REQUIRE(notice);
  INFO(notice->text);
  CHECK(Has(notice->subject, After(T("tr", "nachricht.email.betreff_status"))));
  CHECK(Has(notice->text, Before(T("tr", "nachricht.status.accepted"))));
  // Its link opens the status page in Turkish.
  CHECK(Has(notice->text, "/meldung/" + ref + "?lang=tr"));
  // Its opt-out link opens the opt-out page in Turkish, which posts the language back.
  std::string unsubscribe = Header(SinkMessagesTo(citizen)[1], "List-Unsubscribe");
  INFO(unsubscribe);
  REQUIRE(Has(unsubscribe, "&lang=tr>"));
  const size_t at = unsubscribe.find("/abmelden");
  REQUIRE(at != std::string::npos);
  auto optout = s.Client().Get(unsubscribe.substr(at, unsubscribe.size() - at - 1).c_str());
  REQUIRE(optout);
  CHECK(optout->status == 200);
  CHECK(Has(optout->body, "<html lang=\"tr\""));
  CHECK(Has(optout->body, T("tr", "abmelden.titel")));
  CHECK(Has(optout->body, "name=\"lang\" value=\"tr\""));

  // The status page in the report's language by its link, Arabic right to left by the switch.
  auto page = s.Client().Get(("/meldung/" + ref + "?lang=tr").c_str());
  REQUIRE(page);
  CHECK(page->get_header_value("Content-Language") == "tr");
  CHECK(Has(page->body, T("tr", "status.ueberschrift")));
  CHECK(Has(page->body, T("tr", "status.stand.accepted")));
  CHECK(Has(page->body, "href=\"/meldung/" + ref + "?lang=ar\""));
  auto rtl = s.Client().Get(("/meldung/" + ref + "?lang=ar").c_str());
  REQUIRE(rtl);
  CHECK(Has(rtl->body, "<html lang=\"ar\" dir=\"rtl\""));
  CHECK(Has(rtl->body, T("ar", "status.ueberschrift")));
  // The reference reads left to right inside the Arabic page.
  CHECK(Has(rtl->body, "translate=\"no\" dir=\"ltr\""));
  // The privacy notice exists in German and English only, and says so in the citizen's.
  auto privacy = s.Client().Get("/datenschutz?lang=ru");
  REQUIRE(privacy);
  CHECK(privacy->get_header_value("Content-Language") == "en");
  CHECK(Has(privacy->body, T("ru", "seite.nur_de_en")));
}

TEST_CASE("languages: the chat answers in the language the provider tells or the citizen writes",
          "[integration][languages][messenger]") {
  FakeProviders fake;
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=600");  // only the done word closes it
  Stack s(o);

  // Telegram tells the app's language; the citizen ends with Ukrainian's "готово".
  const int64_t chat = 5123450001;
  auto message = [&](int64_t update, int64_t id, const json& fields) {
    json m{{"message_id", id},
           {"from",
            {{"id", chat}, {"is_bot", false}, {"first_name", "Olena"}, {"language_code", "uk"}}},
           {"chat", {{"id", chat}, {"type", "private"}}},
           {"date", 1764250000}};
    m.update(fields);
    httplib::Headers h{{"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}};
    json body{{"update_id", update}, {"message", m}};
    auto r = s.Client().Post("/webhooks/telegram", h, body.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  };
  message(900001, 11, {{"text", "Яма на дорозі біля будинку, Lindenstraße 7"}});
  message(900002, 12, {{"location", {{"latitude", 50.9375}, {"longitude", 6.9602}}}});
  message(900003, 13, {{"text", "Готово"}});
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'telegram'", 1,
                         std::chrono::seconds(30)));
  CHECK(s.Query("SELECT text FROM tickets")[0][0].as<std::string>().find("Готово") ==
        std::string::npos);
  INFO(s.DispatcherLog());
  REQUIRE(fake.WaitForSent(1));
  std::string ack = fake.sent()[0].body["text"].get<std::string>();
  INFO(ack);
  CHECK(ack.rfind(Before(T("uk", "nachricht.eingang")), 0) == 0);
  CHECK(Has(ack, T("uk", "nachricht.eingang_schluss")));

  // WhatsApp tells no language: a German number that writes Arabic is answered in Arabic.
  const std::string from = "491701234567";
  auto wa = [&](const std::string& id, const std::string& text) {
    json item = WaText(from, id, text);
    if (text.empty()) {  // a pin
      item = {{"from", from},
              {"id", id},
              {"timestamp", "1764250000"},
              {"type", "location"},
              {"location", {{"latitude", 50.9375}, {"longitude", 6.9602}}}};
    }
    std::string body = WhatsAppNotification(from, json::array({item}));
    httplib::Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kAppSecret, body)}};
    auto r = s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  };
  wa("wamid.L1", "يوجد حفرة كبيرة في الشارع أمام المنزل رقم 7 في شارع Lindenstraße");
  wa("wamid.L2", "");
  wa("wamid.L3", "تم");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 1,
                         std::chrono::seconds(30)));
  REQUIRE(fake.WaitForSent(2));
  std::string arabic;
  for (const auto& m : fake.sent()) {
    if (m.channel == "whatsapp")
      arabic = m.body["text"]["body"].get<std::string>();
  }
  INFO(arabic);
  CHECK(arabic.rfind(Before(T("ar", "nachricht.eingang")), 0) == 0);
}

}  // namespace languages_test
