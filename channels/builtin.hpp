#pragma once

#include "channels/channel.hpp"

namespace meldestelle::channels {

// The channels Meldestelle comes with, registered in one place: the web form and the app API,
// Open311, WhatsApp and Telegram with the chat drafts they share, the phone and e-mail.
// docs/adding-a-channel.md says how to add one.
Registry BuiltinChannels();

}  // namespace meldestelle::channels
