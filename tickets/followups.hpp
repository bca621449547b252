#pragma once

#include <optional>
#include <string>

#include "core/db.hpp"

namespace meldestelle::tickets {

// What a citizen sent about a ticket after it was written (a reply in the chat or by e-mail, a
// late transcription): kept with the ticket (ticket_followups), once per message.
struct Followup {
  std::string ticket_id;
  std::string channel;
  std::string message_id;  // the provider's id: the same message is kept once
  std::string text;
  std::string attachments_json;  // a JSON array of {sha256, media_type, size, filename}; "" = none
  std::optional<double> lat, lon;
};
// Returns whether it was new.
bool RecordFollowup(db::Tx& tx, const Followup& f);

// The id of the ticket with this reference; "" if none.
std::string TicketIdOf(db::Tx& tx, const std::string& reference);
// The reference of the ticket with this id; "" if none.
std::string ReferenceOf(db::Tx& tx, const std::string& ticket_id);

}  // namespace meldestelle::tickets
