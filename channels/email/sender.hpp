#pragma once

#include "core/config.hpp"
#include "core/smtp_client.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::email {

// The citizen's e-mails (docs/channels/email.md): the acknowledgement (email.templates, threaded
// to the citizen's own mail, with the opt-out link for the notices to come; sent with the null
// sender so that bounces never loop, RFC 3834) and the status notices (threaded to our
// acknowledgement, with List-Unsubscribe and one-click unsubscribe, RFC 2369 and RFC 8058).
class AckSender final : public outbox::Sender {
 public:
  AckSender(const Config& config, SmtpRelay relay) : config_(config), relay_(std::move(relay)) {}
  outbox::Plan Prepare(db::Tx& tx, const outbox::Row& row) override;

 private:
  const Config& config_;
  const SmtpRelay relay_;
};

class StatusSender final : public outbox::Sender {
 public:
  StatusSender(const Config& config, SmtpRelay relay) : config_(config), relay_(std::move(relay)) {}
  outbox::Plan Prepare(db::Tx& tx, const outbox::Row& row) override;

 private:
  const Config& config_;
  const SmtpRelay relay_;
};

}  // namespace meldestelle::email
