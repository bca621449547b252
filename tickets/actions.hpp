#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/result.hpp"

namespace meldestelle::tickets {

// What department staff (and operators) do with a ticket (docs/api.md): the rules of each step,
// shared by the staff API and the staff inbox. Every change is one transaction: the ticket, its
// history entry (who and when) and, for public changes, the citizens' notifications.

struct StaffActor {
  std::string name;           // for the history: "<label> (token <id>)"
  std::string department_id;  // the token's department; empty for an operator
  bool is_operator = false;
};

struct StaffAction {
  enum class Kind {
    kAccept,
    kHandBack,
    kStatus,
    kNote,
    kDuplicate,
    kPublicText,
    kCategory,
    kForward,
    kQuestion
  } kind = Kind::kNote;
  std::string status;        // kStatus: in_progress, done or rejected
  std::string public_note;   // kAccept, kStatus: told to the citizen (required for rejected)
  std::string text;          // kHandBack: the reason; kNote: the internal note; kPublicText: the
                             // text for the public map ("" withdraws it); kQuestion: the question
  std::string duplicate_of;  // kDuplicate: the reference of the ticket this one duplicates
  std::string category;      // kCategory: the new category's code
  bool reroute = false;      // kCategory: route it again by the rules with the new category
  std::string department;    // kForward: the department that gets the ticket
};

// The actions by the name the staff API's paths (`POST …/{reference}/<name>`) and the inbox's
// forms use: accept, hand-back, status, notes, duplicate, public-text, category, forward,
// question.
//
// category: the ticket's category becomes `category` (a configured one), recorded as
// 'recategorised' (from, to). It stays with the department, or with `reroute` the worker routes
// it again by the rules with the new category (tickets/jobs.hpp; the department is not excluded,
// so the rules may give it back to them). forward: operators and the triage department send a
// ticket to a named department ('forwarded', the reason in the note); it arrives there as a new
// assignment (delivery reason "forwarded"), and the citizen is told as on any re-routing. A
// change of department counts as a misroute of the rule that chose the first one
// (tickets/quality.hpp). question: the question goes to the ticket's own reporter the way their
// acknowledgement went (tickets/questions.hpp; error no_way_back, 409, where they left none or
// opted out), and the ticket waits in status waiting_for_citizen.
const std::vector<std::pair<std::string, StaffAction::Kind>>& StaffActionNames();

// Applies `action` to the ticket `reference` (normalised) as `actor`. Returns whether anything
// changed (accepting an accepted ticket changes nothing and notifies nobody). Errors, with the
// HTTP status the API answers: not_found (404; also another department's ticket),
// invalid_request (400), ticket_closed / invalid_transition / ticket_is_duplicate (409).
Result<bool> ApplyStaffAction(db::Tx& tx, const Config& config, const StaffActor& actor,
                              const std::string& reference, const StaffAction& action);

// Someone says that a ticket marked done is not fixed (an Open311 client's "still broken"
// update): the ticket `ticket_id` — or the one it was merged into — goes back to its department
// as accepted, its public note cleared, with a history entry `reopened` (actor
// `citizen:<source>`; `details` a JSON object, e.g. the update's id) and a delivery to the
// department (reason "reopened"). Only a ticket that is done is reopened, and only if it was
// closed at least `grace_seconds` before `said_at` (a timestamp PostgreSQL reads; "" = now): a
// remark written before the client could have known of the closing is no reopening. Returns
// whether it was reopened.
Result<bool> ReopenByCitizen(db::Tx& tx, const Config& config, const std::string& ticket_id,
                             const std::string& source, const std::string& note,
                             const std::string& details_json, const std::string& said_at,
                             int grace_seconds);

// The longest question to the citizen, in characters.
inline constexpr int kMaxQuestionChars = 1000;

// The longest text for the public map (GET /meldungen), in characters.
inline constexpr int kMaxPublicTextChars = 500;

// The HTTP status for an error code of ApplyStaffAction.
int StaffErrorStatus(ErrorCode code);

}  // namespace meldestelle::tickets
