#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "core/envelope.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"

namespace meldestelle::workers {

// Writes tickets. One instance per thread (it owns one database connection).
class TicketStore {
 public:
  explicit TicketStore(std::string url) : url_(std::move(url)) {}

  enum class Outcome { kCreated, kDuplicate };

  // In one transaction: the ticket (idempotent on channel + channel message id), its attachments,
  // the raw payload and the acknowledgement outbox row. A duplicate changes nothing.
  Result<Outcome> CreateTicket(const Envelope& envelope, const routing::Decision& decision,
                               const std::string& department_name);

  Status Ping();

 private:
  Status EnsureConnected();
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace meldestelle::workers
