// publish_floor: the least the gateway's accept path can cost on this machine with its fixed
// parts — cpp-httplib (with the gateway's settings) in front of the gateway's own Publisher —
// but none of the gateway's work per request (no parsing, validation, reference, envelope or
// log line). Every POST /floor publishes its body as it came and answers 202 after the confirm.
// bench/run measures it beside the ceiling and the gateway, so the gap between ceiling and
// gateway splits into what the HTTP front and the confirm hand-off cost, and what our own
// request handling costs. With --pad-to (the sized floor) its messages have the gateway's size;
// with --spin-us as well (the matched floor) each request also spends the gateway's own CPU, as
// a plain loop.

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/metrics.hpp"
#include "gateway/guarded_server.hpp"
#include "gateway/publisher.hpp"

namespace {
// Work the compiler cannot drop and the CPU cannot skip: `n` steps of a xorshift, each
// depending on the one before, in user space (as the gateway's own request handling is).
uint64_t Burn(uint64_t n) {
  uint64_t x = 88172645463325252ULL;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
std::atomic<uint64_t> g_sink{0};

long long ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Burn() steps per microsecond of this thread's CPU time (the best of three: the thread's CPU
// clock does not count time it was preempted, but caches and frequency may start cold).
double StepsPerMicrosecond() {
  constexpr uint64_t kSteps = 20000000;
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    long long t0 = ThreadCpuNs();
    g_sink += Burn(kSteps);
    long long ns = ThreadCpuNs() - t0;
    if (ns > 0)
      best = std::max(best, static_cast<double>(kSteps) * 1000.0 / static_cast<double>(ns));
  }
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace meldestelle;
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2f";
  int port = 18081;
  int threads = 64;
  size_t pad_to = 0;
  long spin_us = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "publish_floor: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--url") {
      url = value();
    } else if (arg == "--port") {
      port = std::atoi(value().c_str());
    } else if (arg == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (arg == "--pad-to") {
      pad_to = static_cast<size_t>(std::atol(value().c_str()));
    } else if (arg == "--spin-us") {
      spin_us = std::atol(value().c_str());
      if (spin_us < 0 || spin_us > 1000000) {
        std::fprintf(stderr, "publish_floor: --spin-us must be 0 to 1000000 microseconds\n");
        return 2;
      }
    } else {
      std::fprintf(
          stderr,
          "usage: publish_floor [--url AMQP_URL] [--port N] [--threads N] [--pad-to BYTES]\n"
          "                     [--spin-us MICROSECONDS]\n"
          "Serves POST /floor on 127.0.0.1:PORT: publish the body (persistent, confirmed)\n"
          "into the gateway's exchange and queue, then 202. Stops on SIGINT/SIGTERM.\n"
          "--pad-to: publish the body padded with blanks to BYTES (a message the size of the\n"
          "gateway's envelope: what the broker's work per byte costs).\n"
          "--spin-us: before publishing, spend that much CPU time in the request thread (the\n"
          "gateway's own work per request, as CPU alone: what each microsecond of it costs).\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  Config::Amqp amqp;
  amqp.url = url;
  amqp.exchange = "bench.floor";
  amqp.queue = "bench.floor";
  amqp.dead_letter_queue = "bench.floor.dead";
  metrics::Registry registry;
  // SIGINT/SIGTERM are taken by a thread of their own (sigwait), not by a handler: stopping
  // the server is not async-signal-safe.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  gateway::Publisher publisher(amqp, registry);
  publisher.Start();

  // The gateway's connection handling with its defaults, but no cap per client (wrk's
  // connections all come from one address).
  gateway::ConnectionLimits limits;
  limits.threads = threads;
  limits.per_client = 0;
  gateway::GuardedServer server(limits);
  server.set_tcp_nodelay(true);
  std::atomic<uint64_t> n{0};
  // --spin-us as a number of steps, so that the request threads spend it without a system call.
  const auto spin_steps = static_cast<uint64_t>(static_cast<double>(spin_us) *
                                                (spin_us > 0 ? StepsPerMicrosecond() : 0));
  server.Post("/floor", [&](const httplib::Request& req, httplib::Response& res) {
    if (spin_steps > 0)
      g_sink += Burn(spin_steps);
    std::string body = req.body;
    if (body.size() < pad_to)
      body.append(pad_to - body.size(), ' ');
    auto st = publisher.Publish(std::move(body), std::to_string(++n), "report", 0,
                                std::chrono::milliseconds(5000));
    res.status = st ? 202 : 503;
    res.set_content(st ? "{\"status\":\"accepted\"}" : "{\"error\":\"broker\"}",
                    "application/json");
  });
  if (!server.bind_to_port("127.0.0.1", port) || !server.WidenBacklog(1024)) {
    std::fprintf(stderr, "publish_floor: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  });
  stopper.detach();
  std::fprintf(stderr, "publish_floor: listening on 127.0.0.1:%d\n", port);
  if (spin_us > 0)
    std::fprintf(stderr, "publish_floor: --spin-us %ld: %llu steps a request\n", spin_us,
                 static_cast<unsigned long long>(spin_steps));
  server.listen_after_bind();
  publisher.Stop();
  return 0;
}
