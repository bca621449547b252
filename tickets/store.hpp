#pragma once

#include <string>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/envelope.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

// What the admit step hands the store for one report: the report (with its raw payload), how the
// live rules routed it, and what the candidate rules would have done instead.
struct NewTicket {
  const Envelope& envelope;
  const routing::Decision& decision;
  std::string department_name;
  const routing::Decision* shadow = nullptr;  // the candidate's disagreeing decision, if any
  std::string ack_extra;  // a JSON object of channel specifics for the acknowledgement's sender
  // Non-empty: no channel can send the acknowledgement (its channel is unknown); its outbox row
  // is recorded as failed at once with this error.
  std::string ack_unsendable;
};

// Writes tickets. One instance per thread (it owns one database connection).
class TicketStore {
 public:
  explicit TicketStore(const Config& config)
      : config_(config),
        duplicates_(config.Get<DuplicateSettings>()),
        session_(config.database.url) {}

  // kRedelivered: the same message again, nothing written. kLinked: a new report of an already
  // open ticket (docs/duplicates.md), stored with status 'duplicate'. kConflict: another
  // report (another channel or channel message id) whose id or reference a ticket has already;
  // nothing written, `conflict` says which.
  enum class Outcome { kCreated, kRedelivered, kLinked, kConflict };
  struct Created {
    Outcome outcome = Outcome::kCreated;
    std::string linked_reference;  // kLinked: the open ticket's reference
    std::string conflict;          // kConflict: why, for the dead letter
  };

  // In one transaction: the ticket (idempotent on channel + channel message id), its attachments,
  // the raw payload, the acknowledgement in the outbox (and the forward, when the rules forward
  // the report), in shadow mode the candidate's disagreeing decision, the history's "routed"
  // entry and the delivery to the department (docs/departments.md). A report of the same category
  // near an open ticket is linked to it (duplicate_of, ticket_reporters) and its acknowledgement
  // names the existing reference.
  Result<Created> Create(const NewTicket& t);

  Status Ping();

 private:
  const Config& config_;
  tickets::DuplicateSettings duplicates_;
  db::Session session_;
};

}  // namespace meldestelle::tickets
