#include <algorithm>
#include <array>

#include "channels/phone/twilio.hpp"
#include "core/text.hpp"

// The TwiML documents of the call flow (channels.md §3.1) and the spoken reference. Every text
// and URL goes through XmlEscape: the action URLs carry query strings with '&'.
namespace meldestelle::twilio {

namespace {

// Builds one TwiML document line by line.
class Twiml {
 public:
  Twiml() { out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n"; }

  // <Say language="…">text</Say>; nothing for an empty text.
  Twiml& Say(std::string_view language, std::string_view text, int indent = 1) {
    if (!text.empty()) {
      Indent(indent);
      out_ += "<Say language=\"" + XmlEscape(language) + "\">" + XmlEscape(text) + "</Say>\n";
    }
    return *this;
  }
  Twiml& Line(std::string_view raw, int indent = 1) {
    Indent(indent);
    out_ += raw;
    out_ += '\n';
    return *this;
  }
  std::string Done() { return out_ + "</Response>\n"; }

 private:
  void Indent(int n) { out_.append(static_cast<size_t>(n) * 2, ' '); }
  std::string out_;
};

std::string Attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value) + "\"";
}

std::string GatherOpen(int timeout_s, std::string_view action) {
  return "<Gather" + Attr("numDigits", "1") + Attr("timeout", std::to_string(timeout_s)) +
         Attr("action", action) + Attr("method", "POST") + ">";
}

bool IsEnglish(std::string_view language) { return language.substr(0, 2) == "en"; }

// DIN 5009:2022 (place names) and the NATO alphabet, for A..Z.
constexpr std::array<std::string_view, 26> kGermanWords = {
    "Aachen",     "Berlin",    "Chemnitz",  "Düsseldorf", "Essen",     "Frankfurt", "Goslar",
    "Hamburg",    "Ingelheim", "Jena",      "Köln",       "Leipzig",   "München",   "Nürnberg",
    "Offenbach",  "Potsdam",   "Quickborn", "Rostock",    "Salzwedel", "Tübingen",  "Unna",
    "Völklingen", "Wuppertal", "Xanten",    "Ypsilon",    "Zwickau"};
constexpr std::array<std::string_view, 26> kNatoWords = {
    "Alpha",  "Bravo", "Charlie", "Delta",  "Echo",     "Foxtrot", "Golf",   "Hotel",  "India",
    "Juliet", "Kilo",  "Lima",    "Mike",   "November", "Oscar",   "Papa",   "Quebec", "Romeo",
    "Sierra", "Tango", "Uniform", "Victor", "Whiskey",  "X-ray",   "Yankee", "Zulu"};
// "zwo" is the German telephone form of 2: "zwei" is easily taken for "drei".
constexpr std::array<std::string_view, 10> kGermanDigits = {
    "null", "eins", "zwo", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"};
constexpr std::array<std::string_view, 10> kEnglishDigits = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

}  // namespace

VoiceScript DefaultScript(std::string_view language) {
  VoiceScript s;
  if (language == "en") {
    s.voice_language = "en-GB";
    s.greeting = "Welcome to the defect reporting line of the town of Musterstadt.";
    // Spoken in the German voice; "2" because the second script is chosen with kKeySecondLanguage.
    s.language_offer = "Für Deutsch drücken Sie die 2.";
    s.recording_notice =
        "Your message will be recorded and converted to text so that your report can be dealt "
        "with. You will find our privacy notice on the town's website under Datenschutz.";
    s.instructions =
        "After the tone, please describe the problem and tell us the street and house number. "
        "Then press the hash key.";
    s.reference_intro = "Thank you. Your report has been received. Your reference number is:";
    s.repeat_intro = "Once again:";
    s.sms_offer = "If you would like to receive the reference number by text message, press 1 now.";
    s.sms_yes = "You will receive a text message shortly.";
    s.goodbye = "Goodbye.";
    s.nothing_heard = "Sorry, we did not hear a message. Please call again.";
    s.unavailable =
        "Sorry, we cannot take your report at the moment because of a technical fault. Please "
        "call again in a few minutes.";
    return s;
  }
  s.voice_language = "de-DE";
  s.greeting = "Willkommen beim Mängelmelder der Stadt Musterstadt.";
  s.language_offer = "For English, press 2.";
  s.recording_notice =
      "Ihre Nachricht wird aufgezeichnet und zur Bearbeitung Ihrer Meldung in Text umgewandelt. "
      "Die Hinweise zum Datenschutz finden Sie auf der Internetseite der Stadt unter "
      "Datenschutz.";
  s.instructions =
      "Bitte beschreiben Sie nach dem Signalton den Mangel und nennen Sie Straße und Hausnummer. "
      "Drücken Sie danach die Raute-Taste.";
  s.reference_intro = "Vielen Dank. Ihre Meldung ist eingegangen. Ihre Vorgangsnummer lautet:";
  s.repeat_intro = "Ich wiederhole:";
  s.sms_offer = "Wenn Sie die Vorgangsnummer per SMS erhalten möchten, drücken Sie jetzt die 1.";
  s.sms_yes = "Sie erhalten in Kürze eine SMS.";
  s.goodbye = "Auf Wiederhören.";
  s.nothing_heard = "Wir haben leider keine Nachricht gehört. Bitte rufen Sie noch einmal an.";
  s.unavailable =
      "Wegen einer technischen Störung können wir Ihre Meldung gerade leider nicht annehmen. "
      "Bitte rufen Sie in ein paar Minuten noch einmal an.";
  return s;
}

std::string TwimlIncoming(const VoiceScript& first, const VoiceScript& second,
                          std::string_view menu_action) {
  Twiml t;
  t.Line(GatherOpen(3, menu_action))
      .Say(first.voice_language, first.greeting, 2)
      .Say(second.voice_language, first.language_offer, 2)
      .Line("</Gather>")
      .Line("<Redirect" + Attr("method", "POST") + ">" + XmlEscape(menu_action) + "</Redirect>");
  return t.Done();
}

std::string TwimlRecord(const VoiceScript& script, std::string_view record_action,
                        std::string_view status_callback,
                        std::optional<std::string_view> transcribe_callback, int max_length_s) {
  int max_length = std::clamp(max_length_s, 1, 3600);
  std::string record = "<Record" + Attr("action", record_action) + Attr("method", "POST") +
                       Attr("maxLength", std::to_string(max_length)) + Attr("finishOnKey", "#") +
                       Attr("playBeep", "true") + Attr("timeout", "5") +
                       Attr("trim", "trim-silence") +
                       Attr("recordingStatusCallback", status_callback) +
                       Attr("recordingStatusCallbackMethod", "POST") +
                       Attr("recordingStatusCallbackEvent", "completed absent");
  if (transcribe_callback) {
    record += Attr("transcribe", "true") + Attr("transcribeCallback", *transcribe_callback);
  }
  record += "/>";
  Twiml t;
  // The caller hears that the call is recorded and transcribed before the recording starts.
  t.Say(script.voice_language, script.recording_notice)
      .Say(script.voice_language, script.instructions)
      .Line(record)
      .Say(script.voice_language, script.nothing_heard)
      .Line("<Hangup/>");
  return t.Done();
}

std::string TwimlReference(const VoiceScript& script, std::string_view reference, bool offer_sms,
                           std::string_view sms_action) {
  std::string spelled = SpellReference(reference, IsEnglish(script.voice_language) ? "en" : "de");
  const std::string& lang = script.voice_language;
  Twiml t;
  t.Say(lang, script.reference_intro)
      .Say(lang, spelled)
      .Line("<Pause" + Attr("length", "1") + "/>")
      .Say(lang, script.repeat_intro)
      .Say(lang, spelled);
  if (offer_sms) {
    t.Line(GatherOpen(5, sms_action)).Say(lang, script.sms_offer, 2).Line("</Gather>");
  }
  t.Say(lang, script.goodbye).Line("<Hangup/>");
  return t.Done();
}

std::string TwimlSmsAnswer(const VoiceScript& script, bool yes) {
  Twiml t;
  if (yes) {
    t.Say(script.voice_language, script.sms_yes);
  }
  t.Say(script.voice_language, script.goodbye).Line("<Hangup/>");
  return t.Done();
}

std::string TwimlUnavailable(const VoiceScript& script) {
  Twiml t;
  t.Say(script.voice_language, script.unavailable).Line("<Hangup/>");
  return t.Done();
}

std::string SpellReference(std::string_view reference, std::string_view language) {
  bool english = language == "en";
  std::string out;
  size_t count = 0;
  for (char c : reference) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    std::string word;
    if (c >= 'A' && c <= 'Z') {
      size_t i = static_cast<size_t>(c - 'A');
      word = std::string(1, c) + (english ? " as in " : " wie ") +
             std::string(english ? kNatoWords[i] : kGermanWords[i]);
    } else if (c >= '0' && c <= '9') {
      size_t i = static_cast<size_t>(c - '0');
      word = std::string(english ? kEnglishDigits[i] : kGermanDigits[i]);
    } else {
      continue;  // spaces and dashes of a typed reference; anything else has no spoken form
    }
    if (count > 0) {
      out += count % 4 == 0 ? " – " : ", ";
    }
    out += word;
    ++count;
  }
  if (!out.empty()) {
    out += '.';
  }
  return out;
}

}  // namespace meldestelle::twilio
