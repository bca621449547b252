#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "routing/timezone.hpp"

// Deadlines in the town's calendar (docs/departments.md, "Re-routing, acceptance deadlines", "Working days"). Pure.
namespace meldestelle::routing {

// The town's working calendar: ISO weekdays (1 = Monday … 7 = Sunday) that are working days,
// holidays (YYYY-MM-DD, never working days) and the time zone that says when a day begins.
struct WorkingCalendar {
  std::vector<int> working_days = {1, 2, 3, 4, 5};
  std::vector<int64_t> holidays;  // days since 1970-01-01 (local dates), sorted
  TimeZone timezone = TimeZone::Utc();

  // From the config's tickets.working_days / holidays; malformed holidays (the config loader
  // refuses them) are ignored.
  static WorkingCalendar From(const std::vector<int>& working_days,
                              const std::vector<std::string>& holidays, TimeZone tz);
  bool IsWorkingDay(int64_t local_day) const;
};

// The Unix time of a local wall-clock time (seconds since 1970-01-01 00:00 local). A time in the
// spring-forward gap moves forward by the gap; in the autumn overlap the earlier instant wins.
int64_t FromLocal(const TimeZone& tz, int64_t local_seconds);

// `start` + `span`, as a deadline (Unix seconds):
// - minutes, hours: elapsed time;
// - days: the same local wall-clock time `amount` calendar days later (so 23 or 25 hours across
//   a DST change);
// - working days: the same local time on the `amount`-th working day after the start's day
//   (Friday 15:00 + 2 working days = Tuesday 15:00); a start outside working days (weekend,
//   holiday) counts from the beginning of the next working day, so Saturday + 1 working day =
//   Tuesday 00:00, the end of Monday.
// An unset span returns `start`.
int64_t AddSpan(int64_t start, const Span& span, const WorkingCalendar& calendar);

// The shortest time `span` can take (for pre-filtering database rows): minutes and hours exactly,
// (working) days as 23-hour days.
int64_t MinimumSeconds(const Span& span);

}  // namespace meldestelle::routing
