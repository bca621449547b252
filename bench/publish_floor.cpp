// publish_floor: the least the gateway's accept path can cost on this machine with its fixed
// parts — cpp-httplib (with the gateway's settings) in front of the gateway's own Publisher —
// but none of the gateway's work per request (no parsing, validation, reference, envelope or
// log line). Every POST /floor publishes its body as it came and answers 202 after the confirm.
// bench/run measures it beside the ceiling and the gateway, so the gap between ceiling and
// gateway splits into what the HTTP front and the confirm hand-off cost, and what our own
// request handling costs.

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/metrics.hpp"
#include "gateway/guarded_server.hpp"
#include "gateway/publisher.hpp"

int main(int argc, char** argv) {
  using namespace meldestelle;
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2f";
  int port = 18081;
  int threads = 64;
  size_t pad_to = 0;
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
    } else {
      std::fprintf(
          stderr,
          "usage: publish_floor [--url AMQP_URL] [--port N] [--threads N] [--pad-to BYTES]\n"
          "Serves POST /floor on 127.0.0.1:PORT: publish the body (persistent, confirmed)\n"
          "into the gateway's exchange and queue, then 202. Stops on SIGINT/SIGTERM.\n"
          "--pad-to: publish the body padded with blanks to BYTES (a message the size of the\n"
          "gateway's envelope: what the broker's work per byte costs).\n");
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
  server.Post("/floor", [&](const httplib::Request& req, httplib::Response& res) {
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
  server.listen_after_bind();
  publisher.Stop();
  return 0;
}
