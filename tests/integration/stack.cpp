#include "stack.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "channels/builtin.hpp"
#include "channels/webform/token.hpp"
#include "core/amqp.hpp"
#include "core/crypto.hpp"
#include "core/photo.hpp"
#include "core/sql.hpp"
#include "workers/settings.hpp"

extern char** environ;

namespace meldestelle::testing {

namespace fs = std::filesystem;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Jpeg() { return VectorFile("webform/tiny-test.jpg"); }

std::string OtherJpeg() {
  return ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data/rotated-photo.jpg");
}

std::string StoredCopy(const std::string& photo) { return StripPhoto(photo).value().bytes; }

std::string Header(const std::string& mail, const std::string& name) {
  size_t p = mail.find("\r\n" + name + ": ");
  if (p == std::string::npos)
    return "";
  size_t start = p + 4 + name.size();
  return mail.substr(start, mail.find("\r\n", start) - start);
}

nlohmann::json ParseJsonOutput(const std::string& out) {
  auto start = out.find('{');
  REQUIRE(start != std::string::npos);
  auto j = nlohmann::json::parse(out.substr(start), nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::string One(Stack& s, const std::string& sql) {
  auto r = s.Query(sql);
  REQUIRE(r.size() == 1);
  return r[0][0].is_null() ? "NULL" : r[0][0].as<std::string>();
}

std::string PostApp(Stack& s, const nlohmann::json& body) {
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  return nlohmann::json::parse(res->body)["reference"].get<std::string>();
}

std::string PostText(Stack& s, const std::string& description) {
  return PostApp(s, nlohmann::json{{"description", description}});
}

std::string VectorFile(const std::string& rel) {
  return ReadFile(fs::path(MELDESTELLE_VECTORS_DIR) / rel);
}

std::string ReferenceOnPage(const std::string& html) {
  std::smatch m;
  static const std::regex kGrouped(
      "([2-9A-HJKMNP-Z]{4}) ([2-9A-HJKMNP-Z]{4}) ([2-9A-HJKMNP-Z]{4})");
  if (std::regex_search(html, m, kGrouped))
    return m[1].str() + m[2].str() + m[3].str();
  return "";
}

int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  close(s);
  return ntohs(addr.sin_port);
}

std::string FormUrlEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static const char* kHex = "0123456789ABCDEF";
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty())
      body += "&";
    body += k + "=";
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        body += static_cast<char>(c);
      } else if (c == ' ') {
        body += '+';
      } else {
        body += '%';
        body += kHex[c >> 4];
        body += kHex[c & 15];
      }
    }
  }
  return body;
}

std::string KeyOf(const Stack& s, KeyPurpose purpose) {
  Config c;
  c.link_secret = s.form_secret();
  return PurposeKey(c, purpose);
}

int ConnectTo(int port, const char* source) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  if (source != nullptr) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, source, &src.sin_addr) == 1);
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

std::string ReadAnswer(int socket) {
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = recv(socket, buf, sizeof buf, 0)) > 0)
    answer.append(buf, static_cast<size_t>(n));
  return answer;
}

std::string RawHttp(int port, const std::string& request, const char* source) {
  int s = ConnectTo(port, source);
  REQUIRE(send(s, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string answer = ReadAnswer(s);
  close(s);
  return answer;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // poll interval
  }
  return condition();
}

Process::Process(std::vector<std::string> argv, std::vector<std::string> env, fs::path log_file)
    : log_file_(std::move(log_file)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    FAIL("cannot start " << argv[0] << ": " << std::strerror(rc));
  }
}

Process::~Process() { Stop(); }

bool Process::Running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || r < 0) {
    if (r == pid_ && WIFEXITED(status))
      exit_status_ = WEXITSTATUS(status);
    pid_ = -1;  // exited and reaped
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (pid_ > 0)
    kill(pid_, sig);
}

void Process::Stop() {
  if (pid_ <= 0)
    return;
  kill(pid_, SIGTERM);
  int status = 0;
  // Bounded wait; a process that does not stop is killed.
  bool exited =
      WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(15));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

std::vector<std::string> SinkMessagesTo(const std::string& rcpt) {
  std::vector<fs::path> files;
  fs::path dir = Env("MELDESTELLE_SMTP_SINK_DIR");
  if (dir.empty() || !fs::exists(dir))
    return {};
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json")
      continue;
    auto env = nlohmann::json::parse(ReadFile(e.path()), nullptr, false);
    if (!env.is_object())
      continue;
    for (const auto& r : env.value("rcpt_tos", nlohmann::json::array())) {
      if (r.is_string() && r.get<std::string>() == rcpt) {
        fs::path eml = e.path();
        eml.replace_extension(".eml");
        // The .eml appears last (atomically): a message without it is still being written.
        if (fs::exists(eml))
          files.push_back(eml);
      }
    }
  }
  std::sort(files.begin(), files.end());  // the names start with the UTC time
  std::vector<std::string> out;
  for (const auto& f : files)
    out.push_back(ReadFile(f));
  return out;
}

void Replace(std::string& text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
}

namespace {

// The processes' relay unless a test names one (ProcessEnv).
constexpr const char* kRelayNobodyAnswers = "MELDESTELLE_SMTP_URL=smtp://127.0.0.1:9";

AmqpConnection Broker() {
  auto url = ParseAmqpUrl(Env("MELDESTELLE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"));
  REQUIRE(url.ok());
  auto conn = AmqpConnection::Open(*url, 0, std::chrono::seconds(5));
  INFO((conn.ok() ? "" : conn.error().detail));
  REQUIRE(conn.ok());
  return std::move(conn).value();
}

}  // namespace

Stack::Stack(StackOptions options) : options_(options) {
  std::string id = RandomHex(4);
  dir_ = fs::temp_directory_path() / ("meldestelle-it-" + id);
  fs::create_directories(dir_);
  media_dir_ = dir_ / "media";
  queue_ = "it-" + id + ".reports";
  dlq_ = "it-" + id + ".dead";
  exchange_ = "it-" + id + ".exchange";
  secret_ = "integration-secret-" + id;
  port_ = FreePort();
  amqp_url_ = Env("MELDESTELLE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/");
  std::string base_db =
      Env("MELDESTELLE_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/meldestelle");
  db_url_ = db::WithDatabase(base_db, "meldestelle_it_" + id);

  fs::path example = fs::path(MELDESTELLE_SOURCE_DIR) / "config/example";
  std::string cfg = ReadFile(example / "meldestelle.yaml");
  Replace(cfg, "exchange: meldestelle.reports", "exchange: " + exchange_);
  Replace(cfg, "queue: meldestelle.reports", "queue: " + queue_);
  Replace(cfg, "dead_letter_queue: meldestelle.reports.dead", "dead_letter_queue: " + dlq_);
  Replace(cfg, "max_attempts: 5", "max_attempts: " + std::to_string(options_.max_attempts));
  std::string delays;
  for (int d : options_.retry_delays)
    delays += (delays.empty() ? "" : ",") + std::to_string(d);
  Replace(cfg, "retry_delays_seconds: ${MELDESTELLE_WORKER_RETRY_DELAYS:-5,15,45,90}",
          "retry_delays_seconds: \"" + (delays.empty() ? std::string("0") : delays) + "\"");
  Replace(cfg, "token_min_age_seconds: 3",
          "token_min_age_seconds: " + std::to_string(options_.token_min_age_seconds));
  // The rules live in the stack's directory, so tests can change them while workers run.
  if (options_.rules_yaml.empty()) {
    fs::copy_file(example / "rules.yaml", dir_ / "rules.yaml");
    fs::copy_file(example / "rules-tests.yaml", dir_ / "rules-tests.yaml");
  } else {
    std::ofstream(dir_ / "rules.yaml") << options_.rules_yaml;
    if (!options_.rules_tests_yaml.empty()) {
      std::ofstream(dir_ / "rules-tests.yaml") << options_.rules_tests_yaml;
    }
  }
  std::string routing = "rules_file: " + (dir_ / "rules.yaml").string();
  if (!options_.shadow_rules_yaml.empty()) {
    std::ofstream(dir_ / "rules.candidate.yaml") << options_.shadow_rules_yaml;
    routing += "\n  shadow_rules_file: " + (dir_ / "rules.candidate.yaml").string();
  }
  Replace(cfg, "rules_file: rules.yaml", routing);
  Replace(cfg, "reload_interval_ms: 2000",
          "reload_interval_ms: " + std::to_string(options_.reload_interval_ms));
  // Area files are relative to the configuration file, which the test writes elsewhere.
  for (size_t pos = cfg.find("file: areas/"); pos != std::string::npos;
       pos = cfg.find("file: areas/", pos)) {
    std::string absolute = "file: " + (example / "areas").string() + "/";
    cfg.replace(pos, std::string("file: areas/").size(), absolute);
    pos += absolute.size();
  }
  Replace(cfg, "gazetteer_file: streets.yaml",
          "gazetteer_file: " + (example / "streets.yaml").string());
  if (options_.edit_config)
    options_.edit_config(cfg);
  config_file_ = dir_ / "meldestelle.yaml";
  std::ofstream(config_file_) << cfg;

  int status = -1;
  std::string migrate = RunCommand({"migrate"}, &status);
  INFO(migrate);
  REQUIRE(status == 0);
  REQUIRE(migrate.find("schema at version") != std::string::npos);
  auto conn = db::Connect(db_url_);
  REQUIRE(conn.ok());
  db_ = std::move(conn).value();
  if (!options_.processes)
    return;
  for (int i = 0; i < options_.workers; ++i)
    StartWorker();
  if (options_.dispatcher)
    StartDispatcher();
  StartGateway();
}

Config Stack::ConfigHere() const { return ConfigHere(channels::BuiltinChannels()); }

Config Stack::ConfigHere(const channels::Registry& channels, const std::string& more_yaml) const {
  for (const auto& kv : ProcessEnv()) {
    size_t eq = kv.find('=');
    // The processes' fallback relay stays theirs: tests read the SMTP sink's address from
    // their own MELDESTELLE_SMTP_URL.
    if (kv.compare(0, eq, "PATH") == 0 || kv == kRelayNobodyAnswers)
      continue;
    setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  std::filesystem::path file = config_file_;
  if (!more_yaml.empty()) {
    file = dir_ / "meldestelle.here.yaml";
    std::ofstream(file) << ReadFile(config_file_) << more_yaml;
  }
  auto config = LoadConfig(file, workers::AllSections(channels));
  INFO((config ? "" : config.error().message));
  REQUIRE(config.ok());
  return std::move(config).value();
}

Stack::~Stack() {
  gateway_.reset();
  dispatcher_.reset();
  workers_.clear();
  db_.reset();
  try {
    AmqpConnection c = Broker();
    std::vector<std::string> queues = {queue_, dlq_};
    for (int d : options_.retry_delays)
      queues.push_back(retry_queue(d));
    for (const auto& q : queues) {
      amqp_queue_delete(c.get(), AmqpConnection::kChannel, amqp_cstring_bytes(q.c_str()), 0, 0);
      amqp_get_rpc_reply(c.get());
    }
    amqp_exchange_delete(c.get(), AmqpConnection::kChannel, amqp_cstring_bytes(exchange_.c_str()),
                         0);
    amqp_get_rpc_reply(c.get());
  } catch (...) {
  }
  try {
    pqxx::connection admin(db::WithDatabase(db_url_, "postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(db::DatabaseName(db_url_)) +
             " WITH (FORCE)");
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::vector<std::string> Stack::ProcessEnv() const {
  std::vector<std::string> env = {
      "MELDESTELLE_CONFIG=" + config_file_.string(),
      "MELDESTELLE_AMQP_URL=" + amqp_url_,
      "MELDESTELLE_DATABASE_URL=" + db_url_,
      "MELDESTELLE_HTTP_PORT=" + std::to_string(port_),
      "MELDESTELLE_PUBLIC_BASE_URL=http://127.0.0.1:" + std::to_string(port_),
      "MELDESTELLE_MEDIA_DIR=" + media_dir_.string(),
      "MELDESTELLE_STATE_DIR=" + (dir_ / "state").string(),
      "MELDESTELLE_FORM_SECRET=" + secret_,
      "MELDESTELLE_WORKER_METRICS_PORT=" + std::to_string(options_.worker_metrics_port),
      "PATH=" + Env("PATH", "/usr/bin:/bin"),
  };
  for (const char* pass : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (!Env(pass).empty())
      env.push_back(std::string(pass) + "=" + Env(pass));
  }
  // Unless a test sets them: no rate limit (the tests send many reports from one address),
  // /readyz and /metrics on the main port, and a relay for e-mail, so that a report's e-mail
  // acknowledgement is one to send (workers::Admitter records it as not sendable without
  // one). Nothing listens on its port: a dispatcher's attempt fails and waits, as the tests
  // without a relay of their own expect; those that send mail name the SMTP sink.
  for (std::string fallback :
       {"MELDESTELLE_REPORTS_PER_MINUTE=0", "MELDESTELLE_ADMIN_PORT=0", kRelayNobodyAnswers}) {
    std::string name = fallback.substr(0, fallback.find('=') + 1);
    bool set = std::any_of(options_.extra_env.begin(), options_.extra_env.end(),
                           [&](const std::string& kv) { return kv.rfind(name, 0) == 0; });
    if (!set)
      env.push_back(fallback);
  }
  env.insert(env.end(), options_.extra_env.begin(), options_.extra_env.end());
  return env;
}

void Stack::StartGateway() {
  gateway_.reset();  // a running one first stops (SIGTERM): its port and reference clock free
  gateway_ = std::make_unique<Process>(std::vector<std::string>{MELDESTELLE_BINARY, "gateway"},
                                       ProcessEnv(), dir_ / "gateway.log");
  INFO(GatewayLog());
  REQUIRE(WaitFor([&] { return Ready(); }, std::chrono::seconds(30)));
}

void Stack::StartWorker() {
  size_t n = workers_.size();
  workers_.push_back(
      std::make_unique<Process>(std::vector<std::string>{MELDESTELLE_BINARY, "worker"},
                                ProcessEnv(), dir_ / ("worker" + std::to_string(n) + ".log")));
}

void Stack::StopWorkers() { workers_.clear(); }

void Stack::StartDispatcher() {
  std::vector<std::string> argv{MELDESTELLE_BINARY, "dispatcher"};
  if (options_.dispatcher_metrics_port > 0) {
    argv.push_back("--metrics-port");
    argv.push_back(std::to_string(options_.dispatcher_metrics_port));
  }
  dispatcher_ = std::make_unique<Process>(argv, ProcessEnv(), dir_ / "dispatcher.log");
}

std::string Stack::DispatcherLog() const { return ReadFile(dir_ / "dispatcher.log"); }

void Stack::SignalWorkers(int sig) {
  for (auto& w : workers_)
    w->Signal(sig);
}

std::string Stack::WorkerLogs() const {
  std::string all;
  for (size_t i = 0; i < workers_.size(); ++i) {
    all += ReadFile(dir_ / ("worker" + std::to_string(i) + ".log"));
  }
  return all;
}

httplib::Client Stack::Client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(30, 0);
  c.set_connection_timeout(5, 0);
  return c;
}

namespace {

// `env` with each "NAME=value" of `overrides` replacing or adding its variable.
std::vector<std::string> Overridden(std::vector<std::string> env,
                                    const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    std::string name = o.substr(0, o.find('=') + 1);
    auto same = [&](const std::string& e) { return e.rfind(name, 0) == 0; };
    env.erase(std::remove_if(env.begin(), env.end(), same), env.end());
    env.push_back(o);
  }
  return env;
}

}  // namespace

std::unique_ptr<Process> Stack::StartProcess(const std::string& name,
                                             const std::vector<std::string>& args,
                                             const std::vector<std::string>& env_overrides) {
  std::vector<std::string> argv = {MELDESTELLE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Process>(argv, Overridden(ProcessEnv(), env_overrides),
                                   dir_ / (name + ".log"));
}

std::string Stack::RunCommand(const std::vector<std::string>& args, int* exit_status,
                              const std::vector<std::string>& env_overrides) {
  std::vector<std::string> argv = {MELDESTELLE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  fs::path log = dir_ / ("command-" + RandomHex(4) + ".log");
  Process p(argv, Overridden(ProcessEnv(), env_overrides), log);
  REQUIRE(WaitFor([&] { return !p.Running(); }, std::chrono::seconds(60)));
  if (exit_status != nullptr)
    *exit_status = p.exit_status();
  return ReadFile(log);
}

std::string BrowserProblems(const std::string& out) {
  std::string problems;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("ok - ", 0) != 0 && !line.empty())
      problems += line + "\n";
  }
  return problems.empty() ? "(nothing but passed steps)" : problems;
}

std::vector<std::string> DirectoryEnv() {
  INFO(
      "scripts/test starts the directory (slapd); run the test through it, or start it with "
      "scripts/services start slapd and export scripts/services env slapd");
  REQUIRE_FALSE(Env("MELDESTELLE_LDAP_URL").empty());
  std::vector<std::string> env;
  for (const char* name : {"MELDESTELLE_LDAP_URL", "MELDESTELLE_LDAP_BASE_DN",
                           "MELDESTELLE_LDAP_BIND_DN", "MELDESTELLE_LDAP_BIND_PASSWORD"}) {
    env.push_back(std::string(name) + "=" + Env(name));
  }
  return env;
}

std::string DirectoryPassword() {
  std::string pw = Env("MELDESTELLE_LDAP_TEST_PASSWORD");
  REQUIRE_FALSE(pw.empty());
  return pw;
}

size_t StoredFiles(const std::filesystem::path& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file())
      ++n;
  }
  return n;
}

httplib::Result PostSignIn(const Stack& s, const std::string& user, const std::string& password,
                           const std::string& next, const std::string& cookie) {
  auto c = s.Client();
  auto form = c.Get("/staff/login");
  REQUIRE(form);
  std::string page_cookie = form->get_header_value("Set-Cookie");
  std::smatch m;
  REQUIRE(std::regex_search(form->body, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  return c.Post(
      "/staff/login",
      {{"Cookie",
        page_cookie.substr(0, page_cookie.find(';')) + (cookie.empty() ? "" : "; " + cookie)}},
      FormUrlEncode(
          {{"benutzer", user}, {"passwort", password}, {"weiter", next}, {"csrf", m[1].str()}}),
      "application/x-www-form-urlencoded");
}

httplib::Headers InboxSignIn(const Stack& s, const std::string& user, const std::string& password) {
  auto r = PostSignIn(s, user, password);
  REQUIRE(r);
  INFO(r->get_header_value("Location"));
  REQUIRE(r->status == 303);
  REQUIRE(r->get_header_value("Location") == "/staff");
  std::string cookie = r->get_header_value("Set-Cookie", 0);
  REQUIRE(cookie.rfind("ms_staff=", 0) == 0);
  return {{"Cookie", cookie.substr(0, cookie.find(';'))}};
}

void AddStaffAccount(Stack& s, const std::string& user, const std::vector<std::string>& args,
                     const std::string& password) {
  std::string script =
      "printf '%s\\n' '" + password + "' | \"$MELDESTELLE\" staff add '" + user + "'";
  for (const auto& a : args)
    script += " '" + a + "'";
  script += " --password-stdin";
  int status = -1;
  std::string out = s.RunShell(script, &status);
  INFO(out);
  REQUIRE(status == 0);
}

std::string Stack::RunShell(const std::string& script, int* exit_status) {
  fs::path log = dir_ / ("shell-" + RandomHex(4) + ".log");
  std::vector<std::string> env = ProcessEnv();
  env.push_back(std::string("MELDESTELLE=") + MELDESTELLE_BINARY);
  Process p({"/bin/sh", "-c", script}, env, log);
  REQUIRE(WaitFor([&] { return !p.Running(); }, std::chrono::seconds(60)));
  if (exit_status != nullptr)
    *exit_status = p.exit_status();
  return ReadFile(log);
}

bool Stack::Ready() {
  // /readyz is on the admin port when the test gives the gateway one.
  int admin = 0;
  for (const auto& kv : options_.extra_env) {
    if (kv.rfind("MELDESTELLE_ADMIN_PORT=", 0) == 0)
      admin = std::atoi(kv.c_str() + std::strlen("MELDESTELLE_ADMIN_PORT="));
  }
  if (admin > 0) {
    httplib::Client c("127.0.0.1", admin);
    auto res = c.Get("/readyz");
    return res && res->status == 200;
  }
  auto res = Client().Get("/readyz");
  return res && res->status == 200;
}

std::string Stack::MintFormToken(int age_seconds) const {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return webform::IssueFormTokenAt(KeyOf(*this, KeyPurpose::kFormTokens), now - age_seconds,
                                   RandomHex(12));
}

std::string Stack::DepartmentToken(const std::string& department) {
  int status = -1;
  std::string out = RunCommand({"token", "create", "--department", department}, &status);
  INFO(out);
  REQUIRE(status == 0);
  auto p = out.find("mst_");
  REQUIRE(p != std::string::npos);
  return out.substr(p, out.find('\n', p) - p);
}

std::string Stack::FixAnswerKey(const std::string& reference) const {
  Config c;
  c.link_secret = form_secret();
  return meldestelle::FixAnswerKey(c, reference);
}

pqxx::result Stack::Query(const std::string& sql) {
  pqxx::nontransaction tx(*db_);
  return tx.exec(sql);
}

int Stack::EndConnections(const std::string& application_name) {
  pqxx::connection c(db_url_);  // its own: a test may call it from another thread
  pqxx::work tx(c);
  auto r = tx.exec_params(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
      " WHERE datname = current_database() AND application_name = $1",
      application_name);
  tx.commit();
  int ended = 0;
  for (const auto& row : r)
    ended += row[0].as<bool>() ? 1 : 0;
  return ended;
}

long long Stack::Count(const std::string& sql) { return Query(sql)[0][0].as<long long>(); }

bool Stack::WaitForCount(const std::string& sql, long long n, std::chrono::milliseconds timeout) {
  return WaitFor([&] { return Count(sql) >= n; }, timeout);
}

long long Stack::QueueDepth(const std::string& queue) {
  AmqpConnection c = Broker();
  auto* ok =
      amqp_queue_declare(c.get(), AmqpConnection::kChannel, amqp_cstring_bytes(queue.c_str()),
                         /*passive=*/1, 0, 0, 0, amqp_empty_table);
  REQUIRE(c.CheckRpc("queue.declare passive").ok());
  return ok->message_count;
}

void Stack::PublishConfirmed(const std::string& body, const amqp_basic_properties_t& props,
                             const std::string& exchange, const std::string& routing_key) {
  AmqpConnection c = Broker();
  amqp_confirm_select(c.get(), AmqpConnection::kChannel);
  REQUIRE(c.CheckRpc("confirm.select").ok());
  amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};
  REQUIRE(amqp_basic_publish(
              c.get(), AmqpConnection::kChannel, amqp_cstring_bytes(exchange.c_str()),
              amqp_cstring_bytes(routing_key.c_str()), 1, 0, &props, payload) == AMQP_STATUS_OK);
  amqp_frame_t frame;
  REQUIRE(amqp_simple_wait_frame(c.get(), &frame) == AMQP_STATUS_OK);
  REQUIRE(frame.payload.method.id == AMQP_BASIC_ACK_METHOD);
}

void Stack::PublishRaw(const std::string& body, const std::string& message_id) {
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
  props.delivery_mode = 2;
  props.message_id = amqp_cstring_bytes(message_id.c_str());
  PublishConfirmed(body, props, exchange_, "report");
}

void Stack::PublishToQueue(const std::string& queue, const std::string& body,
                           const std::string& message_id) {
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
  props.delivery_mode = 2;
  props.message_id = amqp_cstring_bytes(message_id.c_str());
  PublishConfirmed(body, props, "", queue);
}

void Stack::PublishTyped(const std::string& body, const std::string& message_id,
                         const std::string& type,
                         const std::map<std::string, std::string>& headers) {
  std::vector<amqp_table_entry_t> entries;
  for (const auto& [key, value] : headers)
    entries.push_back(StringEntry(key.c_str(), value.c_str()));
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                 AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
  props.delivery_mode = 2;
  props.message_id = amqp_cstring_bytes(message_id.c_str());
  props.content_type = amqp_cstring_bytes("application/json");
  props.timestamp = 1764249539;
  if (!type.empty()) {
    props._flags |= AMQP_BASIC_TYPE_FLAG;
    props.type = amqp_cstring_bytes(type.c_str());
  }
  if (!entries.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};
  }
  PublishConfirmed(body, props, exchange_, "report");
}

namespace {

// One basic.get: false if the queue gave nothing.
bool TakeOne(const std::string& queue, Stack::QueuedMessage* out) {
  AmqpConnection c = Broker();
  amqp_rpc_reply_t r = amqp_basic_get(c.get(), AmqpConnection::kChannel,
                                      amqp_cstring_bytes(queue.c_str()), /*no_ack=*/1);
  if (r.reply_type != AMQP_RESPONSE_NORMAL || r.reply.id != AMQP_BASIC_GET_OK_METHOD)
    return false;
  amqp_message_t msg;
  if (amqp_read_message(c.get(), AmqpConnection::kChannel, &msg, 0).reply_type !=
      AMQP_RESPONSE_NORMAL) {
    return false;
  }
  auto str = [](amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); };
  const amqp_basic_properties_t& p = msg.properties;
  out->body = str(msg.body);
  out->type = (p._flags & AMQP_BASIC_TYPE_FLAG) != 0 ? str(p.type) : "";
  out->message_id = (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0 ? str(p.message_id) : "";
  out->headers.clear();
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    for (int i = 0; i < p.headers.num_entries; ++i) {
      std::string key = str(p.headers.entries[i].key);
      out->headers[key] = HeaderValue(p, key);
    }
  }
  amqp_destroy_message(&msg);
  return true;
}

}  // namespace

bool Stack::GetMessage(const std::string& queue, QueuedMessage* out) {
  // A get right after the queue's count showed the message once found the quorum queue empty
  // (a fresh machine's run): an empty get is tried again until a deadline.
  return WaitFor([&] { return TakeOne(queue, out); }, std::chrono::seconds(5));
}

bool Stack::GetDeadLetter(std::string* body, std::string* reason) {
  return GetMessage(dlq_, body, reason);
}

bool Stack::GetMessage(const std::string& queue, std::string* body, std::string* reason) {
  QueuedMessage m;
  if (!GetMessage(queue, &m))
    return false;
  *body = std::move(m.body);
  if (reason != nullptr) {
    auto it = m.headers.find("x-meldestelle-reason");
    *reason = it == m.headers.end() ? "" : it->second;
  }
  return true;
}

namespace {
void RunServices(const std::string& action) {
  std::string scripts =
      Env("MELDESTELLE_SCRIPTS_DIR", std::string(MELDESTELLE_SOURCE_DIR) + "/scripts");
  std::string cmd = scripts + "/services " + action + " rabbitmq > /dev/null";
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}
}  // namespace

void StopBroker() { RunServices("stop"); }
void StartBroker() { RunServices("start"); }

}  // namespace meldestelle::testing
