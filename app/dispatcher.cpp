// `meldestelle dispatcher`: sends what the outbox holds.
#include "outbox/dispatcher.hpp"

#include <atomic>
#include <iostream>
#include <thread>

#include "app/command.hpp"
#include "channels/builtin.hpp"
#include "channels/chat/settings.hpp"
#include "channels/email/channel.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "core/log.hpp"
#include "tickets/delivery.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::app {

namespace {

const char* kDispatcherHelp =
    R"(Usage: meldestelle dispatcher [--config FILE] [--metrics-port PORT] [--instance NAME]

Sends what the outbox holds for the chat channels: acknowledgements with the reference and the
department, questions for the place, replies to unsupported messages and follow-ups. WhatsApp
gets free text within 24 hours of the citizen's last message and the configured template
(whatsapp.template) after that; Telegram gets sendMessage. Temporary failures are retried with
exponential backoff up to chat.send_max_attempts; the provider's message id and the delivery
state are recorded in the outbox. Several dispatchers may run at once. Stops on SIGINT or SIGTERM.

A second thread delivers tickets to the departments (docs/departments.md): e-mail with the
photos (SMTP, email.smtp_url) or a signed JSON webhook, every attempt recorded, retried up to
tickets.delivery_max_attempts; a webhook that keeps failing falls back to the department's
e-mail. --metrics-port serves /metrics on 127.0.0.1:PORT (0 = off, the default).

--instance NAME names this dispatcher among those of the machine (the systemd unit passes its
instance, scripts/run its number; a-z, 0-9, - and _). The rows it claims carry the machine's
name and NAME; started again after a crash, it takes up at once the rows it held, instead of
leaving them to wait for their lease (2 minutes for the citizens' messages). Two dispatchers
must never share a NAME on one machine. Without it, rows wait for their lease.
)";

// What goes to citizens (each channel adds its senders where its credentials are configured)
// and to other authorities.
outbox::Senders CitizenSenders(const Config& cfg, const channels::Registry& channels) {
  outbox::Senders s;
  for (const auto& channel : channels.channels()) {
    if (channel.senders)
      channel.senders(s, cfg);
  }
  tickets::AddForwardSender(s, cfg, email::Relay(cfg));
  return s;
}

outbox::Senders DepartmentSenders(const Config& cfg, metrics::Registry& registry) {
  outbox::Senders s;
  tickets::AddDepartmentSenders(s, cfg, email::Relay(cfg), registry);
  return s;
}

outbox::LaneSettings CitizenLane(const Config& cfg, const std::string& holder) {
  return {"citizens",
          std::chrono::seconds(120),
          cfg.Get<chat::Settings>().send_max_attempts,
          4,
          "meldestelle_chat_replies_total",
          "Chat replies attempted, by outcome.",
          holder,
          outbox::kTakeoverGrace};
}

outbox::LaneSettings DepartmentLane(const Config& cfg, const std::string& holder) {
  const auto& tickets = cfg.Get<tickets::Settings>();
  // The lease outlasts one attempt's timeout, so a slow receiver is not sent to twice.
  return {"departments",
          std::chrono::seconds(2 * tickets.delivery_timeout_seconds + 60),
          tickets.delivery_max_attempts,
          4,
          "meldestelle_department_deliveries_total",
          "Department delivery attempts, by channel and outcome.",
          holder,
          outbox::kTakeoverGrace};
}

}  // namespace

int RunDispatcher(const Args& args) {
  if (args.help) {
    std::cout << kDispatcherHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kDispatcherHelp, "dispatcher"))
    return kExitUsage;
  log::SetComponent("dispatcher");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (!SchemaIsCurrent(*cfg, "dispatcher"))
    return kExitFailure;
  auto holder_name = HolderName(args, "dispatcher");
  if (!holder_name)
    return kExitUsage;
  const std::string& holder = *holder_name;
  metrics::Registry registry;
  std::atomic<bool> stop{false};
  MetricsServer metrics(registry, args.metrics_port, "dispatcher");
  // Two lanes of the one sending loop, so that a slow department webhook never holds up the
  // citizens' acknowledgements; each with its own senders (and connections).
  channels::Registry channels = channels::BuiltinChannels();
  outbox::Lane citizens(cfg->database.url, CitizenSenders(*cfg, channels),
                        CitizenLane(*cfg, holder), registry);
  outbox::Lane departments(cfg->database.url, DepartmentSenders(*cfg, registry),
                           DepartmentLane(*cfg, holder), registry);
  auto on = [](const std::string& secret) { return secret.empty() ? "off" : "on"; };
  log::Info("dispatcher starting", {{"whatsapp", on(cfg->Get<whatsapp::Settings>().access_token)},
                                    {"telegram", on(cfg->Get<telegram::Settings>().bot_token)}});
  std::thread run([&] { citizens.Run(stop, std::chrono::milliseconds(250)); });
  std::thread deliveries([&] { departments.Run(stop, std::chrono::milliseconds(250)); });
  signals.Wait();
  stop.store(true);
  run.join();
  deliveries.join();
  return kExitOk;
}

}  // namespace meldestelle::app
