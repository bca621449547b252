#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

// Named geometries for routing (areas, points, lines) read from GeoJSON, and the geometric tests
// on them. Immutable after loading; thread-safe to query.
namespace meldestelle::routing {

struct LonLat {
  double lon = 0;
  double lat = 0;
};

struct BBox {
  double min_lon = 0, min_lat = 0, max_lon = 0, max_lat = 0;
  bool Contains(LonLat p) const {
    return p.lon >= min_lon && p.lon <= max_lon && p.lat >= min_lat && p.lat <= max_lat;
  }
  void Extend(LonLat p);
  static BBox Empty();
};

// A polygon: the outer ring first, then holes. Rings are closed (first == last position).
struct Polygon {
  std::vector<std::vector<LonLat>> rings;
  BBox bbox;  // of the outer ring
};

// One named GeoJSON file: its polygons (Polygon, MultiPolygon), points and lines (LineString,
// MultiLineString). A file may hold a bare geometry, a Feature or a FeatureCollection; all
// geometries in it belong to the one name.
struct Geometry {
  std::string name;
  std::vector<Polygon> polygons;
  std::vector<LonLat> points;
  std::vector<std::vector<LonLat>> lines;
  BBox bbox;  // of everything
  bool IsArea() const { return !polygons.empty(); }
};

// Parses GeoJSON text. Rejects: syntax errors, unknown geometry types, positions that are not
// [lon, lat] numbers in range, rings with fewer than 4 positions or not closed, lines with fewer
// than 2 positions. The error message is "reason" prefixed with a JSON path
// (e.g. "features[0].geometry.coordinates[1]: ring is not closed"); syntax errors carry
// "line N: ".
Result<Geometry> ParseGeoJson(const std::string& text, const std::string& name);
Result<Geometry> LoadGeoJson(const std::filesystem::path& file, const std::string& name);

// Point in area. Points ON the boundary of an outer ring or a hole (edge or vertex, within
// 1e-12 degrees) count as inside the area: boundaries belong to the area, so that a point on the
// line between two adjacent districts is in both (the first matching rule then decides).
// A point inside a hole (not on its boundary) is outside.
bool Contains(const Geometry& g, LonLat p);

// Distance in metres: haversine to points (R = 6 371 008.8 m); to line segments in a local
// equirectangular projection centred on `p` (x = Δlon·cos(lat)·R, y = Δlat·R), which is accurate
// to well below 0.1 % for the distances of a few kilometres that routing cares about.
// Returns +infinity if the geometry has no points or lines (areas count by their boundary rings).
double DistanceMetres(const Geometry& g, LonLat p);
double HaversineMetres(LonLat a, LonLat b);
// The point on an area's boundary rings (outer rings and holes) nearest to `p`, in the same local
// projection as DistanceMetres; `distance_m` receives its distance. Nullopt if `g` has no polygon.
std::optional<LonLat> NearestBoundaryPoint(const Geometry& g, LonLat p, double* distance_m);

bool ValidLonLat(double lon, double lat);

}  // namespace meldestelle::routing
