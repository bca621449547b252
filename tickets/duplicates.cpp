#include "tickets/duplicates.hpp"

#include <algorithm>
#include <cmath>

#include "tickets/settings.hpp"

namespace meldestelle::tickets {

namespace {
constexpr double kEarthRadiusM = 6371008.8;
constexpr double kPi = 3.14159265358979323846;
constexpr double kCellDeg = 0.02;
double Rad(double deg) { return deg * kPi / 180.0; }
}  // namespace

double DistanceM(double lat1, double lon1, double lat2, double lon2) {
  double dlat = Rad(lat2 - lat1);
  double dlon = Rad(lon2 - lon1);
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(Rad(lat1)) * std::cos(Rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(a)));
}

bool MayLinkAsDuplicate(const tickets::DuplicateSettings& cfg, const Report& report,
                        const std::string& category) {
  if (!cfg.enabled || category.empty())
    return false;
  if (!report.location.lat || !report.location.lon)
    return false;
  return report.text.find_first_not_of(" \t\r\n") != std::string::npos;
}

SearchBox BoxAround(double lat, double lon, double distance_m) {
  double d = distance_m * 1.01;  // rounding margin; the exact distance decides
  double dlat = d / kEarthRadiusM * 180.0 / kPi;
  double c = std::cos(Rad(std::min(89.0, std::fabs(lat) + dlat)));
  double dlon = dlat / std::max(c, 1e-6);
  return {lat - dlat, lat + dlat, lon - dlon, lon + dlon};
}

std::vector<std::string> LockKeys(const std::string& category, const SearchBox& box) {
  std::vector<std::string> keys;
  long y0 = static_cast<long>(std::floor(box.min_lat / kCellDeg));
  long y1 = static_cast<long>(std::floor(box.max_lat / kCellDeg));
  long x0 = static_cast<long>(std::floor(box.min_lon / kCellDeg));
  long x1 = static_cast<long>(std::floor(box.max_lon / kCellDeg));
  for (long y = y0; y <= y1; ++y) {
    for (long x = x0; x <= x1; ++x) {
      keys.push_back("dup:" + category + ":" + std::to_string(y) + ":" + std::to_string(x));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

int NearestWithin(const std::vector<DuplicateCandidate>& candidates, double lat, double lon,
                  double distance_m) {
  int best = -1;
  double best_d = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double d = DistanceM(lat, lon, candidates[i].lat, candidates[i].lon);
    if (d <= distance_m && (best < 0 || d < best_d)) {
      best = static_cast<int>(i);
      best_d = d;
    }
  }
  return best;
}

}  // namespace meldestelle::tickets
