#include <catch2/catch.hpp>

#include "channels/chat/texts.hpp"
#include "tickets/notices.hpp"
#include "tickets/reference.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace chat_texts_test {

using namespace meldestelle::chat;
using meldestelle::tickets::AckText;
using meldestelle::tickets::DisplayReference;

meldestelle::texts::Lang L(const char* code) { return meldestelle::texts::Lang(nullptr, code); }

TEST_CASE("chat texts: language, the done word and the displayed reference", "[chat]") {
  CHECK(ChatLanguage("telegram", "5123", "de-AT") == "de");
  CHECK(ChatLanguage("telegram", "5123", "en") == "en");
  CHECK(ChatLanguage("telegram", "5123", "fr") == "en");
  CHECK(ChatLanguage("telegram", "5123", "") == "de");
  CHECK(ChatLanguage("whatsapp", "493023125017", "") == "de");
  CHECK(ChatLanguage("whatsapp", "436641234567", "") == "de");
  CHECK(ChatLanguage("whatsapp", "447700900123", "") == "en");
  // A business-scoped user id (a user with a username) names the country by its ISO code.
  CHECK(ChatLanguage("whatsapp", "DE.13491208655302741918", "") == "de");
  CHECK(ChatLanguage("whatsapp", "TR.13491208655302741918", "") == "tr");
  CHECK(ChatLanguage("whatsapp", "US.13491208655302741918", "") == "en");
  // The other languages of the town's people: as the provider tells, by the number's country,
  // or by what the citizen writes (which wins).
  CHECK(ChatLanguage("telegram", "5123", "tr") == "tr");
  CHECK(ChatLanguage("telegram", "5123", "uk-UA") == "uk");
  CHECK(ChatLanguage("telegram", "5123", "ar") == "ar");
  CHECK(ChatLanguage("whatsapp", "905321234567", "") == "tr");
  CHECK(ChatLanguage("whatsapp", "380501234567", "") == "uk");
  CHECK(ChatLanguage("whatsapp", "79161234567", "") == "ru");
  CHECK(ChatLanguage("whatsapp", "963944123456", "") == "ar");
  CHECK(ChatLanguage("whatsapp", "493023125017", "", "Вулиця Лінден: ліхтар не світить") == "uk");
  CHECK(ChatLanguage("whatsapp", "493023125017", "", "На улице Линден не горит фонарь") == "ru");
  CHECK(ChatLanguage("telegram", "5123", "de", "يوجد حفرة كبيرة في الشارع") == "ar");
  CHECK(ChatLanguage("whatsapp", "493023125017", "",
                     "Sokakta büyük bir çukur var, lütfen düzeltin") == "tr");
  // A German text with a foreign name, or none, keeps what the provider tells.
  CHECK(ChatLanguage("whatsapp", "493023125017", "",
                     "Laterne vor Haus Nr. 5 (Familie Öztürk) ist aus") == "de");
  CHECK(ChatLanguage("telegram", "5123", "ru", "") == "ru");
  CHECK(ChatLanguage("telegram", "5123", "uk", "Готово") == "uk");
  CHECK(ChatLanguage("whatsapp", "380501234567", "", "Готово") == "uk");
  CHECK(ChatLanguage("whatsapp", "493023125017", "", "Готово") == "ru");
  CHECK(meldestelle::texts::LanguageOfText("Schlagloch in der Lindenstraße 7") == "");
  // A Turkish name in a German text does not make it Turkish.
  CHECK(meldestelle::texts::LanguageOfText(
            "Die Laterne vor dem Haus ist aus. Grüße, Ayşe Yılmaz") == "");
  CHECK(meldestelle::texts::LanguageOfText("Lambası yanmıyor, lütfen bakın") == "tr");

  CHECK(IsDoneWord("fertig"));
  CHECK(IsDoneWord("  Fertig! "));
  CHECK(IsDoneWord("DONE."));
  CHECK(IsDoneWord("Das war's"));
  CHECK_FALSE(IsDoneWord("Die Laterne ist fertig kaputt"));
  CHECK(IsDoneWord("Tamam."));
  CHECK(IsDoneWord("Готово!"));
  CHECK(IsDoneWord("ВСЁ"));
  CHECK(IsDoneWord("تم"));
  CHECK_FALSE(IsDoneWord("Готово, но фонарь всё ещё не горит"));
  CHECK_FALSE(IsDoneWord(""));

  CHECK(DisplayReference("4KQ7XRT2WNPA") == "4KQ7-XRT2-WNPA");
  CHECK(DisplayReference("short") == "short");

  std::string de = AckText(L("de"), "4KQ7XRT2WNPA", "Tiefbauamt", false);
  CHECK(de.find("4KQ7-XRT2-WNPA") != std::string::npos);
  CHECK(de.find("Tiefbauamt") != std::string::npos);
  CHECK(de.find("Ort") == std::string::npos);
  CHECK(AckText(L("de"), "4KQ7XRT2WNPA", "Tiefbauamt", true).find("Ort") != std::string::npos);
  CHECK(AckText(L("en"), "4KQ7XRT2WNPA", "Tiefbauamt", false).find("Thank you") == 0);
  CHECK(AskLocationText(L("de")).find("Standort") != std::string::npos);
  CHECK(AskLocationText(L("en")).find("location") != std::string::npos);
  // Every language has its own text, with the reference in it.
  for (const auto& code : meldestelle::texts::Languages()) {
    std::string ack = AckText(L(code.c_str()), "4KQ7XRT2WNPA", "Tiefbauamt", false);
    CHECK(ack.find("4KQ7-XRT2-WNPA") != std::string::npos);
    if (code != "de")
      CHECK(ack != de);
  }
}

TEST_CASE("STOP and START are recognised as whole messages only", "[status_texts]") {
  for (const char* w : {"STOP", "Stop", "stopp", " abmelden ", "STOP.", "stop!", "Unsubscribe"})
    CHECK(ParseOptWord(w) == OptWord::kStop);
  for (const char* w : {"START", "start", "Anmelden."})
    CHECK(ParseOptWord(w) == OptWord::kStart);
  for (const char* w :
       {"", ".", "stop bitte", "Stoppschild umgefahren", "nicht stop", "sto p", "stopstop"})
    CHECK(ParseOptWord(w) == OptWord::kNone);
  // As a bot command, too.
  for (const char* w : {"/stop", "/STOP@MusterstadtBot"})
    CHECK(ParseOptWord(w) == OptWord::kStop);
  CHECK(OptOutConfirmText(L("de")) ==
        "Sie erhalten keine Statusmeldungen mehr. Mit START wieder anmelden.");
  CHECK(OptOutConfirmText(L("en")).find("START") != std::string::npos);
}

TEST_CASE("bot commands are read by their name, and answered with what the chat is for",
          "[status_texts]") {
  CHECK(ParseCommand("/start") == "start");
  CHECK(ParseCommand(" /Start@MusterstadtBot ") == "start");
  CHECK(ParseCommand("/status 4KQ7-XRT2") == "status");
  CHECK(ParseCommand("/hilfe\nbitte") == "hilfe");
  for (const char* none : {"", "/", "/ Laterne", "Laterne /start", "//x", "/straße", "/a-b"}) {
    INFO(none);
    CHECK_FALSE(ParseCommand(none));
  }
  for (const char* lang : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"}) {
    INFO(lang);
    CHECK_THAT(WelcomeText(L(lang)), Catch::Contains("STOP"));
  }
}

}  // namespace chat_texts_test
