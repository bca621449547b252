#pragma once

#include "channels/channel.hpp"
#include "channels/chat/media.hpp"

namespace meldestelle::chat {

// What the messengers share (docs/channels/whatsapp.md, "Multi-message reports"): the queue's
// chat batches, turned into drafts by ChatIntake, and the draft closer that turns drafts into
// reports. `fetchers` are the messengers' media downloads by channel.
channels::Channel Drafts(MediaFetchers fetchers);

}  // namespace meldestelle::chat
