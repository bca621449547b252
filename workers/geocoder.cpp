#include "workers/geocoder.hpp"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "routing/geo.hpp"

namespace meldestelle::workers {
namespace {

constexpr ErrorCode kGeocoderInvalid{"geocoder_invalid"};
constexpr ErrorCode kGeocoderAmbiguous{"geocoder_ambiguous"};
constexpr ErrorCode kGeocoderFailed{"geocoder_failed"};

// Nominatim writes coordinates as strings ("50.9380"); numbers are taken too.
bool Coordinate(const nlohmann::json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return std::isfinite(*out);
  }
  if (!v.is_string())
    return false;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<GeocodedPlace>> ParseNominatim(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    return MakeError(kGeocoderInvalid, "the geocoder's answer is not JSON");
  if (!j.is_array())
    return MakeError(kGeocoderInvalid, "the geocoder's answer is not a JSON array");
  std::vector<GeocodedPlace> out;
  for (const auto& e : j) {
    GeocodedPlace p;
    if (!e.is_object() || !e.contains("lat") || !e.contains("lon") ||
        !Coordinate(e["lat"], &p.lat) || !Coordinate(e["lon"], &p.lon) ||
        !routing::ValidLonLat(p.lon, p.lat)) {
      return MakeError(kGeocoderInvalid, "a place in the geocoder's answer has no valid lat/lon");
    }
    if (auto name = e.find("display_name"); name != e.end() && name->is_string())
      p.label = name->get<std::string>();
    out.push_back(std::move(p));
  }
  return out;
}

Geocoder::Geocoder(std::string url, std::string user_agent, int timeout_ms)
    : url_(std::move(url)), user_agent_(std::move(user_agent)), timeout_ms_(timeout_ms) {
  while (!url_.empty() && url_.back() == '/')
    url_.pop_back();
}

Result<std::optional<GeocodedPlace>> Geocoder::Find(const std::string& address) {
  HttpClient::Request req;
  req.url = url_ + "/search?format=jsonv2&limit=3&q=" + PercentEncode(address);
  req.headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  req.timeout = std::chrono::milliseconds(timeout_ms_);
  req.max_bytes = 256 * 1024;
  auto res = http_.Send(req);
  if (!res)
    return res.error();
  if (res->status != 200) {
    return MakeError(kGeocoderFailed, "the geocoder answered HTTP " + std::to_string(res->status));
  }
  auto places = ParseNominatim(res->body);
  if (!places)
    return places.error();
  if (places->empty())
    return std::optional<GeocodedPlace>();
  const GeocodedPlace& first = places->front();
  for (size_t i = 1; i < places->size(); ++i) {
    const GeocodedPlace& other = (*places)[i];
    if (routing::HaversineMetres({first.lon, first.lat}, {other.lon, other.lat}) > 100)
      return MakeError(kGeocoderAmbiguous, "the address names several places");
  }
  return std::optional<GeocodedPlace>(first);
}

}  // namespace meldestelle::workers
