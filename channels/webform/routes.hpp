#pragma once

#include "channels/channel.hpp"

namespace meldestelle::webform {

// The web form's routes (channel "webform"): GET /, GET /formular, POST /formular/meldung.
void RegisterFormRoutes(httplib::Server& server, channels::Intake& intake);
// The app API's route (channel "app"): POST /api/v1/reports.
void RegisterApiRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::webform
