#include "channels/whatsapp/media.hpp"

#include "channels/whatsapp/settings.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::whatsapp {

Result<std::string> FetchMedia(chat::MediaDownloader& download, const chat::Media& media) {
  const auto& wa = download.config().Get<Settings>();
  const int64_t max = download.max_bytes();
  if (wa.access_token.empty()) {
    return chat::MediaUnavailable("whatsapp.access_token is not set; media cannot be downloaded");
  }
  for (int round = 0; round < 2; ++round) {
    auto meta =
        download.Get(wa.api_base + "/" + chat::UrlEscape(media.id), wa.access_token, 64 * 1024);
    if (!meta)
      return meta.error();
    if (meta->status == 401 || meta->status == 403) {
      // The access token expired or was revoked: nothing wrong with the photo. The batch is
      // tried again (the token may be replaced meanwhile); its last attempt flags the photo.
      return MakeError(errors::kMediaTransient,
                       "media id lookup answered HTTP " + std::to_string(meta->status) +
                           ": Meta refuses whatsapp.access_token (expired or revoked?)");
    }
    if (meta->status != 200) {
      return chat::MediaUnavailable("media id lookup answered HTTP " +
                                    std::to_string(meta->status));
    }
    auto info = ParseMediaInfo(meta->body, chat::Origin(wa.api_base));
    if (!info)
      return chat::MediaUnavailable("media info: " + info.error().message);
    if (info->file_size && *info->file_size > max) {
      return chat::MediaUnavailable("media larger than " + std::to_string(max) + " bytes");
    }
    auto file = download.Get(info->url, wa.access_token, max);
    if (!file)
      return file.error();
    if (file->status == 200) {
      if (!info->sha256_hex.empty() && Sha256Hex(file->body) != info->sha256_hex) {
        return chat::MediaUnavailable("media checksum does not match the provider's sha256");
      }
      return std::move(file->body);
    }
    // The download URL lives five minutes: an expired one is asked for again, once.
    if (file->status != 401 && file->status != 403 && file->status != 404) {
      return chat::MediaUnavailable("media download answered HTTP " + std::to_string(file->status));
    }
  }
  return chat::MediaUnavailable("media download URL expired twice");
}

}  // namespace meldestelle::whatsapp
