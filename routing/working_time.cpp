#include "routing/working_time.hpp"

#include <algorithm>

namespace meldestelle::routing {

namespace {

constexpr int64_t kDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

// ISO weekday (1 = Monday) of a day number; 1970-01-01 was a Thursday.
int IsoWeekday(int64_t day) { return static_cast<int>(((day % 7) + 7 + 3) % 7) + 1; }

}  // namespace

WorkingCalendar WorkingCalendar::From(const std::vector<int>& working_days,
                                      const std::vector<std::string>& holidays, TimeZone tz) {
  WorkingCalendar c;
  c.working_days = working_days;
  c.timezone = std::move(tz);
  for (const auto& h : holidays) {
    int y = 0, m = 0, d = 0;
    if (h.size() != 10 || !ParseDigits(h, 0, 4, &y) || h[4] != '-' || !ParseDigits(h, 5, 2, &m) ||
        h[7] != '-' || !ParseDigits(h, 8, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31) {
      continue;
    }
    c.holidays.push_back(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
  }
  std::sort(c.holidays.begin(), c.holidays.end());
  return c;
}

bool WorkingCalendar::IsWorkingDay(int64_t day) const {
  if (std::find(working_days.begin(), working_days.end(), IsoWeekday(day)) == working_days.end()) {
    return false;
  }
  return !std::binary_search(holidays.begin(), holidays.end(), day);
}

int64_t FromLocal(const TimeZone& tz, int64_t local) {
  // The offset before the instant, then the offset at the instant it gives.
  int64_t t = local - tz.OffsetAt(local - tz.OffsetAt(local));
  int64_t earlier = local - tz.OffsetAt(local - kDay);  // for the overlap: the earlier offset
  if (earlier < t && earlier + tz.OffsetAt(earlier) == local) {
    return earlier;
  }
  return t;
}

int64_t AddSpan(int64_t start, const Span& span, const WorkingCalendar& cal) {
  if (!span.set()) {
    return start;
  }
  switch (span.unit) {
    case Span::Unit::kMinutes:
      return start + span.amount * 60;
    case Span::Unit::kHours:
      return start + span.amount * 3600;
    case Span::Unit::kDays:
    case Span::Unit::kWorkingDays:
      break;
    case Span::Unit::kNone:
      return start;
  }
  int64_t local = start + cal.timezone.OffsetAt(start);
  int64_t day = FloorDiv(local, kDay);
  int64_t time_of_day = local - day * kDay;
  if (span.unit == Span::Unit::kDays) {
    return FromLocal(cal.timezone, (day + span.amount) * kDay + time_of_day);
  }
  if (cal.working_days.empty()) {
    return start;  // no working days at all: the config loader refuses this
  }
  if (!cal.IsWorkingDay(day)) {
    // The clock starts at the beginning of the next working day.
    while (!cal.IsWorkingDay(day)) {
      ++day;
    }
    time_of_day = 0;
  }
  int64_t counted = 0;
  while (counted < span.amount) {
    ++day;
    if (cal.IsWorkingDay(day)) {
      ++counted;
    }
  }
  return FromLocal(cal.timezone, day * kDay + time_of_day);
}

int64_t MinimumSeconds(const Span& span) {
  if (!span.set()) {
    return 0;
  }
  switch (span.unit) {
    case Span::Unit::kMinutes:
      return span.amount * 60;
    case Span::Unit::kHours:
      return span.amount * 3600;
    case Span::Unit::kDays:
    case Span::Unit::kWorkingDays:
      return span.amount * 23 * 3600;
    case Span::Unit::kNone:
      break;
  }
  return 0;
}

}  // namespace meldestelle::routing
