#include "gateway/charts.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "channels/webform/page.hpp"
#include "core/text.hpp"

namespace meldestelle::gateway::charts {

namespace {

// Dark enough on white (≥ 3:1), and told apart by the legend's words too.
const char* const kColours[] = {"#0b4f6c", "#b3541e", "#2e7d32", "#6a1b9a",
                                "#c62828", "#37474f", "#00838f", "#ad1457"};

std::string Esc(const std::string& s) { return webform::HtmlEscape(s); }

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A round step for an axis up to `max` with about five lines.
double Step(double max) {
  if (max <= 0)
    return 1;
  double raw = max / 5;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= f * magnitude)
      return f * magnitude;
  }
  return 10 * magnitude;
}

std::string Open(const std::string& id, const std::string& title, const std::string& desc, int w,
                 int h) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"" + Esc(id) +
         "\" viewBox=\"0 0 " + std::to_string(w) + " " + std::to_string(h) +
         "\" role=\"img\" aria-labelledby=\"" + Esc(id) + "-titel " + Esc(id) +
         "-beschreibung\"><title id=\"" + Esc(id) + "-titel\">" + Esc(title) +
         "</title><desc id=\"" + Esc(id) + "-beschreibung\">" + Esc(desc) + "</desc>";
}

}  // namespace

std::string Number(double v) {
  if (std::fabs(v - std::round(v)) < 0.05)
    return std::to_string(static_cast<long long>(std::llround(v)));
  std::string s = Fixed(v);
  std::replace(s.begin(), s.end(), '.', ',');
  return s;
}

std::string StackedColumns(const std::string& id, const std::string& title,
                           const std::vector<std::string>& labels,
                           const std::vector<Series>& series) {
  const int left = 48, top = 16, plot_h = 220, bottom = 56;
  const int column = 36, gap = 14;
  const int legend_h = 22 * static_cast<int>((series.size() + 2) / 3);
  const int w = std::max(360, left + static_cast<int>(labels.size()) * (column + gap) + 16);
  const int h = top + plot_h + bottom + legend_h;
  double max = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double sum = 0;
    for (const auto& s : series)
      sum += i < s.values.size() ? s.values[i] : 0;
    max = std::max(max, sum);
  }
  const double step = Step(max);
  const double top_value = std::max(step, std::ceil(max / step) * step);
  std::string desc = "Säulen je Zeitraum, gestapelt nach " + std::to_string(series.size()) +
                     " Reihen; die Zahlen stehen in der Tabelle darunter.";
  std::string out = Open(id, title, desc, w, h);
  auto y = [&](double v) { return top + plot_h - v / top_value * plot_h; };
  for (double v = 0; v <= top_value + 1e-9; v += step) {
    out += "<line x1=\"" + std::to_string(left) + "\" x2=\"" + std::to_string(w - 8) + "\" y1=\"" +
           Fixed(y(v)) + "\" y2=\"" + Fixed(y(v)) + "\" stroke=\"#cfcfcf\"/><text x=\"" +
           std::to_string(left - 6) + "\" y=\"" + Fixed(y(v) + 4) +
           "\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">" + Number(v) + "</text>";
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const int x = left + gap / 2 + static_cast<int>(i) * (column + gap);
    double base = 0;
    for (size_t k = 0; k < series.size(); ++k) {
      double v = i < series[k].values.size() ? series[k].values[i] : 0;
      if (v <= 0)
        continue;
      out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + Fixed(y(base + v)) + "\" width=\"" +
             std::to_string(column) + "\" height=\"" + Fixed(y(base) - y(base + v)) + "\" fill=\"" +
             kColours[k % 8] + "\" stroke=\"#fff\"><title>" + Esc(labels[i]) + ", " +
             Esc(series[k].name) + ": " + Number(v) + "</title></rect>";
      base += v;
    }
    out += "<text x=\"" + std::to_string(x + column / 2) + "\" y=\"" +
           std::to_string(top + plot_h + 16) +
           "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#1b1b1b\">" + Esc(labels[i]) +
           "</text>";
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const int lx = 8 + static_cast<int>(k % 3) * 150;
    const int ly = top + plot_h + 34 + static_cast<int>(k / 3) * 22;
    out += "<rect x=\"" + std::to_string(lx) + "\" y=\"" + std::to_string(ly) +
           "\" width=\"14\" height=\"14\" fill=\"" + kColours[k % 8] + "\"/><text x=\"" +
           std::to_string(lx + 20) + "\" y=\"" + std::to_string(ly + 12) +
           "\" font-size=\"12\" fill=\"#1b1b1b\">" + Esc(series[k].name) + "</text>";
  }
  return out + "</svg>";
}

std::string RangeBars(const std::string& id, const std::string& title,
                      const std::vector<std::string>& labels, const std::vector<double>& median,
                      const std::vector<double>& p90, const std::string& unit) {
  const int left = 190, top = 10, row = 28, right = 60;
  const int plot_w = 420;
  const int w = left + plot_w + right;
  const int h = top + static_cast<int>(labels.size()) * row + 44;
  double max = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    max = std::max({max, i < median.size() ? median[i] : 0, i < p90.size() ? p90[i] : 0});
  const double step = Step(max);
  const double top_value = std::max(step, std::ceil(max / step) * step);
  auto x = [&](double v) { return left + v / top_value * plot_w; };
  std::string out = Open(id, title,
                         "Je Zeile ein dunkler Balken bis zum Median und ein heller bis zum "
                         "90. Perzentil, in " +
                             unit + "; die Zahlen stehen in der Tabelle darunter.",
                         w, h);
  for (size_t i = 0; i < labels.size(); ++i) {
    const int yy = top + static_cast<int>(i) * row;
    out += "<text x=\"" + std::to_string(left - 8) + "\" y=\"" + std::to_string(yy + 17) +
           "\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">" +
           Esc(std::string(Utf8Prefix(labels[i], 40))) + "</text>";
    const double m = i < median.size() ? median[i] : -1, p = i < p90.size() ? p90[i] : -1;
    if (m < 0 && p < 0) {
      out += "<text x=\"" + std::to_string(left + 4) + "\" y=\"" + std::to_string(yy + 17) +
             "\" font-size=\"12\" fill=\"#1b1b1b\">keine Daten</text>";
      continue;
    }
    if (p >= 0) {
      out += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(yy + 4) +
             "\" width=\"" + Fixed(x(p) - left) + "\" height=\"18\" fill=\"#8fb8c9\"><title>" +
             Esc(labels[i]) + ", 90. Perzentil: " + Number(p) + " " + Esc(unit) + "</title></rect>";
    }
    if (m >= 0) {
      out += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(yy + 4) +
             "\" width=\"" + Fixed(x(m) - left) + "\" height=\"18\" fill=\"#0b4f6c\"><title>" +
             Esc(labels[i]) + ", Median: " + Number(m) + " " + Esc(unit) + "</title></rect>";
    }
    out += "<text x=\"" + Fixed(x(std::max(m, p)) + 4) + "\" y=\"" + std::to_string(yy + 17) +
           "\" font-size=\"12\" fill=\"#1b1b1b\">" + Number(std::max(m, 0.0)) + " / " +
           Number(std::max(p, 0.0)) + "</text>";
  }
  const int axis = top + static_cast<int>(labels.size()) * row + 14;
  for (double v = 0; v <= top_value + 1e-9; v += step) {
    out += "<text x=\"" + Fixed(x(v)) + "\" y=\"" + std::to_string(axis + 12) +
           "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#1b1b1b\">" + Number(v) + "</text>";
  }
  out += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(axis + 28) +
         "\" font-size=\"11\" fill=\"#1b1b1b\">" + Esc(unit) + " (Median / 90. Perzentil)</text>";
  return out + "</svg>";
}

std::string Bars(const std::string& id, const std::string& title,
                 const std::vector<std::string>& labels, const std::vector<double>& values,
                 const std::string& unit) {
  const int left = 190, top = 10, row = 28, plot_w = 420;
  const int w = left + plot_w + 60;
  const int h = top + static_cast<int>(labels.size()) * row + 30;
  double max = 0;
  for (double v : values)
    max = std::max(max, v);
  const double step = Step(max);
  const double top_value = std::max(step, std::ceil(max / step) * step);
  std::string out =
      Open(id, title,
           "Je Zeile ein Balken in " + unit + "; die Zahlen stehen in der Tabelle darunter.", w, h);
  for (size_t i = 0; i < labels.size(); ++i) {
    const int yy = top + static_cast<int>(i) * row;
    const double v = i < values.size() ? std::max(0.0, values[i]) : 0;
    const double bw = v / top_value * plot_w;
    out += "<text x=\"" + std::to_string(left - 8) + "\" y=\"" + std::to_string(yy + 17) +
           "\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">" +
           Esc(std::string(Utf8Prefix(labels[i], 40))) + "</text><rect x=\"" +
           std::to_string(left) + "\" y=\"" + std::to_string(yy + 4) + "\" width=\"" + Fixed(bw) +
           "\" height=\"18\" fill=\"#0b4f6c\"><title>" + Esc(labels[i]) + ": " + Number(v) + " " +
           Esc(unit) + "</title></rect><text x=\"" + Fixed(left + bw + 4) + "\" y=\"" +
           std::to_string(yy + 17) + "\" font-size=\"12\" fill=\"#1b1b1b\">" + Number(v) + " " +
           Esc(unit) + "</text>";
  }
  return out + "</svg>";
}

}  // namespace meldestelle::gateway::charts
