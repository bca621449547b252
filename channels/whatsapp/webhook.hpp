#pragma once

#include "channels/channel.hpp"

namespace meldestelle::whatsapp {

// GET and POST /webhooks/whatsapp.
void RegisterRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::whatsapp
