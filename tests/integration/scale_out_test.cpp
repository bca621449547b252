// Several gateways (issue 17, point 2): references are unique across gateways and restarts by
// construction (an instance id in each reference, a reference clock kept in storage.state_dir
// and locked to its gateway; core/reference.hpp). Two real gateway processes, the real broker,
// workers and database.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace scale_out_test {

using namespace meldestelle::testing;
using nlohmann::json;

namespace {

std::unique_ptr<Process> SecondGateway(Stack& s, int port, int instance) {
  auto p = s.StartProcess("gateway-" + std::to_string(instance) + "-" + std::to_string(port),
                          {"gateway"},
                          {"MELDESTELLE_HTTP_PORT=" + std::to_string(port),
                           "MELDESTELLE_INSTANCE_ID=" + std::to_string(instance)});
  return p;
}

bool ReadyAt(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/readyz");
  return r && r->status == 200;
}

// `per_thread` reports from each of `threads` clients of the gateway at `port`, as fast as it
// takes them; the references, in the order answered.
std::vector<std::string> Flood(int port, int threads, int per_thread) {
  std::vector<std::vector<std::string>> got(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      for (int i = 0; i < per_thread; ++i) {
        auto r = c.Post("/api/v1/reports",
                        json{{"description", "Laterne " + std::to_string(t) + "/" +
                                                 std::to_string(i) + " brennt nicht"}}
                            .dump(),
                        "application/json");
        if (r && r->status == 202)
          got[static_cast<size_t>(t)].push_back(json::parse(r->body)["reference"]);
      }
    });
  }
  for (auto& th : pool)
    th.join();
  std::vector<std::string> out;
  for (auto& g : got)
    out.insert(out.end(), g.begin(), g.end());
  return out;
}

}  // namespace

TEST_CASE("references from two gateways at full speed and across restarts never meet", "[scale][serial]") {
  Stack s;
  const int port2 = FreePort();
  auto second = SecondGateway(s, port2, 1);
  REQUIRE(WaitFor([&] { return ReadyAt(port2); }));

  // A third gateway with the second's instance id is refused at its start, with the reason.
  auto twin = SecondGateway(s, FreePort(), 1);
  REQUIRE(WaitFor([&] { return !twin->Running(); }));
  CHECK(twin->exit_status() != 0);
  CHECK(twin->Log().find("gateway.instance_id 1") != std::string::npos);

  std::set<std::string> all;
  size_t sent = 0;
  auto round = [&](int per_thread) {
    std::vector<std::string> a, b;
    std::thread ta([&] { a = Flood(s.port(), 2, per_thread); });
    std::thread tb([&] { b = Flood(port2, 2, per_thread); });
    ta.join();
    tb.join();
    REQUIRE(a.size() == static_cast<size_t>(2 * per_thread));
    REQUIRE(b.size() == static_cast<size_t>(2 * per_thread));
    for (const auto& ref : a)
      CHECK(all.insert(ref).second);
    for (const auto& ref : b)
      CHECK(all.insert(ref).second);
    sent += a.size() + b.size();
  };
  round(250);
  // kill -9 of one gateway and a restart at once, then of the other: still never the same.
  second->Signal(SIGKILL);
  REQUIRE(WaitFor([&] { return !second->Running(); }));
  second = SecondGateway(s, port2, 1);
  REQUIRE(WaitFor([&] { return ReadyAt(port2); }));
  round(250);
  s.StartGateway();  // stops the first gateway (SIGTERM) and starts it again
  REQUIRE(WaitFor([&] { return s.Ready(); }));
  round(250);
  CHECK(all.size() == sent);
  CHECK(sent == 3000);
  // Every one of them is one ticket, under its own reference.
  REQUIRE(s.WaitForCount(kTickets, static_cast<long long>(sent), std::chrono::seconds(120)));
  CHECK(s.Count("SELECT count(DISTINCT reference) FROM tickets") == static_cast<long long>(sent));
  second->Stop();
}

}  // namespace scale_out_test
