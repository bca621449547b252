#pragma once

#include "core/config.hpp"
#include "core/http_client.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::phone {

// Sends acknowledgements and status notices as SMS through the provider's Messages API
// (docs/channels/phone.md): short, one SMS where possible, no chat phrases.
class SmsSender final : public outbox::Sender {
 public:
  explicit SmsSender(const Config& config) : config_(config) {}
  outbox::Plan Prepare(db::Tx& tx, const outbox::Row& row) override;

 private:
  const Config& config_;
  HttpClient http_;
};

}  // namespace meldestelle::phone
