#pragma once

#include "channels/channel.hpp"

namespace meldestelle::email {

// POST /api/v1/mail (mailgate and the IMAP poller: the raw message with the bearer secret),
// /webhooks/mailgun and /webhooks/sendgrid (the providers' inbound parse).
void RegisterRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::email
