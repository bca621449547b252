#pragma once

#include <pqxx/pqxx>
#include <string>

#include "core/envelope.hpp"

namespace meldestelle::workers {

// Remembers a provider event (WhatsApp wamid, Telegram update, Twilio callback, e-mail) in
// chat_events within `tx`. False if it was seen before: the caller then changes nothing. Kept
// chat.dedupe_days (DraftCloser::ForgetOldEvents).
bool RememberProviderEvent(pqxx::work& tx, const std::string& channel, const std::string& key,
                           const std::string& sender, const std::string& outcome);

// Keeps a raw inbound payload for audit in raw_payloads (by its SHA-256; stored once).
void StoreRawPayload(pqxx::work& tx, const RawPayload& raw);

}  // namespace meldestelle::workers
