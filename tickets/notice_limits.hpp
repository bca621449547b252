#pragma once

#include <optional>

#include "core/config.hpp"
#include "core/db.hpp"
#include "outbox/dispatcher.hpp"

// What acknowledgements and status notices by SMS and e-mail may cost (docs/security.md, "Rate
// limits"). An address a citizen reported *from* (the caller's number for SMS, the sender of a
// mail for e-mail) is theirs; an address typed into the form, the API or an Open311 request may
// be anyone's. For typed addresses: at most `notifications.typed_recipient_per_hour`
// acknowledgements an hour and `typed_recipient_per_day` a day per address; beyond, the
// acknowledgement is skipped (the reference was shown where the report was made), and so are
// the status notices of that ticket. And the town's SMS: at most
// `notifications.sms_per_hour` an hour in all; beyond, SMS wait (deferred) until the hour
// has room.
namespace meldestelle::tickets {

// For an ack or status row on "sms" or "email": the plan that holds it back, or nothing (send).
// Call in the sender's Prepare transaction.
std::optional<outbox::Plan> NoticeLimit(db::Tx& tx, const Config& config, const outbox::Row& row);

}  // namespace meldestelle::tickets
