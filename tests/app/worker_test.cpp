#include "workers/worker.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/amqp.hpp"

// In a namespace of its own: the tests may be compiled in one unit (MELDESTELLE_UNITY_TESTS).
namespace worker_test {

using namespace meldestelle;

namespace {

// The attempt of a delivery whose headers are `headers` (string values, as a retry queue's copy
// carries them), with the quorum queue's x-delivery-count `deliveries` if not negative (an
// integer, as the broker sets it).
int Attempt(const std::map<std::string, std::string>& headers, long deliveries = -1) {
  std::vector<amqp_table_entry_t> entries;
  for (const auto& [key, value] : headers)
    entries.push_back(StringEntry(key.c_str(), value.c_str()));
  if (deliveries >= 0)
    entries.push_back(IntEntry("x-delivery-count", deliveries));
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  if (!entries.empty()) {
    props._flags = AMQP_BASIC_HEADERS_FLAG;
    props.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};
  }
  return workers::AttemptOf(props);
}

}  // namespace

TEST_CASE("a delivery's attempt counts the failed attempts of the copies before it") {
  // The gateway's message, delivered for the first time and again by the work queue.
  CHECK(Attempt({}) == 1);
  CHECK(Attempt({}, 0) == 1);
  CHECK(Attempt({}, 2) == 3);
  // A retry queue's copy after the third failed attempt, and that copy delivered again.
  CHECK(Attempt({{workers::kAttemptsHeader, "3"}}) == 4);
  CHECK(Attempt({{workers::kAttemptsHeader, "3"}}, 1) == 5);
  // What no worker writes counts for nothing, or at most a thousand.
  CHECK(Attempt({{workers::kAttemptsHeader, "drei"}}) == 1);
  CHECK(Attempt({{workers::kAttemptsHeader, "-7"}}) == 1);
  CHECK(Attempt({{workers::kAttemptsHeader, "99999999999999999999"}}) == 1001);
  CHECK(Attempt({{workers::kAttemptsHeader, "2"}, {"x-other", "9"}}) == 3);
}

TEST_CASE("a retry queue is named by its work queue and its delay") {
  CHECK(workers::RetryQueueName("meldestelle.reports", 15) == "meldestelle.reports.retry.15s");
  CHECK(workers::RetryQueueName("q", 3600) == "q.retry.3600s");
}

}  // namespace worker_test
