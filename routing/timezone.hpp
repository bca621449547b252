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

}  // namespace meldestelle::routing
