// `meldestelle worker`: consumes the queue, routes, writes tickets; the closers and ticket jobs.
#include "workers/worker.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "app/command.hpp"
#include "core/log.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/jobs.hpp"
#include "workers/chat_drafts.hpp"
#include "workers/phone_calls.hpp"
#include "workers/rule_source.hpp"

namespace meldestelle::app {

namespace {

const char* kWorkerHelp = R"(Usage: meldestelle worker [--config FILE]

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
phone.recording_retention_days.

Ticket jobs, every tickets.jobs_interval_ms: tickets a department handed back are routed again
without it (or go to tickets.triage_department); departments that did not accept a ticket in
time are reminded, later the ticket goes to triage (see `meldestelle deadlines --help`). The
routing-quality gauges (`meldestelle stats --help`) are refreshed every minute.
)";

}  // namespace

int RunWorker(const Args& args) {
  if (args.help) {
    std::cout << kWorkerHelp;
    return kExitOk;
  }
  log::SetComponent("worker");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  metrics::Registry registry;
  workers::RuleSource rules(*cfg, registry);
  if (auto st = rules.LoadInitial(); !st) {
    std::cerr << st.error().message;
    return kExitUsage;
  }
  std::optional<routing::Gazetteer> gazetteer;
  if (!cfg->routing.gazetteer_file.empty()) {
    auto g = routing::LoadGazetteer(cfg->routing.gazetteer_file);
    if (!g) {
      std::cerr << "meldestelle worker: " << g.error().message << "\n";
      return kExitUsage;
    }
    gazetteer = std::move(g).value();
  }
  MetricsServer metrics(registry, cfg->worker.metrics_port, "worker");
  std::atomic<bool> stop{false};
  workers::Worker worker(*cfg, rules, registry, gazetteer ? &*gazetteer : nullptr);
  log::Info("worker starting", {{"rules", rules.Current().live->version}});
  std::thread run([&] { worker.Run(stop); });
  std::thread reloader([&] { rules.Run(stop); });
  workers::DraftCloser closer(*cfg, rules, registry);
  workers::PhoneCloser calls(*cfg, rules, gazetteer ? &*gazetteer : nullptr, registry);
  std::thread phone_thread([&] { calls.Run(stop, std::chrono::milliseconds(500)); });
  // Drafts are checked often enough that a window closes within a quarter of its length.
  auto interval =
      std::chrono::milliseconds(std::clamp(cfg->chat.draft_window_seconds * 250, 200, 1000));
  std::thread drafts([&] { closer.Run(stop, interval); });
  tickets::TicketJobs jobs(
      *cfg, [&] { return rules.Current().live; }, &registry);
  std::thread jobs_thread(
      [&] { jobs.Run(stop, std::chrono::milliseconds(cfg->tickets.jobs_interval_ms)); });
  signals.Wait([&] { rules.RequestReload(); });
  stop.store(true);
  rules.Wake();
  reloader.join();
  drafts.join();
  jobs_thread.join();
  phone_thread.join();
  run.join();
  return kExitOk;
}

}  // namespace meldestelle::app
