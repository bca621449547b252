#pragma once

#include "core/config.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::whatsapp {

// Sends acknowledgements, status notices and chat replies through the WhatsApp Cloud API
// (docs/channels/whatsapp.md, "Replies"): free text within 24 hours of the citizen's last message,
// the approved template (whatsapp.template) after that or when a receipt said the window had
// closed (131047). Answers from the business number the citizen wrote to.
class Sender final : public outbox::Sender {
 public:
  explicit Sender(const Config& config) : config_(config) {}
  outbox::Plan Prepare(db::Tx& tx, const outbox::Row& row) override;

 private:
  const Config& config_;
};

// Whether a failed-delivery receipt with this error code calls for the template (131047: the
// 24-hour window had closed).
bool ResendAsTemplate(int error_code);

}  // namespace meldestelle::whatsapp
