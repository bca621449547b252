// GET /api/v1/places and /api/v1/places/near: the street list and the town boundary for the
// form's map (gateway/places.hpp).
#include "gateway/places.hpp"

#include <httplib.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "channels/http.hpp"
#include "channels/webform/settings.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "gateway/server.hpp"
#include "routing/settings.hpp"

namespace meldestelle::gateway {

Result<Places> Places::Load(const Config& config) {
  Places p;
  const auto& rs = config.Get<routing::Settings>();
  if (!rs.gazetteer_file.empty()) {
    auto g = routing::LoadGazetteer(rs.gazetteer_file);
    if (!g)
      return g.error();
    p.gazetteer_ = std::move(g).value();
  }
  if (!rs.town_area.empty()) {
    if (const routing::GeoFile* area = rs.FindArea(rs.town_area)) {
      auto geo = routing::LoadGeoJson(area->file, area->name);
      if (!geo)
        return geo.error();
      p.town_ = std::move(geo).value();
    }
  }
  return p;
}

std::optional<bool> Places::Inside(double lat, double lon) const {
  if (!town_)
    return std::nullopt;
  return routing::Contains(*town_, {lon, lat});
}

std::optional<Places::Found> Places::Search(const std::string& text) const {
  if (!gazetteer_)
    return std::nullopt;
  auto m = routing::FindPlace(*gazetteer_, text);
  if (!m)
    return std::nullopt;
  Found f;
  f.label = m->street + (m->house_number.empty() ? "" : " " + m->house_number);
  f.lat = m->lat;
  f.lon = m->lon;
  f.confidence = m->confidence;
  f.inside_town = Inside(m->lat, m->lon);
  return f;
}

Places::Near Places::Describe(double lat, double lon) const {
  Near n;
  n.inside_town = Inside(lat, lon);
  if (!gazetteer_)
    return n;
  const routing::LonLat p{lon, lat};
  double best_number = 150, best_street = 300;
  std::string number_label, number_street, street_label;
  for (const auto& s : gazetteer_->streets) {
    for (const auto& h : s.numbers) {
      double d = routing::HaversineMetres(p, {h.lon, h.lat});
      if (d < best_number) {
        best_number = d;
        number_label = s.name + " " + std::to_string(h.number);
        number_street = s.name;
      }
    }
    double d = routing::HaversineMetres(p, {s.lon, s.lat});
    if (d < best_street) {
      best_street = d;
      street_label = s.name;
    }
  }
  if (!number_label.empty()) {
    n.label = number_label;
    n.street = number_street;
    n.distance_m = best_number;
  } else if (!street_label.empty()) {
    n.label = street_label;
    n.street = street_label;
    n.distance_m = best_street;
  }
  return n;
}

std::optional<std::pair<double, double>> Places::Centre() const {
  if (!gazetteer_ || gazetteer_->streets.empty())
    return std::nullopt;
  double lat = 0, lon = 0;
  for (const auto& s : gazetteer_->streets) {
    lat += s.lat;
    lon += s.lon;
  }
  auto n = static_cast<double>(gazetteer_->streets.size());
  return std::make_pair(lat / n, lon / n);
}

std::optional<std::pair<double, double>> Gateway::TownCentre() const {
  const auto& map = config_.Get<webform::Settings>().map;
  if (map.center_lat && map.center_lon)
    return std::make_pair(*map.center_lat, *map.center_lon);
  return places_.Centre();
}

namespace {

nlohmann::json InsideJson(const std::optional<bool>& inside) {
  return inside ? nlohmann::json(*inside) : nlohmann::json();
}

double Round6(double v) { return std::round(v * 1e6) / 1e6; }

}  // namespace

namespace {

void TooMany(httplib::Response& res, int wait) {
  res.set_header("Retry-After", std::to_string(wait));
  channels::SendError(res, 429, errors::kRateLimited,
                      "Zu viele Abfragen in kurzer Zeit. Bitte warten Sie einen Moment.");
}

}  // namespace

void Gateway::HandlePlaceSearch(const httplib::Request& req, httplib::Response& res) {
  if (int wait = LookupRateLimited(req, "places"))
    return TooMany(res, wait);
  std::string q(TrimAscii(req.get_param_value("q")));
  if (q.empty() || !IsValidUtf8(q) || Utf8Length(q) > 200) {
    return channels::SendError(res, 400, errors::kInvalidParameter,
                               "q: an address of 1 to 200 characters (UTF-8) is required");
  }
  res.set_header("Cache-Control", "public, max-age=300");
  auto found = places_.Search(q);
  // What the admit step would not use is not shown as found either.
  if (found && found->confidence < config_.Get<routing::Settings>().place_min_confidence)
    found.reset();
  if (!found) {
    return channels::SendError(res, 404, errors::kNotFound,
                               "Diese Adresse steht nicht im Straßenverzeichnis.");
  }
  channels::SendJson(res, 200,
                     {{"place",
                       {{"label", found->label},
                        {"lat", Round6(found->lat)},
                        {"lon", Round6(found->lon)},
                        {"confidence", std::round(found->confidence * 100) / 100},
                        {"inside_town", InsideJson(found->inside_town)}}}});
}

void Gateway::HandlePlaceNear(const httplib::Request& req, httplib::Response& res) {
  if (int wait = LookupRateLimited(req, "places"))
    return TooMany(res, wait);
  auto number = [&](const char* name, double* out) {
    // A decimal number (from_chars: no hexadecimal, no locale; blanks around it and a plus
    // sign as strtod took them); not NaN or infinite.
    const std::string given = req.get_param_value(name);
    std::string_view v = TrimAscii(given);
    if (v.size() > 1 && v[0] == '+' && v[1] != '-')
      v.remove_prefix(1);
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return !v.empty() && ec == std::errc() && end == v.data() + v.size() && std::isfinite(*out);
  };
  double lat = 0, lon = 0;
  if (!number("lat", &lat) || !number("lon", &lon) || !routing::ValidLonLat(lon, lat)) {
    return channels::SendError(res, 400, errors::kInvalidParameter,
                               "lat and lon: WGS84 degrees (-90..90, -180..180) are required");
  }
  res.set_header("Cache-Control", "public, max-age=300");
  Places::Near n = places_.Describe(lat, lon);
  channels::SendJson(res, 200,
                     {{"label", n.label.empty() ? nlohmann::json() : nlohmann::json(n.label)},
                      {"distance_m", n.label.empty() ? nlohmann::json()
                                                     : nlohmann::json(std::round(n.distance_m))},
                      {"inside_town", InsideJson(n.inside_town)}});
}

}  // namespace meldestelle::gateway
