#include "tickets/actions.hpp"

#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "outbox/outbox.hpp"
#include "tickets/events.hpp"
#include "tickets/questions.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

namespace {

bool IsClosed(const std::string& status) { return status == "done" || status == "rejected"; }

// With its department and not yet closed: the statuses staff can move on from.
bool IsWithDepartment(const std::string& status) {
  return status == "assigned" || status == "accepted" || status == "in_progress";
}

struct Current {
  std::string id, status, department_id, department_name, public_note, reference;
};

std::optional<Current> LockTicket(db::Tx& tx, const std::string& reference) {
  auto r = tx.exec_params(
      "SELECT id::text, status, department_id, department_name, public_note, reference"
      " FROM tickets WHERE reference = $1 FOR UPDATE",
      reference);
  if (r.empty())
    return std::nullopt;
  return Current{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                 r[0][3].as<std::string>(), r[0][4].as<std::string>(), r[0][5].as<std::string>()};
}

HistoryEntry Entry(const StaffActor& actor, const Current& t, const std::string& action) {
  HistoryEntry e;
  e.actor = actor.name;
  e.actor_department = actor.is_operator ? "" : actor.department_id;
  e.action = action;
  e.from_status = t.status;
  e.from_department = t.department_id;
  return e;
}

Result<bool> Accept(db::Tx& tx, const Config& config, const StaffActor& actor, const Current& t,
                    const StaffAction& a) {
  if (t.status == "accepted" || t.status == "in_progress")
    return false;
  if (t.status != "assigned") {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot be accepted");
  }
  tx.exec_params0(
      "UPDATE tickets SET status = 'accepted', accepted_at = coalesce(accepted_at, now()),"
      " public_note = CASE WHEN $2 <> '' THEN $2 ELSE public_note END, updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, a.public_note);
  HistoryEntry e = Entry(actor, t, "accepted");
  e.to_status = "accepted";
  e.public_note = a.public_note;
  int64_t h = RecordHistory(tx, t.id, e);
  EnqueueCitizenNotifications(tx, config, t.id, "accepted", t.department_name, a.public_note, h);
  return true;
}

Result<bool> SetStatus(db::Tx& tx, const Config& config, const StaffActor& actor, const Current& t,
                       const StaffAction& a) {
  if (a.status != "in_progress" && a.status != "done" && a.status != "rejected") {
    return MakeError(errors::kInvalidRequest,
                     "status must be in_progress, done or rejected, got \"" + a.status + "\"");
  }
  if (a.status == "rejected" && a.public_note.empty()) {
    return MakeError(errors::kInvalidRequest,
                     "rejecting needs a public_note: the citizen is told why");
  }
  if (t.status == a.status && (a.public_note.empty() || a.public_note == t.public_note)) {
    return false;
  }
  if (IsClosed(t.status)) {
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  }
  if (!IsWithDepartment(t.status)) {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot change its status");
  }
  tx.exec_params0(
      // Rejecting straight away is no acceptance (the time-to-accept figures stay honest).
      "UPDATE tickets SET status = $2, accepted_at = CASE WHEN $2 = 'rejected' THEN accepted_at"
      " ELSE coalesce(accepted_at, now()) END,"
      " closed_at = CASE WHEN $2 IN ('done', 'rejected') THEN now() ELSE closed_at END,"
      " public_note = CASE WHEN $3 <> '' THEN $3 ELSE public_note END, updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, a.status, a.public_note);
  HistoryEntry e = Entry(actor, t, "status");
  e.to_status = a.status;
  e.public_note = a.public_note;
  int64_t h = RecordHistory(tx, t.id, e);
  EnqueueCitizenNotifications(tx, config, t.id, a.status, t.department_name, a.public_note, h);
  return true;
}

Result<bool> HandBack(db::Tx& tx, const StaffActor& actor, const Current& t, const StaffAction& a) {
  if (a.text.empty()) {
    return MakeError(errors::kInvalidRequest, "handing back needs a reason");
  }
  if (IsClosed(t.status))
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  if (t.status == "handed_back")
    return false;
  if (!IsWithDepartment(t.status)) {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot be handed back");
  }
  // The worker re-routes it without this department (workers/ticket_jobs).
  tx.exec_params0(
      "UPDATE tickets SET status = 'handed_back', updated_at = now(),"
      " excluded_departments = CASE WHEN $2 = ANY(excluded_departments)"
      "   THEN excluded_departments ELSE array_append(excluded_departments, $2) END"
      " WHERE id = $1::uuid",
      t.id, t.department_id);
  HistoryEntry e = Entry(actor, t, "handed_back");
  e.to_status = "handed_back";
  e.note = a.text;
  RecordHistory(tx, t.id, e);
  return true;
}

Result<bool> MarkDuplicate(db::Tx& tx, const Config& config, const StaffActor& actor,
                           const Current& t, const StaffAction& a) {
  if (a.duplicate_of.empty()) {
    return MakeError(errors::kInvalidRequest,
                     "duplicate_of needs the reference of the other ticket");
  }
  if (IsClosed(t.status))
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  if (t.status == "handed_back") {
    return MakeError(errors::kInvalidTransition, "the ticket is waiting to be re-routed");
  }
  // A duplicate's original stands for it. A department links only to its own tickets (another
  // department's is answered like an unknown one, as everywhere); operators link across.
  auto named = tx.exec_params(
      "SELECT coalesce(duplicate_of, id)::text FROM tickets WHERE reference = $1", a.duplicate_of);
  auto unknown = [&] {
    return MakeError(errors::kInvalidRequest,
                     "no ticket " + a.duplicate_of + " to link to for this department");
  };
  if (named.empty())
    return unknown();
  // Locked after this ticket; a concurrent merge the other way round is a deadlock PostgreSQL
  // breaks, and the caller retries (Staff::Act).
  auto o = tx.exec_params(
      "SELECT id::text, reference, status, department_id, department_name FROM tickets"
      " WHERE id = $1::uuid FOR UPDATE",
      named[0][0].as<std::string>());
  if (o.empty())
    return unknown();
  std::string target = o[0][0].as<std::string>(), target_ref = o[0][1].as<std::string>();
  std::string target_status = o[0][2].as<std::string>();
  if (!actor.is_operator && o[0][3].as<std::string>() != actor.department_id)
    return unknown();
  if (target == t.id) {
    return MakeError(errors::kInvalidRequest, "a ticket cannot be a duplicate of itself");
  }
  if (target_status == "duplicate") {
    // Merged elsewhere between the two reads: no chains of duplicates.
    return MakeError(errors::kInvalidTransition,
                     "ticket " + target_ref + " was just linked to another ticket; try again");
  }
  if (IsClosed(target_status)) {
    return MakeError(errors::kInvalidTransition, "ticket " + target_ref + " is already closed");
  }
  HistoryEntry e = Entry(actor, t, "duplicate");
  e.to_status = "duplicate";
  e.details_json = DetailsText({{"duplicate_of", target_ref}});
  int64_t h = RecordHistory(tx, t.id, e);
  // Told before the links move, so this ticket's own duplicates' reporters are found too.
  EnqueueCitizenNotifications(tx, config, t.id, "duplicate", o[0][4].as<std::string>(), "", h,
                              target_ref);
  tx.exec_params0(
      "INSERT INTO ticket_reporters (ticket_id, reporter_ticket_id, distance_m)"
      " SELECT $2::uuid, id, 0 FROM tickets WHERE id = $1::uuid OR duplicate_of = $1::uuid"
      " ON CONFLICT DO NOTHING",
      t.id, target);
  tx.exec_params0("DELETE FROM ticket_reporters WHERE ticket_id = $1::uuid", t.id);
  tx.exec_params0(
      "UPDATE tickets SET duplicate_of = $2::uuid, updated_at = now()"
      " WHERE duplicate_of = $1::uuid",
      t.id, target);
  tx.exec_params0(
      "UPDATE tickets SET status = 'duplicate', duplicate_of = $2::uuid, updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, target);
  HistoryEntry merged;
  merged.actor = actor.name;
  merged.actor_department = actor.is_operator ? "" : actor.department_id;
  merged.action = "note";
  merged.note = "Meldung " + t.reference + " als Duplikat hierher verknüpft";
  merged.details_json = DetailsText({{"merged", t.reference}});
  RecordHistory(tx, target, merged);
  return true;
}

// The ticket's category, changed by its department or an operator: kept, or routed again.
Result<bool> Recategorise(db::Tx& tx, const Config& config, const StaffActor& actor,
                          const Current& t, const StaffAction& a) {
  if (a.category.empty()) {
    return MakeError(errors::kInvalidRequest, "category needs the code of a configured category");
  }
  if (config.FindCategory(a.category) == nullptr) {
    return MakeError(errors::kCategoryUnknown,
                     "no category \"" + a.category + "\" is configured (categories[].code)");
  }
  if (IsClosed(t.status))
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  if (!IsWithDepartment(t.status)) {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot change its category now");
  }
  const std::string before = tx.exec_params1(
                                   "SELECT coalesce(category, routed_category, '') FROM tickets"
                                   " WHERE id = $1::uuid",
                                   t.id)[0]
                                 .as<std::string>();
  if (before == a.category && !a.reroute)
    return false;
  // The stored report carries it too: a re-routing (now or later) reads the report.
  tx.exec_params0(
      "UPDATE tickets SET category = $2, routed_category = $2,"
      " report = jsonb_set(report, '{category}', to_jsonb($2::text)),"
      " status = CASE WHEN $3 THEN 'handed_back' ELSE status END, updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, a.category, a.reroute);
  HistoryEntry e = Entry(actor, t, "recategorised");
  if (a.reroute) {
    e.to_status = "handed_back";
  } else {
    e.from_status.clear();
    e.from_department.clear();
  }
  e.note = a.text;
  e.details_json = DetailsText({{"from", before}, {"to", a.category}, {"reroute", a.reroute}});
  RecordHistory(tx, t.id, e);
  return true;
}

// A ticket sent to a named department by an operator or the triage department.
Result<bool> Forward(db::Tx& tx, const Config& config, const StaffActor& actor, const Current& t,
                     const StaffAction& a) {
  const std::string& triage = config.Get<Settings>().triage_department;
  if (!actor.is_operator && (triage.empty() || actor.department_id != triage)) {
    return MakeError(errors::kForbidden,
                     "only operators and the triage department (tickets.triage_department) send "
                     "a ticket to another department; hand it back instead");
  }
  if (a.department.empty())
    return MakeError(errors::kInvalidRequest, "department needs the id of a department");
  const Department* to = config.FindDepartment(a.department);
  if (to == nullptr) {
    return MakeError(errors::kUnknownDepartment,
                     "no department \"" + a.department + "\" is configured (departments[].id)");
  }
  if (IsClosed(t.status))
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  if (!IsWithDepartment(t.status) && t.status != "handed_back") {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot be forwarded");
  }
  if (to->id == t.department_id && t.status != "handed_back")
    return false;
  // A new assignment: the department accepts it (or hands it back) as any other; its
  // acceptance clock starts now.
  tx.exec_params0(
      "UPDATE tickets SET department_id = $2, department_name = $3, status = 'assigned',"
      " assigned_at = now(), accepted_at = NULL, escalation_level = 0, updated_at = now()"
      " WHERE id = $1::uuid",
      t.id, to->id, to->name);
  HistoryEntry e = Entry(actor, t, "forwarded");
  e.to_status = "assigned";
  e.to_department = to->id;
  e.note = a.text;
  int64_t h = RecordHistory(tx, t.id, e);
  EnqueueDelivery(tx, config, t.id, to->id, "forwarded", h);
  if (to->id != t.department_id)
    EnqueueCitizenNotifications(tx, config, t.id, "forwarded", to->name, "", h);
  return true;
}

// Asks the ticket's reporter a question in their channel; the ticket waits for the answer.
Result<bool> AskCitizen(db::Tx& tx, const Config& config, const StaffActor& actor, const Current& t,
                        const StaffAction& a) {
  std::string question;
  for (char c : TrimAscii(a.text)) {
    if (c != '\r')
      question += c;
  }
  if (question.empty())
    return MakeError(errors::kInvalidRequest, "a question needs text");
  if (!IsValidUtf8(question))
    return MakeError(errors::kInvalidRequest, "question must be UTF-8");
  if (Utf8Length(question) > kMaxQuestionChars) {
    return MakeError(
        errors::kInvalidRequest,
        "question is longer than " + std::to_string(kMaxQuestionChars) + " characters");
  }
  if (IsClosed(t.status))
    return MakeError(errors::kTicketClosed, "the ticket is already " + t.status);
  if (t.status == "waiting_for_citizen") {
    return MakeError(errors::kInvalidTransition,
                     "the ticket already waits for the citizen's answer to a question");
  }
  if (!IsWithDepartment(t.status)) {
    return MakeError(errors::kInvalidTransition,
                     "a ticket with status " + t.status + " cannot ask the citizen");
  }
  HistoryEntry e = Entry(actor, t, "question");
  e.to_status = "waiting_for_citizen";
  e.public_note = question;
  int64_t h = RecordHistory(tx, t.id, e);
  if (EnqueueCitizenNotifications(tx, config, t.id, "question", t.department_name, question, h) ==
      0) {
    // The reporter's way back has no sender here (their acknowledgement failed at once for it):
    // said as such, since the contact is there and a sender can be configured.
    // (Only a reporter whom the notices would reach otherwise: not opted out.)
    auto unsendable = outbox::UnsendableAcknowledgement(tx, t.id);
    if (unsendable && tx.exec_params("SELECT 1 FROM notification_optouts"
                                     " WHERE channel = $1 AND address = $2",
                                     unsendable->channel, unsendable->address)
                          .empty()) {
      return MakeError(errors::kNoWayBack,
                       "the citizen cannot be asked: no sender is configured here for their "
                       "channel \"" +
                           unsendable->channel +
                           "\" (docs/operations.md, \"Acknowledgements\"); nothing was sent");
    }
    if (!tx.exec_params("SELECT 1 FROM outbox WHERE ticket_id = $1::uuid AND kind = 'ack'"
                        " AND channel = 'sms' AND address <> ''",
                        t.id)
             .empty()) {
      return MakeError(errors::kNoWayBack,
                       "the citizen cannot be asked: they are reached by SMS, which cannot carry "
                       "their answer back here; call them instead; nothing was sent");
    }
    // A number typed into a report (not a caller's, who may have declined the SMS) with no
    // acknowledgement to it: no SMS reaches it here, and staff can call it.
    if (!tx.exec_params("SELECT 1 FROM tickets WHERE id = $1::uuid AND channel <> 'phone'"
                        " AND reporter->'ack'->>'channel' = 'none'"
                        " AND coalesce(reporter->>'address', '') ~ '^[+0-9 ()/.-]{6,}$'",
                        t.id)
             .empty()) {
      return MakeError(errors::kNoWayBack,
                       "the citizen cannot be asked: they left only a phone number, and no SMS "
                       "goes to it here (a landline, one without its area code, or no SMS "
                       "account); call them instead; nothing was sent");
    }
    return MakeError(errors::kNoWayBack,
                     "the citizen cannot be asked: they left no contact (or no consent to SMS), "
                     "or asked not to get messages; nothing was sent");
  }
  tx.exec_params0(
      "UPDATE tickets SET status = 'waiting_for_citizen', waiting_since = now(),"
      " waiting_from_status = status, updated_at = now() WHERE id = $1::uuid",
      t.id);
  return true;
}

// The text the public map shows for the ticket (GET /meldungen; docs/intake-api.md): written by
// staff for everyone to read, never the citizen's own words. "" withdraws it (the category
// alone is shown). Recorded as 'published' with the text.
Result<bool> SetPublicText(db::Tx& tx, const StaffActor& actor, const Current& t,
                           const StaffAction& a) {
  // Browsers send a textarea's line breaks as CR LF.
  std::string text;
  for (char c : TrimAscii(a.text)) {
    if (c != '\r')
      text += c;
  }
  if (!IsValidUtf8(text))
    return MakeError(errors::kInvalidRequest, "public_text must be UTF-8");
  if (Utf8Length(text) > kMaxPublicTextChars) {
    return MakeError(
        errors::kInvalidRequest,
        "public_text is longer than " + std::to_string(kMaxPublicTextChars) + " characters");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
      return MakeError(errors::kInvalidRequest, "public_text has control characters");
  }
  if (tx.exec_params1("SELECT public_text FROM tickets WHERE id = $1::uuid", t.id)[0]
          .as<std::string>() == text)
    return false;
  tx.exec_params0(
      "UPDATE tickets SET public_text = $2, public_text_at = CASE WHEN $2 = '' THEN NULL"
      " ELSE now() END, updated_at = now() WHERE id = $1::uuid",
      t.id, text);
  HistoryEntry e = Entry(actor, t, "published");
  e.from_status.clear();
  e.from_department.clear();
  e.public_note = text;
  RecordHistory(tx, t.id, e);
  return true;
}

}  // namespace

const std::vector<std::pair<std::string, StaffAction::Kind>>& StaffActionNames() {
  static const std::vector<std::pair<std::string, StaffAction::Kind>> k = {
      {"accept", StaffAction::Kind::kAccept},       {"hand-back", StaffAction::Kind::kHandBack},
      {"status", StaffAction::Kind::kStatus},       {"notes", StaffAction::Kind::kNote},
      {"duplicate", StaffAction::Kind::kDuplicate}, {"public-text", StaffAction::Kind::kPublicText},
      {"category", StaffAction::Kind::kCategory},   {"forward", StaffAction::Kind::kForward},
      {"question", StaffAction::Kind::kQuestion}};
  return k;
}

Result<bool> ReopenByCitizen(db::Tx& tx, const Config& config, const std::string& ticket_id,
                             const std::string& source, const std::string& note,
                             const std::string& details_json, const std::string& said_at,
                             int grace_seconds) {
  auto r = tx.exec_params(
      "SELECT id::text, CASE WHEN status = 'done' AND closed_at + make_interval(secs => $2)"
      "  > COALESCE(NULLIF($3, '')::timestamptz, now()) THEN 'done_lately' ELSE status END,"
      " department_id FROM tickets"
      " WHERE id = (SELECT COALESCE(duplicate_of, id) FROM tickets WHERE id = $1::uuid)"
      " FOR UPDATE",
      ticket_id, grace_seconds, said_at);
  if (r.empty())
    return MakeError(errors::kNotFound, "no ticket " + ticket_id);
  std::string id = r[0][0].as<std::string>(), status = r[0][1].as<std::string>();
  std::string department = r[0][2].as<std::string>();
  if (status != "done")
    return false;
  // Accepted again, not assigned: the department had taken it on; its acceptance time stays.
  tx.exec_params0(
      "UPDATE tickets SET status = 'accepted', closed_at = NULL, public_note = '',"
      " updated_at = now() WHERE id = $1::uuid",
      id);
  HistoryEntry e;
  e.actor = "citizen:" + source;
  e.action = "reopened";
  e.from_status = "done";
  e.to_status = "accepted";
  e.from_department = e.to_department = department;
  e.note = note;
  e.details_json = details_json;
  int64_t h = RecordHistory(tx, id, e);
  EnqueueDelivery(tx, config, id, department, "reopened", h);
  return true;
}

int StaffErrorStatus(ErrorCode code) {
  if (code == errors::kNotFound)
    return 404;
  if (code == errors::kInvalidRequest || code == errors::kCategoryUnknown ||
      code == errors::kUnknownDepartment)
    return 400;
  if (code == errors::kForbidden)
    return 403;
  if (code == errors::kTicketClosed || code == errors::kInvalidTransition ||
      code == errors::kTicketIsDuplicate || code == errors::kNoWayBack)
    return 409;
  return 500;
}

namespace {

// The field of the staff API that carries an action's text (docs/staff-api.md).
const char* TextField(StaffAction::Kind kind) {
  using Kind = StaffAction::Kind;
  switch (kind) {
    case Kind::kHandBack:
    case Kind::kForward:
      return "reason";
    case Kind::kQuestion:
      return "question";
    case Kind::kPublicText:
      return "public_text";
    default:
      return "note";
  }
}

// What staff write goes into mails, messages and pages: the rule of the citizens' fields
// (UTF-8, no control character but tab and line breaks). A NUL would otherwise cut the text in
// the database or fail its statement.
Status CheckStaffTexts(const StaffAction& action) {
  const std::pair<const char*, const std::string*> texts[] = {
      {TextField(action.kind), &action.text}, {"public_note", &action.public_note}};
  for (const auto& [field, text] : texts) {
    switch (CheckText(*text)) {
      case TextFault::kNone:
        break;
      case TextFault::kInvalidUtf8:
        return MakeError(errors::kInvalidRequest, std::string(field) + " must be UTF-8");
      case TextFault::kControlCharacter:
        return MakeError(errors::kInvalidRequest, std::string(field) +
                                                      " has control characters (only tab and line"
                                                      " breaks are allowed)");
    }
  }
  return Ok{};
}

}  // namespace

Result<bool> ApplyStaffAction(db::Tx& tx, const Config& config, const StaffActor& actor,
                              const std::string& reference, const StaffAction& action) {
  if (auto st = CheckStaffTexts(action); !st)
    return st.error();
  auto t = LockTicket(tx, reference);
  // Another department's ticket is answered like an unknown one: its existence is not shown.
  if (!t || (!actor.is_operator && t->department_id != actor.department_id)) {
    return MakeError(errors::kNotFound, "no ticket " + reference + " for this department");
  }
  using Kind = StaffAction::Kind;
  if (action.kind == Kind::kNote) {
    if (action.text.empty())
      return MakeError(errors::kInvalidRequest, "a note needs text");
    HistoryEntry e = Entry(actor, *t, "note");
    e.from_status.clear();
    e.from_department.clear();
    e.note = action.text;
    RecordHistory(tx, t->id, e);
    tx.exec_params0("UPDATE tickets SET updated_at = now() WHERE id = $1::uuid", t->id);
    return true;
  }
  if (action.kind == Kind::kPublicText)
    return SetPublicText(tx, actor, *t, action);
  if (t->status == "duplicate") {
    return MakeError(errors::kTicketIsDuplicate,
                     "the ticket is linked as a duplicate; work on the original ticket");
  }
  // Staff act on a ticket that waits for the citizen's answer (set its status, hand it back …):
  // the wait ends there, its clocks as after an answer, and the action goes on from the status
  // the ticket had before the question.
  if (t->status == "waiting_for_citizen" && action.kind != Kind::kQuestion) {
    const std::string back = SettleWait(tx, t->id, std::nullopt);
    if (!back.empty())
      t->status = back;
  }
  switch (action.kind) {
    case Kind::kAccept:
      return Accept(tx, config, actor, *t, action);
    case Kind::kStatus:
      return SetStatus(tx, config, actor, *t, action);
    case Kind::kHandBack:
      return HandBack(tx, actor, *t, action);
    case Kind::kDuplicate:
      return MarkDuplicate(tx, config, actor, *t, action);
    case Kind::kCategory:
      return Recategorise(tx, config, actor, *t, action);
    case Kind::kForward:
      return Forward(tx, config, actor, *t, action);
    case Kind::kQuestion:
      return AskCitizen(tx, config, actor, *t, action);
    case Kind::kNote:
    case Kind::kPublicText:
      break;
  }
  return false;
}

}  // namespace meldestelle::tickets
