#include "channels/telegram/telegram.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "channels/chat/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::telegram {

namespace {

using chat::FieldReader;
using chat::Json;
using chat::Path;

constexpr std::string_view kChannel = "telegram";
constexpr size_t kMaxTextCodePoints = 4096;

std::string ChatMessageId(int64_t chat_id, int64_t message_id) {
  return std::to_string(chat_id) + ":" + std::to_string(message_id);
}

// "de", "en-US", "pt_br" -> "de", "en", "pt"; anything that is not 2-3 letters -> "".
std::string PrimaryLanguage(std::string_view tag) {
  size_t end = tag.find_first_of("-_");
  std::string_view primary = tag.substr(0, end);
  if (primary.size() < 2 || primary.size() > 3) {
    return {};
  }
  std::string out;
  for (char c : primary) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c < 'a' || c > 'z') {
      return {};
    }
    out.push_back(c);
  }
  return out;
}

std::string FullName(FieldReader& r, const Json& obj, std::string_view path) {
  std::string name = r.String(obj, "first_name", path).value_or("");
  std::string last = r.String(obj, "last_name", path).value_or("");
  if (!last.empty()) {
    name += name.empty() ? last : " " + last;
  }
  return name;
}

int ClampInt(int64_t v) {
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return v < 0 ? std::numeric_limits<int>::min() : std::numeric_limits<int>::max();
  }
  return static_cast<int>(v);
}

// file_id, file_unique_id, mime_type, file_size and file_name of a Document, Voice, Audio,
// Video, VideoNote, Sticker, Animation or PhotoSize.
chat::Media ReadFile(FieldReader& r, const Json& obj, std::string_view path) {
  chat::Media m;
  m.id = r.RequiredString(obj, "file_id", path);
  m.unique_id = r.String(obj, "file_unique_id", path).value_or("");
  m.mime_type = r.String(obj, "mime_type", path).value_or("");
  m.filename = r.String(obj, "file_name", path).value_or("");
  m.size = r.Int(obj, "file_size", path);
  if (m.size && *m.size < 0) {
    r.Fail(errors::kFieldValueInvalid, Path(path, "file_size"), "must not be negative");
  }
  return m;
}

// The largest PhotoSize by width*height, then by file_size, wherever it sits in the array.
std::optional<chat::Media> LargestPhoto(FieldReader& r, const Json& photos, std::string_view path) {
  std::optional<chat::Media> best;
  double best_area = -1;
  int64_t best_size = -1;
  for (size_t i = 0; i < photos.size() && !r.failed(); ++i) {
    const Json* p = r.ObjectAt(photos, i, path);
    if (p == nullptr) {
      break;
    }
    std::string pp = Path(path, i);
    chat::Media m = ReadFile(r, *p, pp);
    // As doubles: the product of two untrusted int64s may overflow.
    double area = static_cast<double>(r.Int(*p, "width", pp).value_or(0)) *
                  static_cast<double>(r.Int(*p, "height", pp).value_or(0));
    int64_t size = m.size.value_or(0);
    if (!best || area > best_area || (area == best_area && size > best_size)) {
      best = std::move(m);
      best_area = area;
      best_size = size;
    }
  }
  return best;
}

void ReadLocation(FieldReader& r, const Json& msg, std::string_view path, chat::ChatEvent& e) {
  const Json* loc = r.RequiredObject(msg, "location", path);
  if (loc == nullptr) {
    return;
  }
  std::string lp = Path(path, "location");
  chat::ChatLocation l;
  l.lat = r.RequiredNumber(*loc, "latitude", lp);
  l.lon = r.RequiredNumber(*loc, "longitude", lp);
  l.accuracy_m = r.Number(*loc, "horizontal_accuracy", lp);
  if (const Json* venue = r.Object(msg, "venue", path)) {
    l.name = r.String(*venue, "title", Path(path, "venue")).value_or("");
    l.address = r.String(*venue, "address", Path(path, "venue")).value_or("");
  }
  if (r.failed()) {
    return;
  }
  if (l.lat < -90 || l.lat > 90 || l.lon < -180 || l.lon > 180) {
    r.Fail(errors::kFieldValueInvalid, lp, "coordinates out of range");
    return;
  }
  e.location = std::move(l);
}

// Sets type, text, media and location. False for a message without content we know (service
// messages such as new_chat_members or pinned_message, and contacts, polls, dice).
bool ReadContent(FieldReader& r, const Json& msg, std::string_view path, chat::ChatEvent& e) {
  using chat::MessageType;
  e.text = r.String(msg, "text", path).value_or("");
  if (e.text.empty()) {
    e.text = r.String(msg, "caption", path).value_or("");
  }
  // An animation also carries a "document" for old clients: look at it first.
  for (const char* key : {"animation", "video", "video_note", "sticker"}) {
    if (const Json* o = r.Object(msg, key, path)) {
      e.type = MessageType::kUnsupported;
      e.provider_type = key;  // its caption still joins the draft (ChatIntake::Unsupported)
      e.media.push_back(ReadFile(r, *o, Path(path, key)));
      return true;
    }
  }
  if (const Json* photos = r.Array(msg, "photo", path); photos && !photos->empty()) {
    e.type = MessageType::kImage;
    if (auto best = LargestPhoto(r, *photos, Path(path, "photo"))) {
      e.media.push_back(std::move(*best));
    }
    return true;
  }
  for (const char* key : {"document", "voice", "audio"}) {
    if (const Json* o = r.Object(msg, key, path)) {
      e.type = key[0] == 'd' ? MessageType::kDocument : MessageType::kAudio;
      e.media.push_back(ReadFile(r, *o, Path(path, key)));
      e.media.back().voice = key[0] == 'v';
      return true;
    }
  }
  if (r.Object(msg, "location", path) != nullptr || r.Object(msg, "venue", path) != nullptr) {
    e.type = MessageType::kLocation;
    ReadLocation(r, msg, path, e);
    return true;
  }
  e.type = MessageType::kText;
  return !e.text.empty();
}

std::optional<chat::ChatEvent> ReadMessage(FieldReader& r, const Json& msg, std::string_view path,
                                           chat::EventKind kind) {
  chat::ChatEvent e;
  e.kind = kind;
  e.channel = kChannel;
  int64_t message_id = r.RequiredInt(msg, "message_id", path);
  const Json* chat = r.RequiredObject(msg, "chat", path);
  std::string chat_path = Path(path, "chat");
  int64_t chat_id = chat ? r.RequiredInt(*chat, "id", chat_path) : 0;
  int64_t date = r.RequiredInt(msg, "date", path);
  const Json* from = r.Object(msg, "from", path);
  std::string from_path = Path(path, "from");
  bool is_bot = from ? r.Bool(*from, "is_bot", from_path).value_or(false) : false;
  // A group's members are not one citizen: only private chats are reports (the bot in a group
  // would merge everyone's words into one ticket and answer the group).
  std::string type = chat ? r.String(*chat, "type", chat_path).value_or("private") : "private";
  if (r.failed() || is_bot || type != "private") {
    return std::nullopt;
  }
  e.message_id = ChatMessageId(chat_id, message_id);
  e.sender = std::to_string(chat_id);
  e.sender_name = from ? FullName(r, *from, from_path) : "";
  if (e.sender_name.empty() && chat) {
    e.sender_name = FullName(r, *chat, chat_path);
  }
  if (from) {
    e.language = PrimaryLanguage(r.String(*from, "language_code", from_path).value_or(""));
  }
  e.timestamp =
      kind == chat::EventKind::kEdit ? r.Int(msg, "edit_date", path).value_or(date) : date;
  e.media_group_id = r.String(msg, "media_group_id", path).value_or("");
  if (const Json* reply = r.Object(msg, "reply_to_message", path)) {
    std::string rp = Path(path, "reply_to_message");
    int64_t reply_id = r.RequiredInt(*reply, "message_id", rp);
    int64_t reply_chat = chat_id;
    if (const Json* rc = r.Object(*reply, "chat", rp)) {
      reply_chat = r.Int(*rc, "id", Path(rp, "chat")).value_or(chat_id);
    }
    e.reply_to = ChatMessageId(reply_chat, reply_id);
  }
  if (!ReadContent(r, msg, path, e) || r.failed()) {
    return std::nullopt;
  }
  return e;
}

std::optional<chat::ChatEvent> ReadCallback(FieldReader& r, const Json& cb) {
  constexpr std::string_view kPath = "callback_query";
  chat::ChatEvent e;
  e.channel = kChannel;
  e.kind = chat::EventKind::kMessage;
  e.type = chat::MessageType::kInteractive;
  std::string id = r.RequiredString(cb, "id", kPath);
  e.interactive_id = r.String(cb, "data", kPath).value_or("");
  const Json* from = r.RequiredObject(cb, "from", kPath);
  std::string from_path = Path(kPath, "from");
  int64_t from_id = from ? r.RequiredInt(*from, "id", from_path) : 0;
  if (r.failed() || e.interactive_id.empty()) {
    return std::nullopt;  // games send game_short_name instead of data
  }
  e.message_id = "callback:" + id;
  e.sender = std::to_string(from_id);
  e.sender_name = FullName(r, *from, from_path);
  e.language = PrimaryLanguage(r.String(*from, "language_code", from_path).value_or(""));
  if (const Json* msg = r.Object(cb, "message", kPath)) {
    // The bot's message that carried the button; may be an "inaccessible message" (date 0).
    std::string mp = Path(kPath, "message");
    int64_t message_id = r.RequiredInt(*msg, "message_id", mp);
    if (const Json* chat = r.RequiredObject(*msg, "chat", mp)) {
      int64_t chat_id = r.RequiredInt(*chat, "id", Path(mp, "chat"));
      e.sender = std::to_string(chat_id);
      e.reply_to = ChatMessageId(chat_id, message_id);
    }
  }
  if (r.failed()) {
    return std::nullopt;
  }
  return e;
}

// my_chat_member in a private chat: the user blocked the bot ("kicked") or started it again
// after blocking it ("member" after "kicked"). A change in a group, or any other, is none. Read
// with a reader of its own: one that cannot be read is no report and changes nothing, so the
// update is taken (200) rather than refused.
std::optional<chat::ChatEvent> ReadMemberChange(const Json& change) {
  constexpr std::string_view kPath = "my_chat_member";
  FieldReader r;
  const Json* chat = r.RequiredObject(change, "chat", kPath);
  const Json* now = r.RequiredObject(change, "new_chat_member", kPath);
  const Json* before = r.Object(change, "old_chat_member", kPath);
  if (r.failed())
    return std::nullopt;
  std::string chat_path = Path(kPath, "chat");
  int64_t chat_id = r.RequiredInt(*chat, "id", chat_path);
  std::string type = r.String(*chat, "type", chat_path).value_or("");
  std::string status = r.RequiredString(*now, "status", Path(kPath, "new_chat_member"));
  std::string was =
      before ? r.String(*before, "status", Path(kPath, "old_chat_member")).value_or("") : "";
  if (r.failed() || type != "private")
    return std::nullopt;
  chat::ChatEvent e;
  e.channel = std::string(kChannel);
  e.type = chat::MessageType::kUnsupported;
  if (status == "kicked") {
    e.provider_type = "blocked";
  } else if (status == "member" && was == "kicked") {
    e.provider_type = "unblocked";
  } else {
    return std::nullopt;
  }
  e.sender = std::to_string(chat_id);
  e.timestamp = r.Int(change, "date", kPath).value_or(0);
  if (const Json* from = r.Object(change, "from", kPath))
    e.language =
        PrimaryLanguage(r.String(*from, "language_code", Path(kPath, "from")).value_or(""));
  if (r.failed())
    return std::nullopt;
  return e;
}

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

bool VerifySecret(std::string_view configured, std::string_view header_value) {
  if (configured.empty() || header_value.empty()) {
    return false;
  }
  return ConstantTimeEquals(configured, header_value);
}

Result<std::vector<chat::ChatEvent>> ParseUpdate(std::string_view raw_body) {
  auto parsed = chat::ParseObject(raw_body);
  if (!parsed) {
    return parsed.error();
  }
  const Json& root = *parsed;
  FieldReader r;
  int64_t update_id = r.RequiredInt(root, "update_id", "");
  if (r.failed()) {
    return r.error();
  }
  std::optional<chat::ChatEvent> event;
  if (const Json* msg = r.Object(root, "message", "")) {
    event = ReadMessage(r, *msg, "message", chat::EventKind::kMessage);
  } else if (const Json* edit = r.Object(root, "edited_message", "")) {
    event = ReadMessage(r, *edit, "edited_message", chat::EventKind::kEdit);
  } else if (const Json* cb = r.Object(root, "callback_query", "")) {
    event = ReadCallback(r, *cb);
  } else if (const Json* change = r.Object(root, "my_chat_member", "")) {
    // Not a report: the bot blocked or started again, which decides whether status messages
    // are sent (docs/channels/telegram.md).
    event = ReadMemberChange(*change);
  }
  // channel_post, chat_member, inline_query, ...: not reports.
  if (r.failed()) {
    return r.error();
  }
  std::vector<chat::ChatEvent> events;
  if (event) {
    event->dedupe_key = "update:" + std::to_string(update_id);
    events.push_back(std::move(*event));
  }
  return events;
}

std::string BuildSendMessage(std::string_view chat_id, std::string_view text,
                             std::optional<int64_t> reply_to_message_id) {
  nlohmann::ordered_json j;
  auto numeric = chat::ParseInt64(chat_id);
  if (numeric && std::to_string(*numeric) == chat_id) {
    j["chat_id"] = *numeric;
  } else {
    j["chat_id"] = chat_id;
  }
  j["text"] = chat::TruncateUtf8(text, kMaxTextCodePoints);
  if (reply_to_message_id) {
    j["reply_parameters"]["message_id"] = *reply_to_message_id;
    j["reply_parameters"]["allow_sending_without_reply"] = true;
  }
  return Dump(j);
}

Result<SendResult> ParseSendResponse(int http_status, std::string_view body) {
  auto parsed = chat::ParseObject(body, chat::kResponseBody);
  bool success_status = http_status >= 200 && http_status < 300;
  if (success_status && !parsed) {
    return MakeError(errors::kResponseInvalid, parsed.error().message);
  }
  FieldReader r;
  SendResult s;
  if (parsed && r.Bool(*parsed, "ok", "").value_or(false)) {
    const Json* result = r.RequiredObject(*parsed, "result", "");
    int64_t message_id = result ? r.RequiredInt(*result, "message_id", "result") : 0;
    const Json* chat = result ? r.RequiredObject(*result, "chat", "result") : nullptr;
    int64_t chat_id = chat ? r.RequiredInt(*chat, "id", "result.chat") : 0;
    if (r.failed()) {
      return MakeError(errors::kResponseInvalid, r.error().message);
    }
    s.message_id = ChatMessageId(chat_id, message_id);
    return s;
  }
  // {"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user",
  //  "parameters":{"retry_after":7}}. Read leniently: a proxy's error page has none of it.
  int64_t code = http_status;
  if (parsed) {
    code = r.Int(*parsed, "error_code", "").value_or(http_status);
    s.description = r.String(*parsed, "description", "").value_or("");
    if (const Json* params = r.Object(*parsed, "parameters", "")) {
      s.retry_after =
          std::max(0, ClampInt(r.Int(*params, "retry_after", "parameters").value_or(0)));
    }
  }
  s.error_code = ClampInt(code);
  if (s.description.empty()) {
    s.description = "HTTP " + std::to_string(http_status);
  }
  // 401 (a revoked bot token) and 404 (a malformed one) are not the message's fault: tried
  // again, as a rate limit is, while the town replaces the token.
  s.token_refused = s.error_code == 401 || s.error_code == 404;
  s.permanent =
      s.error_code >= 400 && s.error_code < 500 && s.error_code != 429 && !s.token_refused;
  // Telegram's own 403s say "Forbidden: …"; a proxy's page has no such description.
  s.recipient_refuses = s.error_code == 403 && s.description.starts_with("Forbidden:");
  return s;
}

Result<FileInfo> ParseGetFile(std::string_view body) {
  auto parsed = chat::ParseObject(body, chat::kResponseBody);
  if (!parsed) {
    return parsed.error();
  }
  FieldReader r;
  if (!r.Bool(*parsed, "ok", "").value_or(false)) {
    std::string description = r.String(*parsed, "description", "").value_or("no description");
    int64_t code = r.Int(*parsed, "error_code", "").value_or(0);
    return MakeError(errors::kTelegramError,
                     "getFile failed (" + std::to_string(code) + "): " + description);
  }
  const Json* result = r.RequiredObject(*parsed, "result", "");
  FileInfo info;
  if (result != nullptr) {
    info.file_path = r.RequiredString(*result, "file_path", "result");
    info.file_size = r.Int(*result, "file_size", "result");
  }
  if (r.failed()) {
    return r.error();
  }
  return info;
}

}  // namespace meldestelle::telegram
