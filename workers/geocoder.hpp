#pragma once

// An external geocoder for addresses the town's street list does not know (docs/routing.md,
// "Places from the street list"): a Nominatim-compatible search API at routing.geocoder_url
// (MELDESTELLE_GEOCODER_URL), asked by the admit step with the typed address only. Nominatim's
// usage policy asks for an identifying User-Agent and at most one request per second on its
// public servers: a town with many reports runs its own or uses a provider.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_client.hpp"
#include "core/result.hpp"

namespace meldestelle::workers {

struct GeocodedPlace {
  std::string label;  // Nominatim's display_name
  double lat = 0, lon = 0;
};

// The places of a Nominatim /search answer (format=jsonv2: an array of objects whose lat and lon
// are strings). Errors (code "geocoder_invalid"): not JSON, not an array, an entry without
// numeric lat/lon in range. Pure.
Result<std::vector<GeocodedPlace>> ParseNominatim(std::string_view body);

class Geocoder {
 public:
  // `url`: the API's base ("https://nominatim.example.org"); "/search" is appended.
  Geocoder(std::string url, std::string user_agent, int timeout_ms);
  // The one place `address` names: nullopt when there is none; ambiguous (several places more
  // than 100 m apart) is an error "geocoder_ambiguous". Transport errors and HTTP statuses other
  // than 200 are errors too (the address then stays text).
  Result<std::optional<GeocodedPlace>> Find(const std::string& address);

 private:
  std::string url_, user_agent_;
  int timeout_ms_;
  HttpClient http_;
};

}  // namespace meldestelle::workers
