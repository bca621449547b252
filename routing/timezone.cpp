#include "routing/timezone.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"

namespace meldestelle::routing {

namespace {

int64_t ReadBE(std::string_view d, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | static_cast<unsigned char>(d[pos + static_cast<size_t>(i)]);
  }
  if (bytes == 4) {
    return static_cast<int32_t>(static_cast<uint32_t>(v));
  }
  return static_cast<int64_t>(v);
}

}  // namespace

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

TimeZone TimeZone::Utc() { return TimeZone(); }

Result<TimeZone> TimeZone::Load(const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") {
    return Utc();
  }
  if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos) {
    return MakeError(errors::kTimezoneInvalid, "\"" + name + "\" is not a time zone name");
  }
  const char* dir = std::getenv("TZDIR");
  std::string path =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(errors::kTimezoneInvalid,
                     "unknown time zone \"" + name + "\" (no " + path + ")");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return FromTzif(name, ss.str());
}

Result<TimeZone> TimeZone::FromTzif(const std::string& name, std::string_view d) {
  auto bad = [&] {
    return MakeError(errors::kTimezoneInvalid, "\"" + name + "\": not a TZif file");
  };
  constexpr size_t kHeader = 44;
  if (d.size() < kHeader || d.substr(0, 4) != "TZif") {
    return bad();
  }
  // Header counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  auto counts = [&](size_t at, int64_t c[6]) {
    for (int i = 0; i < 6; ++i) {
      c[i] = ReadBE(d, at + 20 + static_cast<size_t>(i) * 4, 4);
    }
  };
  int64_t c[6];
  counts(0, c);
  size_t pos = kHeader;
  int time_size = 4;
  if (d[4] >= '2') {
    // Skip the v1 block; the v2 header and 64-bit data follow.
    pos += static_cast<size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (d.size() < pos + kHeader) {
      return bad();
    }
    counts(pos, c);
    pos += kHeader;
    time_size = 8;
  }
  const auto timecnt = static_cast<size_t>(c[3]);
  const auto typecnt = static_cast<size_t>(c[4]);
  size_t need = timecnt * static_cast<size_t>(time_size) + timecnt + typecnt * 6;
  if (typecnt == 0 || d.size() < pos + need) {
    return bad();
  }
  TimeZone tz;
  tz.name_ = name;
  std::vector<int> type_offsets(typecnt);
  size_t types_at = pos + timecnt * static_cast<size_t>(time_size) + timecnt;
  for (size_t i = 0; i < typecnt; ++i) {
    type_offsets[i] = static_cast<int>(ReadBE(d, types_at + i * 6, 4));
  }
  tz.initial_offset_ = type_offsets[0];
  for (size_t i = 0; i < timecnt; ++i) {
    tz.transitions_.push_back(ReadBE(d, pos + i * static_cast<size_t>(time_size), time_size));
    auto idx = static_cast<unsigned char>(d[pos + timecnt * static_cast<size_t>(time_size) + i]);
    if (idx >= typecnt) {
      return bad();
    }
    tz.offsets_after_.push_back(type_offsets[idx]);
  }
  return tz;
}

int TimeZone::OffsetAt(int64_t t) const {
  // Last transition at or before t.
  size_t lo = 0, hi = transitions_.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (transitions_[mid] <= t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo == 0 ? initial_offset_ : offsets_after_[lo - 1];
}

LocalTime ToLocal(const TimeZone& tz, int64_t t) {
  int64_t local = t + tz.OffsetAt(t);
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t secs = local - days * 86400;
  LocalTime lt;
  lt.minute_of_day = static_cast<int>(secs / 60);
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  lt.weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);
  return lt;
}

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ParseDigits(s, 11, 2, &h) || s[13] != ':' || !ParseDigits(s, 14, 2, &mi) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ++pos;
    }
  }
  int offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset = (oh * 60 + om) * 60 * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + h * 3600 + mi * 60 + se - offset;
}

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Unix seconds of a wall-clock time in `tz` (for a time that a DST change skips or repeats, the
// offset in effect just before it).
int64_t FromLocal(const TimeZone& tz, int64_t local_as_utc) {
  int64_t guess = local_as_utc - tz.OffsetAt(local_as_utc);
  return local_as_utc - tz.OffsetAt(guess);
}

}  // namespace

Result<int64_t> ParseTownTime(std::string_view s, const TimeZone& tz, bool end_of_day) {
  auto bad = [&](const std::string& why) {
    return MakeError(errors::kUsage, "\"" + std::string(s) +
                                         "\" is not an ISO 8601 date or date-time (" + why +
                                         "; e.g. 2026-11-01 or 2026-11-01T08:00:00+01:00)");
  };
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d)) {
    return bad("expected YYYY-MM-DD");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) {
    return bad("no such day");
  }
  int64_t day = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400;
  if (s.size() == 10) {
    return FromLocal(tz, day + (end_of_day ? 86400 : 0));
  }
  int h = 0;
  int mi = 0;
  int se = 0;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !ParseDigits(s, 11, 2, &h) ||
      s.size() < 16 || s[13] != ':' || !ParseDigits(s, 14, 2, &mi)) {
    return bad("expected THH:MM after the date");
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!ParseDigits(s, pos + 1, 2, &se)) {
      return bad("expected two digits of seconds");
    }
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        ++pos;
      }
      if (pos == start) {
        return bad("expected digits after the decimal point");
      }
    }
  }
  if (h > 24 || mi > 59 || se > 59 || (h == 24 && (mi != 0 || se != 0))) {
    return bad("no such time of day");
  }
  int64_t wall = day + h * 3600 + mi * 60 + se;
  if (pos == s.size()) {
    return FromLocal(tz, wall);
  }
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) {
      return bad("unexpected text after Z");
    }
    return wall;
  }
  if (s[pos] != '+' && s[pos] != '-') {
    return bad("expected Z or an offset like +01:00");
  }
  int oh = 0;
  int om = 0;
  size_t after = pos + 3;
  if (!ParseDigits(s, pos + 1, 2, &oh)) {
    return bad("expected an offset like +01:00");
  }
  if (after < s.size()) {
    if (s[after] == ':') {
      ++after;
    }
    if (!ParseDigits(s, after, 2, &om)) {
      return bad("expected an offset like +01:00");
    }
    after += 2;
  }
  if (after != s.size() || oh > 23 || om > 59) {
    return bad("expected an offset like +01:00");
  }
  int offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
  return wall - offset;
}

std::string FormatUnixSeconds(int64_t t) {
  // Hinnant's civil_from_days; system_clock's nanoseconds would overflow after 2262.
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t secs = t - days * 86400;
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m,
                d, static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

}  // namespace meldestelle::routing
