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
  // the raw payload, the acknowledgement outbox row and, in shadow mode, the candidate's
  // disagreeing decision (`shadow`, may be null). A duplicate changes nothing.
  Result<Outcome> CreateTicket(const Envelope& envelope, const routing::Decision& decision,
                               const std::string& department_name,
                               const routing::Decision* shadow = nullptr);

  Status Ping();

 private:
  Status EnsureConnected();
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace meldestelle::workers
