#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/report.hpp"
#include "tickets/settings.hpp"

// Duplicate linking (docs/duplicates.md): the pure parts, used by TicketStore::CreateTicket
// inside the ticket's transaction.
namespace meldestelle::tickets {

// Great-circle distance in metres (haversine, mean Earth radius).
double DistanceM(double lat1, double lon1, double lat2, double lon2);

// Whether a report may be linked to an existing ticket at all: linking is enabled, the report has
// a category (the citizen's or the classifier's), a description and a location. A photo without
// text or a report without location always opens its own ticket.
bool MayLinkAsDuplicate(const tickets::DuplicateSettings& cfg, const Report& report,
                        const std::string& category);

// The box around (lat, lon) that holds every point within `distance_m` (slightly widened): the
// SQL prefilter before the exact distance.
struct SearchBox {
  double min_lat, max_lat, min_lon, max_lon;
};
SearchBox BoxAround(double lat, double lon, double distance_m);

// Advisory lock keys for the coarse grid cells (0.02°) the box touches, for one category: two
// reports closer than distance_m always share at least one key (the cell of either lies in the
// other's box), so their transactions are serialised. Sorted, without repeats.
std::vector<std::string> LockKeys(const std::string& category, const SearchBox& box);

struct DuplicateCandidate {
  std::string id;
  std::string reference;
  double lat = 0;
  double lon = 0;
};
// The nearest candidate within distance_m (the first of equals, so the caller's order — oldest
// first — decides ties); -1 if none.
int NearestWithin(const std::vector<DuplicateCandidate>& candidates, double lat, double lon,
                  double distance_m);

}  // namespace meldestelle::tickets
