// Micro-benchmark of Route() (issue 6, point 10): the example rule set expanded to about 50 rules
// with 10 generated district polygons of 500 vertices each, routing a mix of report texts (with
// and without a category, so the classifier runs for half of them) and locations (inside and
// outside the districts, some without). Prints the median over many warm runs.
//   build/bench/routing_bench [--runs N]      (run from the source directory)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"

using namespace meldestelle;

namespace {

constexpr int kDistricts = 10;
constexpr int kVertices = 500;  // per ring, the closing position included
constexpr size_t kReports = 2000;
// The example town boundary spans lon 6.94–6.98, lat 50.93–50.95.
constexpr double kMinLon = 6.94, kMaxLon = 6.98, kMinLat = 50.93, kMaxLat = 50.95;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A 5 × 2 grid of irregular, star-shaped districts (radius varies with the angle) that fill most
// of their cell, so many reports fall into a district's bounding box and need the full ring test.
std::filesystem::path WriteDistrict(const std::filesystem::path& dir, int index) {
  double cell_w = (kMaxLon - kMinLon) / 5, cell_h = (kMaxLat - kMinLat) / 2;
  double cx = kMinLon + cell_w * (index % 5 + 0.5), cy = kMinLat + cell_h * (index / 5 + 0.5);
  nlohmann::json ring = nlohmann::json::array();
  for (int i = 0; i < kVertices - 1; ++i) {
    double a = 2 * M_PI * i / (kVertices - 1);
    double r = 0.45 + 0.05 * std::sin(7 * a + index) + 0.02 * std::sin(31 * a);
    ring.push_back({cx + r * cell_w * std::cos(a), cy + r * cell_h * std::sin(a)});
  }
  ring.push_back(ring[0]);
  nlohmann::json geo{{"type", "Polygon"}, {"coordinates", {ring}}};
  auto path = dir / ("bezirk-" + std::to_string(index) + ".geojson");
  std::ofstream(path) << geo.dump();
  return path;
}

// Ten district rules, inserted after the location rules of the example file: 41 + 10 = 51 rules.
std::string DistrictRules() {
  static const char* kGroups[] = {"Straße und Verkehr", "Grün und Natur", "Sauberkeit und Abfall",
                                  "Straßenbeleuchtung", "Umwelt"};
  static const char* kDepartments[] = {"tiefbauamt", "gruenflaechenamt", "abfallwirtschaft",
                                       "strassenbeleuchtung", "umweltamt"};
  std::string out;
  for (int i = 0; i < kDistricts; ++i) {
    out += "  - id: bezirk-" + std::to_string(i) + "\n    when:\n";
    if (i % 2 == 0) {  // area first: every located report reaches the polygon test
      out += "      area: bezirk-" + std::to_string(i) + "\n      category_group: [" +
             kGroups[i / 2] + "]\n      has_photo: true\n";
    } else {
      out += "      category_group: [" + std::string(kGroups[i / 2]) + "]\n      area: bezirk-" +
             std::to_string(i) + "\n      channel: [phone]\n";
    }
    out += "    department: " + std::string(kDepartments[i / 2]) + "\n    priority: high\n\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 50;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::cerr << "usage: routing_bench [--runs N]   (from the source directory)\n";
      return 2;
    }
  }
  auto config = LoadConfig("config/example/meldestelle.yaml", routing::Sections(),
                           /*ignore_other_keys=*/true);
  if (!config) {
    std::cerr << config.error().message;
    return 2;
  }
  auto dir = std::filesystem::temp_directory_path() / "meldestelle-routing-bench";
  std::filesystem::create_directories(dir);
  for (int i = 0; i < kDistricts; ++i) {
    config->Set<routing::Settings>().areas.push_back(
        {"bezirk-" + std::to_string(i), WriteDistrict(dir, i), 0});
  }
  std::string rules = ReadFile(config->Get<routing::Settings>().rules_file);
  const std::string marker = "  # --- Special cases";
  size_t at = rules.find(marker);
  if (at == std::string::npos) {
    std::cerr << "marker not found in the example rules\n";
    return 2;
  }
  rules.insert(at, DistrictRules());
  auto rs = routing::ParseRuleSet(rules, "bench-rules.yaml", &*config);
  if (!rs) {
    std::cerr << rs.error().message;
    return 2;
  }

  // Reports: the labelled texts, every other one without its category; locations uniform over
  // the town's box widened by 10 % (some outside the town), every tenth without one.
  std::vector<Report> reports;
  std::ifstream data("tests/data/classifier_reports.jsonl");
  std::vector<std::pair<std::string, std::string>> texts;
  for (std::string line; std::getline(data, line);) {
    if (!line.empty()) {
      auto j = nlohmann::json::parse(line);
      texts.emplace_back(j["text"], j["category"]);
    }
  }
  if (texts.empty()) {
    std::cerr << "tests/data/classifier_reports.jsonl: no texts\n";
    return 2;
  }
  std::mt19937 rng(42);
  double pad_lon = (kMaxLon - kMinLon) * 0.1, pad_lat = (kMaxLat - kMinLat) * 0.1;
  std::uniform_real_distribution<double> lon(kMinLon - pad_lon, kMaxLon + pad_lon);
  std::uniform_real_distribution<double> lat(kMinLat - pad_lat, kMaxLat + pad_lat);
  const char* channels[] = {"webform", "app", "whatsapp", "email", "phone"};
  for (size_t i = 0; i < kReports; ++i) {
    Report r;
    r.text = texts[i % texts.size()].first;
    r.category = (i / texts.size()) % 2 == (i % 2) ? texts[i % texts.size()].second : "";
    r.channel = channels[i % 5];
    r.received_at = "2026-11-27T14:30:00Z";
    if (i % 10 != 0) {
      r.location.lon = lon(rng);
      r.location.lat = lat(rng);
    }
    if (i % 3 == 0) {
      r.attachments.push_back({});
      r.attachments.back().media_type = "image/jpeg";
    }
    reports.push_back(std::move(r));
  }

  size_t sink = 0;
  auto route_all = [&] {
    auto start = std::chrono::steady_clock::now();
    for (const auto& r : reports) {
      sink += routing::Route(**rs, r).department.size();
    }
    std::chrono::duration<double, std::micro> us = std::chrono::steady_clock::now() - start;
    return us.count() / static_cast<double>(reports.size());
  };
  route_all();  // warm up
  std::vector<double> per_report;
  for (int i = 0; i < runs; ++i) {
    per_report.push_back(route_all());
  }
  std::sort(per_report.begin(), per_report.end());
  std::printf("rules: %zu, district polygons: %d x %d vertices, reports: %zu, runs: %d\n",
              (*rs)->rules.size(), kDistricts, kVertices, reports.size(), runs);
  std::printf("per report: min %.2f us, median %.2f us, max %.2f us (checksum %zu)\n",
              per_report.front(), per_report[per_report.size() / 2], per_report.back(), sink);
  std::printf("route_us_per_report: %.2f\n", per_report[per_report.size() / 2]);
  return 0;
}
