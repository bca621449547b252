#include "tickets/fix_answers.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "core/sql.hpp"
#include "core/text.hpp"
#include "tickets/actions.hpp"

namespace meldestelle::tickets {
namespace {

// The ticket that is worked on for `reference` (a linked duplicate's: the one it joined), its
// status, closing time and department; empty when there is none.
pqxx::result Target(db::Tx& tx, const std::string& reference) {
  return tx.exec_params(
      "SELECT t.id::text, t.status, t.closed_at::text, t.department_id, own.id::text"
      " FROM tickets own JOIN tickets t ON t.id = COALESCE(own.duplicate_of, own.id)"
      " WHERE own.reference = $1 FOR UPDATE OF t",
      reference);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsMark(char c) { return c == ',' || c == '.' || c == '!' || c == ':' || c == ';' || c == '-'; }

// The words of `s` (split at spaces and the marks above).
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (IsSpace(c) || IsMark(c)) {
      if (!w.empty())
        out.push_back(std::move(w));
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty())
    out.push_back(std::move(w));
  return out;
}

// `text` after its first `n` words, without the marks and spaces that follow them.
std::string After(std::string_view text, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n; ++k) {
    while (i < text.size() && (IsSpace(text[i]) || IsMark(text[i])))
      ++i;
    while (i < text.size() && !IsSpace(text[i]) && !IsMark(text[i]))
      ++i;
  }
  while (i < text.size() && (IsSpace(text[i]) || IsMark(text[i])))
    ++i;
  std::string rest(text.substr(i));
  while (!rest.empty() && IsSpace(rest.back()))
    rest.pop_back();
  return rest;
}

}  // namespace

Result<FixAnswer> AnswerFixed(db::Tx& tx, const Config& config, const std::string& reference,
                              bool fixed, const std::string& note, const std::string& channel) {
  auto t = Target(tx, reference);
  if (t.empty())
    return FixAnswer::kUnknown;
  const std::string id = t[0][0].as<std::string>(), status = t[0][1].as<std::string>();
  if (status != "done" || t[0][2].is_null())
    return FixAnswer::kNotDone;
  auto kept = tx.exec_params(
      "INSERT INTO fix_answers (ticket_id, answered_ticket_id, closed_at, department_id, fixed,"
      " channel, note) VALUES ($1::uuid, $7::uuid, $2::timestamptz, $3, $4, $5, $6)"
      " ON CONFLICT (ticket_id, closed_at) DO NOTHING RETURNING id",
      id, t[0][2].as<std::string>(), t[0][3].as<std::string>(), fixed, channel, note,
      t[0][4].as<std::string>());
  if (kept.empty())
    return FixAnswer::kAlreadyAnswered;
  if (fixed)
    return FixAnswer::kRecorded;
  nlohmann::json details{
      {"answer", "not_fixed"}, {"fix_answer", kept[0][0].as<int64_t>()}, {"channel", channel}};
  auto reopened =
      ReopenByCitizen(tx, config, id, channel, note.empty() ? "Nicht behoben (ohne Angabe)" : note,
                      details.dump(), "", 0);
  if (!reopened)
    return reopened.error();
  return FixAnswer::kReopened;
}

ChatFixAnswer ParseFixAnswer(std::string_view text) {
  std::vector<std::string> words = Words(Utf8Lower(text));
  ChatFixAnswer a;
  if (words.empty())
    return a;
  const std::string& w = words[0];
  auto is = [&](size_t i, const char* word) { return i < words.size() && words[i] == word; };
  // "nicht behoben", "noch nicht behoben", "ist nicht behoben": the note is what follows.
  // "nein …" and "nicht behoben …" may explain at some length; "no", "nope", "noch nicht" only
  // alone or nearly ("No street light on Main Street", "Noch nicht gemeldet: …" are reports).
  const bool short_message = words.size() <= 4;
  size_t negated =
      is(0, "nicht") && is(1, "behoben")                    ? 2
      : is(0, "noch") && is(1, "nicht") && is(2, "behoben") ? 3
      : is(0, "ist") && is(1, "nicht") && is(2, "behoben")  ? 3
      : (w == "nein" || w == "nö")                          ? 1
      : is(0, "noch") && is(1, "nicht") && short_message    ? 2
      : (w == "no" || w == "nope") && short_message         ? 1
      // Turkish, Ukrainian, Russian, Arabic: alone or nearly, as "no".
      : (w == "hayır" || w == "hayir" || w == "ні" || w == "нет" || w == "لا") && short_message ? 1
                                                                                                : 0;
  if (negated > 0 && words.size() <= 40) {
    a.kind = ChatFixAnswer::Kind::kNotFixed;
    a.note = After(text, negated);
    return a;
  }
  bool yes = w == "ja" || w == "jawohl" || w == "jap" || w == "yes" || w == "yep" || w == "evet" ||
             w == "так" || w == "да" || w == "نعم" || w == "behoben" ||
             (is(0, "ist") && is(1, "behoben")) || (is(0, "wurde") && is(1, "behoben"));
  // A short answer only: "Ja hallo, in der Lindenstraße ist ein Loch …" is a new report.
  if (yes && words.size() <= 6) {
    a.kind = ChatFixAnswer::Kind::kFixed;
    a.note = After(text, 1);
  }
  return a;
}

}  // namespace meldestelle::tickets
