#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/chat/event.hpp"
#include "core/result.hpp"

// Telegram Bot API (webhooks): secret-token check, update parsing, and the JSON of the calls we
// make. Pure: bytes in, values out; no I/O, no clock. All functions are thread-safe. Facts and
// sources: shared/reference/channels.md §2.
namespace meldestelle::telegram {

// Compares `X-Telegram-Bot-Api-Secret-Token` with the configured secret in constant time (there
// is no HMAC over the body). False if either is empty.
bool VerifySecret(std::string_view configured, std::string_view header_value);

// Zero or one event per update:
//  - message -> kMessage; edited_message -> kEdit (same message_id as the original);
//  - callback_query with data -> kMessage of type kInteractive (interactive_id = data,
//    message_id "callback:<id>", reply_to = the message that carried the button);
//  - no event for service messages (no text, caption, photo, location, venue, document, voice,
//    audio, video, video_note, sticker or animation), messages from bots, channel posts and
//    every other update kind.
// Errors (codes as in whatsapp::ParseNotification) name the JSON path; update_id must be an
// integer.
Result<std::vector<chat::ChatEvent>> ParseUpdate(std::string_view raw_body);

// sendMessage body. `chat_id` is emitted as a JSON number when it is an integer ("@channel"
// names stay strings); the reply uses reply_parameters with allow_sending_without_reply, so a
// deleted original does not make the acknowledgement fail. `text` is cut to 4096 code points.
std::string BuildSendMessage(std::string_view chat_id, std::string_view text,
                             std::optional<int64_t> reply_to_message_id);

struct SendResult {
  std::string message_id;  // "<chat_id>:<message_id>" on success
  int error_code = 0;      // Telegram error_code (the HTTP status if the body has none)
  std::string description;
  int retry_after = 0;     // seconds, from parameters.retry_after (429)
  bool permanent = false;  // 4xx other than 429: blocked, chat not found, bad request
  // 401 or 404: the bot token is revoked or malformed; tried again after a long wait
  // (chat::kTokenRefusedWaitSeconds), while the town replaces it.
  bool token_refused = false;
  // 403 "Forbidden: bot was blocked by the user" (or "user is deactivated"): the chat takes no
  // message from the bot until the user starts it again.
  bool recipient_refuses = false;
};

// Maps the answer to sendMessage. An error "response_invalid" only for a 2xx whose body is not
// {"ok":true,"result":{"message_id","chat":{"id"}}}.
Result<SendResult> ParseSendResponse(int http_status, std::string_view body);

struct FileInfo {
  std::string file_path;  // download from https://api.telegram.org/file/bot<token>/<file_path>
  std::optional<int64_t> file_size;
};

// The answer to getFile. ok:false is an error "telegram_error" carrying the description; a
// result without file_path (file too big for the Bot API) is "field_missing".
Result<FileInfo> ParseGetFile(std::string_view body);

}  // namespace meldestelle::telegram
