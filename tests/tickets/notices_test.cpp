// What citizens are told when their ticket changes (tickets/notices), and the STOP/START words of
// the messenger opt-out.
#include "tickets/notices.hpp"

#include <catch2/catch.hpp>

#include "core/text.hpp"
#include "tickets/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace notices_test {

using namespace meldestelle;
using namespace meldestelle::tickets;

namespace {

Config TextsConfig() {
  Config c;
  c.town.name = "Musterstadt";
  c.gateway.public_base_url = "https://meldung.musterstadt.example";
  // Only these texts: the built-in ones are cleared, so that the fallbacks show.
  auto& n = c.Set<NotificationSettings>();
  n.texts.clear();
  n.email_subjects.clear();
  n.texts["de"]["done"] = "Ihre Meldung {reference} ist erledigt.{note}";
  n.texts["de"]["accepted"] = "Ihre Meldung {reference} wurde von {department} übernommen.{note}";
  n.texts["de"]["duplicate"] =
      "Ihre Meldung {reference} betrifft denselben Mangel wie {existing_reference}.{note}";
  n.texts["en"]["done"] = "Your report {reference} has been dealt with.{note}";
  n.email_subjects["de"] = "[{reference}] Neuigkeiten";
  n.email_subjects["en"] = "[{reference}] News";
  return c;
}

StatusNotice Notice(std::string event, std::string note = "") {
  StatusNotice n;
  n.event = std::move(event);
  n.language = "de";
  n.reference = "4KQ7XRT2WNPA";
  n.ticket_reference = "4KQ7XRT2WNPA";
  n.department = "Tiefbauamt";
  n.note = std::move(note);
  return n;
}

}  // namespace

TEST_CASE("placeholders are filled once, unknown ones stay", "[status_texts]") {
  CHECK(FillPlaceholders("{a} und {b} {c} {", {{"a", "{b}"}, {"b", "zwei"}}) ==
        "{b} und zwei {c} {");
  CHECK(FillPlaceholders("", {{"a", "x"}}) == "");
  CHECK(FillPlaceholders("ohne", {}) == "ohne");
}

TEST_CASE("a chat notice has the reference, the department and the note on one line",
          "[status_texts]") {
  Config c = TextsConfig();
  CHECK(StatusText(c, Notice("accepted"), NoticeStyle::kChat) ==
        "Ihre Meldung 4KQ7-XRT2-WNPA wurde von Tiefbauamt übernommen.");
  CHECK(StatusText(c, Notice("done", "Loch\ngeflickt"), NoticeStyle::kChat) ==
        "Ihre Meldung 4KQ7-XRT2-WNPA ist erledigt. Hinweis: Loch geflickt");
  StatusNotice en = Notice("done", "Filled");
  en.language = "en";
  CHECK(StatusText(c, en, NoticeStyle::kChat) ==
        "Your report 4KQ7-XRT2-WNPA has been dealt with. Note: Filled");
  // An event the town did not write in English: the catalogue's English; a language we do not
  // have: the town's German.
  en.event = "accepted";
  CHECK(StatusText(c, en, NoticeStyle::kChat) ==
        "Your report 4KQ7-XRT2-WNPA has been taken on by Tiefbauamt. Note: Filled");
  StatusNotice fr = Notice("done");
  fr.language = "fr";
  CHECK(StatusText(c, fr, NoticeStyle::kChat) == "Ihre Meldung 4KQ7-XRT2-WNPA ist erledigt.");
}

TEST_CASE("a duplicate's reporter learns with which report theirs is handled", "[status_texts]") {
  Config c = TextsConfig();
  StatusNotice n = Notice("done");
  n.reference = "ZZZZYYYYXXXX";  // the duplicate's own reference
  CHECK(StatusText(c, n, NoticeStyle::kChat) ==
        "Ihre Meldung ZZZZ-YYYY-XXXX (gemeinsam mit Meldung 4KQ7-XRT2-WNPA) ist erledigt.");
  CHECK(ExistingReference(n) == "4KQ7XRT2WNPA");
  // The subject names only their own reference.
  CHECK(StatusSubject(c, n) == "[ZZZZ-YYYY-XXXX] Neuigkeiten");
  // Merged as a duplicate: the text names the ticket it was merged into, once.
  StatusNotice d = Notice("duplicate");
  d.merged_into = "AAAABBBBCCCC";
  CHECK(StatusText(c, d, NoticeStyle::kChat) ==
        "Ihre Meldung 4KQ7-XRT2-WNPA betrifft denselben Mangel wie AAAA-BBBB-CCCC.");
  CHECK(StatusTemplateLine(c, d) == "gemeinsam bearbeitet mit AAAA-BBBB-CCCC");
}

TEST_CASE("an SMS notice names the town and fits one SMS by shortening the note",
          "[status_texts]") {
  Config c = TextsConfig();
  CHECK(StatusText(c, Notice("done", "Erledigt."), NoticeStyle::kSms) ==
        "Musterstadt: Ihre Meldung 4KQ7-XRT2-WNPA ist erledigt. Hinweis: Erledigt.");
  std::string note(400, 'x');
  std::string sms = StatusText(c, Notice("done", note), NoticeStyle::kSms);
  CHECK(Utf8Length(sms) == 160);
  CHECK(sms.find("Hinweis: xxx") != std::string::npos);
  CHECK(sms.substr(sms.size() - 3) == "…");
  // Umlauts count as one character each.
  std::string umlauts;
  for (int i = 0; i < 200; ++i)
    umlauts += "ü";
  CHECK(Utf8Length(StatusText(c, Notice("done", umlauts), NoticeStyle::kSms)) == 160);
}

TEST_CASE("a question of staff is asked in the citizen's language and sent whole, also by SMS",
          "[status_texts]") {
  Config c = TextsConfig();
  const std::string question(200, 'q');
  StatusNotice n = Notice("question", question);
  // The catalogue's text (none in the town's own texts): "Frage:", not "Hinweis:".
  std::string chat = StatusText(c, n, NoticeStyle::kChat);
  CHECK(chat.find("Tiefbauamt") != std::string::npos);
  CHECK(chat.find("Frage: " + question) != std::string::npos);
  CHECK(chat.find("Hinweis") == std::string::npos);
  std::string sms = StatusText(c, n, NoticeStyle::kSms);
  CHECK(sms.find(question) != std::string::npos);  // never shortened
  CHECK(Utf8Length(sms) > 160);
  n.language = "ar";
  std::string ar = StatusText(c, n, NoticeStyle::kEmail);
  CHECK(ar.find(question) != std::string::npos);
  CHECK(ar.find("Frage") == std::string::npos);
  CHECK(StatusTemplateLine(c, Notice("question", "Wie tief?")).find("Frage: Wie tief?") !=
        std::string::npos);
}

TEST_CASE("an e-mail notice is a letter with the status link, the note and the opt-out link",
          "[status_texts]") {
  Config c = TextsConfig();
  std::string mail = StatusText(c, Notice("done", "Zwei Zeilen\nHinweis"), NoticeStyle::kEmail,
                                "https://x.example/abmelden?c=email");
  CHECK(mail.find("Guten Tag,\n\nIhre Meldung 4KQ7-XRT2-WNPA ist erledigt.\n\nHinweis: Zwei "
                  "Zeilen\nHinweis\n\n") != std::string::npos);
  CHECK(mail.find("https://meldung.musterstadt.example/meldung/4KQ7XRT2WNPA") != std::string::npos);
  CHECK(mail.find("Abmelden: https://x.example/abmelden?c=email") != std::string::npos);
  CHECK(StatusText(c, Notice("done"), NoticeStyle::kEmail).find("Abmelden") == std::string::npos);
  CHECK(StatusSubject(c, Notice("done")) == "[4KQ7-XRT2-WNPA] Neuigkeiten");
}

TEST_CASE("chat texts end with the status page's link, once, and only with a public URL",
          "[status_texts]") {
  Config c = TextsConfig();
  std::string done = StatusText(c, Notice("done"), NoticeStyle::kChat);
  CHECK(WithStatusLink(c, "de", "4KQ7XRT2WNPA", done) ==
        done + " Stand: https://meldung.musterstadt.example/meldung/4KQ7XRT2WNPA");
  CHECK(WithStatusLink(c, "en", "4KQ7XRT2WNPA", "Done.") ==
        "Done. Status: https://meldung.musterstadt.example/meldung/4KQ7XRT2WNPA?lang=en");
  // A town's text that names {status_url} has the link already.
  c.Set<NotificationSettings>().texts["de"]["done"] = "Erledigt: {status_url}";
  std::string own = StatusText(c, Notice("done"), NoticeStyle::kChat);
  CHECK(WithStatusLink(c, "de", "4KQ7XRT2WNPA", own) == own);
  // A trailing slash in the base is not doubled.
  c.gateway.public_base_url = "https://meldung.musterstadt.example/";
  CHECK(WithStatusLink(c, "de", "4KQ7XRT2WNPA", "x") ==
        "x Stand: https://meldung.musterstadt.example/meldung/4KQ7XRT2WNPA");
  // No public URL: a chat cannot follow a relative link.
  c.gateway.public_base_url.clear();
  CHECK(WithStatusLink(c, "de", "4KQ7XRT2WNPA", "x") == "x");
}

TEST_CASE("the WhatsApp template line is one short line", "[status_texts]") {
  Config c;
  CHECK(StatusTemplateLine(c, Notice("accepted")) == "übernommen von Tiefbauamt");
  CHECK(StatusTemplateLine(c, Notice("done", "a\nb")) == "erledigt. Hinweis: a b");
  CHECK(StatusTemplateLine(c, Notice("done", std::string(2000, 'y'))).size() == 900);
}

}  // namespace notices_test
