#include "channels/telegram/media.hpp"

#include "channels/telegram/settings.hpp"
#include "channels/telegram/telegram.hpp"
#include "core/errors.hpp"

namespace meldestelle::telegram {

Result<std::string> FetchMedia(chat::MediaDownloader& download, const chat::Media& media) {
  const auto& tg = download.config().Get<Settings>();
  const int64_t max = download.max_bytes();
  if (tg.bot_token.empty()) {
    return chat::MediaUnavailable("telegram.bot_token is not set; media cannot be downloaded");
  }
  auto meta = download.Get(
      tg.api_base + "/bot" + tg.bot_token + "/getFile?file_id=" + chat::UrlEscape(media.id), "",
      64 * 1024);
  if (!meta)
    return meta.error();
  auto info = ParseGetFile(meta->body);
  if (!info) {
    // 401 (a revoked token), 404 (a malformed one) and "temporarily unavailable" are nothing
    // wrong with the photo: the batch is tried again; its last attempt flags the photo.
    const std::string& why = info.error().message;
    if (meta->status == 401 || meta->status == 404 ||
        why.find("temporarily unavailable") != std::string::npos)
      return MakeError(errors::kMediaTransient, "getFile: " + why);
    return chat::MediaUnavailable("getFile: " + why);
  }
  if (info->file_size && *info->file_size > max) {
    return chat::MediaUnavailable("media larger than " + std::to_string(max) + " bytes");
  }
  auto file =
      download.Get(tg.api_base + "/file/bot" + tg.bot_token + "/" + info->file_path, "", max);
  if (!file)
    return file.error();
  if (file->status != 200) {
    return chat::MediaUnavailable("file download answered HTTP " + std::to_string(file->status));
  }
  return std::move(file->body);
}

}  // namespace meldestelle::telegram
