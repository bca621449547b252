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

TEST_CASE("chat texts: language, the done word and the displayed reference", "[chat]") {
  CHECK(ChatLanguage("telegram", "5123", "de-AT") == "de");
  CHECK(ChatLanguage("telegram", "5123", "en") == "en");
  CHECK(ChatLanguage("telegram", "5123", "fr") == "en");
  CHECK(ChatLanguage("telegram", "5123", "") == "de");
  CHECK(ChatLanguage("whatsapp", "493023125017", "") == "de");
  CHECK(ChatLanguage("whatsapp", "436641234567", "") == "de");
  CHECK(ChatLanguage("whatsapp", "447700900123", "") == "en");

  CHECK(IsDoneWord("fertig"));
  CHECK(IsDoneWord("  Fertig! "));
  CHECK(IsDoneWord("DONE."));
  CHECK(IsDoneWord("Das war's"));
  CHECK_FALSE(IsDoneWord("Die Laterne ist fertig kaputt"));
  CHECK_FALSE(IsDoneWord(""));

  CHECK(DisplayReference("4KQ7XRT2WNPA") == "4KQ7-XRT2-WNPA");
  CHECK(DisplayReference("short") == "short");

  std::string de = AckText("de", "4KQ7XRT2WNPA", "Tiefbauamt", false);
  CHECK(de.find("4KQ7-XRT2-WNPA") != std::string::npos);
  CHECK(de.find("Tiefbauamt") != std::string::npos);
  CHECK(de.find("Ort") == std::string::npos);
  CHECK(AckText("de", "4KQ7XRT2WNPA", "Tiefbauamt", true).find("Ort") != std::string::npos);
  CHECK(AckText("en", "4KQ7XRT2WNPA", "Tiefbauamt", false).find("Thank you") == 0);
  CHECK(AskLocationText("de").find("Standort") != std::string::npos);
  CHECK(AskLocationText("en").find("location") != std::string::npos);
}

TEST_CASE("STOP and START are recognised as whole messages only", "[status_texts]") {
  for (const char* w : {"STOP", "Stop", "stopp", " abmelden ", "STOP.", "stop!", "Unsubscribe"})
    CHECK(ParseOptWord(w) == OptWord::kStop);
  for (const char* w : {"START", "start", "Anmelden."})
    CHECK(ParseOptWord(w) == OptWord::kStart);
  for (const char* w :
       {"", ".", "stop bitte", "Stoppschild umgefahren", "nicht stop", "sto p", "stopstop"})
    CHECK(ParseOptWord(w) == OptWord::kNone);
  CHECK(OptOutConfirmText("de") ==
        "Sie erhalten keine Statusmeldungen mehr. Mit START wieder anmelden.");
  CHECK(OptOutConfirmText("en").find("START") != std::string::npos);
}

}  // namespace chat_texts_test
