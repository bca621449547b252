#include "routing/geo.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/errors.hpp"

namespace meldestelle::routing {

namespace {

constexpr double kEarthRadiusM = 6371008.8;
constexpr double kPi = 3.14159265358979323846;
constexpr double kEdgeEpsilon = 1e-12;

double Rad(double deg) { return deg * kPi / 180.0; }

using nlohmann::json;

struct GeoParser {
  Geometry g;
  std::string error;  // first error only: later ones would be noise

  bool Fail(const std::string& path, const std::string& reason) {
    if (error.empty()) {
      error = path + ": " + reason;
    }
    return false;
  }

  bool Position(const json& j, const std::string& path, LonLat* out) {
    if (!j.is_array() || j.size() < 2 || !j[0].is_number() || !j[1].is_number()) {
      return Fail(path, "a position must be [lon, lat]");
    }
    double lon = j[0].get<double>();
    double lat = j[1].get<double>();
    if (!ValidLonLat(lon, lat)) {
      return Fail(path, "coordinates out of range (lon -180..180, lat -90..90)");
    }
    *out = LonLat{lon, lat};
    return true;
  }

  bool Positions(const json& j, const std::string& path, std::vector<LonLat>* out) {
    if (!j.is_array()) {
      return Fail(path, "must be an array of positions");
    }
    for (size_t i = 0; i < j.size(); ++i) {
      LonLat p;
      if (!Position(j[i], path + "[" + std::to_string(i) + "]", &p)) {
        return false;
      }
      out->push_back(p);
    }
    return true;
  }

  bool PolygonCoords(const json& j, const std::string& path) {
    if (!j.is_array() || j.empty()) {
      return Fail(path, "a polygon must be a non-empty array of rings");
    }
    Polygon poly;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string rp = path + "[" + std::to_string(i) + "]";
      std::vector<LonLat> ring;
      if (!Positions(j[i], rp, &ring)) {
        return false;
      }
      if (ring.size() < 4) {
        return Fail(rp, "a ring needs at least 4 positions");
      }
      if (ring.front().lon != ring.back().lon || ring.front().lat != ring.back().lat) {
        return Fail(rp, "ring is not closed (the last position must equal the first)");
      }
      poly.rings.push_back(std::move(ring));
    }
    poly.bbox = BBox::Empty();
    for (const auto& p : poly.rings[0]) {
      poly.bbox.Extend(p);
      g.bbox.Extend(p);
    }
    g.polygons.push_back(std::move(poly));
    return true;
  }

  bool LineCoords(const json& j, const std::string& path) {
    std::vector<LonLat> line;
    if (!Positions(j, path, &line)) {
      return false;
    }
    if (line.size() < 2) {
      return Fail(path, "a line needs at least 2 positions");
    }
    for (const auto& p : line) {
      g.bbox.Extend(p);
    }
    g.lines.push_back(std::move(line));
    return true;
  }

  bool Geom(const json& j, const std::string& path) {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      return Fail(path, "must be a GeoJSON object with a \"type\"");
    }
    std::string type = j["type"].get<std::string>();
    if (type == "FeatureCollection") {
      if (!j.contains("features") || !j["features"].is_array()) {
        return Fail(path + ".features", "must be an array");
      }
      const json& f = j["features"];
      for (size_t i = 0; i < f.size(); ++i) {
        if (!Geom(f[i], PathJoin(path, "features[" + std::to_string(i) + "]"))) {
          return false;
        }
      }
      return true;
    }
    if (type == "Feature") {
      if (!j.contains("geometry")) {
        return Fail(PathJoin(path, "geometry"), "is required");
      }
      return Geom(j["geometry"], PathJoin(path, "geometry"));
    }
    if (type == "GeometryCollection") {
      if (!j.contains("geometries") || !j["geometries"].is_array()) {
        return Fail(PathJoin(path, "geometries"), "must be an array");
      }
      const json& gs = j["geometries"];
      for (size_t i = 0; i < gs.size(); ++i) {
        if (!Geom(gs[i], PathJoin(path, "geometries[" + std::to_string(i) + "]"))) {
          return false;
        }
      }
      return true;
    }
    std::string cp = PathJoin(path, "coordinates");
    if (!j.contains("coordinates")) {
      return Fail(cp, "is required");
    }
    const json& c = j["coordinates"];
    if (type == "Point") {
      LonLat p;
      if (!Position(c, cp, &p)) {
        return false;
      }
      g.points.push_back(p);
      g.bbox.Extend(p);
      return true;
    }
    if (type == "LineString") {
      return LineCoords(c, cp);
    }
    if (!c.is_array()) {
      return Fail(cp, "must be an array");
    }
    if (type == "Polygon") {
      return PolygonCoords(c, cp);
    }
    for (size_t i = 0; i < c.size(); ++i) {
      std::string ip = cp + "[" + std::to_string(i) + "]";
      if (type == "MultiPolygon" && !PolygonCoords(c[i], ip)) {
        return false;
      }
      if (type == "MultiLineString" && !LineCoords(c[i], ip)) {
        return false;
      }
      if (type == "MultiPoint") {
        LonLat p;
        if (!Position(c[i], ip, &p)) {
          return false;
        }
        g.points.push_back(p);
        g.bbox.Extend(p);
      }
    }
    if (type != "MultiPolygon" && type != "MultiLineString" && type != "MultiPoint") {
      return Fail(PathJoin(path, "type"), "unsupported geometry type \"" + type + "\"");
    }
    return true;
  }

  static std::string PathJoin(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
  }
};

// Is p on segment a-b (within kEdgeEpsilon degrees)?
bool OnSegment(LonLat p, LonLat a, LonLat b) {
  double cross = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
  double len = std::hypot(b.lon - a.lon, b.lat - a.lat);
  if (std::fabs(cross) > kEdgeEpsilon * std::max(len, 1.0)) {
    return false;
  }
  return p.lon >= std::min(a.lon, b.lon) - kEdgeEpsilon &&
         p.lon <= std::max(a.lon, b.lon) + kEdgeEpsilon &&
         p.lat >= std::min(a.lat, b.lat) - kEdgeEpsilon &&
         p.lat <= std::max(a.lat, b.lat) + kEdgeEpsilon;
}

enum class Where { kOutside, kInside, kBoundary };

// Even-odd ray casting towards +lon, with an explicit boundary test first.
Where RingLocate(const std::vector<LonLat>& ring, LonLat p) {
  bool inside = false;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const LonLat& a = ring[i];
    const LonLat& b = ring[j];
    if (OnSegment(p, a, b)) {
      return Where::kBoundary;
    }
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      double x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < x) {
        inside = !inside;
      }
    }
  }
  return inside ? Where::kInside : Where::kOutside;
}

bool PolygonContains(const Polygon& poly, LonLat p) {
  if (!poly.bbox.Contains(p)) {
    return false;
  }
  Where outer = RingLocate(poly.rings[0], p);
  if (outer == Where::kOutside) {
    return false;
  }
  if (outer == Where::kBoundary) {
    return true;
  }
  for (size_t h = 1; h < poly.rings.size(); ++h) {
    Where w = RingLocate(poly.rings[h], p);
    if (w == Where::kInside) {
      return false;
    }
  }
  return true;
}

double SegmentDistanceMetres(LonLat p, LonLat a, LonLat b) {
  double k = std::cos(Rad(p.lat)) * kEarthRadiusM;
  double ax = Rad(a.lon - p.lon) * k, ay = Rad(a.lat - p.lat) * kEarthRadiusM;
  double bx = Rad(b.lon - p.lon) * k, by = Rad(b.lat - p.lat) * kEarthRadiusM;
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(ax + t * dx, ay + t * dy);
}

double PolylineDistance(const std::vector<LonLat>& line, LonLat p) {
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    best = std::min(best, SegmentDistanceMetres(p, line[i], line[i + 1]));
  }
  return best;
}

}  // namespace

void BBox::Extend(LonLat p) {
  min_lon = std::min(min_lon, p.lon);
  min_lat = std::min(min_lat, p.lat);
  max_lon = std::max(max_lon, p.lon);
  max_lat = std::max(max_lat, p.lat);
}

BBox BBox::Empty() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  return BBox{kInf, kInf, -kInf, -kInf};
}

bool ValidLonLat(double lon, double lat) {
  return std::isfinite(lon) && std::isfinite(lat) && lon >= -180 && lon <= 180 && lat >= -90 &&
         lat <= 90;
}

Result<Geometry> ParseGeoJson(const std::string& text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);  // nlohmann throws; the error stays inside this function
  } catch (const json::parse_error& e) {
    size_t upto = std::min<size_t>(e.byte, text.size());
    int line = 1;
    for (size_t i = 0; i + 1 < upto; ++i) {
      line += text[i] == '\n' ? 1 : 0;
    }
    return MakeError(errors::kGeojsonInvalid, "line " + std::to_string(line) + ": invalid JSON");
  }
  GeoParser gp;
  gp.g.name = name;
  gp.g.bbox = BBox::Empty();
  if (!gp.Geom(j, "")) {
    return MakeError(errors::kGeojsonInvalid, gp.error);
  }
  if (gp.g.polygons.empty() && gp.g.points.empty() && gp.g.lines.empty()) {
    return MakeError(errors::kGeojsonInvalid, "(file): contains no geometry");
  }
  return std::move(gp.g);
}

Result<Geometry> LoadGeoJson(const std::filesystem::path& file, const std::string& name) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(errors::kGeojsonInvalid, "cannot be read");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseGeoJson(ss.str(), name);
}

bool Contains(const Geometry& g, LonLat p) {
  if (!g.bbox.Contains(p)) {
    return false;
  }
  for (const auto& poly : g.polygons) {
    if (PolygonContains(poly, p)) {
      return true;
    }
  }
  return false;
}

double HaversineMetres(LonLat a, LonLat b) {
  double dlat = Rad(b.lat - a.lat);
  double dlon = Rad(b.lon - a.lon);
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(Rad(a.lat)) * std::cos(Rad(b.lat)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

double DistanceMetres(const Geometry& g, LonLat p) {
  double best = std::numeric_limits<double>::infinity();
  for (const auto& q : g.points) {
    best = std::min(best, HaversineMetres(p, q));
  }
  for (const auto& line : g.lines) {
    best = std::min(best, PolylineDistance(line, p));
  }
  for (const auto& poly : g.polygons) {
    for (const auto& ring : poly.rings) {
      best = std::min(best, PolylineDistance(ring, p));
    }
  }
  return best;
}

}  // namespace meldestelle::routing

namespace meldestelle::routing {

std::optional<LonLat> NearestBoundaryPoint(const Geometry& g, LonLat p, double* distance_m) {
  double k = std::cos(Rad(p.lat)) * kEarthRadiusM;
  double best = std::numeric_limits<double>::infinity();
  std::optional<LonLat> at;
  for (const auto& poly : g.polygons) {
    for (const auto& ring : poly.rings) {
      for (size_t i = 0; i + 1 < ring.size(); ++i) {
        LonLat a = ring[i], b = ring[i + 1];
        double ax = Rad(a.lon - p.lon) * k, ay = Rad(a.lat - p.lat) * kEarthRadiusM;
        double bx = Rad(b.lon - p.lon) * k, by = Rad(b.lat - p.lat) * kEarthRadiusM;
        double dx = bx - ax, dy = by - ay;
        double len2 = dx * dx + dy * dy;
        double t = std::clamp(len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0.0, 0.0, 1.0);
        double d = std::hypot(ax + t * dx, ay + t * dy);
        if (d < best) {
          best = d;
          at = LonLat{a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)};
        }
      }
    }
  }
  if (distance_m != nullptr) {
    *distance_m = best;
  }
  return at;
}

}  // namespace meldestelle::routing
