#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

// A time zone read from the system's TZif files (/usr/share/zoneinfo, or $TZDIR), for evaluating
// `time:` conditions in the town's local time. libstdc++ 12 has no std::chrono time zone database.
// Immutable after loading; thread-safe.
namespace meldestelle::routing {

class TimeZone {
 public:
  static TimeZone Utc();
  // Loads a zone by IANA name ("Europe/Berlin"). Reads the 64-bit transition table of a TZif v2+
  // file; times after the last transition keep its offset (Debian's files list transitions up to
  // 2037).
  static Result<TimeZone> Load(const std::string& name);
  static Result<TimeZone> FromTzif(const std::string& name, std::string_view data);

  // UTC offset in seconds at a Unix time.
  int OffsetAt(int64_t unix_seconds) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;  // ascending
  std::vector<int> offsets_after_;    // offset in effect from transitions_[i]
  int initial_offset_ = 0;
};

// Local wall-clock values of an instant.
struct LocalTime {
  int weekday = 0;  // 0 = Monday … 6 = Sunday
  int minute_of_day = 0;
};
LocalTime ToLocal(const TimeZone& tz, int64_t unix_seconds);

// Parses RFC 3339 ("2026-11-27T13:06:28.123Z", or with ±HH:MM) into Unix seconds.
std::optional<int64_t> ParseRfc3339(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
// Reads `n` ASCII digits at `pos` of `s`; false if they are not all digits or `s` is too short.
bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out);

// Parses a --since/--until/--now value: an ISO 8601 date ("2026-11-01", midnight in the town's
// time zone `tz`) or date-time ("2026-11-01T08:00", "2026-11-01 08:00:00", optional seconds and
// fraction, optional "Z" or "±HH:MM"; without an offset it is the town's local time).
// `end_of_day` makes a bare date mean the end of that day (the next midnight), so `--until
// 2026-11-30` includes the 30th. Returns Unix seconds, or an error naming what was expected.
Result<int64_t> ParseTownTime(std::string_view text, const TimeZone& tz, bool end_of_day);
// RFC 3339 UTC ("2026-11-01T07:00:00Z") of Unix seconds.
std::string FormatUnixSeconds(int64_t unix_seconds);

}  // namespace meldestelle::routing
