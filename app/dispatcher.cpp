// `meldestelle dispatcher`: sends what the outbox holds.
#include <atomic>
#include <iostream>
#include <thread>

#include "app/command.hpp"
#include "core/log.hpp"
#include "workers/chat_dispatcher.hpp"
#include "workers/department_dispatcher.hpp"

namespace meldestelle::app {

namespace {

const char* kDispatcherHelp = R"(Usage: meldestelle dispatcher [--config FILE] [--metrics-port PORT]

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
)";

}  // namespace

int RunDispatcher(const Args& args) {
  if (args.help) {
    std::cout << kDispatcherHelp;
    return kExitOk;
  }
  log::SetComponent("dispatcher");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  metrics::Registry registry;
  std::atomic<bool> stop{false};
  MetricsServer metrics(registry, args.metrics_port, "dispatcher");
  workers::ChatDispatcher dispatcher(*cfg, registry);
  workers::DepartmentDispatcher departments(*cfg, registry);
  log::Info("dispatcher starting", {{"whatsapp", cfg->whatsapp.access_token.empty() ? "off" : "on"},
                                    {"telegram", cfg->telegram.bot_token.empty() ? "off" : "on"}});
  std::thread run([&] { dispatcher.Run(stop, std::chrono::milliseconds(250)); });
  std::thread deliveries([&] { departments.Run(stop, std::chrono::milliseconds(250)); });
  signals.Wait();
  stop.store(true);
  run.join();
  deliveries.join();
  return kExitOk;
}

}  // namespace meldestelle::app
