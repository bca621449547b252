#include "workers/replay.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "core/db.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::workers {

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Unix seconds of a wall-clock time in `tz` (for a time that a DST change skips or repeats, the
// offset in effect just before it).
int64_t FromLocal(const routing::TimeZone& tz, int64_t local_as_utc) {
  int64_t guess = local_as_utc - tz.OffsetAt(local_as_utc);
  return local_as_utc - tz.OffsetAt(guess);
}

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace

Result<int64_t> ParseReplayTime(std::string_view s, const routing::TimeZone& tz, bool end_of_day) {
  auto bad = [&](const std::string& why) {
    return MakeError("usage", "\"" + std::string(s) + "\" is not an ISO 8601 date or date-time (" +
                                  why + "; e.g. 2026-11-01 or 2026-11-01T08:00:00+01:00)");
  };
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!routing::ParseDigits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' ||
      !routing::ParseDigits(s, 5, 2, &mo) || s[7] != '-' || !routing::ParseDigits(s, 8, 2, &d)) {
    return bad("expected YYYY-MM-DD");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) {
    return bad("no such day");
  }
  int64_t day =
      routing::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400;
  if (s.size() == 10) {
    return FromLocal(tz, day + (end_of_day ? 86400 : 0));
  }
  int h = 0;
  int mi = 0;
  int se = 0;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !routing::ParseDigits(s, 11, 2, &h) ||
      s.size() < 16 || s[13] != ':' || !routing::ParseDigits(s, 14, 2, &mi)) {
    return bad("expected THH:MM after the date");
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!routing::ParseDigits(s, pos + 1, 2, &se)) {
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
  if (!routing::ParseDigits(s, pos + 1, 2, &oh)) {
    return bad("expected an offset like +01:00");
  }
  if (after < s.size()) {
    if (s[after] == ':') {
      ++after;
    }
    if (!routing::ParseDigits(s, after, 2, &om)) {
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

void ReplayAggregate::Add(std::string_view from, std::string_view to, std::string_view rule,
                          std::string_view reference) {
  ++total_;
  bool moved = from != to;
  if (moved) {
    ++moved_;
  }
  ReplayCell* cell = nullptr;
  if (last_ != nullptr && std::get<0>(*last_key_) == from && std::get<1>(*last_key_) == to &&
      std::get<2>(*last_key_) == rule) {
    cell = last_;
  } else {
    auto it = cells_.find(std::make_tuple(from, to, rule));
    if (it == cells_.end()) {
      it = cells_.emplace(Key{std::string(from), std::string(to), std::string(rule)}, ReplayCell{})
               .first;
    }
    cell = &it->second;
    last_ = cell;
    last_key_ = &it->first;
  }
  ++cell->count;
  // Examples only where something changes: that is what an operator looks at.
  if (moved && cell->examples.size() < max_examples_) {
    cell->examples.emplace_back(reference);
  }
}

std::vector<std::pair<ReplayAggregate::Key, ReplayCell>> ReplayAggregate::Moves() const {
  std::vector<std::pair<Key, ReplayCell>> out;
  for (const auto& [key, cell] : cells_) {
    if (std::get<0>(key) != std::get<1>(key)) {
      out.emplace_back(key, cell);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  return out;
}

namespace {

// The columns the rules can look at, in COPY text format (one row per line, tab-separated,
// \N for NULL, backslash escapes). received_at is printed in UTC (SET LOCAL TimeZone).
constexpr const char* kColumns =
    "t.reference, t.department_id, t.channel, t.received_at, t.category, t.text, t.lat, t.lon,"
    " t.id IN (SELECT a.ticket_id FROM attachments a WHERE a.media_type LIKE 'image/%')";

std::string ReplayQuery(const ReplayOptions& o) {
  std::string q = "(SELECT ";
  q += kColumns;
  q += " FROM tickets t WHERE true";
  if (o.since) {
    q += " AND t.received_at >= to_timestamp(" + std::to_string(*o.since) + ")";
  }
  if (o.until) {
    q += " AND t.received_at < to_timestamp(" + std::to_string(*o.until) + ")";
  }
  q += ")";
  return q;
}

// Splits one COPY text line into fields (views into `line`, unescaped in place where needed).
// Returns false if the line has fewer than `n` fields.
bool SplitCopyLine(std::string& line, std::string_view* fields, bool* nulls, size_t n) {
  size_t len = line.size();
  if (len > 0 && line[len - 1] == '\n') {
    --len;
  }
  size_t start = 0;
  for (size_t f = 0; f < n; ++f) {
    size_t end = line.find('\t', start);
    if (end == std::string::npos || end > len) {
      if (f + 1 != n) {
        return false;
      }
      end = len;
    }
    char* p = line.data() + start;
    size_t size = end - start;
    nulls[f] = size == 2 && p[0] == '\\' && p[1] == 'N';
    if (!nulls[f] && std::char_traits<char>::find(p, size, '\\') != nullptr) {
      // Unescape in place: the result is never longer than the escaped form.
      size_t w = 0;
      for (size_t r = 0; r < size; ++r) {
        char c = p[r];
        if (c == '\\' && r + 1 < size) {
          char e = p[++r];
          switch (e) {
            case 'n':
              c = '\n';
              break;
            case 't':
              c = '\t';
              break;
            case 'r':
              c = '\r';
              break;
            case 'b':
              c = '\b';
              break;
            case 'f':
              c = '\f';
              break;
            case 'v':
              c = '\v';
              break;
            default:
              c = e;
              break;  // \\ and any other escaped character
          }
        }
        p[w++] = c;
      }
      size = w;
    }
    fields[f] = std::string_view(p, size);
    start = end + 1;
  }
  return true;
}

// "2026-11-27 13:06:28.123+00" (timestamptz in UTC) → "2026-11-27T13:06:28.123Z", reusing `out`.
void ToRfc3339(std::string_view pg, std::string& out) {
  out.assign(pg);
  if (out.size() > 10 && out[10] == ' ') {
    out[10] = 'T';
  }
  if (out.size() > 3 && out.compare(out.size() - 3, 3, "+00") == 0) {
    out.resize(out.size() - 3);
    out += 'Z';
  }
}

double ToDouble(std::string_view s) {
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

Result<ReplayResult> Replay(const std::string& database_url, const routing::RuleSet& rules,
                            const ReplayOptions& options) {
  auto conn = ConnectDb(database_url);
  if (!conn) {
    return conn.error();
  }
  auto started = std::chrono::steady_clock::now();
  auto result = RunDb<ReplayAggregate>([&]() -> ReplayAggregate {
    ReplayAggregate agg(options.examples);
    // READ ONLY: replay can never change a ticket. REPEATABLE READ: one snapshot for the whole
    // stream, so tickets arriving meanwhile are not half counted.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(**conn, "replay");
    tx.exec0("SET LOCAL TimeZone = 'UTC'");
    // libpqxx 6.4 has no stream_from::query; it puts the "table name" after COPY verbatim, so a
    // parenthesised query streams as COPY (SELECT …) TO STDOUT.
    pqxx::stream_from stream(tx, ReplayQuery(options));
    std::string line;
    std::string_view f[9];
    bool null[9];
    Report report;
    report.attachments.reserve(1);
    int64_t rows = 0;
    auto last_progress = started;
    while (stream.get_raw_line(line)) {
      if (!SplitCopyLine(line, f, null, 9)) {
        throw std::runtime_error("unexpected COPY row: " + line.substr(0, 200));
      }
      report.channel.assign(f[2]);
      ToRfc3339(f[3], report.received_at);
      report.category.assign(null[4] ? std::string_view() : f[4]);
      report.text.assign(f[5]);
      report.location.lat.reset();
      report.location.lon.reset();
      if (!null[6] && !null[7]) {
        report.location.lat = ToDouble(f[6]);
        report.location.lon = ToDouble(f[7]);
      }
      report.attachments.clear();
      if (f[8] == "t") {
        report.attachments.emplace_back().media_type = "image/jpeg";
      }
      // The department as Route() decides it (a forward counts for the department that hands
      // the report over), without building the explanation.
      const routing::Rule* rule = routing::FirstMatch(rules, report);
      if (rule != nullptr) {
        agg.Add(f[1], rule->department, rule->id, f[0]);
      } else {
        agg.Add(f[1], rules.default_department, "", f[0]);
      }
      if ((++rows & 4095) == 0 && options.progress) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_progress >= std::chrono::seconds(1)) {
          last_progress = now;
          options.progress(rows, std::chrono::duration<double>(now - started).count());
        }
      }
    }
    stream.complete();
    tx.commit();
    return agg;
  });
  if (!result) {
    return result.error();
  }
  ReplayResult r{std::move(result).value(), rules.version, options.since, options.until, 0};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

nlohmann::json ReplayToJson(const ReplayResult& r) {
  using nlohmann::json;
  json moves = json::array();
  for (const auto& [key, cell] : r.aggregate.Moves()) {
    const auto& [from, to, rule] = key;
    moves.push_back({{"from", from},
                     {"to", to},
                     {"rule", rule.empty() ? json(nullptr) : json(rule)},
                     {"count", cell.count},
                     {"examples", cell.examples}});
  }
  auto time = [](const std::optional<int64_t>& t) {
    return t ? json(FormatUnixSeconds(*t)) : json(nullptr);
  };
  double rate = r.seconds > 0 ? static_cast<double>(r.aggregate.total()) / r.seconds : 0;
  return {{"ruleset_version", r.ruleset_version},
          {"since", time(r.since)},
          {"until", time(r.until)},
          {"total", r.aggregate.total()},
          {"unchanged", r.aggregate.unchanged()},
          {"moved", r.aggregate.moved()},
          {"seconds", r.seconds},
          {"reports_per_sec", static_cast<int64_t>(rate)},
          {"moves", moves}};
}

std::string ReplayToText(const ReplayResult& r) {
  std::ostringstream out;
  out << "replay of " << WithThousands(r.aggregate.total()) << " stored report(s) received "
      << (r.since ? "from " + FormatUnixSeconds(*r.since) : std::string("from the start")) << " "
      << (r.until ? "until " + FormatUnixSeconds(*r.until) : std::string("until now"))
      << "\nwith candidate rules " << r.ruleset_version << "\n\n";
  out << "unchanged: " << WithThousands(r.aggregate.unchanged())
      << "\nmoved:     " << WithThousands(r.aggregate.moved()) << "\n";
  auto moves = r.aggregate.Moves();
  if (moves.empty()) {
    out << "\nno report would change its department.\n";
    return out.str();
  }
  std::vector<std::vector<std::string>> rows = {{"from", "to", "rule", "count", "examples"}};
  for (const auto& [key, cell] : moves) {
    std::string examples;
    for (const auto& e : cell.examples) {
      examples += (examples.empty() ? "" : ", ") + e;
    }
    if (cell.count > static_cast<int64_t>(cell.examples.size())) {
      examples += cell.examples.empty() ? "…" : ", …";
    }
    const auto& rule = std::get<2>(key);
    rows.push_back({std::get<0>(key), std::get<1>(key), rule.empty() ? "(default)" : rule,
                    WithThousands(cell.count), examples});
  }
  size_t width[4] = {0, 0, 0, 0};
  for (const auto& row : rows) {
    for (size_t c = 0; c < 4; ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  out << "\n";
  for (const auto& row : rows) {
    for (size_t c = 0; c < 3; ++c) {
      out << row[c] << std::string(width[c] - row[c].size() + 2, ' ');
    }
    out << std::string(width[3] - row[3].size(), ' ') << row[3] << "  " << row[4] << "\n";
  }
  return out.str();
}

}  // namespace meldestelle::workers
