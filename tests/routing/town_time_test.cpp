// Times in the town's zone as operators type them (--since, --until, --now) and their UTC form.
#include <catch2/catch.hpp>

#include "routing/timezone.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace town_time_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

routing::TimeZone Berlin() {
  auto tz = routing::TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  return *tz;
}

int64_t Parse(const std::string& s, bool end_of_day = false) {
  auto t = ParseTownTime(s, Berlin(), end_of_day);
  INFO(s << ": " << (t ? "" : t.error().message));
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("replay dates: ISO 8601 dates are local midnight in the town's time zone") {
  // 2026-11-01 00:00 CET (+01:00) = 2026-10-31T23:00:00Z
  CHECK(FormatUnixSeconds(Parse("2026-11-01")) == "2026-10-31T23:00:00Z");
  // Summer time (+02:00).
  CHECK(FormatUnixSeconds(Parse("2026-07-01")) == "2026-06-30T22:00:00Z");
  // --until with a bare date includes the whole day.
  CHECK(FormatUnixSeconds(Parse("2026-11-30", true)) == "2026-11-30T23:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2024-02-29")) == "2024-02-28T23:00:00Z");
  // In UTC, midnight is midnight.
  auto utc = ParseTownTime("2026-11-01", routing::TimeZone::Utc(), false);
  REQUIRE(utc.ok());
  CHECK(FormatUnixSeconds(*utc) == "2026-11-01T00:00:00Z");
}

TEST_CASE("replay dates: date-times with and without an offset") {
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00Z")) == "2026-11-01T08:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00.250z")) == "2026-11-01T08:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00+01:00")) == "2026-11-01T07:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00:00-0230")) == "2026-11-01T10:30:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00+05")) == "2026-11-01T03:00:00Z");
  // Without an offset: the town's local time; a space instead of T is accepted.
  CHECK(FormatUnixSeconds(Parse("2026-11-01T08:00")) == "2026-11-01T07:00:00Z");
  CHECK(FormatUnixSeconds(Parse("2026-07-01 08:00:00")) == "2026-07-01T06:00:00Z");
  // A date-time is exact even for --until.
  CHECK(Parse("2026-11-01T08:00:00Z", true) == Parse("2026-11-01T08:00:00Z"));
  CHECK(FormatUnixSeconds(Parse("2026-11-01T24:00Z")) == "2026-11-02T00:00:00Z");
  // Far dates stay exact (no nanosecond clock overflow).
  CHECK(FormatUnixSeconds(Parse("2999-01-01T00:00:00Z")) == "2999-01-01T00:00:00Z");
  CHECK(FormatUnixSeconds(Parse("1969-12-31T23:59:59Z")) == "1969-12-31T23:59:59Z");
  CHECK(FormatUnixSeconds(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("replay dates: bad values are refused with what was expected") {
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-02-29", "2026-11-31", "2026-1-01", "01.11.2026",
        "2026-11-01T", "2026-11-01T25:00", "2026-11-01T08:60", "2026-11-01T08:00:61Z",
        "2026-11-01T08:00Zx", "2026-11-01T08:00+1", "2026-11-01T08:00:00.Z",
        "2026-11-01T08:00:00+01:00:00", "2026-11-01T24:30Z", "2026-11-01X08:00"}) {
    auto t = ParseTownTime(bad, Berlin(), false);
    INFO(bad);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code.name() == "usage");
    CHECK_THAT(t.error().message, Catch::Contains("ISO 8601"));
  }
}

}  // namespace town_time_test
