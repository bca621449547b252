// `meldestelle mail-poll`: the IMAP mailbox to the gateway.
#include <atomic>
#include <iostream>
#include <thread>

#include "app/command.hpp"
#include "channels/email/poll.hpp"
#include "channels/email/settings.hpp"
#include "core/log.hpp"

namespace meldestelle::app {

namespace {

const char* kMailPollHelp =
    R"(Usage: meldestelle mail-poll [--config FILE] [--url GATEWAY_URL] [--once]

Polls the IMAP mailbox (email.imap_url, email.imap_user, email.imap_password) every
email.imap_interval_seconds: each message is fetched, handed to the gateway and moved to the
folder "verarbeitet" only after the gateway confirmed it, or to "fehler" when it was refused for
good (with a log line saying why). On a temporary failure it stays in the mailbox for the next
round. --once polls one round and exits (0: all handled, 75: something is left for later).
)";

}  // namespace

int RunMailPoll(const Args& args) {
  if (args.help) {
    std::cout << kMailPollHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kMailPollHelp, "mail-poll"))
    return kExitUsage;
  log::SetComponent("mail-poll");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  const auto& mail = cfg->Get<email::Settings>();
  if (mail.imap_url.empty() || mail.intake_secret.empty()) {
    std::cerr << "meldestelle mail-poll: email.imap_url and email.intake_secret must be set "
                 "(MELDESTELLE_IMAP_URL, MELDESTELLE_MAIL_SECRET)\n";
    return kExitUsage;
  }
  email::MailPoller poller(*cfg, GatewayUrl(*cfg, args));
  if (args.once) {
    auto r = poller.PollOnce();
    if (!r) {
      std::cerr << "meldestelle mail-poll: " << r.error().message << "\n";
      return 75;
    }
    std::cout << "mail-poll: " << r->accepted << " accepted, " << r->refused << " refused, "
              << r->temporary << " left for later\n";
    return r->temporary > 0 ? 75 : kExitOk;
  }
  std::atomic<bool> stop{false};
  std::thread run([&] { poller.Run(stop); });
  signals.Wait();
  stop.store(true);
  run.join();
  return kExitOk;
}

}  // namespace meldestelle::app
