#include "channels/chat/texts.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"
#include "tickets/reference.hpp"

namespace meldestelle::chat {

using tickets::DisplayReference;

namespace {

bool English(std::string_view language) { return language == "en"; }


}  // namespace

std::string ChatLanguage(std::string_view channel, std::string_view sender,
                         std::string_view language_code) {
  if (!language_code.empty()) {
    return language_code.substr(0, 2) == "de" ? "de" : "en";
  }
  // WhatsApp tells no language: numbers from Germany, Austria, Switzerland and Liechtenstein
  // get German, all others English.
  if (channel == "whatsapp") {
    for (std::string_view prefix : {"49", "43", "41", "423"}) {
      if (sender.substr(0, prefix.size()) == prefix)
        return "de";
    }
    return "en";
  }
  return "de";
}

std::string AskLocationText(std::string_view language) {
  if (English(language)) {
    return "Thank you! Where exactly is it? Please send us the location: tap the paper clip "
           "(📎) or +, choose \"Location\" and send your current location or move the pin to the "
           "place. You can also write the street and house number. Write \"done\" when your "
           "report is complete.";
  }
  return "Danke! Bitte senden Sie uns den Standort des Mangels: Tippen Sie auf die Büroklammer "
         "(📎) oder auf +, wählen Sie „Standort“ und senden Sie Ihren aktuellen Standort oder "
         "schieben Sie die Markierung an die richtige Stelle. Sie können auch Straße und "
         "Hausnummer schreiben. Schreiben Sie „fertig“, wenn Ihre Meldung vollständig ist.";
}

std::string UnsupportedText(std::string_view language) {
  if (English(language)) {
    return "Sorry, we cannot process this kind of message. Please send text, a photo or your "
           "location.";
  }
  return "Diese Art von Nachricht können wir leider nicht verarbeiten. Bitte senden Sie Text, "
         "ein Foto oder Ihren Standort.";
}

std::string FollowupText(std::string_view language, std::string_view reference) {
  if (English(language)) {
    return Concat({"Thank you, we have added this to your report ", DisplayReference(reference), "."});
  }
  return Concat(
      {"Danke, wir haben das zu Ihrer Meldung ", DisplayReference(reference), " hinzugefügt."});
}

std::string FixAnswerText(std::string_view language, std::string_view reference, bool fixed) {
  if (English(language)) {
    return fixed ? Concat({"Thank you for letting us know that report ",
                           DisplayReference(reference), " is fixed."})
                 : Concat({"Thank you. Report ", DisplayReference(reference),
                           " is open again and back with the department in charge."});
  }
  return fixed
             ? Concat({"Danke für Ihre Rückmeldung zu Meldung ", DisplayReference(reference), "."})
             : Concat({"Danke. Die Meldung ", DisplayReference(reference),
                       " ist wieder offen und zurück bei der zuständigen Stelle."});
}

bool IsDoneWord(std::string_view text) {
  std::string t;
  for (unsigned char c : text) {
    if (std::isalpha(c))
      t += static_cast<char>(std::tolower(c));
    else if (c == ' ' && !t.empty() && t.back() != ' ')
      t += ' ';
  }
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  for (std::string_view w : {"fertig", "done", "ok fertig", "das wars", "absenden", "senden",
                             "fertig danke", "done thanks"}) {
    if (t == w)
      return true;
  }
  return false;
}

OptWord ParseOptWord(std::string_view text) {
  std::string_view t = TrimAscii(text);
  while (!t.empty() && (t.back() == '.' || t.back() == '!'))
    t.remove_suffix(1);
  std::string w = AsciiLower(TrimAscii(t));
  for (std::string_view stop : {"stop", "stopp", "abmelden", "unsubscribe"}) {
    if (w == stop)
      return OptWord::kStop;
  }
  for (std::string_view start : {"start", "anmelden"}) {
    if (w == start)
      return OptWord::kStart;
  }
  return OptWord::kNone;
}

std::string OptOutConfirmText(std::string_view language) {
  if (English(language)) {
    return "You will no longer receive status updates about your reports. Send START to receive "
           "them again.";
  }
  return "Sie erhalten keine Statusmeldungen mehr. Mit START wieder anmelden.";
}

std::string OptInConfirmText(std::string_view language) {
  if (English(language)) {
    return "You will receive status updates about your reports again. Send STOP to stop them.";
  }
  return "Sie erhalten wieder Statusmeldungen zu Ihren Meldungen. Mit STOP abmelden.";
}

}  // namespace meldestelle::chat
