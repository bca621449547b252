// meldestelle: one binary, thin main. Each subcommand parses its flags, loads the config and
// hands over to a component.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "gateway/server.hpp"
#include "routing/rules.hpp"
#include "workers/dead_letters.hpp"
#include "workers/migrations.hpp"
#include "workers/worker.hpp"

#ifndef MELDESTELLE_VERSION
#define MELDESTELLE_VERSION "0.0.0"
#endif

namespace {

using namespace meldestelle;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char* kMainHelp = R"(meldestelle – intake gateway for citizens' defect reports

Usage: meldestelle [--version] [--help] <command> [options]

Commands:
  gateway           serve the HTTP front (web form, API, webhooks, /metrics)
  worker            route queued reports and store tickets
  migrate           create or update the database schema
  rules check FILE  validate a routing rule file
  dead-letters      list the dead-letter queue, or move its messages back (requeue)

Every command takes --config FILE (default: $MELDESTELLE_CONFIG, else
config/example/meldestelle.yaml) and --help.
Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
)";

const char* kGatewayHelp = R"(Usage: meldestelle gateway [--config FILE]

Serves the web form (GET /), the report API (POST /api/v1/reports), the public status
(GET /api/v1/reports/REFERENCE), /healthz, /readyz and /metrics on gateway.listen:gateway.port
(MELDESTELLE_HTTP_PORT in the example config). A report is answered 2xx only after the broker
confirmed it; without a broker the answer is 503 with Retry-After. Stops on SIGINT or SIGTERM.
)";

const char* kWorkerHelp = R"(Usage: meldestelle worker [--config FILE]

Consumes reports from the queue, routes them by the rule file (routing.rules_file) and writes
each ticket with its attachments and acknowledgement in one transaction, then acknowledges the
message. Several workers may run at once. Messages that fail worker.max_attempts times, or that
cannot be parsed, go to the dead-letter queue with the reason. Serves /metrics on
worker.metrics_port (0 = off). Stops on SIGINT or SIGTERM.
)";

const char* kMigrateHelp = R"(Usage: meldestelle migrate [--config FILE]

Creates the database named in database.url if it is missing and applies every schema migration
not yet applied. Safe to run twice, concurrently and on every start.
)";

const char* kRulesHelp = R"(Usage: meldestelle rules check FILE [--config FILE]

Validates a routing rule file: syntax, unknown keys, duplicate ids, unknown departments and
categories (checked against the configuration), rules that can never match. Prints every problem
as FILE:LINE: KEY: REASON and exits 1 if there is any, 0 if the file is valid.
)";

const char* kDeadLettersHelp = R"(Usage: meldestelle dead-letters [list|requeue] [--limit N] [--config FILE]

list     (default) prints up to N (default 20) messages of the dead-letter queue with the
         reason each one failed; they stay in the queue.
requeue  moves up to N messages back onto the work queue, e.g. after the cause was fixed; each
         is republished with a broker confirm before it leaves the dead-letter queue.
)";

struct Args {
  std::string config;
  int limit = 20;
  bool help = false;
  std::vector<std::string> positional;
  std::string error;
};

Args ParseArgs(int argc, char** argv, int start) {
  Args a;
  for (int i = start; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--config" || arg == "-c") {
      if (i + 1 >= argc) {
        a.error = "--config needs a file";
        return a;
      }
      a.config = argv[++i];
    } else if (arg == "--limit") {
      if (i + 1 >= argc || std::atoi(argv[i + 1]) <= 0) {
        a.error = "--limit needs a positive number";
        return a;
      }
      a.limit = std::atoi(argv[++i]);
    } else if (arg.rfind("--config=", 0) == 0) {
      a.config = arg.substr(9);
    } else if (!arg.empty() && arg[0] == '-') {
      a.error = "unknown option " + arg;
      return a;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

std::optional<Config> LoadOrReport(const Args& args) {
  auto path = ResolveConfigPath(args.config);
  auto cfg = LoadConfig(path);
  if (!cfg) {
    std::cerr << cfg.error().message;
    return std::nullopt;
  }
  return std::move(cfg).value();
}

// Blocks SIGINT/SIGTERM in every thread; a dedicated thread waits for them and sets `stop`.
class SignalWaiter {
 public:
  SignalWaiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }
  // Waits for SIGINT or SIGTERM (SIGHUP is ignored for now) and returns.
  void Wait() {
    while (true) {
      int sig = 0;
      if (sigwait(&set_, &sig) == 0 && (sig == SIGINT || sig == SIGTERM)) {
        log::Info("stopping", {{"signal", strsignal(sig)}});
        return;
      }
    }
  }

 private:
  sigset_t set_;
};

int RunGateway(const Args& args) {
  if (args.help) {
    std::cout << kGatewayHelp;
    return kExitOk;
  }
  log::SetComponent("gateway");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  metrics::Registry registry;
  gateway::Gateway gw(*cfg, registry);
  auto port = gw.Start();
  if (!port) {
    std::cerr << "meldestelle gateway: " << port.error().message << "\n";
    return port.error().code == "config_invalid" ? kExitUsage : kExitFailure;
  }
  log::Info("gateway listening", {{"address", cfg->gateway.listen + ":" + std::to_string(*port)},
                                  {"form", "http://" + cfg->gateway.listen + ":" +
                                               std::to_string(*port) + "/"}});
  signals.Wait();
  gw.Stop();
  return kExitOk;
}

int RunWorker(const Args& args) {
  if (args.help) {
    std::cout << kWorkerHelp;
    return kExitOk;
  }
  log::SetComponent("worker");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto rules = routing::LoadRuleSet(cfg->routing.rules_file, &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitUsage;
  }
  metrics::Registry registry;
  httplib::Server metrics_server;
  std::thread metrics_thread;
  if (cfg->worker.metrics_port > 0) {
    metrics_server.Get("/metrics", [&](const auto&, auto& res) {
      res.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (metrics_server.bind_to_port("127.0.0.1", cfg->worker.metrics_port)) {
      metrics_thread = std::thread([&] { metrics_server.listen_after_bind(); });
    } else {
      log::Warn("worker metrics port busy; metrics not served",
                {{"port", std::to_string(cfg->worker.metrics_port)}});
    }
  }
  std::atomic<bool> stop{false};
  workers::Worker worker(*cfg, *rules, registry);
  log::Info("worker starting", {{"rules", (*rules)->version}});
  std::thread run([&] { worker.Run(stop); });
  signals.Wait();
  stop.store(true);
  run.join();
  if (metrics_thread.joinable()) {
    metrics_server.stop();
    metrics_thread.join();
  }
  return kExitOk;
}

int RunMigrate(const Args& args) {
  if (args.help) {
    std::cout << kMigrateHelp;
    return kExitOk;
  }
  log::SetComponent("migrate");
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto applied = workers::Migrate(cfg->database.url);
  if (!applied) {
    std::cerr << "meldestelle migrate: " << applied.error().message << ": "
              << applied.error().detail << "\n";
    return kExitFailure;
  }
  std::cout << "migrate: " << *applied << " migration(s) applied, schema at version "
            << workers::Migrations().back().version << "\n";
  return kExitOk;
}

int RunRules(const Args& args) {
  if (args.help || args.positional.empty()) {
    std::cout << kRulesHelp;
    return args.help ? kExitOk : kExitUsage;
  }
  if (args.positional[0] != "check" || args.positional.size() != 2) {
    std::cerr << "meldestelle rules: expected `rules check FILE`\n" << kRulesHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto rules = routing::LoadRuleSet(args.positional[1], &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitFailure;
  }
  std::cout << args.positional[1] << ": ok, " << (*rules)->rules.size() << " rules, version "
            << (*rules)->version << "\n";
  return kExitOk;
}

int RunDeadLetters(const Args& args) {
  if (args.help) {
    std::cout << kDeadLettersHelp;
    return kExitOk;
  }
  std::string action = args.positional.empty() ? "list" : args.positional[0];
  if ((action != "list" && action != "requeue") || args.positional.size() > 1) {
    std::cerr << "meldestelle dead-letters: expected list or requeue\n" << kDeadLettersHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto n = action == "list" ? workers::ListDeadLetters(*cfg, args.limit, std::cout)
                            : workers::RequeueDeadLetters(*cfg, args.limit, std::cout);
  if (!n) {
    std::cerr << "meldestelle dead-letters: " << n.error().message << ": " << n.error().detail
              << "\n";
    return kExitFailure;
  }
  std::cout << *n << " message(s) " << (action == "list" ? "listed" : "requeued") << " from "
            << cfg->amqp.dead_letter_queue << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kMainHelp;
    return kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::cout << "meldestelle " << MELDESTELLE_VERSION << "\n";
    return kExitOk;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kMainHelp;
    return kExitOk;
  }
  Args args = ParseArgs(argc, argv, 2);
  if (!args.error.empty()) {
    std::cerr << "meldestelle " << cmd << ": " << args.error << "\n";
    return kExitUsage;
  }
  try {
    if (cmd == "gateway") return RunGateway(args);
    if (cmd == "worker") return RunWorker(args);
    if (cmd == "migrate") return RunMigrate(args);
    if (cmd == "rules") return RunRules(args);
    if (cmd == "dead-letters") return RunDeadLetters(args);
  } catch (const std::exception& e) {
    std::cerr << "meldestelle " << cmd << ": " << e.what() << "\n";
    return kExitFailure;
  }
  std::cerr << "meldestelle: unknown command \"" << cmd << "\"\n\n" << kMainHelp;
  return kExitUsage;
}
