// AddSpan: deadlines in minutes, hours, days and working days in the town's time zone.
#include "routing/working_time.hpp"

#include <catch2/catch.hpp>

#include "core/config.hpp"
#include "routing/timezone.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace working_time_test {

using namespace meldestelle;
using namespace meldestelle::routing;

namespace {

Span S(const std::string& text) {
  auto s = ParseSpan(text);
  REQUIRE(s);
  return *s;
}

int64_t T(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  REQUIRE(t);
  return *t;
}

WorkingCalendar Berlin(std::vector<std::string> holidays = {}) {
  auto tz = TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  return WorkingCalendar::From({1, 2, 3, 4, 5}, holidays, *tz);
}

}  // namespace

// 2026-11-27 is a Friday.
TEST_CASE("Friday afternoon plus 2 working days is Tuesday afternoon") {
  auto cal = Berlin();
  CHECK(AddSpan(T("2026-11-27T15:30:00+01:00"), S("2 working days"), cal) ==
        T("2026-12-01T15:30:00+01:00"));
  CHECK(AddSpan(T("2026-11-27T15:30:00+01:00"), S("1 Arbeitstag"), cal) ==
        T("2026-11-30T15:30:00+01:00"));
  // Monday + 4 working days = Friday.
  CHECK(AddSpan(T("2026-11-23T09:00:00+01:00"), S("4 Werktage"), cal) ==
        T("2026-11-27T09:00:00+01:00"));
  // Friday + 5 working days = the next Friday.
  CHECK(AddSpan(T("2026-11-27T09:00:00+01:00"), S("5 working days"), cal) ==
        T("2026-12-04T09:00:00+01:00"));
}

TEST_CASE("a start on the weekend counts from the beginning of Monday") {
  auto cal = Berlin();
  // Saturday 11:00 + 1 working day = end of Monday (Tuesday 00:00).
  CHECK(AddSpan(T("2026-11-28T11:00:00+01:00"), S("1 working day"), cal) ==
        T("2026-12-01T00:00:00+01:00"));
  CHECK(AddSpan(T("2026-11-29T23:59:00+01:00"), S("2 working days"), cal) ==
        T("2026-12-02T00:00:00+01:00"));
}

TEST_CASE("holidays are skipped like weekends") {
  auto cal = Berlin({"2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"});
  // Wednesday 23 Dec + 1 working day: Thu 24 and Fri 25 are holidays, then the weekend.
  CHECK(AddSpan(T("2026-12-23T10:00:00+01:00"), S("1 working day"), cal) ==
        T("2026-12-28T10:00:00+01:00"));
  // Starting on a holiday: from the beginning of the next working day.
  CHECK(AddSpan(T("2026-12-24T10:00:00+01:00"), S("2 working days"), cal) ==
        T("2026-12-30T00:00:00+01:00"));
  // Calendar days do not care about holidays.
  CHECK(AddSpan(T("2026-12-23T10:00:00+01:00"), S("2 days"), cal) ==
        T("2026-12-25T10:00:00+01:00"));
}

TEST_CASE("other working days than Monday to Friday") {
  auto tz = TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  auto cal = WorkingCalendar::From({1, 2, 3, 4, 5, 6}, {}, *tz);
  CHECK(AddSpan(T("2026-11-27T15:00:00+01:00"), S("1 working day"), cal) ==
        T("2026-11-28T15:00:00+01:00"));
  CHECK(AddSpan(T("2026-11-27T15:00:00+01:00"), S("2 working days"), cal) ==
        T("2026-11-30T15:00:00+01:00"));
}

TEST_CASE("days and working days keep the local time across the DST changes") {
  auto cal = Berlin();
  // Clocks go back on Sunday 2026-10-25: Friday 10:00 CEST + 1 working day = Monday 10:00 CET,
  // 73 hours later.
  int64_t fri = T("2026-10-23T10:00:00+02:00");
  int64_t mon = AddSpan(fri, S("1 working day"), cal);
  CHECK(mon == T("2026-10-26T10:00:00+01:00"));
  CHECK(mon - fri == 73 * 3600);
  // Calendar day across the change: Saturday 12:00 CEST + 1 day = Sunday 12:00 CET (25 hours).
  CHECK(AddSpan(T("2026-10-24T12:00:00+02:00"), S("1 day"), cal) == T("2026-10-25T12:00:00+01:00"));
  // Spring forward on 2026-03-29: 23 hours.
  CHECK(AddSpan(T("2026-03-28T12:00:00+01:00"), S("1 Tag"), cal) == T("2026-03-29T12:00:00+02:00"));
  // Hours are elapsed time, not wall-clock time.
  CHECK(AddSpan(T("2026-03-29T00:30:00+01:00"), S("4 hours"), cal) ==
        T("2026-03-29T05:30:00+02:00"));
  CHECK(AddSpan(T("2026-11-27T10:00:00Z"), S("90 minutes"), cal) == T("2026-11-27T11:30:00Z"));
}

TEST_CASE("local times in the DST gap and overlap") {
  auto cal = Berlin();
  // 02:30 on 2026-03-29 does not exist: it moves forward by the gap to 03:30 CEST.
  int64_t local_gap = DaysFromCivil(2026, 3, 29) * 86400 + 2 * 3600 + 30 * 60;
  CHECK(FromLocal(cal.timezone, local_gap) == T("2026-03-29T03:30:00+02:00"));
  // 02:30 on 2026-10-25 exists twice: the earlier (CEST) wins.
  int64_t local_twice = DaysFromCivil(2026, 10, 25) * 86400 + 2 * 3600 + 30 * 60;
  CHECK(FromLocal(cal.timezone, local_twice) == T("2026-10-25T02:30:00+02:00"));
  // A start in the gap's neighbourhood + 1 day.
  CHECK(AddSpan(T("2026-03-28T02:30:00+01:00"), S("1 day"), cal) == T("2026-03-29T03:30:00+02:00"));
}

TEST_CASE("an unset span is no deadline shift and broken holidays are ignored") {
  auto tz = TimeZone::Load("Europe/Berlin");
  REQUIRE(tz.ok());
  auto cal =
      WorkingCalendar::From({1, 2, 3, 4, 5}, {"2026-13-01", "gestern", "", "2026-12-1"}, *tz);
  CHECK(cal.holidays.empty());
  CHECK(AddSpan(1000, Span{}, cal) == 1000);
  CHECK(MinimumSeconds(S("2 working days")) == 2 * 23 * 3600);
  CHECK(MinimumSeconds(S("3 hours")) == 3 * 3600);
  CHECK(MinimumSeconds(Span{}) == 0);
}

TEST_CASE("UTC calendar: midnight starts and week boundaries") {
  auto cal = WorkingCalendar::From({1, 2, 3, 4, 5}, {}, TimeZone::Utc());
  CHECK(AddSpan(T("2026-11-27T23:59:59Z"), S("1 working day"), cal) == T("2026-11-30T23:59:59Z"));
  CHECK(AddSpan(T("2026-11-30T00:00:00Z"), S("10 working days"), cal) == T("2026-12-14T00:00:00Z"));
}

}  // namespace working_time_test
