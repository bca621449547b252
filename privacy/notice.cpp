#include "privacy/notice.hpp"

#include <algorithm>
#include <map>

#include "privacy/settings.hpp"

namespace meldestelle::privacy {

namespace {

using Texts = std::map<std::string, std::string>;

const Texts& German() {
  static const Texts k = {
      {"purpose",
       "Wir verarbeiten Ihre Meldung, um den gemeldeten Mangel an die zuständige Stelle der "
       "Verwaltung zu geben und zu beheben, Ihnen den Eingang mit einer Vorgangsnummer zu "
       "bestätigen und Sie – wenn Sie eine Kontaktmöglichkeit angegeben haben – über den Stand zu "
       "informieren. Wir werten die Meldungen ohne Personenbezug statistisch aus (Anzahl, Art, "
       "Ort, Bearbeitungszeiten)."},
      {"legal_basis",
       "Rechtsgrundlage ist Art. 6 Abs. 1 Buchst. e DSGVO in Verbindung mit dem Landesdaten"
       "schutzgesetz: die Erfüllung unserer Aufgaben als Straßenbaulastträger und Ordnungs"
       "behörde. Kontaktangaben, die Sie freiwillig machen (E-Mail-Adresse, Telefonnummer, Name), "
       "verarbeiten wir mit Ihrer Einwilligung (Art. 6 Abs. 1 Buchst. a DSGVO); Sie können sie "
       "jederzeit widerrufen. Sie können auch ohne Kontaktangaben melden."},
      {"data",
       "Wir speichern, was Sie uns senden: die Beschreibung, Fotos (ohne ihre Metadaten – Kamera, "
       "Aufnahmeort und -zeit werden entfernt), den Ort, die Kategorie und, wenn Sie sie angeben, "
       "Ihre Kontaktdaten; bei Messengern Ihre Rufnummer oder Chat-Kennung und den Profilnamen, "
       "bei Anrufen Ihre Rufnummer, die Aufnahme und ihre Abschrift, bei E-Mails Ihre Adresse und "
       "die Nachricht."},
      {"recipients",
       "Ihre Meldung erhält die zuständige Stelle der Verwaltung. Ihre Kontaktdaten sieht sie nur, "
       "wenn sie für Rückfragen freigeschaltet ist; jeder Blick darauf wird protokolliert. "
       "Meldungen, die Sie über eine Open311-App schicken, sind öffentlich einsehbar (ohne "
       "Kontaktdaten); Meldungen über andere Wege veröffentlichen wir nur ohne Adresse und mit auf "
       "etwa 100 m gerundetem Ort, wenn die Stadt das eingestellt hat."},
      {"rights",
       "Sie haben das Recht auf Auskunft (Art. 15 DSGVO), Berichtigung (Art. 16), Löschung (Art. "
       "17), Einschränkung der Verarbeitung (Art. 18) und Widerspruch (Art. 21), und Sie können "
       "eine Einwilligung jederzeit für die Zukunft widerrufen. Wenden Sie sich dafür an die "
       "verantwortliche Stelle oder die Datenschutzbeauftragte; nennen Sie uns Ihre "
       "Vorgangsnummer, E-Mail-Adresse oder Rufnummer. Sie können sich außerdem bei einer "
       "Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO)."},
      {"webform", "Web-Formular und App-Schnittstelle: keine weiteren Empfänger."},
      {"app", ""},
      {"open311",
       "Open311-Apps (z. B. FixMyStreet): Ihre Meldung geht über den Betreiber der App, den Sie "
       "selbst gewählt haben, und ist über die Open311-Schnittstelle öffentlich einsehbar (ohne "
       "Kontaktdaten)."},
      {"email",
       "E-Mail: Nachrichten laufen über den Mailserver der Stadt bzw. ihres E-Mail-Dienstleisters "
       "(Auftragsverarbeiter nach Art. 28 DSGVO)."},
      {"whatsapp",
       "WhatsApp: Meta Platforms Ireland Ltd., Merrion Road, Dublin 4, Irland, übermittelt Ihre "
       "Nachrichten an uns und unsere Antworten an Sie (Auftragsverarbeiter für die WhatsApp "
       "Business Platform). Meta kann Daten in die USA übermitteln (EU-US Data Privacy "
       "Framework). Für die Nutzung von WhatsApp selbst gelten die Bedingungen von WhatsApp."},
      {"telegram",
       "Telegram: Telegram FZ-LLC, Dubai, Vereinigte Arabische Emirate, übermittelt Ihre "
       "Nachrichten an uns und unsere Antworten an Sie. Für die Vereinigten Arabischen Emirate "
       "gibt es keinen Angemessenheitsbeschluss der EU-Kommission; Sie haben Telegram selbst "
       "gewählt und können stattdessen jeden anderen Weg nutzen."},
      {"phone",
       "Telefon und SMS: Twilio Ireland Ltd., 25–28 North Wall Quay, Dublin 1, Irland, nimmt "
       "Anrufe entgegen, zeichnet Ihre Nachricht auf, verschickt SMS und kann die Aufnahme "
       "verschriftlichen (Auftragsverarbeiter; Übermittlung in die USA auf Grundlage von "
       "Standardvertragsklauseln)."},
      {"map",
       "Karte im Meldeformular und auf der Statusseite: Ihr Browser lädt die Kartenausschnitte "
       "von {host}. Dieser Dienst erhält dabei Ihre IP-Adresse und den gezeigten Ausschnitt, "
       "nicht Ihre Meldung."},
      {"voice",
       "Sprachnachrichten über WhatsApp und Telegram wandelt der Spracherkennungsdienst der "
       "Stadt in Text um (Auftragsverarbeitung nach Art. 28 DSGVO); der Text wird Teil Ihrer "
       "Meldung, die Aufnahme wird nach ihrer Frist gelöscht."},
  };
  return k;
}

const Texts& English() {
  static const Texts k = {
      {"purpose",
       "We process your report to pass the defect to the responsible department of the town and "
       "have it repaired, to confirm receipt with a reference number and – if you gave a way to "
       "reach you – to tell you how it is going. Reports are evaluated statistically without "
       "personal data (number, kind, place, processing times)."},
      {"legal_basis",
       "The legal basis is Art. 6(1)(e) GDPR with the state's data protection act: the town's "
       "public duties for roads and public order. Contact details you give voluntarily (e-mail "
       "address, phone number, name) are processed with your consent (Art. 6(1)(a) GDPR), which "
       "you may withdraw at any time. You can also report without giving any contact."},
      {"data",
       "We store what you send us: the description, photos (without their metadata – camera, "
       "place and time are removed), the place, the category and, if you give them, your contact "
       "details; for messengers your number or chat id and profile name, for calls your number, "
       "the recording and its transcript, for e-mail your address and the message."},
      {"recipients",
       "Your report goes to the responsible department of the town. It sees your contact details "
       "only if it is allowed to call back; every view is logged. Reports sent through an Open311 "
       "app are public (without contact details); reports through other ways are published only "
       "without address and with the place rounded to about 100 m, if the town has set this."},
      {"rights",
       "You have the right of access (Art. 15 GDPR), rectification (Art. 16), erasure (Art. 17), "
       "restriction (Art. 18) and objection (Art. 21), and you can withdraw consent at any time "
       "for the future. Contact the controller or the data protection officer and tell us your "
       "reference, e-mail address or phone number. You may also complain to a data protection "
       "supervisory authority (Art. 77 GDPR)."},
      {"webform", "Web form and app interface: no further recipients."},
      {"app", ""},
      {"open311",
       "Open311 apps (such as FixMyStreet): your report passes through the operator of the app "
       "you chose and is public through the Open311 interface (without contact details)."},
      {"email",
       "E-mail: messages pass through the mail server of the town or its e-mail provider "
       "(processor under Art. 28 GDPR)."},
      {"whatsapp",
       "WhatsApp: Meta Platforms Ireland Ltd., Merrion Road, Dublin 4, Ireland, carries your "
       "messages to us and our answers to you (processor for the WhatsApp Business Platform). "
       "Meta may transfer data to the USA (EU-US Data Privacy Framework)."},
      {"telegram",
       "Telegram: Telegram FZ-LLC, Dubai, United Arab Emirates, carries your messages to us and "
       "our answers to you. There is no EU adequacy decision for the UAE; you chose Telegram "
       "yourself and can use any other way instead."},
      {"phone",
       "Phone and SMS: Twilio Ireland Ltd., 25–28 North Wall Quay, Dublin 1, Ireland, answers "
       "calls, records your message, sends text messages and may transcribe the recording "
       "(processor; transfers to the USA under standard contractual clauses)."},
      {"map",
       "Map on the report form and the status page: your browser loads the map tiles from "
       "{host}. That service sees your IP address and the area shown, not your report."},
      {"voice",
       "Voice messages sent through WhatsApp and Telegram are turned into text by the town's "
       "speech recognition service (processor under Art. 28 GDPR); the text becomes part of "
       "your report, the recording is deleted after its period."},
  };
  return k;
}

std::string Days(int n, bool en) {
  if (n % 365 == 0 && n >= 365) {
    int y = n / 365;
    return std::to_string(y) + (en ? (y == 1 ? " year" : " years") : (y == 1 ? " Jahr" : " Jahre"));
  }
  return std::to_string(n) + (en ? (n == 1 ? " day" : " days") : (n == 1 ? " Tag" : " Tage"));
}

}  // namespace

const std::vector<std::string>& NoticeTextKeys() {
  static const std::vector<std::string> k = {
      "purpose", "legal_basis", "data",     "recipients", "rights", "webform", "app",
      "open311", "email",       "whatsapp", "telegram",   "phone",  "map",     "voice"};
  return k;
}

Notice BuildNotice(const Config& config, const std::vector<std::string>& channels,
                   int recording_days, const std::string& language,
                   const std::string& map_tiles_host, bool voice_notes_transcribed) {
  const Settings& s = config.Get<Settings>();
  const bool en = language == "en";
  const Texts& builtin = en ? English() : German();
  auto own = s.texts.find(en ? "en" : "de");
  auto text = [&](const std::string& key) {
    if (own != s.texts.end()) {
      if (auto it = own->second.find(key); it != own->second.end())
        return it->second;
    }
    auto it = builtin.find(key);
    return it == builtin.end() ? std::string() : it->second;
  };
  Notice n;
  n.language = en ? "en" : "de";
  n.title = en ? "Privacy notice" : "Datenschutzhinweise";
  const std::string town = config.town.name.empty() ? std::string("Stadt") : config.town.name;
  n.sections.push_back({en ? "Controller" : "Verantwortlich",
                        {s.controller.empty() ? (en ? "Town of " : "Stadt ") + town : s.controller},
                        {}});
  n.sections.push_back(
      {en ? "Data protection officer" : "Datenschutzbeauftragte",
       {s.officer.empty() ? (en ? "The town's data protection officer, reachable through the "
                                  "controller above."
                                : "Die behördliche Datenschutzbeauftragte der Stadt, erreichbar "
                                  "über die oben genannte Stelle.")
                          : s.officer},
       {}});
  n.sections.push_back({en ? "Purposes" : "Zwecke", {text("purpose")}, {}});
  n.sections.push_back({en ? "Legal basis" : "Rechtsgrundlage", {text("legal_basis")}, {}});
  n.sections.push_back({en ? "What we store" : "Was wir speichern", {text("data")}, {}});

  const RetentionPeriods& k = s.retention;
  NoticeSection keep{en ? "How long we keep it" : "Wie lange wir speichern",
                     {en ? "The software deletes or anonymises every kind of data when its "
                           "period has passed:"
                         : "Die Software löscht oder anonymisiert jede Art von Daten, sobald "
                           "ihre Frist abgelaufen ist:"},
                     {}};
  auto item = [&](const char* de_text, const char* en_text, int days) {
    keep.items.push_back(std::string(en ? en_text : de_text) + ": " + Days(days, en));
  };
  item("Kontaktdaten, Beschreibung und Fotos einer Meldung nach ihrem Abschluss",
       "Contact details, description and photos of a report after it was closed",
       k.contact_after_close_days);
  item(
      "dieselben Daten spätestens nach Eingang der Meldung, auch wenn sie nicht abgeschlossen "
      "ist",
      "the same at the latest after the report came in, closed or not", k.contact_open_days);
  item("Eingangsdaten, wie sie ankamen (Nachweis)", "Raw data as it arrived (evidence)",
       k.raw_payload_days);
  item("Schutz vor doppelter Annahme", "Protection against accepting a report twice",
       k.intake_key_days);
  item("an Sie gesendete Nachrichten (Empfänger und Text)",
       "Messages sent to you (recipient and text)", k.outbox_days);
  item("Nachträge zu einer Meldung (Text)", "Follow-ups to a report (text)", k.followup_days);
  item("Messenger-Kontakt nach Ihrer letzten Nachricht",
       "Messenger contact after your last message", k.chat_contact_days);
  item("Messenger-Nachrichten, aus denen eine Meldung wurde",
       "Messenger messages that became a report", k.chat_draft_days);
  item("Anrufe: Rufnummer und Abschrift", "Calls: number and transcript", k.transcript_days);
  item("Anrufe und Sprachnachrichten: Aufnahme", "Calls and voice messages: recording",
       recording_days);
  item("Meldungen, die nicht verarbeitet werden konnten", "Reports that could not be processed",
       k.dead_letter_days);
  item("Protokoll, wer Kontaktdaten angesehen hat", "Log of who viewed contact details",
       k.access_log_days);
  keep.paragraphs.push_back(en ? "What stays, without any reference to you: reference, category, "
                                 "department, place, status and dates, for statistics and the "
                                 "public status of the report."
                               : "Ohne Bezug zu Ihnen bleiben: Vorgangsnummer, Kategorie, "
                                 "zuständige Stelle, Ort, Status und Daten – für die Statistik "
                                 "und den öffentlichen Stand der Meldung.");
  n.sections.push_back(std::move(keep));
  n.sections.push_back({en ? "Recipients" : "Empfänger", {text("recipients")}, {}});

  NoticeSection processors{en ? "Channels and service providers" : "Meldewege und Dienstleister",
                           {en ? "Depending on the way you report, these providers are involved:"
                               : "Je nach Meldeweg sind diese Dienstleister beteiligt:"},
                           {}};
  for (const char* ch : {"webform", "app", "open311", "email", "whatsapp", "telegram", "phone"}) {
    if (std::find(channels.begin(), channels.end(), ch) == channels.end())
      continue;
    std::string t = text(ch);
    if (std::string_view(ch) == "phone" && s.delete_recordings_at_provider && !t.empty()) {
      t += en ? " The recording is deleted there once we have fetched it."
              : " Die Aufnahme wird dort gelöscht, sobald wir sie abgerufen haben.";
    }
    if (!t.empty())
      processors.items.push_back(t);
  }
  const bool messenger =
      std::find(channels.begin(), channels.end(), "whatsapp") != channels.end() ||
      std::find(channels.begin(), channels.end(), "telegram") != channels.end();
  if (voice_notes_transcribed && messenger) {
    if (std::string t = text("voice"); !t.empty())
      processors.items.push_back(t);
  }
  if (!map_tiles_host.empty()) {
    std::string t = text("map");
    if (size_t at = t.find("{host}"); at != std::string::npos)
      t.replace(at, 6, map_tiles_host);
    if (!t.empty())
      processors.items.push_back(t);
  }
  n.sections.push_back(std::move(processors));
  NoticeSection rights{en ? "Your rights" : "Ihre Rechte", {text("rights")}, {}};
  if (!s.authority.empty())
    rights.paragraphs.push_back((en ? "Supervisory authority: " : "Aufsichtsbehörde: ") +
                                s.authority);
  n.sections.push_back(std::move(rights));
  return n;
}

}  // namespace meldestelle::privacy
