#pragma once

#include "channels/channel.hpp"

namespace meldestelle::telegram {

// The Telegram channel: its webhook, its sender (acknowledgements, status notices, chat replies);
// its messages become chat batches (channels/chat), its media come through FetchMedia.
channels::Channel Channel();

}  // namespace meldestelle::telegram
