#pragma once

// "Ist es behoben?" (docs/intake-api.md, "Is it fixed?"): when a ticket is set done, the citizen
// is asked whether the problem is fixed — on the status page and by replying in their chat. One
// answer per closing (fix_answers); "no" reopens the ticket for its department with the
// citizen's note in its history (tickets::ReopenByCitizen), and the department is told.
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/result.hpp"

namespace meldestelle::tickets {

enum class FixAnswer {
  kRecorded,         // "yes" kept
  kReopened,         // "no": kept, and the ticket is open again
  kNotDone,          // the ticket is not (or no longer) done: nothing to answer
  kAlreadyAnswered,  // this closing has its answer already: nothing changed
  kUnknown,          // no such ticket
};

// The citizen's answer about the ticket `reference` (or, for a linked duplicate, the ticket it
// joined) through `channel` ("status_page", "whatsapp", "telegram"). `note` at most 2000
// characters (the caller cuts). Writes nothing unless the answer is kRecorded or kReopened.
Result<FixAnswer> AnswerFixed(db::Tx& tx, const Config& config, const std::string& reference,
                              bool fixed, const std::string& note, const std::string& channel);

// A chat message that answers the question: "ja", "Ja, danke!", "behoben", "yes" → fixed;
// "nein", "Nein, das Loch ist noch da", "nicht behoben" (at most 40 words) → not fixed, with the
// rest as the note; "no", "nope", "noch nicht" only in a message of at most 4 words ("No street
// light on Main Street" is a report). A "yes" only in a short message (at most 6 words: "Ja
// hallo, in der Lindenstraße ist …" is a new report). Anything else → kNone. The citizens'
// other languages as "yes"/"no": evet/hayır, так/ні, да/нет, نعم/لا (core/texts.hpp).
struct ChatFixAnswer {
  enum class Kind { kNone, kFixed, kNotFixed } kind = Kind::kNone;
  std::string note;
};
ChatFixAnswer ParseFixAnswer(std::string_view text);

}  // namespace meldestelle::tickets
