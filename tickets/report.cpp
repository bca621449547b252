#include "tickets/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sql.hpp"
#include "core/text.hpp"
#include "routing/timezone.hpp"
#include "tickets/quality.hpp"

namespace meldestelle::tickets {

namespace {

// One report as the figures need it.
constexpr const char* kReports =
    "SELECT coalesce(t.category, t.routed_category, ''), t.department_id, t.channel, t.lat, t.lon,"
    " CASE $3 WHEN 'week' THEN to_char(date_trunc('week', t.received_at AT TIME ZONE $4),"
    "  'YYYY-MM-DD') WHEN 'month' THEN to_char(t.received_at AT TIME ZONE $4, 'YYYY-MM')"
    "  ELSE '' END,"
    " t.duplicate_of IS NOT NULL OR t.status = 'duplicate', t.status,"
    " extract(epoch FROM t.accepted_at - t.received_at)::double precision"
    "  - t.paused_before_accept_seconds,"
    " CASE WHEN t.status = 'done' AND t.closed_at IS NOT NULL THEN"
    "  extract(epoch FROM t.closed_at - t.received_at)::double precision - t.paused_seconds END,"
    " EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket_id = t.id AND h.action = 'reopened'),"
    " EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket_id = t.id"
    "  AND (h.action IN ('handed_back', 'forwarded', 'escalated') OR (h.action = 'rerouted'"
    "   AND h.to_department IS DISTINCT FROM h.from_department)))"
    " FROM tickets t WHERE t.received_at >= to_timestamp($1) AND t.received_at < to_timestamp($2)"
    " AND ($5 = '' OR t.department_id = $5)";

struct Group {
  ReportRow row;
  std::vector<double> accept, done;
};

std::string Seconds(const std::optional<double>& s) {
  if (!s)
    return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", *s);
  return buf;
}

nlohmann::json OptJson(const std::optional<double>& v) {
  return v ? nlohmann::json(std::round(*v)) : nlohmann::json();
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const char* KeyTitle(const std::string& by) {
  if (by == "district")
    return "district";
  if (by == "department")
    return "department";
  if (by == "channel")
    return "channel";
  return "category";
}

std::string KeyText(const ReportQuery& q, const std::string& key) {
  if (!key.empty())
    return key;
  return q.by == "district" ? "(no district)" : "(none)";
}

}  // namespace

std::optional<double> Percentile(std::vector<double>& values, double fraction) {
  if (values.empty())
    return std::nullopt;
  std::sort(values.begin(), values.end());
  const double at = fraction * static_cast<double>(values.size() - 1);
  const size_t low = static_cast<size_t>(std::floor(at));
  const size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (at - static_cast<double>(low));
}

std::vector<ReportRow> LoadReport(db::Tx& tx, const ReportQuery& q) {
  const int64_t from = q.since.value_or(-62135596800);
  const int64_t to = q.until.value_or(253402300799);
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const auto& r : tx.exec_params(kReports, from, to, q.period, q.timezone, q.department)) {
    std::vector<std::string> keys;
    if (q.by == "district") {
      if (!r[3].is_null() && !r[4].is_null()) {
        routing::LonLat p{r[4].as<double>(), r[3].as<double>()};
        for (const auto& [name, area] : q.districts) {
          if (routing::Contains(area, p))
            keys.push_back(name);
        }
      }
      if (keys.empty())
        keys.push_back("");
    } else {
      keys.push_back(r[q.by == "department" ? 1 : q.by == "channel" ? 2 : 0].as<std::string>());
    }
    const std::string period = r[5].as<std::string>();
    const bool duplicate = r[6].as<bool>();
    const std::string status = r[7].as<std::string>();
    for (const auto& key : keys) {
      Group& g = groups[{period, key}];
      g.row.period = period;
      g.row.key = key;
      ++g.row.received;
      if (duplicate) {
        ++g.row.duplicates;
        continue;  // worked as the report it joined
      }
      if (status == "done")
        ++g.row.done;
      else if (status == "rejected")
        ++g.row.rejected;
      else
        ++g.row.open;
      if (!r[8].is_null())
        g.accept.push_back(std::max(0.0, r[8].as<double>()));
      if (!r[9].is_null())
        g.done.push_back(std::max(0.0, r[9].as<double>()));
      g.row.reopened += r[10].as<bool>() ? 1 : 0;
      g.row.forwarded += r[11].as<bool>() ? 1 : 0;
    }
  }
  std::vector<ReportRow> rows;
  for (auto& [k, g] : groups) {
    g.row.accept_p50 = Percentile(g.accept, 0.5);
    g.row.accept_p90 = Percentile(g.accept, 0.9);
    g.row.done_p50 = Percentile(g.done, 0.5);
    g.row.done_p90 = Percentile(g.done, 0.9);
    rows.push_back(std::move(g.row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ReportRow& a, const ReportRow& b) {
    if (a.period != b.period)
      return a.period < b.period;
    if (a.received != b.received)
      return a.received > b.received;
    return a.key < b.key;
  });
  return rows;
}

std::vector<ReportRow> TopCategoriesPerDistrict(db::Tx& tx, const ReportQuery& q, int n) {
  const int64_t from = q.since.value_or(-62135596800);
  const int64_t to = q.until.value_or(253402300799);
  std::map<std::string, std::map<std::string, int64_t>> counts;
  for (const auto& r : tx.exec_params(
           "SELECT coalesce(category, routed_category, ''), lat, lon FROM tickets"
           " WHERE received_at >= to_timestamp($1) AND received_at < to_timestamp($2)"
           " AND ($3 = '' OR department_id = $3) AND lat IS NOT NULL AND lon IS NOT NULL",
           from, to, q.department)) {
    routing::LonLat p{r[2].as<double>(), r[1].as<double>()};
    for (const auto& [name, area] : q.districts) {
      if (routing::Contains(area, p))
        ++counts[name][r[0].as<std::string>()];
    }
  }
  std::vector<ReportRow> out;
  for (const auto& [district, categories] : counts) {
    std::vector<std::pair<int64_t, std::string>> sorted;
    for (const auto& [category, count] : categories)
      sorted.emplace_back(-count, category);
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < n && i < static_cast<int>(sorted.size()); ++i) {
      ReportRow row;
      row.key = district + "\t" + sorted[i].second;
      row.received = -sorted[i].first;
      out.push_back(std::move(row));
    }
  }
  return out;
}

Result<std::vector<ReportRow>> ReadReport(const std::string& url, const ReportQuery& q) {
  db::Session db(url);
  return db.Run<std::vector<ReportRow>>([&](db::Connection& conn) {
    db::ReadTx tx(conn);
    return LoadReport(tx, q);
  });
}

std::string ReportToTable(const ReportQuery& q, const std::vector<ReportRow>& rows) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head;
  if (!q.period.empty())
    head.push_back(q.period);
  for (const char* h :
       {KeyTitle(q.by), "received", "duplicates", "open", "done", "rejected", "reopened",
        "forwarded", "accept p50", "accept p90", "done p50", "done p90"})
    head.push_back(h);
  cells.push_back(head);
  for (const auto& r : rows) {
    std::vector<std::string> line;
    if (!q.period.empty())
      line.push_back(r.period);
    line.push_back(KeyText(q, r.key));
    for (int64_t n :
         {r.received, r.duplicates, r.open, r.done, r.rejected, r.reopened, r.forwarded})
      line.push_back(std::to_string(n));
    for (const auto& t : {r.accept_p50, r.accept_p90, r.done_p50, r.done_p90})
      line.push_back(FormatDuration(t));
    cells.push_back(line);
  }
  const size_t text_columns = q.period.empty() ? 1 : 2;
  std::vector<size_t> width(head.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i)
      width[i] = std::max(width[i], Utf8Length(line[i]));
  }
  std::ostringstream out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string pad(width[i] - Utf8Length(line[i]), ' ');
      text += i < text_columns ? (i > 0 ? "  " : "") + line[i] + pad : "  " + pad + line[i];
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out << text << "\n";
  }
  if (rows.empty())
    out << "(no reports in the period)\n";
  return out.str();
}

std::string ReportToCsv(const ReportQuery& q, const std::vector<ReportRow>& rows) {
  std::string out = q.period.empty() ? "" : q.period + ",";
  out += std::string(KeyTitle(q.by)) +
         ",received,duplicates,open,done,rejected,reopened,forwarded,accept_p50_seconds,"
         "accept_p90_seconds,done_p50_seconds,done_p90_seconds\r\n";
  for (const auto& r : rows) {
    if (!q.period.empty())
      out += CsvField(r.period) + ",";
    out += CsvField(r.key);
    for (int64_t n :
         {r.received, r.duplicates, r.open, r.done, r.rejected, r.reopened, r.forwarded})
      out += "," + std::to_string(n);
    for (const auto& t : {r.accept_p50, r.accept_p90, r.done_p50, r.done_p90})
      out += "," + Seconds(t);
    out += "\r\n";
  }
  return out;
}

std::string ReportToJson(const ReportQuery& q, const std::vector<ReportRow>& rows) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = {
        {q.by, r.key.empty() ? nlohmann::json() : nlohmann::json(r.key)},
        {"received", r.received},
        {"duplicates", r.duplicates},
        {"open", r.open},
        {"done", r.done},
        {"rejected", r.rejected},
        {"reopened", r.reopened},
        {"forwarded", r.forwarded},
        {"accept_seconds", {{"p50", OptJson(r.accept_p50)}, {"p90", OptJson(r.accept_p90)}}},
        {"done_seconds", {{"p50", OptJson(r.done_p50)}, {"p90", OptJson(r.done_p90)}}}};
    if (!q.period.empty())
      j["period"] = r.period;
    items.push_back(std::move(j));
  }
  nlohmann::json out = {
      {"by", q.by},
      {"period", q.period.empty() ? nlohmann::json() : nlohmann::json(q.period)},
      {"since", q.since ? nlohmann::json(routing::FormatUnixSeconds(*q.since)) : nlohmann::json()},
      {"until", q.until ? nlohmann::json(routing::FormatUnixSeconds(*q.until)) : nlohmann::json()},
      {"rows", std::move(items)}};
  return out.dump(2) + "\n";
}

}  // namespace meldestelle::tickets
