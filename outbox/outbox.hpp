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

// Sends a ticket's acknowledgement that had nowhere to go (channel none) to `channel` after all
// (a caller who pressed 1 for an SMS after the ticket was written).
void RedirectAcknowledgement(db::Tx& tx, const std::string& ticket_id, const std::string& channel,
                             const std::string& address);

// Acknowledgements recorded as failed at once because this town had no sender for their channel
// where the report was admitted (workers::Admitter: "no sender for "sms" is configured …"), of
// reports received since `since_unix` (0: all), oldest first, at most `limit`. Contacts erased
// since (privacy) are left out: there is nobody to send to.
struct Unsendable {
  int64_t id = 0;
  std::string reference, channel, received_at;  // received_at: ISO 8601, UTC
};
std::vector<Unsendable> ListUnsendable(db::Tx& tx, int64_t since_unix, int limit);
// Puts those of them on `channels` (the ones a sender is configured for now) back to pending,
// to be sent as any new one, and takes the ticket's flag "<flag>: <channel>" away
// (workers::kFlagAckUnsendable). Returns how many. Status notices not queued meanwhile stay
// unsent.
int64_t ResendUnsendable(db::Tx& tx, const std::set<std::string, std::less<>>& channels,
                         int64_t since_unix, std::string_view flag);

}  // namespace meldestelle::outbox
