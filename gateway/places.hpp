#pragma once

// The town's places for the form's map (docs/intake-api.md, "Places"): the street list
// (routing.gazetteer_file) to find a typed address and to name the address near a point, and the
// town boundary (routing.town_area) to tell a citizen before sending that a place is outside.
// Loaded once when the gateway starts; immutable afterwards, so the handlers share it.

#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"
#include "routing/gazetteer.hpp"
#include "routing/geo.hpp"

namespace meldestelle::gateway {

class Places {
 public:
  // Reads the street list and the boundary the configuration names (either may be absent).
  static Result<Places> Load(const Config& config);

  struct Found {
    std::string label;  // "Lindenstraße 13"
    double lat = 0, lon = 0;
    double confidence = 0;
    std::optional<bool> inside_town;  // nullopt without a boundary
  };
  // The place the street list finds in `text` (an address typed into the form).
  std::optional<Found> Search(const std::string& text) const;
  struct Near {
    std::string label;  // the nearest listed house number within 150 m, else the nearest
                        // street's name within 300 m; "" if none
    std::string street;  // the label's street, without the number
    double distance_m = 0;
    std::optional<bool> inside_town;
  };
  Near Describe(double lat, double lon) const;
  // The middle of the street list (the form's map starts there unless webform.map.center is
  // set); nullopt without a street list.
  std::optional<std::pair<double, double>> Centre() const;
  bool has_streets() const { return gazetteer_.has_value(); }

 private:
  std::optional<bool> Inside(double lat, double lon) const;
  std::optional<routing::Gazetteer> gazetteer_;
  std::optional<routing::Geometry> town_;
};

}  // namespace meldestelle::gateway
