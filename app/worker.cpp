// `meldestelle worker`: consumes the queue, routes, writes tickets; the closers and ticket jobs.

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "app/command.hpp"
#include "app/privacy_admin.hpp"
#include "channels/builtin.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "workers/process.hpp"
#include "workers/settings.hpp"

namespace meldestelle::app {

namespace {

const char* kWorkerHelp = R"(Usage: meldestelle worker [--config FILE] [--instance NAME]

Consumes reports from the queue, routes them by the rule file (routing.rules_file) and writes
each ticket with its attachments and acknowledgement in one transaction, then acknowledges the
message. Several workers may run at once. Messages that fail worker.max_attempts times, or that
cannot be parsed, go to the dead-letter queue with the reason. Serves /metrics on
worker.metrics_port (0 = off). Stops on SIGINT or SIGTERM.

Reloads the rules on SIGHUP and when the rule file, its fixtures or an area file change
(routing.reload_interval_ms): the new set is checked fully (rules and fixtures) and swapped in
whole; a set that fails stays out and the previous one stays live. With
routing.shadow_rules_file, a candidate set is evaluated beside the live one and disagreements
are recorded (rules shadow-report).

Chat messages (WhatsApp, Telegram) are merged into drafts per sender; the worker also closes
drafts whose chat.draft_window_seconds have passed: a draft with a place becomes a ticket, one
without is asked for it once and routed after a second window, flagged "Ort fehlt".

Phone calls: the worker joins a call's callbacks, downloads the recording, gets the text
(provider callback, speech-to-text service or none), finds the place in it with the street list
(routing.gazetteer_file) and writes the ticket; recordings are deleted after
phone.recording_retention_days (by the retention pass).

Ticket jobs, every tickets.jobs_interval_ms: tickets a department handed back are routed again
without it (or go to tickets.triage_department); departments that did not accept a ticket in
time are reminded, later the ticket goes to triage (see `meldestelle deadlines --help`). The
routing-quality gauges (`meldestelle stats --help`) are refreshed every minute.

Retention, every privacy.job_interval_minutes: personal data past its period in
privacy.retention is anonymised or deleted (see `meldestelle privacy --help`).

--instance NAME names this worker among those of the machine (the systemd unit passes its
instance, scripts/run its number; a-z, 0-9, - and _). The phone calls it claims for closing carry
the machine's name and NAME; started again after a crash, it takes them up at once instead of
leaving them to their claim (10 minutes). Two workers must never share a NAME on one machine.
)";

}  // namespace

int RunWorker(const Args& args) {
  if (args.help) {
    std::cout << kWorkerHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kWorkerHelp, "worker"))
    return kExitUsage;
  log::SetComponent("worker");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (!SchemaIsCurrent(*cfg, "worker"))
    return kExitFailure;
  auto holder = HolderName(args, "worker");
  if (!holder)
    return kExitUsage;
  metrics::Registry registry;
  channels::Registry channels = channels::BuiltinChannels();
  workers::WorkerProcess worker(*cfg, channels, registry, *holder);
  auto retention = NewRetention(*cfg);
  worker.AddJob([&retention](const std::atomic<bool>& stop) { retention->Run(stop); });
  if (auto st = worker.Start(); !st) {
    // The rules' own errors are complete lines (file:line: key: reason).
    if (st.error().code == errors::kConfigInvalid) {
      std::cerr << "meldestelle worker: " << st.error().message << "\n";
    } else {
      std::cerr << st.error().message;
    }
    return kExitUsage;
  }
  MetricsServer metrics(registry, cfg->Get<workers::Settings>().metrics_port, "worker");
  signals.Wait([&] { worker.RequestReload(); });
  worker.Stop();
  return kExitOk;
}

}  // namespace meldestelle::app
