// Retry-After as the providers send it (core/http_client.hpp, RetryAfterSeconds): seconds or an
// HTTP-date, capped, nothing for what cannot be read.
#include <catch2/catch.hpp>
#include <ctime>

#include "core/http_client.hpp"

namespace retry_after_test {

using meldestelle::kMaxRetryAfterSeconds;
using meldestelle::RetryAfterSeconds;

// Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date).
constexpr std::time_t kNow = 784111777;

TEST_CASE("Retry-After in seconds is the wait, capped at an hour", "[http][retry_after]") {
  CHECK(RetryAfterSeconds("30", kNow) == 30);
  CHECK(RetryAfterSeconds(" 120 ", kNow) == 120);
  CHECK(RetryAfterSeconds("0", kNow) == 0);
  CHECK(RetryAfterSeconds("86400", kNow) == kMaxRetryAfterSeconds);
  CHECK(RetryAfterSeconds("99999999999999999999", kNow) == kMaxRetryAfterSeconds);
  CHECK(RetryAfterSeconds("86400", kNow, 600) == 600);
}

TEST_CASE("Retry-After as an HTTP-date is the time until then", "[http][retry_after]") {
  // IMF-fixdate, RFC 850 and asctime, 45 s after kNow.
  CHECK(RetryAfterSeconds("Sun, 06 Nov 1994 08:50:22 GMT", kNow) == 45);
  CHECK(RetryAfterSeconds("Sunday, 06-Nov-94 08:50:22 GMT", kNow) == 45);
  CHECK(RetryAfterSeconds("Sun Nov  6 08:50:22 1994", kNow) == 45);
  // Past, or far ahead.
  CHECK(RetryAfterSeconds("Sun, 06 Nov 1994 08:00:00 GMT", kNow) == 0);
  CHECK(RetryAfterSeconds("Mon, 07 Nov 1994 08:49:37 GMT", kNow) == kMaxRetryAfterSeconds);
}

TEST_CASE("a Retry-After that cannot be read asks for nothing", "[http][retry_after]") {
  CHECK(RetryAfterSeconds("", kNow) == 0);
  CHECK(RetryAfterSeconds("soon", kNow) == 0);
  CHECK(RetryAfterSeconds("-5", kNow) == 0);
  CHECK(RetryAfterSeconds("1.5", kNow) == 0);
}

}  // namespace retry_after_test
