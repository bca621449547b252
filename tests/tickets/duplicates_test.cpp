#include "tickets/duplicates.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <iterator>

#include "tickets/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace duplicates_test {

using namespace meldestelle;
using namespace meldestelle::tickets;

TEST_CASE("distance: haversine in metres") {
  CHECK(DistanceM(50.9375, 6.9603, 50.9375, 6.9603) == 0.0);
  // 0.0001° of latitude is about 11.1 m.
  CHECK(DistanceM(50.9375, 6.9603, 50.9376, 6.9603) == Approx(11.12).margin(0.05));
  // Cologne cathedral to Bonn minster, about 24.6 km.
  CHECK(DistanceM(50.9413, 6.9583, 50.7335, 7.1003) == Approx(25200).margin(600));
}

TEST_CASE("only reports with category, text and location may be linked") {
  tickets::DuplicateSettings cfg;
  Report r;
  r.text = "Schlagloch";
  r.location.lat = 50.9;
  r.location.lon = 6.9;
  CHECK(MayLinkAsDuplicate(cfg, r, "STR-01"));
  CHECK_FALSE(MayLinkAsDuplicate(cfg, r, ""));
  Report photo_only = r;
  photo_only.text = " \n ";
  CHECK_FALSE(MayLinkAsDuplicate(cfg, photo_only, "STR-01"));
  Report nowhere = r;
  nowhere.location.lat.reset();
  CHECK_FALSE(MayLinkAsDuplicate(cfg, nowhere, "STR-01"));
  cfg.enabled = false;
  CHECK_FALSE(MayLinkAsDuplicate(cfg, r, "STR-01"));
}

TEST_CASE("the search box holds every point within the distance") {
  SearchBox b = BoxAround(50.9375, 6.9603, 30);
  CHECK(DistanceM(50.9375, 6.9603, b.max_lat, 6.9603) >= 30);
  CHECK(DistanceM(50.9375, 6.9603, 50.9375, b.max_lon) >= 30);
  CHECK(DistanceM(50.9375, 6.9603, 50.9375, b.max_lon) < 31);
}

TEST_CASE("two reports within the distance share a lock key, also across a cell border") {
  // 0.02° cells: 50.96 is a border; points 10 m apart on either side.
  double lat_a = 50.95996, lat_b = 50.96004, lon = 6.96;
  auto a = LockKeys("STR-01", BoxAround(lat_a, lon, 30));
  auto b = LockKeys("STR-01", BoxAround(lat_b, lon, 30));
  std::vector<std::string> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  CHECK_FALSE(common.empty());
  CHECK(std::is_sorted(a.begin(), a.end()));
  // Another category never shares a key.
  auto other = LockKeys("LAT-01", BoxAround(lat_a, lon, 30));
  common.clear();
  std::set_intersection(a.begin(), a.end(), other.begin(), other.end(), std::back_inserter(common));
  CHECK(common.empty());
}

TEST_CASE("the nearest candidate within the distance wins") {
  std::vector<DuplicateCandidate> c = {{"a", "A", 50.9377, 6.9603},   // ~22 m
                                       {"b", "B", 50.93755, 6.9603},  // ~5.6 m
                                       {"c", "C", 50.9390, 6.9603}};  // ~167 m
  CHECK(NearestWithin(c, 50.9375, 6.9603, 30) == 1);
  CHECK(NearestWithin(c, 50.9375, 6.9603, 3) == -1);
  CHECK(NearestWithin({}, 50.9375, 6.9603, 30) == -1);
}

}  // namespace duplicates_test
