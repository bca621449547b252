#include "channels/telegram/media.hpp"

#include "channels/telegram/settings.hpp"
#include "channels/telegram/telegram.hpp"

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
  if (!info)
    return chat::MediaUnavailable("getFile: " + info.error().message);
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
