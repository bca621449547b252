#include "app/command.hpp"

#include <httplib.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "core/log.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::app {

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
      if (i + 1 >= argc ||
          (std::string(argv[i + 1]) != "text" && std::string(argv[i + 1]) != "json")) {
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
