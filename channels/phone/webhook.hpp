#pragma once

#include "channels/channel.hpp"

namespace meldestelle::phone {

// The phone webhooks: POST /webhooks/phone/{voice,menu,recorded,recording,transcription,sms}
// and /webhooks/phone/transcript (call centres).
void RegisterRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::phone
