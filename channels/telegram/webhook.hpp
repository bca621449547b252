#pragma once

#include "channels/channel.hpp"

namespace meldestelle::telegram {

// POST /webhooks/telegram.
void RegisterRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::telegram
