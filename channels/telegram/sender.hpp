#pragma once

#include "core/config.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::telegram {

// Sends acknowledgements, status notices and chat replies with the Bot API's sendMessage
// (docs/channels/telegram.md), quoting the citizen's message where there is one; Telegram's
// retry_after is respected.
class Sender final : public outbox::Sender {
 public:
  explicit Sender(const Config& config) : config_(config) {}
  outbox::Plan Prepare(db::Tx& tx, const outbox::Row& row) override;

 private:
  const Config& config_;
};

}  // namespace meldestelle::telegram
