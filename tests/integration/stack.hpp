#pragma once

// Test harness: runs the real `meldestelle` binary (gateway and workers) against the real
// RabbitMQ and PostgreSQL that scripts/test started. Each Stack gets its own database, queue
// names, media directory and port, so tests do not see each other's data.

#include <amqp.h>
#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "channels/admission.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/sql.hpp"

namespace meldestelle::channels {
class Registry;
}

namespace meldestelle::testing {

std::string Env(const char* name, const std::string& fallback = "");
std::string ReadFile(const std::filesystem::path& p);
std::string VectorFile(const std::string& rel);
// What a browser script (tests/browser/*.mjs) printed beside its "ok - " steps: the step that
// failed, its error and stack, axe's findings. Shown first when the script fails, so that a log
// cut in the middle still tells what broke.
std::string BrowserProblems(const std::string& out);

// What many integration tests share.
constexpr const char* kTickets = "SELECT count(*) FROM tickets";
// The messengers' secrets the tests give the stack (MELDESTELLE_WHATSAPP_APP_SECRET, …).
constexpr const char* kAppSecret = "whatsapp-test-app-secret-0123456789";
constexpr const char* kTelegramSecret = "telegram-secret-token-for-tests";
// A quoted SQL literal (values the tests made themselves).
inline std::string Q(const std::string& v) { return "'" + v + "'"; }
// Test photos: the tiny JPEG of the vectors, a rotated one, and what the gateway stores of one.
std::string Jpeg();
std::string OtherJpeg();
std::string StoredCopy(const std::string& photo);
// A header's value in a raw mail ("" if absent).
std::string Header(const std::string& mail, const std::string& name);
// The JSON object in a command's output (after any log lines).
nlohmann::json ParseJsonOutput(const std::string& out);
int FreePort();
// The reference on the form's confirmation page, shown grouped ("XXXX XXXX XXXX"); "" if none.
std::string ReferenceOnPage(const std::string& html);
// application/x-www-form-urlencoded, in the given order (spaces as '+').
std::string FormUrlEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// Replaces the first `from` in `text` (which must contain it) by `to`.
void Replace(std::string& text, const std::string& from, const std::string& to);
// A TCP connection to 127.0.0.1:port (from the loopback address `source`, e.g. "127.0.0.2"
// for another client, if given) with a 10 s receive timeout; the caller closes it.
int ConnectTo(int port, const char* source = nullptr);
// Everything the server sends on `socket` until it closes the connection (or 10 s pass).
std::string ReadAnswer(int socket);
// Sends `request` as it is on a new ConnectTo(port, source) and returns everything the server
// answers.
std::string RawHttp(int port, const std::string& request, const char* source = nullptr);

// The stack's key for one purpose (core/links.hpp), derived from its form secret as the gateway
// derives it.
class Stack;
std::string KeyOf(const Stack& s, KeyPurpose purpose);

// The messages the SMTP sink (scripts/smtp-sink.py, $MELDESTELLE_SMTP_SINK_DIR) received for
// `rcpt`, oldest first: the .eml files as sent.
std::vector<std::string> SinkMessagesTo(const std::string& rcpt);

// The private directory scripts/services runs (slapd, config/example/directory.ldif) for a stack's
// processes: MELDESTELLE_LDAP_URL, …_BASE_DN, …_BIND_DN, …_BIND_PASSWORD ("NAME=value"), for
// StackOptions::extra_env. REQUIREs that scripts/test started it (MELDESTELLE_LDAP_URL set).
std::vector<std::string> DirectoryEnv();
// The seeded people's password in that directory (MELDESTELLE_LDAP_TEST_PASSWORD).
std::string DirectoryPassword();

// Polls `condition` until it holds or `timeout` passes (a deadline, not a sleep to synchronise).
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

class Process {
 public:
  Process(std::vector<std::string> argv, std::vector<std::string> env,
          std::filesystem::path log_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void Stop();  // SIGTERM and wait
  void Signal(int sig);
  bool Running();
  int exit_status() const { return exit_status_; }
  std::string Log() const { return ReadFile(log_file_); }

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::filesystem::path log_file_;
};

struct StackOptions {
  int workers = 1;
  int max_attempts = 3;
  // worker.retry_delays_seconds; each delay's retry queue is deleted with the stack.
  std::vector<int> retry_delays = {1};
  int token_min_age_seconds = 3;
  int worker_metrics_port = 0;  // 0 = off
  // The live rule file, written to the stack's directory as rules.yaml; empty = the example
  // rules and their fixtures (rules-tests.yaml).
  std::string rules_yaml;
  std::string rules_tests_yaml;   // with rules_yaml: rules-tests.yaml beside it, if not empty
  std::string shadow_rules_yaml;  // not empty: rules.candidate.yaml, the shadow rule set
  int reload_interval_ms = 100;   // routing.reload_interval_ms; 0 = SIGHUP only
  // More environment for every process ("NAME=value"), e.g. the messenger secrets and the
  // stand-in providers' base URLs.
  std::vector<std::string> extra_env;
  bool dispatcher = false;          // also run `meldestelle dispatcher`
  int dispatcher_metrics_port = 0;  // the dispatcher's --metrics-port; 0 = off
  // Changes the configuration text (the example config, adapted) before it is written.
  std::function<void(std::string&)> edit_config;
  // false: no gateway, worker or dispatcher process; the test runs its own in its binary
  // (ConfigHere) against the stack's database, queues and port.
  bool processes = true;
};

// The regular files under `dir` (a media folder), 0 when it does not exist.
size_t StoredFiles(const std::filesystem::path& dir);

// The inbox's sign-in form posted as a browser does (the page's cookie and signed token first):
// the answer, a 303 to `next` on success. `cookie` ("name=value") is sent besides the page's.
httplib::Result PostSignIn(const Stack& s, const std::string& user, const std::string& password,
                           const std::string& next = "/staff", const std::string& cookie = "");
// Signs in (REQUIREs success) and returns the session's Cookie header for the inbox's pages.
httplib::Headers InboxSignIn(const Stack& s, const std::string& user, const std::string& password);
// `meldestelle staff add USER ARGS… --password-stdin` with `password` on its input; REQUIREs
// success.
void AddStaffAccount(Stack& s, const std::string& user, const std::vector<std::string>& args,
                     const std::string& password);

class Stack {
 public:
  explicit Stack(StackOptions options = {});
  ~Stack();

  void StartGateway();  // (again: the running one is stopped first)
  void StartWorker();
  void StopWorkers();
  void StartDispatcher();
  std::string DispatcherLog() const;
  void SignalWorkers(int sig);
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path rules_file() const { return dir_ / "rules.yaml"; }
  std::filesystem::path shadow_rules_file() const { return dir_ / "rules.candidate.yaml"; }
  httplib::Client Client() const;
  const std::string& form_secret() const { return secret_; }
  const std::filesystem::path& media_dir() const { return media_dir_; }
  const std::string& queue() const { return queue_; }
  const std::string& dead_letter_queue() const { return dlq_; }
  // The retry queue whose messages wait `delay_seconds` (workers::RetryQueueName).
  std::string retry_queue(int delay_seconds) const {
    return queue_ + ".retry." + std::to_string(delay_seconds) + "s";
  }
  const std::string& exchange() const { return exchange_; }
  int port() const { return port_; }
  // The stack's own database, for tests that write as another component would (a pqxx::work).
  const std::string& db_url() const { return db_url_; }
  std::string GatewayLog() const { return gateway_ ? gateway_->Log() : ""; }
  std::string WorkerLogs() const;

  // SQL helpers on the stack's own database.
  long long Count(const std::string& sql);
  pqxx::result Query(const std::string& sql);
  // Ends the database connections named `application_name` (their URL's application_name), as
  // a database restart would, waiting up to 5 s for each to be gone; returns how many it ended.
  // On a connection of its own, so from any thread.
  int EndConnections(const std::string& application_name);
  // Waits until `sql` (a COUNT query) returns at least `n`.
  bool WaitForCount(const std::string& sql, long long n,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Broker helpers.
  long long QueueDepth(const std::string& queue);
  void PublishRaw(const std::string& body, const std::string& message_id);
  // As PublishRaw, straight into `queue` (a retry queue, say) through the default exchange.
  void PublishToQueue(const std::string& queue, const std::string& body,
                      const std::string& message_id);
  // As PublishRaw, with an AMQP type ("" = none) and string headers.
  void PublishTyped(const std::string& body, const std::string& message_id, const std::string& type,
                    const std::map<std::string, std::string>& headers);
  // A message as it lies in a queue: its body and the properties that say what it is.
  struct QueuedMessage {
    std::string body, type, message_id;
    std::map<std::string, std::string> headers;  // strings and integers, as HeaderValue reads them
  };
  // Takes one message from `queue` with its properties; false if the queue stays empty for 5 s.
  bool GetMessage(const std::string& queue, QueuedMessage* out);
  // Takes one message from the dead-letter queue: body and the x-meldestelle-reason header.
  bool GetDeadLetter(std::string* body, std::string* reason);
  // Takes one message from `queue`: its body, and the x-meldestelle-reason header if `reason`.
  bool GetMessage(const std::string& queue, std::string* body, std::string* reason = nullptr);

  // Runs `meldestelle ARGS...` with the stack's environment, where `env_overrides` ("NAME=value")
  // replace or add variables; returns its output (stdout and stderr) and exit status.
  std::string RunCommand(const std::vector<std::string>& args, int* exit_status = nullptr,
                         const std::vector<std::string>& env_overrides = {});

  // Starts `meldestelle ARGS...` in the background with the stack's environment and
  // `env_overrides` (e.g. a second gateway on another port with another instance id); its log
  // is `name`.log in the stack's folder. The caller owns (and stops) it.
  std::unique_ptr<Process> StartProcess(const std::string& name,
                                        const std::vector<std::string>& args,
                                        const std::vector<std::string>& env_overrides = {});

  // Runs `/bin/sh -c script` with the stack's environment (MELDESTELLE_BINARY in $MELDESTELLE);
  // returns stdout and stderr.
  std::string RunShell(const std::string& script, int* exit_status = nullptr);

  bool Ready();
  // The stack's environment set in this process and its config loaded (processes = false).
  // The stack's configuration with `more_yaml` appended (in a file of its own beside the
  // stack's), as a process with the channels of `channels` reads it.
  Config ConfigHere(const channels::Registry& channels, const std::string& more_yaml = "") const;
  Config ConfigHere() const;
  std::string MintFormToken(int age_seconds) const;
  // A staff API token of `department` (meldestelle token create), "mst_…".
  std::string DepartmentToken(const std::string& department);
  // The key of the reporter's link that may answer "Ist es behoben?" (core/links.hpp).
  std::string FixAnswerKey(const std::string& reference) const;

 private:
  std::vector<std::string> ProcessEnv() const;
  // Publishes `body` with `props` to the stack's exchange and waits for the broker's confirm.
  void PublishConfirmed(const std::string& body, const amqp_basic_properties_t& props,
                        const std::string& exchange, const std::string& routing_key);
  StackOptions options_;
  std::filesystem::path dir_;
  std::filesystem::path config_file_;
  std::filesystem::path media_dir_;
  std::string db_url_;
  std::string amqp_url_;
  std::string queue_, dlq_, exchange_;
  std::string secret_;
  int port_ = 0;
  std::unique_ptr<Process> gateway_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::unique_ptr<Process> dispatcher_;
  std::unique_ptr<db::Connection> db_;
};

// Stops and starts the shared RabbitMQ node through scripts/services.
void StopBroker();
void StartBroker();

// The single value of a query with one row ("NULL" for null).
std::string One(Stack& s, const std::string& sql);
// POST /api/v1/reports with `body` (202 required); the reference.
std::string PostApp(Stack& s, const nlohmann::json& body);
// POST /api/v1/reports with only a description (202 required); the reference.
std::string PostText(Stack& s, const std::string& description);

// The admit step as when the database is away for its first report, then back: its first
// Admit() (while *calls is 0) fails with db_unavailable, every later one admits to
// "tiefbauamt". *calls counts the calls.
class FlakyAdmission final : public channels::Admission {
 public:
  explicit FlakyAdmission(int* calls) : calls_(calls) {}
  Result<channels::Admitted> Admit(const channels::AdmitRequest&) override {
    if ((*calls_)++ == 0)
      return MakeError(errors::kDbUnavailable, "database unavailable", "the test's outage");
    channels::Admitted a;
    a.department = "tiefbauamt";
    return a;
  }

 private:
  int* calls_;
};

}  // namespace meldestelle::testing
