#include "tickets/notice_limits.hpp"

#include <string>

#include "core/sql.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {
namespace {

constexpr const char* kTypedLimit = "recipient limit";

// An address as the limits compare it (the expression of migration 11's index).
constexpr const char* kAddressKey = "lower(regexp_replace(address, '[\\s()./-]', '', 'g'))";
std::string KeyOf(const std::string& param) {
  return "lower(regexp_replace(" + param + ", '[\\s()./-]', '', 'g'))";
}

// The intake channel whose reports come from an address of this sending channel.
const char* OwnIntake(const std::string& channel) {
  if (channel == "sms")
    return "phone";
  if (channel == "email")
    return "email";
  return nullptr;
}

std::optional<outbox::Plan> TypedRecipientLimit(db::Tx& tx, const NotificationSettings& n,
                                                const outbox::Row& row) {
  if (row.kind == outbox::Kind::kStatus) {
    // The acknowledgement of this ticket to this address was held back, and none of a ticket
    // it is linked with (duplicates) reached the address either: its notices are held too.
    bool held = tx.exec_params1(
                      "SELECT EXISTS (SELECT 1 FROM outbox WHERE ticket_id = $1::uuid"
                      "   AND kind = 'ack' AND address = $2 AND status = 'done'"
                      "   AND last_error LIKE $4 || '%')"
                      " AND NOT EXISTS (SELECT 1 FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                      "   WHERE o.kind = 'ack' AND o.channel = $3 AND o.address = $2"
                      "   AND o.status = 'sent' AND (t.id = $1::uuid OR t.duplicate_of = $1::uuid"
                      "   OR t.id = (SELECT duplicate_of FROM tickets WHERE id = $1::uuid)))",
                      row.ticket_id, row.address, row.channel, kTypedLimit)[0]
                    .as<bool>();
    if (held)
      return outbox::Plan::Skip(std::string(kTypedLimit) + ": its acknowledgement was not sent",
                                "typed_recipient");
    return std::nullopt;
  }
  // Acknowledgements sent to this address in the last hour and day, and those older rows being
  // sent now (a batch is claimed at once; the older row goes first). The address as a key:
  // without case, spaces and punctuation, so that "Opfer@Example.org" or "+49 170-1234" are
  // not new addresses.
  auto r = tx.exec_params1(
      "SELECT count(*) FILTER (WHERE coalesce(sent_at, now()) > now() - interval '1 hour'),"
      " count(*) FROM outbox WHERE channel = $1 AND " +
          std::string(kAddressKey) + " = " + KeyOf("$2") +
          " AND kind = 'ack' AND id <> $3"
          " AND ((status = 'sent' AND sent_at > now() - interval '1 day')"
          "      OR (status = 'sending' AND id < $3))",
      row.channel, row.address, row.id);
  int hour = r[0].as<int>();
  int day = r[1].as<int>();
  if (hour >= n.typed_recipient_per_hour || day >= n.typed_recipient_per_day) {
    return outbox::Plan::Skip(std::string(kTypedLimit) + ": " + std::to_string(hour) +
                                  " this hour, " + std::to_string(day) +
                                  " today to an address typed into a report",
                              "typed_recipient");
  }
  return std::nullopt;
}

}  // namespace

std::optional<outbox::Plan> NoticeLimit(db::Tx& tx, const Config& config, const outbox::Row& row) {
  const char* own = OwnIntake(row.channel);
  if (own == nullptr || row.ticket_id.empty() ||
      (row.kind != outbox::Kind::kAck && row.kind != outbox::Kind::kStatus))
    return std::nullopt;
  const auto& n = config.Get<NotificationSettings>();
  if (row.channel == "sms" && n.sms_per_hour > 0) {
    auto r = tx.exec_params1(
        "SELECT count(*), coalesce(extract(epoch FROM min(sent_at) + interval '1 hour' - now()),"
        " 0)::int FROM outbox WHERE channel = 'sms' AND ((status = 'sent'"
        " AND sent_at > now() - interval '1 hour') OR (status = 'sending' AND id < $1))",
        row.id);
    if (r[0].as<int>() >= n.sms_per_hour) {
      return outbox::Plan::Defer(
          std::max(r[1].as<int>(), 1) + 1,
          "the town's SMS budget of " + std::to_string(n.sms_per_hour) + " an hour is used up",
          "sms_budget");
    }
  }
  auto channel = tx.exec_params("SELECT channel FROM tickets WHERE id = $1::uuid", row.ticket_id);
  if (channel.empty() || channel[0][0].as<std::string>() == own)
    return std::nullopt;
  return TypedRecipientLimit(tx, n, row);
}

}  // namespace meldestelle::tickets
