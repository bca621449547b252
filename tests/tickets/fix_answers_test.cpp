// "Ist es behoben?": what a chat message answers (tickets/fix_answers), and how the notice asks.
#include "tickets/fix_answers.hpp"

#include <catch2/catch.hpp>

#include "core/links.hpp"
#include "tickets/notices.hpp"
#include "tickets/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace fix_answers_test {

using namespace meldestelle;
using namespace meldestelle::tickets;
using Kind = ChatFixAnswer::Kind;

TEST_CASE("a chat message answers yes, no with a note, or nothing", "[fix_answers]") {
  for (const char* yes : {"ja", "Ja!", "JA", "ja, danke", "Ja. Danke schön!", "yes", "behoben",
                          "Ist behoben, danke", "wurde behoben"}) {
    INFO(yes);
    CHECK(ParseFixAnswer(yes).kind == Kind::kFixed);
  }
  auto no = ParseFixAnswer("Nein, das Loch ist noch da.");
  CHECK(no.kind == Kind::kNotFixed);
  CHECK(no.note == "das Loch ist noch da.");
  CHECK(ParseFixAnswer("NEIN").note.empty());
  CHECK(ParseFixAnswer("no").kind == Kind::kNotFixed);
  auto not_fixed = ParseFixAnswer("nicht behoben: nur ein Teil wurde geflickt");
  CHECK(not_fixed.kind == Kind::kNotFixed);
  CHECK(not_fixed.note == "nur ein Teil wurde geflickt");
  CHECK(ParseFixAnswer("Noch nicht, flackert noch").note == "flackert noch");
  // A new report is no answer: a long "ja …", a word inside a word, anything else.
  CHECK(ParseFixAnswer("No, still broken").kind == Kind::kNotFixed);
  CHECK(ParseFixAnswer("noch nicht").kind == Kind::kNotFixed);
  for (const char* other : {"Ja hallo, in der Lindenstraße ist ein neues Schlagloch entstanden",
                            "No street light on Main Street tonight",
                            "Noch nicht gemeldet: die Ampel an der Hauptstraße ist aus",
                            "Nope, there is a new hole on Station Road now",
                            "Jahrelang schon kaputt", "Neinstraße 4 ist dunkel", "", "  ", "Danke!",
                            "Schlagloch Hauptstraße 5", "Nichtraucherzone"}) {
    INFO(other);
    CHECK(ParseFixAnswer(other).kind == Kind::kNone);
  }
}

TEST_CASE("the answer in the citizens' other languages", "[fix_answers]") {
  for (const char* yes : {"Evet", "evet, teşekkürler", "Так!", "ТАК", "Да, спасибо", "نعم"}) {
    INFO(yes);
    CHECK(ParseFixAnswer(yes).kind == Kind::kFixed);
  }
  auto hayir = ParseFixAnswer("Hayır, çukur hâlâ orada");
  CHECK(hayir.kind == Kind::kNotFixed);
  CHECK(hayir.note == "çukur hâlâ orada");
  CHECK(ParseFixAnswer("НІ").kind == Kind::kNotFixed);
  CHECK(ParseFixAnswer("Нет, яма ещё там").note == "яма ещё там");
  CHECK(ParseFixAnswer("لا").kind == Kind::kNotFixed);
  // A report that starts with the word is none (as "no" is only short).
  CHECK(ParseFixAnswer("Нет света на улице Линден уже третью ночь подряд").kind == Kind::kNone);
  CHECK(ParseFixAnswer("Да здесь на улице Линден опять большая яма появилась вчера").kind ==
        Kind::kNone);
}

TEST_CASE("the done notice asks whether it is fixed, in the chat and by e-mail", "[fix_answers]") {
  Config c;
  c.town.name = "Musterstadt";
  c.gateway.public_base_url = "https://meldung.musterstadt.example";
  c.link_secret = "test-link-secret-0123456789abcdef";
  c.Set<NotificationSettings>();
  StatusNotice done;
  done.event = "done";
  done.language = "de";
  done.reference = "4KQ7XRT2WNPA";
  done.department = "Tiefbauamt";
  CHECK(AskFixedText(c, done) ==
        " Ist der Mangel behoben? Antworten Sie mit JA oder NEIN (gern mit dem, was noch fehlt).");
  std::string mail = StatusText(c, done, NoticeStyle::kEmail);
  // The reporter's own link, with the key that lets the page ask (core/links.hpp).
  const std::string key = FixAnswerKey(c, "4KQ7XRT2WNPA");
  REQUIRE(key.size() == 32);
  CHECK(mail.find("Ist der Mangel behoben? Sagen Sie es uns mit einem Klick: "
                  "https://meldung.musterstadt.example/meldung/4KQ7XRT2WNPA?schluessel=" +
                  key) != std::string::npos);
  CHECK(VerifyFixAnswerKey(c, "4KQ7XRT2WNPA", key));
  CHECK_FALSE(VerifyFixAnswerKey(c, "2SAJASNAS2EE", key));  // another report's key
  CHECK_FALSE(VerifyFixAnswerKey(c, "4KQ7XRT2WNPA", ""));
  CHECK_FALSE(VerifyFixAnswerKey(c, "4KQ7XRT2WNPA", key.substr(1) + "0"));
  // Only for done; and not when the town switched it off.
  StatusNotice accepted = done;
  accepted.event = "accepted";
  CHECK(AskFixedText(c, accepted).empty());
  CHECK(StatusText(c, accepted, NoticeStyle::kEmail).find("behoben?") == std::string::npos);
  done.language = "en";
  CHECK(AskFixedText(c, done).find("Reply YES or NO") != std::string::npos);
  c.Set<NotificationSettings>().ask_fixed = false;
  CHECK(AskFixedText(c, done).empty());
  CHECK(StatusText(c, done, NoticeStyle::kEmail).find("fixed?") == std::string::npos);
}

}  // namespace fix_answers_test
