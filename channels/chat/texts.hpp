#pragma once

#include <string>
#include <string_view>

namespace meldestelle::chat {

// What the chat says to citizens, in German or English ("de" unless the language is English).
// docs/channels/whatsapp.md quotes every text.
std::string ChatLanguage(std::string_view channel, std::string_view sender,
                         std::string_view language_code);
std::string AskLocationText(std::string_view language);
std::string UnsupportedText(std::string_view language);
std::string FollowupText(std::string_view language, std::string_view reference);
// The thanks for an answer to "Ist der Mangel behoben?"; "no" says the ticket is open again.
std::string FixAnswerText(std::string_view language, std::string_view reference, bool fixed);
// True for "fertig", "Fertig!", "done", "ok fertig" …: the citizen says the report is complete.
bool IsDoneWord(std::string_view text);
// "STOP", "Stop", "stopp", "abmelden", "STOP." (case-insensitive, trimmed, the whole message)
// → kStop; "START", "anmelden" → kStart: the citizen's opt-out from status notifications.
enum class OptWord { kNone, kStop, kStart };
OptWord ParseOptWord(std::string_view text);
// The confirmations of STOP and START.
std::string OptOutConfirmText(std::string_view language);
std::string OptInConfirmText(std::string_view language);

}  // namespace meldestelle::chat
