#include "channels/chat/texts.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "core/text.hpp"
#include "tickets/reference.hpp"

namespace meldestelle::chat {

using tickets::DisplayReference;

namespace {

bool StartsWithAny(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (s.substr(0, p.size()) == p)
      return true;
  }
  return false;
}

// A WhatsApp number's country (E.164 without +) to the language most of its people read.
// A WhatsApp business-scoped user id ("DE.1349…": a user with a username whose number we do not
// see) names the country by its ISO code instead.
std::string LanguageOfCountry(std::string_view iso) {
  if (iso == "DE" || iso == "AT" || iso == "CH" || iso == "LI")
    return "de";
  if (iso == "TR")
    return "tr";
  if (iso == "UA")
    return "uk";
  if (iso == "RU" || iso == "BY" || iso == "KZ")
    return "ru";
  for (std::string_view arab : {"EG", "MA", "DZ", "TN", "LY", "MR", "SD", "SO", "DJ", "KM", "LB",
                                "JO", "SY", "IQ", "KW", "SA", "YE", "OM", "PS", "AE", "BH", "QA"}) {
    if (iso == arab)
      return "ar";
  }
  return "en";
}

std::string LanguageOfNumber(std::string_view number) {
  if (number.size() > 3 && number[2] == '.' &&
      std::isupper(static_cast<unsigned char>(number[0])) &&
      std::isupper(static_cast<unsigned char>(number[1])))
    return LanguageOfCountry(number.substr(0, 2));
  if (StartsWithAny(number, {"49", "43", "41", "423"}))
    return "de";
  if (StartsWithAny(number, {"90"}))
    return "tr";
  if (StartsWithAny(number, {"380"}))
    return "uk";
  if (StartsWithAny(number, {"7"}))
    return "ru";
  // The Arab League's members.
  if (StartsWithAny(number,
                    {"20",  "212", "213", "216", "218", "222", "249", "252", "253", "269", "961",
                     "962", "963", "964", "965", "966", "967", "968", "970", "971", "973", "974"}))
    return "ar";
  return "en";
}

}  // namespace

std::string ChatLanguage(std::string_view channel, std::string_view sender,
                         std::string_view language_code, std::string_view text) {
  std::string told = "de";
  if (!language_code.empty()) {
    std::string ours = texts::Normalise(language_code);
    told = ours.empty() || ours == "de-x-ls" ? "en" : ours;
  } else if (channel == "whatsapp") {
    told = LanguageOfNumber(sender);
  }
  std::string written = texts::LanguageOfText(text);
  // Cyrillic without Ukrainian's own letters ("Готово") may be Ukrainian as well.
  if (written.empty() || (written == "ru" && told == "uk"))
    return told;
  return written;
}

std::string AskLocationText(const texts::Lang& t) { return t("nachricht.chat.ort_fragen"); }

std::string UnsupportedText(const texts::Lang& t) { return t("nachricht.chat.nicht_verarbeitbar"); }

std::string FollowupText(const texts::Lang& t, std::string_view reference) {
  return t("nachricht.chat.ergaenzt", {{"reference", DisplayReference(reference)}});
}

std::string FixAnswerText(const texts::Lang& t, std::string_view reference, bool fixed) {
  return t(fixed ? "nachricht.chat.behoben_danke" : "nachricht.chat.wieder_offen",
           {{"reference", DisplayReference(reference)}});
}

bool IsDoneWord(std::string_view text) {
  // Letters (any script) and single spaces, lowercased.
  std::string t;
  for (char32_t c : Utf8CodePoints(Utf8Lower(text))) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 0xC0 && c < 0x2000 && c != 0xD7 && c != 0xF7);
    if (letter) {
      AppendUtf8(t, c);
    } else if (c == ' ' && !t.empty() && t.back() != ' ') {
      t += ' ';
    }
  }
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  for (std::string_view w :
       {"fertig",      "done",      "ok fertig", "das wars", "absenden", "senden", "fertig danke",
        "done thanks", "tamam",     "bitti",     "gönder",   "готово",   "все",    "всё",
        "відправити",  "отправить", "تم",        "انتهيت",   "ارسال",    "إرسال"}) {
    if (t == w)
      return true;
  }
  return false;
}

std::optional<std::string> ParseCommand(std::string_view text) {
  std::string_view t = TrimAscii(text);
  if (t.size() < 2 || t.front() != '/')
    return std::nullopt;
  t.remove_prefix(1);
  const size_t end = std::min(t.find_first_of(" \t\r\n"), t.size());
  std::string_view name = t.substr(0, std::min(t.find('@'), end));
  if (name.empty() || name.size() > 32)
    return std::nullopt;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_')
      return std::nullopt;
  }
  return AsciiLower(name);
}

std::string WelcomeText(const texts::Lang& t) { return t("nachricht.chat.willkommen"); }

OptWord ParseOptWord(std::string_view text) {
  const std::optional<std::string> command = ParseCommand(text);
  std::string_view t = TrimAscii(command ? *command : text);  // "/stop@MusterstadtBot": "stop"
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

std::string OptOutConfirmText(const texts::Lang& t) { return t("nachricht.chat.abgemeldet"); }

std::string OptInConfirmText(const texts::Lang& t) { return t("nachricht.chat.angemeldet"); }

}  // namespace meldestelle::chat
