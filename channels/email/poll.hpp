#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "channels/email/settings.hpp"
#include "core/config.hpp"
#include "core/result.hpp"

namespace meldestelle::email {

// Outcome of handing one raw mail to the gateway (POST /api/v1/mail).
enum class Delivery { kAccepted, kRefused, kTemporary };
struct Handed {
  Delivery delivery = Delivery::kTemporary;
  std::string detail;  // reference, or why
};
// Posts `raw` to the gateway with the mail secret. 2xx → accepted; 413/422 → refused (the
// message itself is bad: permanent); anything else (unreachable, 5xx, wrong secret) → temporary.
Handed HandToGateway(const std::string& gateway_url, const std::string& secret,
                     const std::string& source, const std::string& raw);

// IMAP polling with libcurl (docs/channels/email.md): every message in the mailbox is fetched,
// handed to the gateway, and moved — to "verarbeitet" only after the gateway confirmed it (which
// it does after the broker's confirm), to "fehler" when the gateway refused it for good; on a
// temporary failure it stays and is tried again next round. A restart therefore misses nothing,
// and a message fetched twice (moved too late) gets its first reference back from the gateway.
class MailPoller {
 public:
  MailPoller(const Config& config, std::string gateway_url);
  struct Round {
    int accepted = 0, refused = 0, temporary = 0;
  };
  Result<Round> PollOnce();
  void Run(const std::atomic<bool>& stop);

 private:
  Result<std::string> Imap(const std::string& url, const std::string& custom_request);
  const Settings& settings_;
  std::string gateway_url_;
};

}  // namespace meldestelle::email
