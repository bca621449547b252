#include "tickets/quality.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sql.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::tickets {

namespace {

// The period's tickets with what the figures need; $1, $2: Unix seconds [since, until).
constexpr const char* kPeriod =
    "WITH t AS ("
    " SELECT t.id, coalesce(t.first_rule_id, '') AS rule,"
    "  coalesce(t.first_department_id, t.department_id) AS first_dept, t.department_id AS dept,"
    // Without the time the ticket waited for the citizen's answer to a question (paused).
    "  extract(epoch FROM t.accepted_at - t.created_at)::double precision"
    "   - t.paused_before_accept_seconds AS accept_s,"
    "  CASE WHEN t.status = 'done' AND t.closed_at IS NOT NULL"
    "   THEN extract(epoch FROM t.closed_at - t.created_at)::double precision - t.paused_seconds"
    "  END AS done_s,"
    // Left its first department: handed back, forwarded by an operator or triage, or routed
    // elsewhere after a change of category (a misroute of the rule that chose it).
    "  EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket_id = t.id"
    "   AND h.from_department = coalesce(t.first_department_id, t.department_id)"
    "   AND (h.action IN ('handed_back', 'forwarded') OR (h.action = 'rerouted'"
    "    AND h.to_department IS DISTINCT FROM h.from_department))) AS handed_back,"
    "  EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket_id = t.id"
    "   AND h.action = 'recategorised') AS recategorised,"
    "  EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket_id = t.id"
    "   AND h.action = 'escalated') AS escalated"
    " FROM tickets t"
    " WHERE t.duplicate_of IS NULL AND t.status <> 'duplicate'"
    "  AND t.received_at >= to_timestamp($1) AND t.received_at < to_timestamp($2)) ";

constexpr const char* kTimes =
    " count(accept_s),"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_s),"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY accept_s),"
    " count(done_s),"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY done_s),"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY done_s)";

std::optional<double> OptDouble(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<double>();
}

// Columns from `at`: accepted, accept p50, p90, done, done p50, p90.
void ReadTimes(const pqxx::row& row, int at, QualityRow& q) {
  q.accepted = row[at].as<int64_t>();
  q.accept_p50 = OptDouble(row[at + 1]);
  q.accept_p90 = OptDouble(row[at + 2]);
  q.done = row[at + 3].as<int64_t>();
  q.done_p50 = OptDouble(row[at + 4]);
  q.done_p90 = OptDouble(row[at + 5]);
}

std::string Percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", rate * 100);
  return buf;
}

nlohmann::json OptJson(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json RowJson(const QualityRow& r, const char* key_name, bool default_rule) {
  nlohmann::json key = default_rule && r.key.empty() ? nlohmann::json() : nlohmann::json(r.key);
  return {{key_name, key},
          {"routed", r.routed},
          {"handed_back", r.handed_back},
          {"misroute_rate", r.MisrouteRate()},
          {"escalated", r.escalated},
          {"recategorised", r.recategorised},
          {"accepted", r.accepted},
          {"accept_seconds", {{"p50", OptJson(r.accept_p50)}, {"p90", OptJson(r.accept_p90)}}},
          {"done", r.done},
          {"done_seconds", {{"p50", OptJson(r.done_p50)}, {"p90", OptJson(r.done_p90)}}}};
}

void Table(std::ostringstream& out, const char* title, const std::vector<QualityRow>& rows,
           bool rules) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({title, "routed", "moved", "misroute", "recategorised", "escalated", "accept p50",
                   "accept p90", "done p50", "done p90"});
  if (!rules) {
    cells[0].push_back("fixed: yes");
    cells[0].push_back("no");
  }
  for (const auto& r : rows) {
    cells.push_back(
        {rules && r.key.empty() ? "(default department)" : r.key, std::to_string(r.routed),
         std::to_string(r.handed_back), Percent(r.MisrouteRate()), std::to_string(r.recategorised),
         std::to_string(r.escalated), FormatDuration(r.accept_p50), FormatDuration(r.accept_p90),
         FormatDuration(r.done_p50), FormatDuration(r.done_p90)});
    if (!rules) {
      cells.back().push_back(std::to_string(r.fixed_yes));
      cells.back().push_back(std::to_string(r.fixed_no));
    }
  }
  // Column widths in code points (keys are ASCII ids; "…" style text does not occur).
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i)
      width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string pad(width[i] - line[i].size(), ' ');
      // The first column left-aligned, the figures right-aligned.
      text += i == 0 ? line[i] + pad : "  " + pad + line[i];
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out << text << "\n";
  }
  if (rows.empty())
    out << "(no tickets)\n";
}

}  // namespace

RoutingQuality LoadRoutingQuality(db::Tx& tx, std::optional<int64_t> since,
                                  std::optional<int64_t> until) {
  RoutingQuality q;
  q.since = since;
  q.until = until;
  // [year 1, year 9999]: no bound.
  const int64_t from = since.value_or(-62135596800);
  const int64_t to = until.value_or(253402300799);
  auto rules =
      tx.exec_params(std::string(kPeriod) +
                         "SELECT rule, count(*), count(*) FILTER (WHERE handed_back),"
                         " count(*) FILTER (WHERE escalated)," +
                         kTimes + ", count(*) FILTER (WHERE recategorised) FROM t GROUP BY rule",
                     from, to);
  for (const auto& row : rules) {
    QualityRow r;
    r.key = row[0].as<std::string>();
    r.routed = row[1].as<int64_t>();
    r.handed_back = row[2].as<int64_t>();
    r.escalated = row[3].as<int64_t>();
    ReadTimes(row, 4, r);
    r.recategorised = row[10].as<int64_t>();
    q.rules.push_back(std::move(r));
  }
  std::map<std::string, QualityRow> departments;
  auto first = tx.exec_params(std::string(kPeriod) +
                                  "SELECT first_dept, count(*), count(*) FILTER (WHERE"
                                  " handed_back), count(*) FILTER (WHERE recategorised)"
                                  " FROM t GROUP BY first_dept",
                              from, to);
  for (const auto& row : first) {
    QualityRow& r = departments[row[0].as<std::string>()];
    r.routed = row[1].as<int64_t>();
    r.handed_back = row[2].as<int64_t>();
    r.recategorised = row[3].as<int64_t>();
  }
  auto escalated = tx.exec_params(
      std::string(kPeriod) +
          "SELECT h.from_department, count(DISTINCT h.ticket_id) FROM t JOIN ticket_history h"
          " ON h.ticket_id = t.id AND h.action = 'escalated' AND h.from_department IS NOT NULL"
          " GROUP BY h.from_department",
      from, to);
  for (const auto& row : escalated) {
    departments[row[0].as<std::string>()].escalated = row[1].as<int64_t>();
  }
  auto answers = tx.exec_params(std::string(kPeriod) +
                                    "SELECT a.department_id, count(*) FILTER (WHERE a.fixed),"
                                    " count(*) FILTER (WHERE NOT a.fixed) FROM t JOIN fix_answers"
                                    " a ON a.ticket_id = t.id GROUP BY a.department_id",
                                from, to);
  for (const auto& row : answers) {
    QualityRow& r = departments[row[0].as<std::string>()];
    r.fixed_yes = row[1].as<int64_t>();
    r.fixed_no = row[2].as<int64_t>();
  }
  auto times = tx.exec_params(
      std::string(kPeriod) + "SELECT dept," + kTimes + " FROM t GROUP BY dept", from, to);
  for (const auto& row : times) {
    ReadTimes(row, 1, departments[row[0].as<std::string>()]);
  }
  for (auto& [key, r] : departments) {
    r.key = key;
    q.departments.push_back(std::move(r));
  }
  SortByMisrouteRate(q.rules);
  SortByMisrouteRate(q.departments);
  return q;
}

Result<RoutingQuality> ReadRoutingQuality(const std::string& url, std::optional<int64_t> since,
                                          std::optional<int64_t> until) {
  db::Session db(url);
  return db.Run<RoutingQuality>([&](db::Connection& conn) {
    db::ReadTx tx(conn);
    return LoadRoutingQuality(tx, since, until);
  });
}

void SortByMisrouteRate(std::vector<QualityRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const QualityRow& a, const QualityRow& b) {
    double ra = a.MisrouteRate(), rb = b.MisrouteRate();
    if (ra != rb)
      return ra > rb;
    if (a.routed != b.routed)
      return a.routed > b.routed;
    return a.key < b.key;
  });
}

std::string FormatDuration(std::optional<double> seconds) {
  if (!seconds)
    return "-";
  double s = *seconds;
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f d", s / 86400);
  }
  return buf;
}

std::string QualityToText(const RoutingQuality& q) {
  std::ostringstream out;
  out << "Routing quality, tickets received "
      << (q.since ? "from " + routing::FormatUnixSeconds(*q.since) : std::string("since the start"))
      << (q.until ? " until " + routing::FormatUnixSeconds(*q.until) : std::string()) << "\n";
  out << "moved = left the first department (handed back, forwarded, or routed elsewhere after a"
         " change of category); misroute = moved / routed; recategorised = category changed by"
         " staff; times from the ticket's creation\n\n";
  Table(out, "rule", q.rules, true);
  out << "\n";
  Table(out, "department", q.departments, false);
  return out.str();
}

nlohmann::json QualityToJson(const RoutingQuality& q) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : q.rules)
    rules.push_back(RowJson(r, "rule", true));
  nlohmann::json departments = nlohmann::json::array();
  for (const auto& r : q.departments) {
    nlohmann::json row = RowJson(r, "department", false);
    row["fix_answers"] = {{"fixed", r.fixed_yes}, {"not_fixed", r.fixed_no}};
    departments.push_back(std::move(row));
  }
  return {
      {"since", q.since ? nlohmann::json(routing::FormatUnixSeconds(*q.since)) : nlohmann::json()},
      {"until", q.until ? nlohmann::json(routing::FormatUnixSeconds(*q.until)) : nlohmann::json()},
      {"rules", std::move(rules)},
      {"departments", std::move(departments)}};
}

}  // namespace meldestelle::tickets
