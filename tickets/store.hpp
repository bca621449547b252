#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/envelope.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"

namespace meldestelle::tickets {

// Writes tickets. One instance per thread (it owns one database connection).
class TicketStore {
 public:
  explicit TicketStore(const Config& config)
      : config_(config), duplicates_(config.duplicates), session_(config.database.url) {}

  // kDuplicate: the same message again (redelivery), nothing written. kLinked: a new report of
  // an already open ticket (docs/duplicates.md), stored with status 'duplicate'.
  enum class Outcome { kCreated, kDuplicate, kLinked };

  // In one transaction: the ticket (idempotent on channel + channel message id), its attachments,
  // the raw payload, the acknowledgement outbox row and, in shadow mode, the candidate's
  // disagreeing decision (`shadow`, may be null), the history's "routed" entry and the delivery
  // to the department (docs/departments.md). A redelivery changes nothing. A report of the
  // same category near an open ticket is linked to it (duplicate_of, ticket_reporters) and its
  // acknowledgement names the existing reference; `linked_reference` (may be null) receives it.
  Result<Outcome> CreateTicket(const Envelope& envelope, const routing::Decision& decision,
                               const std::string& department_name,
                               const routing::Decision* shadow = nullptr,
                               std::string* linked_reference = nullptr,
                               const nlohmann::json* ack_extra = nullptr);

  Status Ping();

 private:
  const Config& config_;
  Config::Duplicates duplicates_;
  db::Session session_;
};

}  // namespace meldestelle::tickets
