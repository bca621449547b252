#pragma once

// The outbox (docs/architecture.md, "The outbox"): everything Meldestelle sends — the citizen's
// acknowledgement, chat replies, status notices, forwards to other authorities, the deliveries
// to the departments — is first a row of the `outbox` table, written in the same transaction as
// the change that causes it, and sent afterwards by a sending loop (outbox/dispatcher.hpp). So
// nothing is sent for a change that did not commit, and nothing is lost when a sender fails.
// Enqueue is the only code that inserts rows; the functions below are the only ones that change
// a row after it was sent (receipts, bounces) or before (a redirect).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/db.hpp"
#include "core/metrics.hpp"

namespace meldestelle::outbox {

// What a row is for (the `kind` column).
enum class Kind {
  kAck,        // the acknowledgement of a new report, to its reporter
  kStatus,     // a status notice to a reporter (docs/departments.md, "Citizens")
  kChatReply,  // a chat message that is no acknowledgement (a question, a hint)
  kForward,    // the report itself, to another authority
  kDelivery,   // the ticket, to its department
};
std::string_view Name(Kind kind);
std::optional<Kind> KindNamed(std::string_view name);

// The `channel` of a row that needs no sending (the web form showed the reference at once).
inline constexpr std::string_view kNoChannel = "none";

struct NewRow {
  Kind kind = Kind::kAck;
  std::string ticket_id;   // empty: none (a chat reply before the report is a ticket)
  std::string channel;     // the transport: whatsapp, telegram, sms, email, dept_email, …
  std::string address;     // where on that channel
  std::string payload;     // a JSON object: what the sender needs besides the ticket
  std::string dedupe_key;  // empty: none; a row with the same key is not inserted twice
  bool to_send = true;     // false: recorded as done, nothing to send
  // Non-empty: nothing can send it (no channel sends on `channel`): recorded as failed at once,
  // with this as its error, instead of waiting for a sender for ever.
  std::string failed = {};
};

// Inserts `row` in `tx`. Returns its id, or nullopt when a row with the same dedupe key exists.
std::optional<int64_t> Enqueue(db::Tx& tx, const NewRow& row);

// A provider's receipt for one of our messages (WhatsApp statuses): states only move forward
// (sent < delivered < read; receipts may arrive out of order). A failure marks the row failed,
// unless `resend_as_template` (WhatsApp 131047, outside the 24-hour window): then the row is sent
// again once, as the approved template. A receipt for an id not recorded yet (a fast receipt can
// overtake the provider's answer to the sender) is parked and applied when the sender records it.
struct Receipt {
  std::string status;  // sent, delivered, read, failed
  int error_code = 0;
  std::string error_title;
  bool resend_as_template = false;
};
void ApplyReceipt(db::Tx& tx, const std::string& channel, const std::string& provider_message_id,
                  const Receipt& receipt);
// Applies the receipts parked for `provider_message_id` (the sender, after recording it);
// `resend_as_template` (may be null) says which failure codes call for the template.
void ApplyParkedReceipts(db::Tx& tx, const std::string& channel,
                         const std::string& provider_message_id,
                         bool (*resend_as_template)(int error_code) = nullptr);
// Forgets parked receipts older than `days` (ids that were never ours).
void ForgetParkedReceipts(db::Tx& tx, int days);

// A bounce of one of our e-mails: the row sent with that Message-ID failed for good.
void MarkBounced(db::Tx& tx, const std::string& provider_message_id, const std::string& why);

// The ticket a message of ours on `channel` with that provider id was about; "" if none (or, with
// `address`, if it went to someone else).
std::string TicketOfMessage(db::Tx& tx, const std::string& channel,
                            const std::string& provider_message_id,
                            const std::string& address = {});

// An acknowledgement on a channel this configuration has no sender for (an SMS without the
// Twilio account, an e-mail without a relay): its row fails at once with NoSenderError, and its
// ticket gets the flag "<kFlagAckUnsendable>: <channel>" (for staff, in the routing explanation).
inline constexpr const char* kFlagAckUnsendable = "Eingangsbestätigung nicht sendbar";
std::string NoSenderError(std::string_view channel);
// meldestelle_acknowledgements_unsendable_total{channel}: counted once each is recorded.
metrics::Counter& UnsendableCounter(metrics::Registry& registry, const std::string& channel);
// The ticket's acknowledgement when it failed at once for want of a sender (and its contact is
// still there): its channel and address; nullopt otherwise.
struct UnsendableAck {
  std::string channel, address;
};
std::optional<UnsendableAck> UnsendableAcknowledgement(db::Tx& tx, const std::string& ticket_id);

// Sends a ticket's acknowledgement that had nowhere to go (channel none) to `channel` after all
// (a caller who pressed 1 for an SMS after the ticket was written). With `failed` (no sender for
// `channel` here: NoSenderError) it is recorded as failed at once on that channel instead, and
// the ticket flagged, as the admit step does for a new report. True if the row was none.
bool RedirectAcknowledgement(db::Tx& tx, const std::string& ticket_id, const std::string& channel,
                             const std::string& address, const std::string& failed = {});

// Acknowledgements recorded as failed at once for want of a sender (NoSenderError), of reports
// received since `since_unix` (0: all), oldest first, at most `limit`, and how many there are in
// all. Contacts erased since (privacy) are left out: there is nobody to send to.
struct Unsendable {
  int64_t id = 0;
  std::string reference, channel, ticket_status;
  std::string received_at;  // ISO 8601, UTC
};
struct UnsendableList {
  std::vector<Unsendable> rows;
  int64_t total = 0;
};
UnsendableList ListUnsendable(db::Tx& tx, int64_t since_unix, int limit);
// Sets those of them on `channels` (the ones a sender is configured for now) back to pending, the
// same rows, to be sent as a new one is; takes the ticket's flag off and records a note in its
// history by `actor`. Tickets done, rejected or linked as a duplicate are left: "received" would
// come after "done". Status notices not queued meanwhile stay unsent.
struct Resent {
  int64_t resent = 0;
  int64_t closed = 0;     // left: their ticket is done, rejected or a duplicate
  int64_t no_sender = 0;  // left: on a channel not in `channels`
};
Resent ResendUnsendable(db::Tx& tx, const std::set<std::string, std::less<>>& channels,
                        int64_t since_unix, const std::string& actor);

}  // namespace meldestelle::outbox
