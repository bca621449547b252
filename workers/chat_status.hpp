#pragma once

#include <string>

#include "core/db.hpp"

namespace meldestelle::workers {

// Applies a provider's delivery status to our outgoing message with that provider id: states
// only move forward (sent < delivered < read; they may arrive out of order); "failed" with
// WhatsApp's 131047 (outside the 24-hour window) sends the row again as the template, once;
// other failures mark it failed. A status for an id not recorded yet (the dispatcher records it
// after the provider's answer, and a fast receipt can overtake that) is parked in
// chat_status_backlog and applied by the dispatcher when it records the id.
void ApplyDeliveryStatus(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id, const std::string& status,
                         int error_code, const std::string& error_title);
// Applies the parked statuses of `provider_message_id` (the dispatcher, after recording it).
void ApplyParkedStatuses(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id);

}  // namespace meldestelle::workers
