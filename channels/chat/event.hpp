#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The shared shape of one inbound messenger event (WhatsApp Cloud API, Telegram Bot API), as the
// channel parsers produce it. Plain values: no ownership beyond the strings, safe to copy and to
// hand between threads. Mapping events onto a Report (drafts, merging a photo burst with a later
// location) is the consumer's job, not the parsers'.
namespace meldestelle::chat {

enum class EventKind {
  kMessage,  // a new inbound message (or a Telegram button press)
  kEdit,     // Telegram edited_message: update the report made from message_id, never a new one
  kStatus,   // WhatsApp delivery receipt for a message we sent; never a report, never acknowledged
};

enum class MessageType { kText, kImage, kLocation, kDocument, kAudio, kInteractive, kUnsupported };

struct Media {
  std::string id;         // WhatsApp media id / Telegram file_id (for downloading)
  std::string unique_id;  // Telegram file_unique_id ("" for WhatsApp)
  std::string mime_type;  // as declared by the provider ("" if none)
  std::string
      sha256_hex;  // lowercase hex if the provider gave one (hex or base64 accepted), else ""
  std::optional<int64_t> size;
  std::string filename;  // document file name if any
  bool voice = false;    // WhatsApp audio.voice / Telegram voice message
};

struct ChatLocation {
  double lat = 0, lon = 0;
  std::optional<double> accuracy_m;
  std::string name, address;
};

struct ChatEvent {
  EventKind kind = EventKind::kMessage;
  std::string channel;      // "whatsapp" | "telegram"
  std::string dedupe_key;   // WhatsApp: wamid for messages, "<status id>:<status>" for statuses;
                            // Telegram: "update:<update_id>"
  std::string message_id;   // WhatsApp wamid; Telegram "<chat_id>:<message_id>"
                            // (Telegram button press: "callback:<callback_query id>")
  std::string account;      // WhatsApp metadata.phone_number_id (the number to answer from); ""
  std::string sender;       // WhatsApp wa_id/from (digits); Telegram chat.id as decimal string
  std::string sender_name;  // WhatsApp contacts[].profile.name matching wa_id;
                            // Telegram first_name + " " + last_name
  std::string language;  // Telegram from.language_code's primary subtag ("de", "en"); "" if unknown
  int64_t timestamp = 0;  // unix seconds (Telegram edits: edit_date)
  MessageType type = MessageType::kText;
  // Where type is kUnsupported, the provider's own name of what came (WhatsApp: "reaction",
  // "system", "request_welcome", "sticker", …; "" if unknown): the worker answers most of them
  // with "cannot process this", some not at all, and a first contact with the welcome.
  std::string provider_type;
  std::string text;          // text body or caption, valid UTF-8
  std::vector<Media> media;  // Telegram photo: only the largest size
  std::optional<ChatLocation> location;
  std::string reply_to;        // WhatsApp context.id; Telegram reply_to_message as "<chat_id>:<id>"
  std::string media_group_id;  // Telegram albums
  std::string interactive_id, interactive_title;  // WhatsApp button/list reply; Telegram callback
  // statuses (WhatsApp only)
  std::string status;  // sent | delivered | read | failed | (other strings passed through)
  std::string status_message_id;  // our outgoing wamid
  std::string recipient;          // recipient_id
  int error_code = 0;             // first errors[].code, e.g. 131047 (also set on kUnsupported)
  std::string error_title;
  // A failed delivery that should go out again as the approved template (WhatsApp 131047: the
  // 24-hour window had closed).
  bool resend_as_template = false;
};

}  // namespace meldestelle::chat
