#pragma once

#include <string>

#include "core/db.hpp"
#include "core/envelope.hpp"

namespace meldestelle::tickets {

// Remembers a provider event (WhatsApp wamid, Telegram update, Twilio callback, e-mail) in
// chat_events within `tx`. False if it was seen before: the caller then changes nothing. Kept
// chat.dedupe_days (DraftCloser::ForgetOldEvents).
bool RememberProviderEvent(db::Tx& tx, const std::string& channel, const std::string& key,
                           const std::string& sender, const std::string& outcome);

// Keeps a raw inbound payload for audit in raw_payloads (by its SHA-256; stored once).
void StoreRawPayload(db::Tx& tx, const RawPayload& raw);

}  // namespace meldestelle::tickets
