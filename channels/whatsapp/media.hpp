#pragma once

#include "channels/chat/media.hpp"

namespace meldestelle::whatsapp {

// WhatsApp media (docs/channels/whatsapp.md, "Media"): the id is looked up for a short-lived
// URL (with the access token), the bytes fetched from it and checked against the provider's
// sha256; an expired URL (401/403/404) is asked for again, once.
Result<std::string> FetchMedia(chat::MediaDownloader& download, const chat::Media& media);

}  // namespace meldestelle::whatsapp
