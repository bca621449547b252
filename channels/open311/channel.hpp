#pragma once

#include "channels/channel.hpp"

namespace meldestelle::open311 {

// Open311 GeoReport v2 (docs/open311.md): the endpoints, and the requests on the queue, whose
// media_url is fetched before the report is admitted.
channels::Channel Channel();

}  // namespace meldestelle::open311
