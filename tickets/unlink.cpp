#include "tickets/unlink.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "core/errors.hpp"
#include "core/sql.hpp"
#include "tickets/events.hpp"

namespace meldestelle::tickets {

Result<UnlinkResult> UnlinkDuplicate(const Config& config, const std::string& reference,
                                     const std::string& by) {
  db::Session db(config.database.url);
  auto r = db.Transact<std::optional<UnlinkResult>>([&](db::Tx& tx) -> std::optional<UnlinkResult> {
    // The row lock makes two concurrent unlinks of the same ticket take turns.
    auto row = tx.exec_params(
        "SELECT t.id::text, t.duplicate_of::text, COALESCE(o.reference, ''), t.department_name,"
        " t.department_id"
        " FROM tickets t LEFT JOIN tickets o ON o.id = t.duplicate_of"
        " WHERE t.reference = $1 FOR UPDATE OF t",
        reference);
    if (row.empty())
      return std::nullopt;
    UnlinkResult out;
    out.department = row[0][3].as<std::string>();
    if (row[0][1].is_null()) {
      tx.commit();
      return out;
    }
    std::string id = row[0][0].as<std::string>();
    std::string was = row[0][1].as<std::string>();
    tx.exec_params0(
        "UPDATE tickets SET status = 'assigned', duplicate_of = NULL, updated_at = now(),"
        " assigned_at = now(), accepted_at = NULL, escalation_level = 0 WHERE id = $1::uuid",
        id);
    HistoryEntry routed;
    routed.actor = by;
    routed.action = "routed";
    routed.from_status = "duplicate";
    routed.to_status = "assigned";
    routed.to_department = row[0][4].as<std::string>();
    routed.details_json = DetailsText({{"unlinked_from", row[0][2].as<std::string>()}});
    int64_t h = RecordHistory(tx, id, routed);
    EnqueueDelivery(tx, config, id, routed.to_department, "new", h);
    tx.exec_params0(
        "DELETE FROM ticket_reporters WHERE ticket_id = $1::uuid AND reporter_ticket_id = $2::uuid",
        was, id);
    tx.exec_params0(
        "INSERT INTO duplicate_unlinks (ticket_id, was_duplicate_of, by) VALUES ($1::uuid,"
        " $2::uuid, $3)",
        id, was, by);
    tx.commit();
    out.kind = UnlinkResult::Kind::kUnlinked;
    out.existing_reference = row[0][2].as<std::string>();
    return out;
  });
  if (!r)
    return r.error();
  if (!r->has_value()) {
    return MakeError(errors::kNotFound, "no ticket with reference " + reference);
  }
  return **r;
}

}  // namespace meldestelle::tickets
