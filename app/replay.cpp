#include "app/replay.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "core/sql.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::app {

namespace {

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
  auto conn = db::Connect(database_url);
  if (!conn) {
    return conn.error();
  }
  auto started = std::chrono::steady_clock::now();
  auto result = db::Guard<ReplayAggregate>([&]() -> ReplayAggregate {
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
    return t ? json(routing::FormatUnixSeconds(*t)) : json(nullptr);
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
      << (r.since ? "from " + routing::FormatUnixSeconds(*r.since) : std::string("from the start"))
      << " "
      << (r.until ? "until " + routing::FormatUnixSeconds(*r.until) : std::string("until now"))
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

}  // namespace meldestelle::app
