// A three-node RabbitMQ cluster (issue 17, point 1; docs/operations.md, "A RabbitMQ cluster"):
// scripts/services starts it with the quorum queues replicated on every node; the gateway and
// the workers take the nodes' URLs (MELDESTELLE_AMQP_URLS) and move to another node when theirs
// dies. Reports flow while the node the gateway uses and then the queue's leader are killed with
// SIGKILL: every report answered 2xx is exactly one ticket, nothing is dead-lettered.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/crypto.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace cluster_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Three nodes of our own (never the shared test broker), under a folder of their own.
struct Cluster {
  fs::path var;
  int base_port = 0;
  std::string node;

  Cluster() {
    var = fs::temp_directory_path() / ("meldestelle-cluster-" + RandomHex(4));
    fs::create_directories(var);
    // Node k listens on base + 100 (k - 1); epmd on base - 1303 (scripts/services).
    base_port = 5950;
    node = "msclu" + RandomHex(2) + "@localhost";
  }
  ~Cluster() {
    int status = 0;
    Services("stop rabbitmq", &status, std::chrono::seconds(120));
    std::error_code ec;
    fs::remove_all(var, ec);
  }
  std::string Services(const std::string& args, int* status,
                       std::chrono::seconds timeout = std::chrono::seconds(120)) const {
    const fs::path log = var / ("services-" + RandomHex(3) + ".log");
    Process p(
        {"/bin/bash", "-c", std::string(MELDESTELLE_SOURCE_DIR) + "/scripts/services " + args},
        {"MELDESTELLE_VAR=" + var.string(), "MELDESTELLE_AMQP_PORT=" + std::to_string(base_port),
         "MELDESTELLE_RABBIT_NODENAME=" + node, "PATH=" + Env("PATH", "/usr/bin:/bin"),
         "HOME=" + Env("HOME", "/root")},
        log);
    const bool ended = WaitFor([&] { return !p.Running(); }, timeout);
    *status = ended ? p.exit_status() : -1;
    return ReadFile(log);
  }
  int Port(int k) const { return base_port + 100 * (k - 1); }
  std::string Url(int k) const {
    return "amqp://guest:guest@127.0.0.1:" + std::to_string(Port(k)) + "/%2f";
  }
  fs::path Dir(int k) const {
    return var / (k == 1 ? "rabbitmq" : "rabbitmq-" + std::to_string(k));
  }
  std::string NodeName(int k) const {
    return k == 1 ? node : node.substr(0, node.find('@')) + "-" + std::to_string(k) + "@localhost";
  }
  void Kill(int k) const {
    const std::string pid = ReadFile(Dir(k) / "beam.pid");
    REQUIRE(!pid.empty());
    REQUIRE(::kill(std::stoi(pid), SIGKILL) == 0);
  }
  // The queues' leaders and message counts, as rabbitmqctl on node `via` tells them.
  json Queues(int via) const {
    int status = -1;
    const fs::path log = var / ("queues-" + RandomHex(3) + ".log");
    Process p({"/bin/bash", "-c",
               ". " + (Dir(via) / "env.sh").string() +
                   " && rabbitmqctl -q list_queues name leader members messages --formatter json"},
              {"PATH=" + Env("PATH", "/usr/bin:/bin")}, log);
    REQUIRE(WaitFor([&] { return !p.Running(); }, std::chrono::seconds(60)));
    status = p.exit_status();
    const std::string out = ReadFile(log);
    INFO(out);
    REQUIRE(status == 0);
    return json::parse(out.substr(out.find('[')));
  }
  // The node number of "127.0.0.1:PORT" or of a node's name.
  int NodeOfPort(int port) const { return (port - base_port) / 100 + 1; }
  int NodeOfName(const std::string& name) const {
    for (int k = 1; k <= 3; ++k)
      if (NodeName(k) == name)
        return k;
    return 0;
  }
};

// The node a process's log says it connected to last ("node":"127.0.0.1:PORT").
int LastNodePort(const std::string& log, const std::string& msg) {
  int port = 0;
  for (size_t at = log.find(msg); at != std::string::npos; at = log.find(msg, at + 1)) {
    auto n = log.find("\"node\":\"127.0.0.1:", at);
    if (n != std::string::npos && n < log.find('\n', at))
      port = std::atoi(log.c_str() + n + std::strlen("\"node\":\"127.0.0.1:"));
  }
  return port;
}

}  // namespace

TEST_CASE(
    "a three-node RabbitMQ cluster: reports flow while the gateway's node and then the "
    "queue's leader are killed, and every report answered 2xx is exactly one ticket",
    "[integration][cluster]") {
  Cluster cluster;
  int status = -1;
  std::string out = cluster.Services("start rabbitmq --cluster 3", &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("rabbitmq cluster of 3 nodes"));
  out = cluster.Services("env rabbitmq", &status);
  const std::string urls = cluster.Url(1) + "," + cluster.Url(2) + "," + cluster.Url(3);
  CHECK_THAT(out, Catch::Contains("MELDESTELLE_AMQP_URLS=" + urls));

  StackOptions o;
  o.workers = 2;
  o.extra_env = {"MELDESTELLE_AMQP_URLS=" + urls};
  Stack s(o);
  // The stack's queues were declared by the gateway on the cluster, and the retry queue by the
  // workers when they started: a replica on every node.
  json queues;
  auto replicated = [&] {
    queues = cluster.Queues(2);
    int n = 0;
    for (const auto& q : queues) {
      if ((q["name"] == s.queue() || q["name"] == s.dead_letter_queue() ||
           q["name"] == s.retry_queue(1)) &&
          q["members"].size() == 3)
        ++n;
    }
    return n == 3;
  };
  {
    const bool all_replicated = WaitFor(replicated, std::chrono::seconds(30));
    INFO(queues.dump());
    CHECK(all_replicated);
  }

  // Four clients send 800 reports, each with its Idempotency-Key, sending again after a 503
  // or a broken connection as a good client does, until it is answered 2xx.
  constexpr int kThreads = 4, kPerThread = 200;
  std::atomic<int> answered{0}, unavailable{0};
  std::mutex mu;
  std::map<std::string, std::string> reference_of;  // key -> reference answered
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_keep_alive(true);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "cluster-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string body = json{{"description", "Laterne " + key + " brennt nicht"}}.dump();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        while (std::chrono::steady_clock::now() < give_up) {
          auto r = c.Post("/api/v1/reports", {{"Idempotency-Key", key}}, body, "application/json");
          if (r && (r->status == 202 || r->status == 200)) {
            std::lock_guard<std::mutex> lock(mu);
            reference_of[key] = json::parse(r->body)["reference"];
            ++answered;
            break;
          }
          ++unavailable;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a client's back-off
        }
      }
    });
  }

  // Once reports flow: kill -9 the node the gateway publishes to. It is also the node that
  // leads the work queue (the gateway declared it there, connected to node 1 first) and the one
  // the workers consume from; if the leader is elsewhere, that node is killed next, after the
  // first is started again (two of three nodes down would leave the queue without a quorum).
  REQUIRE(s.WaitForCount(kTickets, 150, std::chrono::seconds(60)));
  const int gateway_node = cluster.NodeOfPort(LastNodePort(s.GatewayLog(), "broker connected"));
  REQUIRE(gateway_node >= 1);
  int leader = 0;
  for (const auto& q : cluster.Queues(gateway_node)) {
    if (q["name"] == s.queue())
      leader = cluster.NodeOfName(q["leader"]);
  }
  REQUIRE(leader >= 1);
  std::vector<int> victims = {gateway_node};
  if (leader != gateway_node)
    victims.push_back(leader);
  for (int victim : victims) {
    if (victim != victims.front()) {
      out = cluster.Services("start rabbitmq-" + std::to_string(victims.front()), &status);
      INFO(out);
      REQUIRE(status == 0);
    }
    cluster.Kill(victim);
    const auto before = s.Count(kTickets);
    const bool flowed = s.WaitForCount(kTickets, before + 150, std::chrono::seconds(60));
    std::string lines;  // the gateway's log without its "report accepted" lines
    std::istringstream in(s.GatewayLog());
    for (std::string line; std::getline(in, line);)
      if (line.find("report accepted") == std::string::npos)
        lines += line.substr(0, 400) + "\n";
    INFO("node " << victim << " killed; the gateway's log:\n" << lines);
    CHECK(flowed);
  }
  for (auto& th : pool)
    th.join();

  // Every report was answered 2xx in the end, each key with one reference, each reference one
  // ticket: none lost, none doubled.
  const int total = kThreads * kPerThread;
  CHECK(answered.load() == total);
  std::set<std::string> references;
  for (const auto& [key, ref] : reference_of)
    references.insert(ref);
  CHECK(references.size() == static_cast<size_t>(total));
  INFO(s.WorkerLogs());
  CHECK(s.WaitForCount(kTickets, total, std::chrono::seconds(90)));
  CHECK(s.Count(kTickets) == total);
  std::string in;
  for (const auto& r : references)
    in += (in.empty() ? "" : ",") + Q(r);
  CHECK(s.Count("SELECT count(DISTINCT reference) FROM tickets WHERE reference IN (" + in + ")") ==
        total);
  // The work queue drains (redelivered copies are settled as duplicates), and nothing is in the
  // dead-letter queue.
  const int alive = victims.back() % 3 + 1;  // the last node killed stays down
  auto messages = [&](const std::string& name) {
    for (const auto& q : cluster.Queues(alive))
      if (q["name"] == name)
        return q["messages"].get<long long>();
    return -1LL;
  };
  CHECK(WaitFor([&] { return messages(s.queue()) == 0; }, std::chrono::seconds(30)));
  CHECK(messages(s.dead_letter_queue()) == 0);
  CHECK(s.Count(kTickets) == total);
  // The gateway and the workers moved to another node (their logs name the nodes).
  const std::string gw = s.GatewayLog();
  CHECK(LastNodePort(gw, "broker connected") != 0);
  CHECK_THAT(gw, Catch::Contains("broker connection lost"));
  WARN("reports answered 2xx: " << answered.load() << "; answers that were not 2xx (sent again): "
                                << unavailable.load());
}

}  // namespace cluster_test
