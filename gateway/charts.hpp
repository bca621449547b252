#pragma once

#include <string>
#include <vector>

// Charts drawn on the server as SVG (the inbox's "Auswertung", docs/departments.md): readable
// without JavaScript, each an <svg role="img"> with its title and a description, every bar with
// its number as a tooltip (<title>); the page shows the same numbers as a table beside it. The
// colours keep 3:1 against white and each other's neighbours (WCAG 1.4.11), and the legend
// names each. Pure.
namespace meldestelle::gateway::charts {

struct Series {
  std::string name;
  std::vector<double> values;  // one per label
};

// Stacked columns: one column per label (e.g. a week), the series stacked in order.
std::string StackedColumns(const std::string& id, const std::string& title,
                           const std::vector<std::string>& labels,
                           const std::vector<Series>& series);

// Horizontal bars per label: a darker bar to the median and a lighter one on to the 90th
// percentile, in `unit` (e.g. "Tage"); a value < 0 is "no data".
std::string RangeBars(const std::string& id, const std::string& title,
                      const std::vector<std::string>& labels, const std::vector<double>& median,
                      const std::vector<double>& p90, const std::string& unit);

// Horizontal bars, one per label, of `values` in `unit` (e.g. "%").
std::string Bars(const std::string& id, const std::string& title,
                 const std::vector<std::string>& labels, const std::vector<double>& values,
                 const std::string& unit);

// "3", "2,5" (German decimal comma, at most one place).
std::string Number(double v);

}  // namespace meldestelle::gateway::charts
