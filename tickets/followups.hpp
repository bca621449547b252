#pragma once

#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"

namespace meldestelle::tickets {

// What a citizen sent about a ticket after it was written (a reply in the chat or by e-mail, a
// late transcription, an Open311 update): kept with the ticket (ticket_followups), once per
// message; the ticket's history says so ('followup'), and while the ticket is open its
// department is told the way it was told of the ticket (a delivery with reason "followup": an
// e-mail in the ticket's thread, or the webhook event ticket.followup; docs/departments.md). On a
// ticket that waits for the citizen's answer to a question it is that answer: the wait ends
// (tickets/questions.hpp) and the department gets it as a delivery "answered".
struct Followup {
  std::string ticket_id;
  std::string channel;
  std::string message_id;  // the provider's id: the same message is kept once
  std::string text;
  std::string attachments_json;  // a JSON array of {sha256, media_type, size, filename}; "" = none
  std::optional<double> lat, lon;
  // false: kept and in the history, but the department is not sent it (an out-of-office reply).
  bool tell_department = true;
  // The pin is the place of a ticket that had none: the ticket takes it as its own
  // (location_source "device", the routing's flag "Ort fehlt" becomes "Ort nachgereicht"),
  // unless it has a place by now. The department stays as routed.
  bool place_of_ticket = false;
};
// Returns whether it was new.
bool RecordFollowup(db::Tx& tx, const Config& config, const Followup& f);

// The id of the ticket with this reference; "" if none.
std::string TicketIdOf(db::Tx& tx, const std::string& reference);
// The reference of the ticket with this id; "" if none.
std::string ReferenceOf(db::Tx& tx, const std::string& ticket_id);

}  // namespace meldestelle::tickets
