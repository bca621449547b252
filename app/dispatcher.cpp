// `meldestelle dispatcher`: sends what the outbox holds.
#include "app/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include "app/command.hpp"
#include "channels/builtin.hpp"
#include "channels/chat/settings.hpp"
#include "channels/email/channel.hpp"
#include "channels/email/settings.hpp"
#include "channels/phone/settings.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "core/log.hpp"
#include "tickets/delivery.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::app {

namespace {

const char* kDispatcherHelp =
    R"(Usage: meldestelle dispatcher [--config FILE] [--metrics-port PORT] [--instance NAME]

Sends what the outbox holds. To citizens: acknowledgements with the reference and the
department, status notices, questions for the place, replies to unsupported messages and
follow-ups, by e-mail (SMTP, email.smtp_url), SMS (Twilio), WhatsApp (free text within 24 hours
of the citizen's last message, the configured template whatsapp.template after that) and
Telegram (sendMessage). Each channel has a thread (a lane) of its own, so that a provider that
hangs delays only its own channel. Temporary failures are retried with exponential backoff (or
after the provider's Retry-After) up to chat.send_max_attempts; a send whose answer never came is
recorded as unconfirmed and tried again. The provider's message id and the delivery state are
recorded in the outbox. Several dispatchers may run at once. Stops on SIGINT or SIGTERM.

Another thread delivers tickets to the departments (docs/departments.md): e-mail with the
photos or a signed JSON webhook, every attempt recorded, retried up to
tickets.delivery_max_attempts; a webhook that keeps failing falls back to the department's
e-mail. The forwards to other authorities go out in it too. --metrics-port serves /metrics on
127.0.0.1:PORT (0 = off, the default).

--instance NAME names this dispatcher among those of the machine (the systemd unit passes its
instance, scripts/run its number; a-z, 0-9, - and _). The rows it claims carry the machine's
name and NAME; started again after a crash, it takes up at once the rows it held, instead of
leaving them to wait for their lease (2 minutes for the citizens' messages). Two dispatchers
must never share a NAME on one machine. Without it, rows wait for their lease.
)";

// The lease of a citizens' lane outlasts one attempt's longest timeout (the lease is renewed
// just before each send), so that a slow provider is not sent to twice by another dispatcher.
std::chrono::seconds CitizenLease(const Config& cfg) {
  const int longest = std::max({cfg.Get<chat::Settings>().send_timeout_seconds,
                                cfg.Get<phone::Settings>().sms_timeout_seconds,
                                cfg.Get<email::Settings>().smtp_timeout_seconds});
  return std::max(std::chrono::seconds(120), std::chrono::seconds(2 * longest + 60));
}

outbox::LaneSettings CitizenLane(const Config& cfg, const std::string& channel,
                                 const std::string& holder) {
  return {"citizens-" + channel,
          CitizenLease(cfg),
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

std::vector<LanePlan> DispatcherLanes(const Config& cfg, const channels::Registry& channels,
                                      const std::string& holder, metrics::Registry& registry) {
  // What goes to citizens: each channel adds its senders where its credentials are configured.
  outbox::Senders citizens;
  for (const auto& channel : channels.channels()) {
    if (channel.senders)
      channel.senders(citizens, cfg);
  }
  std::vector<LanePlan> lanes;
  for (const std::string& channel : citizens.Channels())
    lanes.push_back({citizens.Only(channel), CitizenLane(cfg, channel, holder)});
  // To departments and other authorities: deliveries and forwards (one relay's mail to an
  // authority never waits behind a citizen's, nor the other way round).
  outbox::Senders departments;
  tickets::AddDepartmentSenders(departments, cfg, email::Relay(cfg), registry);
  tickets::AddForwardSender(departments, cfg, email::Relay(cfg));
  lanes.push_back({std::move(departments), DepartmentLane(cfg, holder)});
  return lanes;
}

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
  // A lane of the one sending loop per citizens' channel and one for the departments, each in
  // its own thread with its own senders (and connections): a provider that hangs or a slow
  // department webhook holds up only its own lane.
  channels::Registry channels = channels::BuiltinChannels();
  std::vector<std::unique_ptr<outbox::Lane>> lanes;
  for (auto& plan : DispatcherLanes(*cfg, channels, holder, registry)) {
    lanes.push_back(std::make_unique<outbox::Lane>(cfg->database.url, std::move(plan.senders),
                                                   std::move(plan.settings), registry));
  }
  auto on = [](const std::string& secret) { return secret.empty() ? "off" : "on"; };
  log::Info("dispatcher starting", {{"whatsapp", on(cfg->Get<whatsapp::Settings>().access_token)},
                                    {"telegram", on(cfg->Get<telegram::Settings>().bot_token)},
                                    {"lanes", std::to_string(lanes.size())}});
  std::vector<std::thread> threads;
  for (auto& lane : lanes)
    threads.emplace_back([&stop, l = lane.get()] { l->Run(stop, std::chrono::milliseconds(250)); });
  signals.Wait();
  stop.store(true);
  for (auto& t : threads)
    t.join();
  return kExitOk;
}

}  // namespace meldestelle::app
