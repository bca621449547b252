#pragma once

#include "channels/chat/media.hpp"

namespace meldestelle::telegram {

// Telegram media (docs/channels/telegram.md, "Media"): getFile gives the file's path, the bytes
// come from the bot's file URL.
Result<std::string> FetchMedia(chat::MediaDownloader& download, const chat::Media& media);

}  // namespace meldestelle::telegram
