#pragma once

#include <memory>
#include <pqxx/pqxx>

#include "channels/email/message.hpp"
#include "core/config.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/store.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::workers {

// Turns an accepted e-mail into what it is (docs/channels/email.md): a bounce of one of our
// acknowledgements (that delivery is marked failed; no ticket), a reply to one of our mails or a
// mail naming a reference (a follow-up to that ticket, never a new one; robots included, without
// an answer), or a new report: text without quotes and signature, photos stripped with their EXIF
// position, other attachments kept for staff, the place from a photo or from an address in the
// text (gazetteer), routed and stored with a threaded acknowledgement — none for robots.
// Idempotent: the ticket is unique on the Message-ID; follow-ups and bounces are remembered.
class MailIntake {
 public:
  MailIntake(const Config& config, const RuleSource& rules, const routing::Gazetteer* gazetteer,
             metrics::Registry& registry);
  Status Process(const email::Message& message);

 private:
  const Config& config_;
  const RuleSource& rules_;
  const routing::Gazetteer* gazetteer_;
  BlobStore blobs_;
  tickets::TicketStore store_;
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Counter& reports_;
  metrics::Counter& followups_;
  metrics::Counter& bounces_;
};

}  // namespace meldestelle::workers
