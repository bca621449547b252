#pragma once

#include "channels/channel.hpp"
#include "core/smtp_client.hpp"

namespace meldestelle::email {

// The e-mail channel (docs/channels/email.md): the intake routes, the mails on the queue
// (MailIntake) and the senders of the citizen's acknowledgement and status notices.
channels::Channel Channel();

// The relay our mails go out through (email.smtp_url, email.from, …).
SmtpRelay Relay(const Config& config);

}  // namespace meldestelle::email
