#pragma once

#include "channels/channel.hpp"

namespace meldestelle::phone {

// The phone channel (docs/channels/phone.md): the voice webhooks, the phone events on the queue
// (joined per call by PhoneIntake), the closer that turns calls into tickets, and the SMS sender.
channels::Channel Channel();

}  // namespace meldestelle::phone
