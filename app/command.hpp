#pragma once

// The pieces every `meldestelle` command shares: its flags, exit codes, loading the config,
// signals, the /metrics server of background processes. Each command lives in a file of its own
// (app/<command>.cpp); main only parses the command name and dispatches (app/main.cpp).
#include <signal.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"

namespace meldestelle::app {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The flags of all commands; each command reads the ones it knows.
struct Args {
  std::string config;
  std::string tests;
  std::string since;
  std::string format = "text";
  int limit = 20;
  bool help = false;
  bool quiet = false;
  std::string rules;           // rules replay --rules
  std::string until;           // rules replay --until, stats --until
  std::string now;             // deadlines run --now
  int examples = 3;            // rules replay --examples
  std::string url;             // mailgate / mail-poll --url
  bool once = false;           // mail-poll --once
  std::string department;      // token create --department
  std::string label;           // token create --label
  bool operator_role = false;  // token create --operator
  std::string role;            // staff add --role
  std::string name;            // staff add --name
  bool password_stdin = false;  // staff add / password / check --password-stdin
  int metrics_port = 0;        // dispatcher --metrics-port
  std::string instance;        // dispatcher --instance
  bool dry_run = false;        // privacy retention run / erase --dry-run
  bool check = false;          // migrate --check
  int lock_timeout = 2;        // migrate --lock-timeout (seconds)
  int give_up_after = 300;     // migrate --give-up-after (seconds)
  std::string email, phone, whatsapp, telegram, reference;  // privacy export / erase
  std::string out;                                          // privacy export --out
  std::string by, period;                                   // report --by, --period
  std::vector<std::string> positional;
  std::vector<std::string> given;  // the options given, by their long name ("--dry-run")
  std::string error;
};

// Parses argv[start…]; Args::error says what was wrong.
Args ParseArgs(int argc, char** argv, int start);

// One table reads the options of every command, so a command must refuse those it does not
// take: `token revoke ID --dry-run` revoked the token. True if every option given is one that
// `help` (the command's --help) names, or --config or --help; else false, and the usage error
// on stderr (exit 2).
bool TakesOptions(const Args& args, std::string_view help, const char* command);

// The config of --config (else $MELDESTELLE_CONFIG, else the example); prints why it failed.
std::optional<Config> LoadOrReport(const Args& args);

// The name a process claims rows under, "<host>/<--instance>", or "" without --instance; nullopt
// (and why on stderr, for `command`) when the name is not a-z, 0-9, - and _ (at most 40).
std::optional<std::string> HolderName(const Args& args, const char* command);

// What every connection to PostgreSQL (libpq) gets unless the environment says otherwise:
// PGCONNECT_TIMEOUT (kConnectTimeoutSeconds; libpq's own default is to wait for ever, so a
// database host that drops packets held a worker or a dispatcher in its connect for minutes) and
// PGAPPNAME ("meldestelle-<command>", what pg_stat_activity shows). A value set in the
// environment wins; a URL's own connect_timeout or application_name wins over both. Call before
// any thread starts (setenv).
inline constexpr int kConnectTimeoutSeconds = 5;
void SetDatabaseDefaults(const std::string& command);

// Blocks SIGINT/SIGTERM/SIGHUP in every thread (construct it before starting threads); Wait()
// receives them synchronously with sigwait, so no work happens in a signal handler.
class SignalWaiter {
 public:
  SignalWaiter();
  // Waits for SIGINT or SIGTERM and returns; calls `on_hup` for each SIGHUP (ignored if empty).
  void Wait(const std::function<void()>& on_hup = {});

 private:
  sigset_t set_;
};

// /metrics of a background process on 127.0.0.1:port (0 = off), served until destruction.
class MetricsServer {
 public:
  MetricsServer(metrics::Registry& registry, int port, const char* process);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Before a long-running process starts: false (and says why on stderr) when the database's
// schema is older than this version's, so that it never runs on tables it does not know. A newer
// schema (an upgrade in progress) is fine; a database that cannot be reached now is the
// process's own retry loop's business.
bool SchemaIsCurrent(const Config& cfg, const char* process);

// The gateway's address for mailgate and mail-poll: --url, else the configured listen address.
std::string GatewayUrl(const Config& cfg, const Args& args);
// Who a command's change is recorded as: "cli:$USER" ("cli:unknown" without $USER).
std::string CliActor();
// The database URL for an error message, without a password.
std::string RedactUrl(const std::string& url);
// --since/--until/--now in the town's time zone (as `rules replay`); prints what was wrong.
bool ParseTimes(const char* cmd, const Config& cfg,
                std::initializer_list<
                    std::tuple<const char*, const std::string*, std::optional<int64_t>*, bool>>
                    flags);

// The commands, one file each.
int RunGateway(const Args& args);
int RunWorker(const Args& args);
int RunDispatcher(const Args& args);
int RunMailgate(const Args& args);
int RunMailPoll(const Args& args);
int RunMigrate(const Args& args);
int RunRules(const Args& args);
int RunReport(const Args& args);  // check, explain, shadow-report, promote, rollback, replay
int RunReplay(const Args& args);
int RunDeadLetters(const Args& args);
int RunTickets(const Args& args);
int RunToken(const Args& args);
int RunStaff(const Args& args);  // local accounts of the inbox; a directory sign-in tried
int RunDeadlines(const Args& args);
int RunStats(const Args& args);
int RunPrivacy(const Args& args);  // retention run, export, erase, access-log
int RunTexts(const Args& args);    // check a town's folder of texts, show a language
int RunOutbox(const Args& args);   // acknowledgements without a sender: list, send after all

}  // namespace meldestelle::app
