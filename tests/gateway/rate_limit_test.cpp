// Per-client limits on reports (gateway/rate_limit; docs/security.md, "Rate limits").
#include "gateway/rate_limit.hpp"

#include <catch2/catch.hpp>

namespace rate_limit_test {

using namespace meldestelle::gateway;
using namespace std::chrono_literals;

TEST_CASE("rate limit: a burst, then one per refill interval, per client", "[rate_limit]") {
  RateLimiter limiter(20, 5);  // 5 at once, then one every 3 s
  auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i)
    CHECK(limiter.Take("198.51.100.7", t0).allowed);
  auto refused = limiter.Take("198.51.100.7", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_seconds == 3);
  // Another client is not affected.
  CHECK(limiter.Take("198.51.100.8", t0).allowed);
  // 2 s later: still none; 3 s later: one.
  CHECK_FALSE(limiter.Take("198.51.100.7", t0 + 2s).allowed);
  CHECK(limiter.Take("198.51.100.7", t0 + 3s).allowed);
  CHECK_FALSE(limiter.Take("198.51.100.7", t0 + 3s).allowed);
  // A long pause refills up to the burst, not beyond.
  auto later = t0 + 1h;
  for (int i = 0; i < 5; ++i)
    CHECK(limiter.Take("198.51.100.7", later).allowed);
  CHECK_FALSE(limiter.Take("198.51.100.7", later).allowed);
}

TEST_CASE("rate limit: 0 per minute is no limit", "[rate_limit]") {
  RateLimiter off(0, 1);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(off.Take("x").allowed);
}

TEST_CASE("rate limit: the client is the peer unless the peer is a trusted proxy", "[rate_limit]") {
  const std::vector<std::string> proxies = {"10.0.0.1", "10.0.0.2"};
  // Anyone may send X-Forwarded-For: from an untrusted peer it is ignored.
  CHECK(ClientAddress("203.0.113.9", "198.51.100.7", proxies) == "203.0.113.9");
  CHECK(ClientAddress("203.0.113.9", "198.51.100.7", {}) == "203.0.113.9");
  // Through our proxy: the address it saw (the rightmost it did not add itself).
  CHECK(ClientAddress("10.0.0.1", "198.51.100.7", proxies) == "198.51.100.7");
  CHECK(ClientAddress("10.0.0.1", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7");
  CHECK(ClientAddress("10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2", proxies) == "198.51.100.7");
  CHECK(ClientAddress("10.0.0.1", " , ", proxies) == "10.0.0.1");
  CHECK(ClientAddress("10.0.0.1", "", proxies) == "10.0.0.1");
  CHECK(ClientAddress("10.0.0.1", "10.0.0.2", proxies) == "10.0.0.1");
}

TEST_CASE("rate limit keys: IPv6 by its /64, IPv4 and mapped IPv4 as the address", "[rate_limit]") {
  CHECK(LimitKey("203.0.113.9") == "203.0.113.9");
  CHECK(LimitKey("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
  CHECK(LimitKey("2001:db8:1:2::ffff") == LimitKey("2001:db8:1:2:aaaa::1"));
  CHECK(LimitKey("2001:db8:1:3::1") != LimitKey("2001:db8:1:2::1"));
  CHECK(LimitKey("::1") == "0:0:0:0::/64");
  CHECK(LimitKey("::ffff:198.51.100.7") == "198.51.100.7");
  CHECK(LimitKey("not an address") == "not an address");
  CHECK(LimitKey("") == "");
}

}  // namespace rate_limit_test
