#include "app/command.hpp"

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <regex>
#include <string_view>
#include <thread>

#include "app/migrations.hpp"
#include "channels/builtin.hpp"
#include "core/log.hpp"
#include "routing/timezone.hpp"
#include "workers/settings.hpp"

namespace meldestelle::app {

namespace {

// The options of every command (each command's --help says which it takes).
struct Flag {
  std::string_view name;
  bool Args::*field;
};
const Flag kFlags[] = {{"--help", &Args::help},       {"-h", &Args::help},
                       {"--once", &Args::once},       {"--operator", &Args::operator_role},
                       {"--quiet", &Args::quiet},     {"-q", &Args::quiet},
                       {"--dry-run", &Args::dry_run}, {"--password-stdin", &Args::password_stdin},
                       {"--check", &Args::check}};

struct TextOption {
  std::string_view name;
  std::string Args::*field;
  bool may_be_empty;
  const char* missing;  // the message when the value is missing (or empty)
};
const TextOption kTextOptions[] = {
    {"--config", &Args::config, true, "--config needs a file"},
    {"-c", &Args::config, true, "--config needs a file"},
    {"--tests", &Args::tests, true, "--tests needs a value"},
    {"--since", &Args::since, true, "--since needs a value"},
    {"--url", &Args::url, false, "--url needs a value"},
    {"--instance", &Args::instance, false, "--instance needs a name (a-z, 0-9, - and _)"},
    {"--department", &Args::department, false, "--department needs a value"},
    {"--label", &Args::label, false, "--label needs a value"},
    {"--role", &Args::role, false, "--role needs staff or operator"},
    {"--name", &Args::name, false, "--name needs a person's name"},
    {"--rules", &Args::rules, false, "--rules needs a value"},
    {"--until", &Args::until, false, "--until needs a value"},
    {"--now", &Args::now, false, "--now needs a value"},
    {"--format", &Args::format, false, "--format needs text or json"},
    {"--email", &Args::email, false, "--email needs an e-mail address"},
    {"--phone", &Args::phone, false, "--phone needs a phone number"},
    {"--whatsapp", &Args::whatsapp, false, "--whatsapp needs a phone number or a WhatsApp user id"},
    {"--telegram", &Args::telegram, false, "--telegram needs a chat id"},
    {"--reference", &Args::reference, false, "--reference needs a reference"},
    {"--out", &Args::out, false, "--out needs a folder"},
    {"--by", &Args::by, false, "--by needs category, district, department or channel"},
    {"--period", &Args::period, false, "--period needs week or month"}};

struct NumberOption {
  std::string_view name;
  int Args::*field;
  long min, max;
  bool lenient;  // atoi's reading ("5x" is 5) instead of the whole value a number
  const char* wrong;
};
const NumberOption kNumberOptions[] = {
    {"--limit", &Args::limit, 1, 1L << 30, true, "--limit needs a positive number"},
    {"--metrics-port", &Args::metrics_port, 0, 65535, false,
     "--metrics-port needs a port from 0 to 65535"},
    {"--examples", &Args::examples, 0, 1000, false, "--examples needs a number from 0 to 1000"},
    {"--lock-timeout", &Args::lock_timeout, 2, 600, false,
     "--lock-timeout needs seconds from 2 to 600"},
    {"--give-up-after", &Args::give_up_after, 1, 86400, false,
     "--give-up-after needs seconds from 1 to 86400"}};

std::optional<long> Number(const char* text, bool lenient) {
  if (lenient)
    return std::atol(text);
  char* end = nullptr;
  long n = std::strtol(text, &end, 10);
  if (*end != '\0')
    return std::nullopt;
  return n;
}

// Reads the option at argv[i] (and its value, advancing i); false if `arg` is no option of
// these tables. Problems go to a.error.
bool ReadOption(const std::string& arg, int argc, char** argv, int& i, Args& a) {
  const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
  // Its long name: -h is --help, -q --quiet, -c --config (each short name follows its long one).
  auto given = [&](std::string_view name, std::string_view long_name) {
    a.given.emplace_back(name.substr(0, 2) == "--" ? name : long_name);
  };
  std::string_view previous;
  for (const auto& f : kFlags) {
    if (f.name.substr(0, 2) == "--")
      previous = f.name;
    if (arg == f.name) {
      a.*f.field = true;
      given(f.name, previous);
      return true;
    }
  }
  for (const auto& o : kTextOptions) {
    if (o.name.substr(0, 2) == "--")
      previous = o.name;
    if (arg != o.name)
      continue;
    given(o.name, previous);
    if (value == nullptr || (!o.may_be_empty && value[0] == '\0'))
      a.error = o.missing;
    else
      a.*o.field = argv[++i];
    return true;
  }
  for (const auto& o : kNumberOptions) {
    if (arg != o.name)
      continue;
    given(o.name, o.name);
    auto n = value != nullptr ? Number(value, o.lenient) : std::nullopt;
    if (!n || *n < o.min || *n > o.max) {
      a.error = o.wrong;
    } else {
      a.*o.field = static_cast<int>(*n);
      ++i;
    }
    return true;
  }
  return false;
}

}  // namespace

void SetDatabaseDefaults(const std::string& command) {
  // setenv with overwrite 0 leaves a value that is set (even an empty one) as it is.
  setenv("PGCONNECT_TIMEOUT", std::to_string(kConnectTimeoutSeconds).c_str(), 0);
  setenv("PGAPPNAME", ("meldestelle-" + command).c_str(), 0);
}

Args ParseArgs(int argc, char** argv, int start) {
  Args a;
  for (int i = start; i < argc && a.error.empty(); ++i) {
    std::string arg = argv[i];
    if (ReadOption(arg, argc, argv, i, a))
      continue;
    if (arg.rfind("--config=", 0) == 0) {
      a.config = arg.substr(9);
      a.given.emplace_back("--config");
    } else if (!arg.empty() && arg[0] == '-') {
      a.error = "unknown option " + arg;
    } else {
      a.positional.push_back(arg);
    }
  }
  // `report` also writes a table (= text) and CSV.
  if (a.error.empty() && a.format != "text" && a.format != "json" && a.format != "table" &&
      a.format != "csv")
    a.error = "--format needs text or json (report: table, csv or json)";
  return a;
}

bool TakesOptions(const Args& args, std::string_view help, const char* command) {
  for (const std::string& option : args.given) {
    if (option == "--config" || option == "--help")
      continue;
    // Named in the help as an option: followed by a blank, a bracket, a line's end or '='.
    bool named = false;
    for (size_t at = help.find(option); at != std::string_view::npos && !named;
         at = help.find(option, at + 1)) {
      const size_t end = at + option.size();
      named = end == help.size() ||
              std::string_view(" ]|\n=,.").find(help[end]) != std::string_view::npos;
    }
    if (!named) {
      std::cerr << "meldestelle " << command << ": " << option
                << " is no option of this command (see --help)\n";
      return false;
    }
  }
  return true;
}

std::optional<std::string> HolderName(const Args& args, const char* command) {
  if (args.instance.empty())
    return std::string();
  static const std::regex kName("[a-z0-9_-]{1,40}");
  if (!std::regex_match(args.instance, kName)) {
    std::cerr << "meldestelle " << command
              << ": --instance needs a name of a-z, 0-9, - and _ (at most 40), not '"
              << args.instance << "'\n";
    return std::nullopt;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "/" + args.instance;
}

std::optional<Config> LoadOrReport(const Args& args) {
  auto path = ResolveConfigPath(args.config);
  auto cfg = LoadConfig(path, workers::AllSections(channels::BuiltinChannels()));
  if (!cfg) {
    std::cerr << cfg.error().message;
    return std::nullopt;
  }
  return std::move(cfg).value();
}

SignalWaiter::SignalWaiter() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void SignalWaiter::Wait(const std::function<void()>& on_hup) {
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

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

MetricsServer::MetricsServer(metrics::Registry& registry, int port, const char* process) {
  if (port <= 0)
    return;
  impl_ = std::make_unique<Impl>();
  impl_->server.Get("/metrics", [&registry](const auto&, auto& res) {
    res.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (impl_->server.bind_to_port("127.0.0.1", port)) {
    impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  } else {
    log::Warn(std::string(process) + " metrics port busy; metrics not served",
              {{"port", std::to_string(port)}});
  }
}

MetricsServer::~MetricsServer() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

bool SchemaIsCurrent(const Config& cfg, const char* process) {
  auto at = SchemaVersion(cfg.database.url);
  if (!at) {
    log::Warn("schema version not checked: the database does not answer",
              {{"error", at.error().message}});
    return true;
  }
  if (*at < LatestVersion()) {
    std::cerr << "meldestelle " << process << ": the database schema is at version " << *at
              << ", this version needs " << LatestVersion()
              << ": run 'meldestelle migrate' first\n";
    return false;
  }
  if (*at > LatestVersion())
    log::Info("the database schema is newer than this version (an upgrade in progress)",
              {{"schema", std::to_string(*at)}, {"this_version", std::to_string(LatestVersion())}});
  return true;
}

std::string GatewayUrl(const Config& cfg, const Args& args) {
  if (!args.url.empty())
    return args.url;
  std::string host = cfg.gateway.listen == "0.0.0.0" ? "127.0.0.1" : cfg.gateway.listen;
  return "http://" + host + ":" + std::to_string(cfg.gateway.port);
}

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

std::string CliActor() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr ? user : "unknown");
}

bool ParseTimes(const char* cmd, const Config& cfg,
                std::initializer_list<
                    std::tuple<const char*, const std::string*, std::optional<int64_t>*, bool>>
                    flags) {
  auto tz = routing::TimeZone::Load(cfg.town.timezone);
  if (!tz) {
    std::cerr << "meldestelle " << cmd << ": town.timezone: " << tz.error().message << "\n";
    return false;
  }
  for (auto [flag, text, target, end] : flags) {
    if (text->empty())
      continue;
    auto t = routing::ParseTownTime(*text, *tz, end);
    if (!t) {
      std::cerr << "meldestelle " << cmd << ": " << flag << ": " << t.error().message << "\n";
      return false;
    }
    *target = *t;
  }
  return true;
}

}  // namespace meldestelle::app
