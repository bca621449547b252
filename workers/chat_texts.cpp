#include "workers/chat_texts.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"
#include "tickets/reference.hpp"

namespace meldestelle::workers {

using tickets::DisplayReference;

namespace {

bool English(std::string_view language) { return language == "en"; }

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out += p;
  return out;
}

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

std::string AckText(std::string_view language, std::string_view reference,
                    std::string_view department, bool location_missing) {
  std::string ref = DisplayReference(reference);
  std::string text;
  if (English(language)) {
    text = Cat({"Thank you! Your report ", ref, " has been received by ", department, "."});
    if (location_missing) {
      text += " We could not tell where the problem is; staff may ask you for the place.";
    }
    text +=
        " Please quote the reference if you contact us. Reply to this message to add "
        "something.";
    return text;
  }
  text = Cat({"Danke! Ihre Meldung ", ref, " ist eingegangen. Zuständig: ", department, "."});
  if (location_missing) {
    text += " Den Ort konnten wir nicht bestimmen; eventuell fragen wir noch einmal nach.";
  }
  text +=
      " Bitte nennen Sie die Nummer bei Rückfragen. Antworten Sie auf diese Nachricht, um "
      "etwas zu ergänzen.";
  return text;
}

std::string DuplicateAckText(std::string_view language, std::string_view reference,
                             std::string_view existing_reference) {
  if (English(language)) {
    return Cat({"Thank you! This problem has already been reported (",
                DisplayReference(existing_reference),
                ") and is being dealt with. We have added your report ",
                DisplayReference(reference), " to it and will keep you informed."});
  }
  return Cat({"Danke! Dieser Mangel wurde bereits gemeldet (", DisplayReference(existing_reference),
              ") und wird bearbeitet. Ihre Meldung ", DisplayReference(reference),
              " haben wir dazugelegt; wir halten Sie auf dem Laufenden."});
}

std::string ForwardAckText(std::string_view language, std::string_view reference,
                           std::string_view authority) {
  if (English(language)) {
    return Cat({"Thank you! Your report ", DisplayReference(reference),
                " concerns a place the town is not responsible for. We have forwarded it to ",
                authority, "."});
  }
  return Cat({"Danke! Ihre Meldung ", DisplayReference(reference),
              " betrifft einen Ort, für den die Stadt nicht zuständig ist. Wir haben sie an ",
              authority, " weitergeleitet."});
}

std::string SmsAckText(std::string_view language, std::string_view town, std::string_view reference,
                       std::string_view department, std::string_view existing_reference) {
  std::string ref = DisplayReference(reference);
  if (English(language)) {
    std::string text =
        Cat({town, ": your report ", ref, " has been received. Responsible: ", department, "."});
    if (!existing_reference.empty()) {
      text += Cat({" Already reported as ", DisplayReference(existing_reference), "."});
    }
    return text;
  }
  std::string text =
      Cat({town, ": Ihre Meldung ", ref, " ist eingegangen. Zuständig: ", department, "."});
  if (!existing_reference.empty()) {
    text += Cat({" Bereits gemeldet als ", DisplayReference(existing_reference), "."});
  }
  return text;
}

std::string FollowupText(std::string_view language, std::string_view reference) {
  if (English(language)) {
    return Cat({"Thank you, we have added this to your report ", DisplayReference(reference), "."});
  }
  return Cat(
      {"Danke, wir haben das zu Ihrer Meldung ", DisplayReference(reference), " hinzugefügt."});
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

}  // namespace meldestelle::workers
