// meldestelle: one binary, thin main. Each subcommand parses its flags, loads the config and
// hands over to a component.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"
#include "gateway/server.hpp"
#include "routing/rules.hpp"
#include "core/db.hpp"
#include "workers/api_tokens.hpp"
#include "workers/chat_dispatcher.hpp"
#include "workers/department_dispatcher.hpp"
#include "workers/chat_drafts.hpp"
#include "workers/phone_calls.hpp"
#include "routing/gazetteer.hpp"
#include "workers/dead_letters.hpp"
#include "workers/mail_poll.hpp"
#include "routing/fixtures.hpp"
#include "workers/migrations.hpp"
#include "workers/rule_history.hpp"
#include "workers/rule_source.hpp"
#include "workers/replay.hpp"
#include "workers/routing_stats.hpp"
#include "workers/ticket_jobs.hpp"
#include "workers/unlink.hpp"
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
  worker            route queued reports and store tickets; close chat drafts
  dispatcher        send replies from the outbox: chat (WhatsApp, Telegram), SMS, e-mail
  mailgate          hand one e-mail from stdin to the gateway (for the mail server's pipe)
  mail-poll         fetch e-mail from the IMAP mailbox and hand it to the gateway
  migrate           create or update the database schema
  rules check       validate the routing rules (and the areas they use), run their fixtures
  rules explain     show which rule routes a report file, and why
  rules shadow-report  where the candidate rule set disagreed with the live one
  rules promote     make the candidate rule set live (keeping the previous for rollback)
  rules rollback    bring the previous rule set back
  rules replay      re-route stored tickets with a candidate rule set: who would move where
  dead-letters      list the dead-letter queue, or move its messages back (requeue)
  tickets unlink    make a report linked as a duplicate its own open ticket again
  token             create, list and revoke the staff API's tokens (per department, operator)
  deadlines run     one pass of the ticket jobs (re-routing, acceptance deadlines) at a time
  stats             routing quality per rule and department: misroutes, escalations, times

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

const char* kMailgateHelp = R"(Usage: meldestelle mailgate [--config FILE] [--url GATEWAY_URL] < message

Reads one RFC 5322 message from stdin and hands it to the gateway (POST /api/v1/mail with the
bearer secret email.intake_secret). Meant to be piped into by the town's mail server, e.g. a
Postfix transport (docs/channels/email.md). GATEWAY_URL defaults to the configured gateway
address. Exit codes as sendmail/Postfix expect them:
  0   accepted (the reference is printed)
  65  refused for good (too large, too many attachments, not a message): the MTA bounces it
      with the reason printed on stderr
  75  temporary failure (gateway or broker unavailable): the MTA keeps it and retries
)";

const char* kMailPollHelp = R"(Usage: meldestelle mail-poll [--config FILE] [--url GATEWAY_URL] [--once]

Polls the IMAP mailbox (email.imap_url, email.imap_user, email.imap_password) every
email.imap_interval_seconds: each message is fetched, handed to the gateway and moved to the
folder "verarbeitet" only after the gateway confirmed it, or to "fehler" when it was refused for
good (with a log line saying why). On a temporary failure it stays in the mailbox for the next
round. --once polls one round and exits (0: all handled, 75: something is left for later).
)";

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

const char* kTicketsHelp = R"(Usage: meldestelle tickets unlink REFERENCE [--config FILE]

A report linked to an open ticket as its duplicate (docs/duplicates.md) becomes its own open
ticket again, for the department its own routing chose when it arrived. The unlinking is
recorded (duplicate_unlinks, with $USER). Running it again changes nothing.
Exit codes: 0 unlinked or not linked, 1 unknown reference or database failure.
)";

const char* kTokenHelp = R"(Usage: meldestelle token create --department ID [--label TEXT] [--config FILE]
       meldestelle token create --operator [--label TEXT]
       meldestelle token list [--format text|json]
       meldestelle token revoke ID

Tokens let departments use the staff API (/api/v1/tickets) and the staff inbox (/staff); see
docs/api.md. A department token sees and works only that department's tickets; an operator token
sees all of them. `create` prints the token once: it is stored only as a SHA-256 hash, so keep it
(a lost token is revoked and replaced). The label (a person's or a system's name) appears in the
ticket history as who acted. `revoke` takes the id from `list`; it takes effect at once.
Exit codes: 0 success, 1 database failure or unknown token id, 2 usage error.
)";

const char* kMigrateHelp = R"(Usage: meldestelle migrate [--config FILE]

Creates the database named in database.url if it is missing and applies every schema migration
not yet applied. Safe to run twice, concurrently and on every start.
)";

const char* kRulesHelp = R"(Usage: meldestelle rules check [FILE] [--tests FILE] [--config FILE]
       meldestelle rules explain [--format text|json] [--config FILE] REPORT.json
       meldestelle rules shadow-report [--since DATE] [--format text|json] [--config FILE]
       meldestelle rules promote [CANDIDATE] [--config FILE]
       meldestelle rules rollback [--config FILE]

check    validates a routing rule file (default: routing.rules_file of the config): syntax,
         unknown keys, duplicate ids, unknown departments, categories, category groups, areas,
         points and lines, invalid regular expressions, invalid GeoJSON polygons (routing.areas),
         unreachable rules. Then runs the fixture file (--tests FILE, default: rules-tests.yaml
         beside rules.yaml, i.e. NAME-tests.yaml beside NAME.yaml) and lists every case routed
         elsewhere than expected. Prints every problem as FILE:LINE: KEY: REASON and exits 1 if
         there is any, 0 if the rules are valid and every fixture passes.
explain  routes one report with the configured rules and prints the department, the matching
         rule, the conditions that held with the values they saw, and for each earlier rule why
         it did not match. REPORT.json is a normalized report (docs/report-schema.md) or just
         {"description", "lat", "lon", "channel", "category", "received_at", "photo"}; all keys
         are optional. --format json prints {"department", "category", "rule",
         "ruleset_version", "conditions": [...], "rejected": [{"rule", "reason"}], ...}.
shadow-report  counts the tickets the candidate set (routing.shadow_rules_file) would have
         routed elsewhere, by live department -> candidate department and candidate rule, with
         example references; --since DATE (e.g. 2025-06-01) limits the period.
promote  checks the candidate (default routing.shadow_rules_file) with its fixtures, keeps the
         live rules.yaml (and rules-tests.yaml) as *.previous and puts the candidate in its
         place; running workers reload it. Recorded in ruleset_swaps.
rollback exchanges rules.yaml with rules.yaml.previous (after checking it). Recorded too.
Exit codes: 0 success, 1 invalid rules or failed fixtures, 2 usage error or unreadable report.

See also `meldestelle rules replay --help`.
)";

const char* kReplayHelp = R"(Usage: meldestelle rules replay --rules CANDIDATE.yaml [--config FILE] [--since DATE]
                               [--until DATE] [--format text|json] [--examples N] [--quiet]

Re-routes the tickets stored in database.url with the candidate rule set and prints how many
would move from which department to which, by the candidate's rule, with up to N (default 3)
example references per line, and the totals (unchanged / moved). Changes nothing: the tickets
are read in one READ ONLY, REPEATABLE READ transaction and streamed, so memory stays small for
any number of tickets.

--rules FILE     the candidate rule file; it is checked like `rules check` first (exit 2 with
                 every problem if it fails). Areas and departments come from the config.
--since DATE     only tickets received at or after DATE
--until DATE     only tickets received before DATE; a bare date includes that whole day
                 DATE is ISO 8601: 2026-11-01 (midnight in town.timezone), 2026-11-01T08:00,
                 2026-11-01T08:00:00Z or 2026-11-01T08:00:00+01:00 (no offset = town time)
--format json    {"total", "unchanged", "moved", "moves": [{"from", "to", "rule", "count",
                 "examples"}], "ruleset_version", "since", "until", "seconds", ...}
--examples N     example references per line (0 = none)
--quiet          no progress on stderr (progress is shown only when stderr is a terminal)
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error or invalid candidate.
)";

const char* kDeadlinesHelp = R"(Usage: meldestelle deadlines run [--now TIME] [--config FILE]

Runs one pass of the ticket jobs every worker runs every tickets.jobs_interval_ms, as if the time
were TIME (default: now), and prints what it did, one ticket per line:
- handed-back tickets are routed again by the live rules (routing.rules_file) without the
  departments that handed them back; if no rule of another department matches, they go to
  tickets.triage_department (default: the rules' default department);
- a department that has not accepted a ticket within remind_after (its own, else tickets:) is
  reminded; after reassign_after the ticket goes to the triage department.
Each change is recorded in the ticket's history, with the department's delivery and the
citizens' notification queued in the outbox. Running it twice at the same TIME changes nothing.
TIME is ISO 8601: 2026-12-01T15:00, 2026-12-01T15:00:00+01:00 or ...Z (no offset = town time).
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error.
)";

const char* kStatsHelp = R"(Usage: meldestelle stats [--since DATE] [--until DATE] [--format text|json] [--config FILE]

Routing quality of the tickets received in the period, per rule (the rule that first routed the
ticket) and per department (the department it was first routed to; the times by the department
that has it now), sorted by misroute rate:
  routed       tickets (linked duplicates do not count)
  handed back  of those, tickets the first department handed back
  misroute     handed back / routed: the rule to fix is at the top
  escalated    rules: tickets moved to triage for a missed acceptance deadline; departments:
               tickets this department let escalate
  accept p50/p90, done p50/p90  median and 90th percentile of the time from the ticket's
               creation to its acceptance, and to done
Reads in one READ ONLY transaction. DATE as for `rules replay` (2026-11-01, midnight in
town.timezone; --until includes a bare date's whole day).
--format json  {"since", "until", "rules": [{"rule", "routed", "handed_back", "misroute_rate",
               "escalated", "accepted", "accept_seconds": {"p50", "p90"}, "done",
               "done_seconds": {"p50", "p90"}}], "departments": [{"department", ...}]}
Exit codes: 0 success, 1 database unreachable or failing, 2 usage error.
)";

const char* kDeadLettersHelp = R"(Usage: meldestelle dead-letters [list|requeue] [--limit N] [--config FILE]

list     (default) prints up to N (default 20) messages of the dead-letter queue with the
         reason each one failed; they stay in the queue.
requeue  moves up to N messages back onto the work queue, e.g. after the cause was fixed; each
         is republished with a broker confirm before it leaves the dead-letter queue.
)";

struct Args {
  std::string config;
  std::string tests;
  std::string since;
  std::string format = "text";
  int limit = 20;
  bool help = false;
  bool quiet = false;
  std::string rules;       // rules replay --rules
  std::string until;       // rules replay --until, stats --until
  std::string now;         // deadlines run --now
  int examples = 3;        // rules replay --examples
  std::string url;         // mailgate / mail-poll --url
  bool once = false;       // mail-poll --once
  std::string department;  // token create --department
  std::string label;       // token create --label
  bool operator_role = false;  // token create --operator
  int metrics_port = 0;    // dispatcher --metrics-port
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
    } else if (arg == "--tests" || arg == "--since") {
      if (i + 1 >= argc) {
        a.error = arg + " needs a value";
        return a;
      }
      (arg == "--tests" ? a.tests : a.since) = argv[++i];
    } else if (arg == "--limit") {
      if (i + 1 >= argc || std::atoi(argv[i + 1]) <= 0) {
        a.error = "--limit needs a positive number";
        return a;
      }
      a.limit = std::atoi(argv[++i]);
    } else if (arg == "--url") {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        a.error = "--url needs a value";
        return a;
      }
      a.url = argv[++i];
    } else if (arg == "--metrics-port") {
      char* end = nullptr;
      long n = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : -1;
      if (i + 1 >= argc || *end != '\0' || n < 0 || n > 65535) {
        a.error = "--metrics-port needs a port from 0 to 65535";
        return a;
      }
      a.metrics_port = static_cast<int>(n);
      ++i;
    } else if (arg == "--once") {
      a.once = true;
    } else if (arg == "--operator") {
      a.operator_role = true;
    } else if (arg == "--department" || arg == "--label") {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        a.error = arg + " needs a value";
        return a;
      }
      (arg == "--department" ? a.department : a.label) = argv[++i];
    } else if (arg == "--quiet" || arg == "-q") {
      a.quiet = true;
    } else if (arg == "--rules" || arg == "--until" || arg == "--now") {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        a.error = arg + " needs a value";
        return a;
      }
      std::string& target = arg == "--rules" ? a.rules : arg == "--now" ? a.now : a.until;
      target = argv[++i];
    } else if (arg == "--examples") {
      char* end = nullptr;
      long n = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : -1;
      if (i + 1 >= argc || *end != '\0' || n < 0 || n > 1000) {
        a.error = "--examples needs a number from 0 to 1000";
        return a;
      }
      a.examples = static_cast<int>(n);
      ++i;
    } else if (arg == "--format") {
      if (i + 1 >= argc || (std::string(argv[i + 1]) != "text" &&
                            std::string(argv[i + 1]) != "json")) {
        a.error = "--format needs text or json";
        return a;
      }
      a.format = argv[++i];
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

// Blocks SIGINT/SIGTERM/SIGHUP in every thread (construct it before starting threads); Wait()
// receives them synchronously with sigwait, so no work happens in a signal handler.
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
  // Waits for SIGINT or SIGTERM and returns; calls `on_hup` for each SIGHUP (ignored if empty).
  void Wait(const std::function<void()>& on_hup = {}) {
    while (true) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) {
        continue;
      }
      if (sig == SIGINT || sig == SIGTERM) {
        log::Info("stopping", {{"signal", strsignal(sig)}});
        return;
      }
      if (sig == SIGHUP && on_hup) {
        log::Info("reload requested", {{"signal", strsignal(sig)}});
        on_hup();
      }
    }
  }

 private:
  sigset_t set_;
};

// /metrics of a background process on 127.0.0.1:port (0 = off), served until destruction.
class MetricsServer {
 public:
  MetricsServer(metrics::Registry& registry, int port, const char* process) {
    if (port <= 0) return;
    server_.Get("/metrics", [&registry](const auto&, auto& res) {
      res.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (server_.bind_to_port("127.0.0.1", port)) {
      thread_ = std::thread([this] { server_.listen_after_bind(); });
    } else {
      log::Warn(std::string(process) + " metrics port busy; metrics not served",
                {{"port", std::to_string(port)}});
    }
  }
  ~MetricsServer() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  httplib::Server server_;
  std::thread thread_;
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
  auto interval = std::chrono::milliseconds(
      std::clamp(cfg->chat.draft_window_seconds * 250, 200, 1000));
  std::thread drafts([&] { closer.Run(stop, interval); });
  workers::TicketJobs jobs(*cfg, [&] { return rules.Current().live; }, &registry);
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

int RunDispatcher(const Args& args) {
  if (args.help) {
    std::cout << kDispatcherHelp;
    return kExitOk;
  }
  log::SetComponent("dispatcher");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
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

std::string GatewayUrl(const Config& cfg, const Args& args) {
  if (!args.url.empty()) return args.url;
  std::string host = cfg.gateway.listen == "0.0.0.0" ? "127.0.0.1" : cfg.gateway.listen;
  return "http://" + host + ":" + std::to_string(cfg.gateway.port);
}

int RunMailgate(const Args& args) {
  constexpr int kExDataErr = 65, kExTempFail = 75;
  if (args.help) {
    std::cout << kMailgateHelp;
    return kExitOk;
  }
  log::SetComponent("mailgate");
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExTempFail;  // a broken config must not bounce citizens' mail
  if (cfg->email.intake_secret.empty()) {
    std::cerr << "meldestelle mailgate: email.intake_secret is not set (MELDESTELLE_MAIL_SECRET)\n";
    return kExTempFail;
  }
  std::string raw;
  char buf[65536];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    raw.append(buf, static_cast<size_t>(std::cin.gcount()));
    if (static_cast<int64_t>(raw.size()) > cfg->email.max_message_bytes) {
      std::cerr << "meldestelle mailgate: message larger than " << cfg->email.max_message_bytes
                << " bytes; refused\n";
      return kExDataErr;
    }
  }
  auto h = workers::HandToGateway(GatewayUrl(*cfg, args), cfg->email.intake_secret, "mailgate",
                                  raw);
  switch (h.delivery) {
    case workers::Delivery::kAccepted:
      std::cout << h.detail << "\n";
      return kExitOk;
    case workers::Delivery::kRefused:
      std::cerr << "meldestelle mailgate: refused: " << h.detail << "\n";
      return kExDataErr;
    case workers::Delivery::kTemporary:
      break;
  }
  std::cerr << "meldestelle mailgate: try again later: " << h.detail << "\n";
  return kExTempFail;
}

int RunMailPoll(const Args& args) {
  if (args.help) {
    std::cout << kMailPollHelp;
    return kExitOk;
  }
  log::SetComponent("mail-poll");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  if (cfg->email.imap_url.empty() || cfg->email.intake_secret.empty()) {
    std::cerr << "meldestelle mail-poll: email.imap_url and email.intake_secret must be set "
                 "(MELDESTELLE_IMAP_URL, MELDESTELLE_MAIL_SECRET)\n";
    return kExitUsage;
  }
  workers::MailPoller poller(*cfg, GatewayUrl(*cfg, args));
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

// Reads REPORT.json for `rules explain`: a normalized report, or the short form.
Result<Report> ReadReportFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError("usage", path + ": cannot be read");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError("usage", path + ": not a JSON object");
  }
  if (j.contains("schema_version")) {
    auto r = ReportFromJson(j);
    if (!r) {
      return MakeError("usage", path + ": not a valid report: " + r.error().message);
    }
    return r;
  }
  Report r;
  static const std::set<std::string> kShort = {"description", "text", "lat", "lon", "channel",
                                               "category", "received_at", "photo"};
  for (const auto& [key, value] : j.items()) {
    if (kShort.count(key) == 0) {
      return MakeError("usage", path + ": unknown key \"" + key +
                                    "\" (description, lat, lon, channel, category, "
                                    "received_at, photo; or a normalized report)");
    }
    bool is_text = key != "lat" && key != "lon" && key != "photo";
    if (is_text && !value.is_string()) {
      return MakeError("usage", path + ": " + key + " must be a string");
    }
  }
  auto str = [&](const char* k) { return j.contains(k) ? j[k].get<std::string>() : ""; };
  r.text = j.contains("description") ? str("description") : str("text");
  r.channel = j.contains("channel") ? str("channel") : "webform";
  r.category = str("category");
  r.received_at = j.contains("received_at") ? str("received_at") : NowTimestamp();
  if (!IsValidUtf8(r.text)) {
    return MakeError("usage", path + ": description is not valid UTF-8");
  }
  if (j.contains("lat") != j.contains("lon")) {
    return MakeError("usage", path + ": lat and lon go together");
  }
  if (j.contains("lat")) {
    if (!j["lat"].is_number() || !j["lon"].is_number() ||
        !routing::ValidLonLat(j["lon"].get<double>(), j["lat"].get<double>())) {
      return MakeError("usage", path + ": lat/lon must be numbers in range");
    }
    r.location.lat = j["lat"].get<double>();
    r.location.lon = j["lon"].get<double>();
    r.location.source = LocationSource::kDevice;
  }
  if (j.contains("photo")) {
    if (!j["photo"].is_boolean()) {
      return MakeError("usage", path + ": photo must be true or false");
    }
    if (j["photo"].get<bool>()) {
      r.attachments.push_back({std::string(64, '0'), "image/jpeg", 0, "photo.jpg"});
    }
  }
  return r;
}

// `rules check`: the rule file, then its fixtures; every problem listed, exit 1 if any.
int RunRulesCheck(const std::filesystem::path& file, const std::string& tests_flag,
                  const Config& cfg) {
  auto rules = routing::LoadRuleSet(file, &cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitFailure;
  }
  std::filesystem::path tests =
      tests_flag.empty() ? routing::FixturesBeside(file) : std::filesystem::path(tests_flag);
  std::error_code ec;
  std::string fixtures_note = "no fixture file (" + tests.string() + ")";
  if (!tests_flag.empty() || std::filesystem::exists(tests, ec)) {
    auto cases = routing::LoadFixtures(tests, &cfg);
    if (!cases) {
      std::cerr << cases.error().message;
      return kExitFailure;
    }
    auto failures = routing::RunFixtures(**rules, *cases);
    if (!failures.empty()) {
      std::cerr << routing::DescribeFailures(tests.string(), failures) << failures.size()
                << " of " << cases->size() << " fixture(s) failed\n";
      return kExitFailure;
    }
    fixtures_note = std::to_string(cases->size()) + " fixture(s) passed (" + tests.string() + ")";
  }
  std::cout << file.string() << ": ok, " << (*rules)->rules.size() << " rules, "
            << (*rules)->geometries.size() << " areas, version " << (*rules)->version << "; "
            << fixtures_note << "\n";
  return kExitOk;
}

// `rules shadow-report`, `rules promote`, `rules rollback`.
int RunRulesChange(const Args& args, const Config& cfg) {
  const std::string& action = args.positional[0];
  if (action == "shadow-report") {
    auto n = workers::ShadowReport(cfg.database.url, args.since, args.format, std::cout);
    if (!n) {
      std::cerr << "meldestelle rules shadow-report: " << n.error().message << ": "
                << n.error().detail << "\n";
      return kExitFailure;
    }
    return kExitOk;
  }
  Status st = Ok{};
  if (action == "promote") {
    std::filesystem::path candidate = args.positional.size() == 2
                                          ? std::filesystem::path(args.positional[1])
                                          : cfg.routing.shadow_rules_file;
    if (candidate.empty()) {
      std::cerr << "meldestelle rules promote: no CANDIDATE given and no "
                   "routing.shadow_rules_file configured\n";
      return kExitUsage;
    }
    st = workers::PromoteRules(cfg, candidate, std::cout);
  } else {
    st = workers::RollbackRules(cfg, std::cout);
  }
  if (!st) {
    std::cerr << "meldestelle rules " << action << ": " << st.error().message << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

// The database URL for an error message, without a password.
std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) {
    return url;
  }
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) {
    return url;
  }
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// Progress on stderr, rewritten in place once a second: only for a terminal, where a person
// waits; in logs and pipes it would only be noise.
void PrintProgress(int64_t rows, double seconds) {
  std::fprintf(stderr, "\rreplay: %lld reports, %.0f/s, %.0f s ", static_cast<long long>(rows),
               seconds > 0 ? static_cast<double>(rows) / seconds : 0.0, seconds);
  std::fflush(stderr);
}

int RunReplay(const Args& args) {
  if (args.help) {
    std::cout << kReplayHelp;
    return kExitOk;
  }
  if (args.rules.empty() || args.positional.size() != 1) {
    std::cerr << "meldestelle rules replay: "
              << (args.rules.empty() ? "--rules CANDIDATE.yaml is required"
                                     : "unexpected argument " + args.positional[1])
              << "\n" << kReplayHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto rules = routing::LoadRuleSet(args.rules, &*cfg);
  if (!rules) {
    std::cerr << "meldestelle rules replay: the candidate rules are invalid:\n"
              << rules.error().message;
    return kExitUsage;
  }
  workers::ReplayOptions options;
  options.examples = static_cast<size_t>(args.examples);
  const routing::TimeZone& tz = (*rules)->timezone;
  for (auto [flag, text, target, end] :
       {std::tuple{"--since", &args.since, &options.since, false},
        std::tuple{"--until", &args.until, &options.until, true}}) {
    if (text->empty()) continue;
    auto t = workers::ParseReplayTime(*text, tz, end);
    if (!t) {
      std::cerr << "meldestelle rules replay: " << flag << ": " << t.error().message << "\n";
      return kExitUsage;
    }
    *target = *t;
  }
  if (options.since && options.until && *options.until <= *options.since) {
    std::cerr << "meldestelle rules replay: --until must be later than --since\n";
    return kExitUsage;
  }
  bool progress = !args.quiet && isatty(STDERR_FILENO) != 0;
  if (progress) {
    options.progress = PrintProgress;
  }
  auto result = workers::Replay(cfg->database.url, **rules, options);
  if (progress) {
    std::cerr << "\r\033[K" << std::flush;
  }
  if (!result) {
    std::cerr << "meldestelle rules replay: " << result.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << result.error().detail << "\n";
    return kExitFailure;
  }
  if (args.format == "json") {
    std::cout << workers::ReplayToJson(*result).dump(2) << "\n";
  } else {
    std::cout << workers::ReplayToText(*result);
  }
  return kExitOk;
}

int RunRules(const Args& args) {
  if (!args.positional.empty() && args.positional[0] == "replay") {
    return RunReplay(args);
  }
  if (args.help || args.positional.empty()) {
    std::cout << kRulesHelp;
    return args.help ? kExitOk : kExitUsage;
  }
  const std::string& action = args.positional[0];
  bool check = action == "check" && args.positional.size() <= 2;
  bool explain = action == "explain" && args.positional.size() == 2;
  bool other = ((action == "shadow-report" || action == "rollback") &&
                args.positional.size() == 1) ||
               (action == "promote" && args.positional.size() <= 2);
  if (!check && !explain && !other) {
    std::cerr << "meldestelle rules: expected check [FILE], explain REPORT, shadow-report, "
                 "promote [CANDIDATE] or rollback\n"
              << kRulesHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  if (other) {
    return RunRulesChange(args, *cfg);
  }
  std::filesystem::path file = check && args.positional.size() == 2
                                   ? std::filesystem::path(args.positional[1])
                                   : cfg->routing.rules_file;
  if (check) {
    return RunRulesCheck(file, args.tests, *cfg);
  }
  auto rules = routing::LoadRuleSet(file, &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitUsage;
  }
  auto report = ReadReportFile(args.positional[1]);
  if (!report) {
    std::cerr << "meldestelle rules explain: " << report.error().message << "\n";
    return kExitUsage;
  }
  routing::Explanation e = routing::Explain(**rules, *report);
  if (args.format == "json") {
    std::cout << routing::ExplanationToJson(e).dump(2) << "\n";
  } else {
    std::cout << routing::ExplanationToText(e);
  }
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

// --since/--until/--now in the town's time zone (as `rules replay`).
bool ParseTimes(const char* cmd, const Config& cfg,
                std::initializer_list<std::tuple<const char*, const std::string*,
                                                 std::optional<int64_t>*, bool>> flags) {
  auto tz = routing::TimeZone::Load(cfg.town.timezone);
  if (!tz) {
    std::cerr << "meldestelle " << cmd << ": town.timezone: " << tz.error().message << "\n";
    return false;
  }
  for (auto [flag, text, target, end] : flags) {
    if (text->empty()) continue;
    auto t = workers::ParseReplayTime(*text, *tz, end);
    if (!t) {
      std::cerr << "meldestelle " << cmd << ": " << flag << ": " << t.error().message << "\n";
      return false;
    }
    *target = *t;
  }
  return true;
}

int RunDeadlines(const Args& args) {
  if (args.help) {
    std::cout << kDeadlinesHelp;
    return kExitOk;
  }
  if (args.positional.size() != 1 || args.positional[0] != "run") {
    std::cerr << "meldestelle deadlines: expected run\n" << kDeadlinesHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  std::optional<int64_t> now;
  if (!ParseTimes("deadlines run", *cfg, {{"--now", &args.now, &now, false}})) return kExitUsage;
  if (!now) {
    now = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  auto rules = routing::LoadRuleSet(cfg->routing.rules_file, &*cfg);
  if (!rules) {
    std::cerr << rules.error().message;
    return kExitUsage;
  }
  std::shared_ptr<const routing::RuleSet> live = *rules;
  workers::TicketJobs jobs(*cfg, [&] { return live; }, nullptr);
  auto actions = jobs.RunOnce(*now);
  if (!actions) {
    std::cerr << "meldestelle deadlines run: " << actions.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << actions.error().detail << "\n";
    return kExitFailure;
  }
  for (const auto& a : *actions) {
    std::cout << a.reference << "  " << a.action << "  " << a.from_department << " -> "
              << a.to_department << "  (" << a.detail << ")\n";
  }
  std::cout << actions->size() << " ticket(s) changed at " << workers::FormatUnixSeconds(*now)
            << "\n";
  return kExitOk;
}

int RunStats(const Args& args) {
  if (args.help) {
    std::cout << kStatsHelp;
    return kExitOk;
  }
  if (!args.positional.empty()) {
    std::cerr << "meldestelle stats: unexpected argument " << args.positional[0] << "\n"
              << kStatsHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  std::optional<int64_t> since, until;
  if (!ParseTimes("stats", *cfg,
                  {{"--since", &args.since, &since, false}, {"--until", &args.until, &until, true}})) {
    return kExitUsage;
  }
  if (since && until && *until <= *since) {
    std::cerr << "meldestelle stats: --until must be later than --since\n";
    return kExitUsage;
  }
  auto q = workers::ReadRoutingQuality(cfg->database.url, since, until);
  if (!q) {
    std::cerr << "meldestelle stats: " << q.error().message << " ("
              << RedactUrl(cfg->database.url) << "): " << q.error().detail << "\n";
    return kExitFailure;
  }
  if (args.format == "json") {
    std::cout << workers::QualityToJson(*q).dump(2) << "\n";
  } else {
    std::cout << workers::QualityToText(*q);
  }
  return kExitOk;
}

int RunTickets(const Args& args) {
  if (args.help) {
    std::cout << kTicketsHelp;
    return kExitOk;
  }
  if (args.positional.size() != 2 || args.positional[0] != "unlink") {
    std::cerr << "meldestelle tickets: expected unlink REFERENCE\n" << kTicketsHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  const std::string& ref = args.positional[1];
  const char* user = std::getenv("USER");
  auto r = workers::UnlinkDuplicate(*cfg, ref,
                                    std::string("cli:") + (user != nullptr ? user : "unknown"));
  if (!r) {
    std::cerr << "meldestelle tickets unlink: " << r.error().message
              << (r.error().detail.empty() ? "" : ": " + r.error().detail) << "\n";
    return kExitFailure;
  }
  if (r->kind == workers::UnlinkResult::Kind::kUnlinked) {
    std::cout << ref << ": unlinked from " << r->existing_reference
              << ", now its own open ticket for " << r->department << "\n";
  } else {
    std::cout << ref << ": not linked to another ticket, nothing changed\n";
  }
  return kExitOk;
}

int RunToken(const Args& args) {
  if (args.help) {
    std::cout << kTokenHelp;
    return kExitOk;
  }
  const std::string action = args.positional.empty() ? "" : args.positional[0];
  bool shape_ok = (action == "create" && args.positional.size() == 1 &&
                   (args.operator_role != !args.department.empty())) ||
                  (action == "list" && args.positional.size() == 1) ||
                  (action == "revoke" && args.positional.size() == 2);
  if (!shape_ok) {
    std::cerr << "meldestelle token: expected create --department ID | create --operator | list"
                 " | revoke ID\n\n"
              << kTokenHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg) return kExitUsage;
  auto conn = ConnectDb(cfg->database.url);
  if (!conn) {
    std::cerr << "meldestelle token: " << conn.error().message << ": " << conn.error().detail
              << "\n";
    return kExitFailure;
  }
  if (action == "create") {
    auto c = workers::CreateToken(**conn, *cfg, args.department, args.operator_role, args.label);
    if (!c) {
      std::cerr << "meldestelle token create: " << c.error().message
                << (c.error().detail.empty() ? "" : " (" + c.error().detail + ")") << "\n";
      return c.error().code == "unknown_department" ? kExitUsage : kExitFailure;
    }
    std::cerr << "created token " << c->token.id << " for "
              << (args.operator_role ? std::string("operators (all departments)")
                                     : "department " + args.department)
              << "; it is shown only now:\n";
    std::cout << c->secret << "\n";
    return kExitOk;
  }
  if (action == "list") {
    auto list = workers::ListTokens(**conn);
    if (!list) {
      std::cerr << "meldestelle token list: " << list.error().message << "\n";
      return kExitFailure;
    }
    if (args.format == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : *list) {
        out.push_back({{"id", t.id}, {"role", t.role}, {"department", t.department_id},
                       {"label", t.label}, {"created_at", t.created_at},
                       {"revoked_at", t.revoked_at}, {"last_used_at", t.last_used_at}});
      }
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    std::printf("%-9s %-10s %-22s %-21s %-21s %s\n", "ID", "ROLE", "DEPARTMENT", "CREATED",
                "LAST USED", "LABEL");
    for (const auto& t : *list) {
      std::printf("%-9s %-10s %-22s %-21s %-21s %s%s\n", t.id.c_str(), t.role.c_str(),
                  t.department_id.empty() ? "-" : t.department_id.c_str(), t.created_at.c_str(),
                  t.last_used_at.empty() ? "never" : t.last_used_at.c_str(), t.label.c_str(),
                  t.revoked_at.empty() ? "" : (" [revoked " + t.revoked_at + "]").c_str());
    }
    return kExitOk;
  }
  auto st = workers::RevokeToken(**conn, args.positional[1]);
  if (!st) {
    std::cerr << "meldestelle token revoke: " << st.error().message << "\n";
    return kExitFailure;
  }
  std::cout << "revoked token " << args.positional[1] << "\n";
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
    if (cmd == "dispatcher") return RunDispatcher(args);
    if (cmd == "mailgate") return RunMailgate(args);
    if (cmd == "mail-poll") return RunMailPoll(args);
    if (cmd == "migrate") return RunMigrate(args);
    if (cmd == "rules") return RunRules(args);
    if (cmd == "dead-letters") return RunDeadLetters(args);
    if (cmd == "tickets") return RunTickets(args);
    if (cmd == "token") return RunToken(args);
    if (cmd == "deadlines") return RunDeadlines(args);
    if (cmd == "stats") return RunStats(args);
  } catch (const std::exception& e) {
    std::cerr << "meldestelle " << cmd << ": " << e.what() << "\n";
    return kExitFailure;
  }
  std::cerr << "meldestelle: unknown command \"" << cmd << "\"\n\n" << kMainHelp;
  return kExitUsage;
}
