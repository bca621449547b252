#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/texts.hpp"

namespace meldestelle::chat {

// What the chat says to citizens, from the catalogues (core/texts.hpp, "nachricht.chat.*").
// docs/channels/whatsapp.md quotes the German texts.
//
// The citizen's language: what they write if its script or letters tell it (Arabic; Cyrillic,
// Ukrainian by its own letters і ї є ґ; Turkish by ğ ş ı İ), else what the provider tells
// (Telegram's language_code; WhatsApp tells none, so the number's country: 90 Turkish, 380
// Ukrainian, 7 Russian, the Arab League's codes Arabic, German-speaking countries German),
// else English for a foreign number and German otherwise. Cyrillic without Ukrainian's letters
// keeps Ukrainian when the provider or the number tells it.
std::string ChatLanguage(std::string_view channel, std::string_view sender,
                         std::string_view language_code, std::string_view text = {});
std::string AskLocationText(const texts::Lang& t);
std::string UnsupportedText(const texts::Lang& t);
std::string FollowupText(const texts::Lang& t, std::string_view reference);
// The thanks for an answer to "Ist der Mangel behoben?"; "no" says the ticket is open again.
std::string FixAnswerText(const texts::Lang& t, std::string_view reference, bool fixed);
// True for "fertig", "Fertig!", "done", "ok fertig", "tamam", "готово", "تم" …: the citizen says
// the report is complete.
bool IsDoneWord(std::string_view text);
// "STOP", "Stop", "stopp", "abmelden", "STOP." (case-insensitive, trimmed, the whole message)
// → kStop; "START", "anmelden" → kStart: the citizen's opt-out from status notifications (also as
// a bot command: "/stop"). The
// words are the same in every language (the notices say STOP and START).
enum class OptWord { kNone, kStop, kStart };
OptWord ParseOptWord(std::string_view text);
// A bot command ("/start", "/hilfe@MusterstadtBot", "/status 4KQ7"): its name in lower case,
// without the bot's name and the arguments; nothing for a message that is none. Telegram's
// Start button sends "/start" as every user's first message.
std::optional<std::string> ParseCommand(std::string_view text);
// The answer to a bot command other than "/stop": what the chat is for.
std::string WelcomeText(const texts::Lang& t);
// The confirmations of STOP and START.
std::string OptOutConfirmText(const texts::Lang& t);
std::string OptInConfirmText(const texts::Lang& t);

}  // namespace meldestelle::chat
