#include "channels/whatsapp/whatsapp.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "channels/chat/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle::whatsapp {

namespace {

using chat::FieldReader;
using chat::Json;
using chat::Path;

constexpr std::string_view kChannel = "whatsapp";
constexpr size_t kMaxTextCodePoints = 4096;
// A template's body has at most 1,024 characters, its own text and every parameter together: a
// parameter is cut well below (the reference's is 14, the status line up to this).
constexpr size_t kMaxTemplateParameterCodePoints = 800;

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// Error codes are int in our model; Graph codes are small, but the payload is untrusted.
int ClampCode(int64_t code) {
  if (code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max()) {
    return 0;
  }
  return static_cast<int>(code);
}

// errors[0].code and .title of a message or status (title falls back to message). False if
// there is no error.
bool ReadFirstError(FieldReader& r, const Json& holder, std::string_view path, chat::ChatEvent& e) {
  const Json* errors = r.Array(holder, "errors", path);
  if (errors == nullptr || errors->empty()) {
    return false;
  }
  std::string ep = Path(Path(path, "errors"), size_t{0});
  const Json* first = r.ObjectAt(*errors, 0, Path(path, "errors"));
  if (first == nullptr) {
    return true;
  }
  e.error_code = ClampCode(r.Int(*first, "code", ep).value_or(0));
  e.error_title = r.String(*first, "title", ep).value_or("");
  if (e.error_title.empty()) {
    e.error_title = r.String(*first, "message", ep).value_or("");
  }
  return true;
}

// The media fields shared by image, document, audio, video and sticker.
chat::Media ReadMedia(FieldReader& r, const Json& obj, std::string_view path, bool id_required) {
  chat::Media m;
  m.id = id_required ? r.RequiredString(obj, "id", path) : r.String(obj, "id", path).value_or("");
  m.mime_type = r.String(obj, "mime_type", path).value_or("");
  m.sha256_hex = NormalizeSha256(r.String(obj, "sha256", path).value_or(""));
  m.filename = r.String(obj, "filename", path).value_or("");
  m.voice = r.Bool(obj, "voice", path).value_or(false);
  // The webhook does not carry sizes today; take one if a future payload does.
  m.size = r.IntOrDigits(obj, "file_size", path);
  return m;
}

void ReadLocation(FieldReader& r, const Json& obj, std::string_view path, chat::ChatEvent& e) {
  chat::ChatLocation loc;
  loc.lat = r.RequiredNumber(obj, "latitude", path);
  loc.lon = r.RequiredNumber(obj, "longitude", path);
  loc.name = r.String(obj, "name", path).value_or("");
  loc.address = r.String(obj, "address", path).value_or("");
  if (r.failed()) {
    return;
  }
  if (loc.lat < -90 || loc.lat > 90 || loc.lon < -180 || loc.lon > 180) {
    r.Fail(errors::kFieldValueInvalid, path, "coordinates out of range");
    return;
  }
  e.location = std::move(loc);
}

void ReadInteractive(FieldReader& r, const Json& obj, std::string_view path, chat::ChatEvent& e) {
  std::string kind = r.String(obj, "type", path).value_or("");
  if (kind != "button_reply" && kind != "list_reply") {
    e.type = chat::MessageType::kUnsupported;  // nfm_reply and friends: not ours to answer
    return;
  }
  const Json* reply = r.RequiredObject(obj, kind, path);
  if (reply == nullptr) {
    return;
  }
  std::string rp = Path(path, kind);
  e.type = chat::MessageType::kInteractive;
  e.interactive_id = r.String(*reply, "id", rp).value_or("");
  e.interactive_title = r.String(*reply, "title", rp).value_or("");
  e.text = e.interactive_title;
}

// Fills type, text, media and location from messages[].type and the object of that name.
void ReadContent(FieldReader& r, const Json& msg, std::string_view path, const std::string& type,
                 chat::ChatEvent& e) {
  using chat::MessageType;
  std::string tp = Path(path, type);
  auto required = [&]() { return r.RequiredObject(msg, type, path); };
  if (type == "text") {
    if (const Json* o = required()) {
      e.type = MessageType::kText;
      e.text = r.String(*o, "body", tp).value_or("");
    }
  } else if (type == "image" || type == "document" || type == "audio") {
    if (const Json* o = required()) {
      e.type = type == "image"      ? MessageType::kImage
               : type == "document" ? MessageType::kDocument
                                    : MessageType::kAudio;
      e.media.push_back(ReadMedia(r, *o, tp, /*id_required=*/true));
      e.text = r.String(*o, "caption", tp).value_or("");
    }
  } else if (type == "video" || type == "sticker") {
    e.type = MessageType::kUnsupported;
    if (const Json* o = r.Object(msg, type, path)) {
      e.media.push_back(ReadMedia(r, *o, tp, /*id_required=*/false));
      e.text = r.String(*o, "caption", tp).value_or("");
    }
  } else if (type == "location") {
    if (const Json* o = required()) {
      e.type = MessageType::kLocation;
      ReadLocation(r, *o, tp, e);
    }
  } else if (type == "interactive") {
    if (const Json* o = required()) {
      ReadInteractive(r, *o, tp, e);
    }
  } else if (type == "button") {
    // A tap on a quick-reply button of a template we sent.
    e.type = MessageType::kUnsupported;
    if (const Json* o = r.Object(msg, type, path)) {
      e.type = MessageType::kInteractive;
      e.interactive_id = r.String(*o, "payload", tp).value_or("");
      e.interactive_title = r.String(*o, "text", tp).value_or("");
      e.text = e.interactive_title;
    }
  } else {
    // reaction, system, request_welcome, unsupported, contacts, order, unknown: the worker
    // decides by the provider's name which of them are answered (ChatIntake::Unsupported).
    e.type = MessageType::kUnsupported;
  }
  if (e.type == MessageType::kUnsupported)
    e.provider_type = type;
}

// contacts[]: the sender's number (wa_id; left out for a user with a username whose number we
// may not see), business-scoped user id (user_id, "US.13491208655302741918": every user since
// Meta's usernames, 2026) and profile name.
struct Contact {
  std::string wa_id, user_id, name;
};
using Contacts = std::vector<Contact>;

Contacts ReadContacts(FieldReader& r, const Json& value, std::string_view path) {
  Contacts contacts;
  const Json* arr = r.Array(value, "contacts", path);
  if (arr == nullptr) {
    return contacts;
  }
  std::string ap = Path(path, "contacts");
  for (size_t i = 0; i < arr->size(); ++i) {
    const Json* c = r.ObjectAt(*arr, i, ap);
    if (c == nullptr) {
      break;
    }
    std::string cp = Path(ap, i);
    std::string wa_id = r.String(*c, "wa_id", cp).value_or("");
    std::string user_id = r.String(*c, "user_id", cp).value_or("");
    std::string name;
    if (const Json* profile = r.Object(*c, "profile", cp)) {
      name = r.String(*profile, "name", Path(cp, "profile")).value_or("");
    }
    contacts.push_back({std::move(wa_id), std::move(user_id), std::move(name)});
  }
  return contacts;
}

chat::ChatEvent ReadMessage(FieldReader& r, const Json& msg, std::string_view path,
                            const Contacts& contacts) {
  chat::ChatEvent e;
  e.kind = chat::EventKind::kMessage;
  e.channel = kChannel;
  e.message_id = r.RequiredString(msg, "id", path);
  e.dedupe_key = e.message_id;
  // The number; for a user with a username whose number is not shared with us, the
  // business-scoped user id instead (from_user_id, or the one contact's user_id): replies go to
  // it ("recipient" instead of "to", BuildTextMessage).
  e.sender = r.String(msg, "from", path).value_or("");
  if (e.sender.empty())
    e.sender = r.String(msg, "from_user_id", path).value_or("");
  if (e.sender.empty() && contacts.size() == 1)
    e.sender = contacts[0].user_id;
  if (e.sender.empty())
    r.RequiredString(msg, "from", path);  // the error: no sender
  std::string type = r.RequiredString(msg, "type", path);
  e.timestamp = r.IntOrDigits(msg, "timestamp", path).value_or(0);
  if (const Json* context = r.Object(msg, "context", path)) {
    e.reply_to = r.String(*context, "id", Path(path, "context")).value_or("");
  }
  for (const auto& c : contacts) {
    if (c.wa_id == e.sender || (!c.user_id.empty() && c.user_id == e.sender)) {
      e.sender_name = c.name;
      break;
    }
  }
  if (r.failed()) {
    return e;
  }
  ReadContent(r, msg, path, type, e);
  if (ReadFirstError(r, msg, path, e)) {
    e.type = chat::MessageType::kUnsupported;  // the client sent something the API cannot deliver
    if (e.provider_type.empty())
      e.provider_type = type;
  }
  return e;
}

chat::ChatEvent ReadStatus(FieldReader& r, const Json& st, std::string_view path) {
  chat::ChatEvent e;
  e.kind = chat::EventKind::kStatus;
  e.channel = kChannel;
  e.status_message_id = r.RequiredString(st, "id", path);
  e.status = r.RequiredString(st, "status", path);
  e.dedupe_key = e.status_message_id + ":" + e.status;
  e.recipient = r.String(st, "recipient_id", path).value_or("");
  e.timestamp = r.IntOrDigits(st, "timestamp", path).value_or(0);
  ReadFirstError(r, st, path, e);
  e.resend_as_template = e.status == "failed" && e.error_code == kOutsideWindow;
  return e;
}

void ReadValue(FieldReader& r, const Json& value, std::string_view path,
               std::vector<chat::ChatEvent>& events, std::vector<Error>& skipped) {
  Contacts contacts = ReadContacts(r, value, path);
  // The business number the message reached: replies are sent from it.
  std::string account;
  if (const Json* metadata = r.Object(value, "metadata", path)) {
    account = r.String(*metadata, "phone_number_id", Path(path, "metadata")).value_or("");
    // Meta's ids are digits; anything else would be a path of its own in the reply's URL.
    if (account.empty() || account.size() > 32 ||
        account.find_first_not_of("0123456789") != std::string::npos)
      account.clear();
  }
  if (const Json* messages = r.Array(value, "messages", path)) {
    std::string ap = Path(path, "messages");
    for (size_t i = 0; i < messages->size() && !r.failed(); ++i) {
      FieldReader one;  // one message's error leaves the others
      if (const Json* msg = one.ObjectAt(*messages, i, ap)) {
        chat::ChatEvent e = ReadMessage(one, *msg, Path(ap, i), contacts);
        e.account = account;
        if (!one.failed())
          events.push_back(std::move(e));
      }
      if (one.failed())
        skipped.push_back(one.error());
    }
  }
  if (const Json* statuses = r.Array(value, "statuses", path)) {
    std::string ap = Path(path, "statuses");
    for (size_t i = 0; i < statuses->size() && !r.failed(); ++i) {
      FieldReader one;
      if (const Json* st = one.ObjectAt(*statuses, i, ap)) {
        chat::ChatEvent e = ReadStatus(one, *st, Path(ap, i));
        if (!one.failed())
          events.push_back(std::move(e));
      }
      if (one.failed())
        skipped.push_back(one.error());
    }
  }
}

bool IsRateLimitCode(int64_t code) {
  // 131048: the spam rate limit (too many messages to users who did not answer).
  return code == 4 || code == 80007 || code == 130429 || code == 131056 || code == 131048;
}

// Graph's OAuth and permission errors: 190 (the token expired or was revoked), 10 and 200–299
// (a permission missing). An AuthException comes as HTTP 401.
bool IsAccessTokenCode(int64_t code) {
  return code == 190 || code == 10 || (code >= 200 && code <= 299);
}

std::string Dump(const nlohmann::ordered_json& j) {
  // Invalid UTF-8 from a caller becomes U+FFFD instead of an exception.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

SignatureCheck VerifySignature(std::string_view app_secret, std::string_view raw_body,
                               std::string_view header_value) {
  std::string_view header = TrimAscii(header_value);
  if (header.empty()) {
    return SignatureCheck::kMissing;
  }
  constexpr std::string_view kPrefix = "sha256=";
  if (app_secret.empty() || header.size() != kPrefix.size() + 64 ||
      AsciiLower(header.substr(0, kPrefix.size())) != kPrefix) {
    return SignatureCheck::kMismatch;
  }
  std::string given = AsciiLower(header.substr(kPrefix.size()));
  std::string expected = HmacSha256Hex(app_secret, raw_body);
  return ConstantTimeEquals(expected, given) ? SignatureCheck::kOk : SignatureCheck::kMismatch;
}

std::optional<std::string> VerifyHandshake(std::string_view mode, std::string_view verify_token,
                                           std::string_view challenge,
                                           std::string_view configured_token) {
  if (mode != "subscribe" || configured_token.empty() || challenge.empty()) {
    return std::nullopt;
  }
  if (!ConstantTimeEquals(verify_token, configured_token)) {
    return std::nullopt;
  }
  return std::string(challenge);
}

std::string NormalizeSha256(std::string_view value) {
  if (value.size() == 64 && IsHex(value)) {
    return AsciiLower(value);
  }
  // 32 bytes are 43 base64 characters plus one '='.
  std::string b64(value);
  if (b64.size() == 43) {
    b64 += '=';
  }
  if (b64.size() != 44 || b64[43] != '=') {
    return {};
  }
  for (size_t i = 0; i < 43; ++i) {
    char& c = b64[i];
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    }
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) {
      return {};
    }
  }
  std::string bytes;
  if (!Base64Decode(b64, &bytes) || bytes.size() != 32) {
    return {};
  }
  return HexEncode(bytes);
}

Result<std::vector<chat::ChatEvent>> ParseNotification(std::string_view raw_body,
                                                       std::vector<Error>* skipped) {
  auto parsed = chat::ParseObject(raw_body);
  if (!parsed) {
    return parsed.error();
  }
  const Json& root = *parsed;
  FieldReader r;
  std::string object = r.RequiredString(root, "object", "");
  if (r.failed()) {
    return r.error();
  }
  if (object != "whatsapp_business_account") {
    return MakeError(errors::kObjectUnexpected,
                     "object: expected \"whatsapp_business_account\", got \"" +
                         std::string(chat::TruncateUtf8(object, 64)) + "\"");
  }
  const Json* entries = r.RequiredArray(root, "entry", "");
  if (r.failed()) {
    return r.error();
  }
  std::vector<chat::ChatEvent> events;
  std::vector<Error> left_out;
  for (size_t i = 0; i < entries->size() && !r.failed(); ++i) {
    const Json* entry = r.ObjectAt(*entries, i, "entry");
    std::string ep = Path("entry", i);
    const Json* changes = entry ? r.RequiredArray(*entry, "changes", ep) : nullptr;
    std::string cp = Path(ep, "changes");
    for (size_t j = 0; changes != nullptr && j < changes->size() && !r.failed(); ++j) {
      const Json* change = r.ObjectAt(*changes, j, cp);
      std::string chp = Path(cp, j);
      if (change == nullptr || r.RequiredString(*change, "field", chp) != "messages") {
        continue;  // other subscriptions (account_update, templates, ...) are not ours
      }
      if (const Json* value = r.RequiredObject(*change, "value", chp)) {
        ReadValue(r, *value, Path(chp, "value"), events, left_out);
      }
    }
  }
  if (r.failed()) {
    return r.error();
  }
  if (skipped != nullptr)
    *skipped = std::move(left_out);
  return events;
}

// A number goes in "to"; a business-scoped user id (a user with a username, "US.1349…") in
// "recipient".
static void Addressed(nlohmann::ordered_json& j, std::string_view to) {
  const bool number = !to.empty() && to.find_first_not_of("0123456789") == std::string_view::npos;
  j[number ? "to" : "recipient"] = to;
}

std::string BuildTextMessage(std::string_view to, std::string_view body,
                             std::string_view reply_to_wamid) {
  nlohmann::ordered_json j;
  j["messaging_product"] = "whatsapp";
  j["recipient_type"] = "individual";
  Addressed(j, to);
  if (!reply_to_wamid.empty()) {
    j["context"]["message_id"] = reply_to_wamid;
  }
  j["type"] = "text";
  j["text"]["preview_url"] = false;
  j["text"]["body"] = chat::TruncateUtf8(body, kMaxTextCodePoints);
  return Dump(j);
}

std::string TemplateParameter(std::string_view text) {
  // Meta refuses (132018) a parameter with a line break or tab, or more than four spaces in a
  // row, and one that is empty; the whole body has at most 1,024 characters.
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool blank = c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
    if (!blank)
      out.push_back(c);
    else if (!out.empty() && out.back() != ' ')
      out.push_back(' ');
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  out = std::string(chat::TruncateUtf8(out, kMaxTemplateParameterCodePoints));
  return out.empty() ? std::string("–") : out;
}

std::string BuildTemplateMessage(std::string_view to, std::string_view template_name,
                                 std::string_view language_code,
                                 const std::vector<std::string>& body_params) {
  nlohmann::ordered_json j;
  j["messaging_product"] = "whatsapp";
  Addressed(j, to);
  j["type"] = "template";
  auto& t = j["template"];
  t["name"] = template_name;
  t["language"]["code"] = language_code;
  if (!body_params.empty()) {
    // A template without variables is sent without components; an empty list is refused.
    nlohmann::ordered_json params = nlohmann::ordered_json::array();
    for (const auto& p : body_params) {
      params.push_back({{"type", "text"}, {"text", TemplateParameter(p)}});
    }
    t["components"] = nlohmann::ordered_json::array(
        {nlohmann::ordered_json{{"type", "body"}, {"parameters", std::move(params)}}});
  }
  return Dump(j);
}

Result<SendResult> ParseSendResponse(int http_status, std::string_view body) {
  auto parsed = chat::ParseObject(body, chat::kResponseBody);
  FieldReader r;
  SendResult s;
  if (http_status >= 200 && http_status < 300) {
    if (!parsed) {
      return MakeError(errors::kResponseInvalid, parsed.error().message);
    }
    const Json* messages = r.RequiredArray(*parsed, "messages", "");
    const Json* first = messages ? r.ObjectAt(*messages, 0, "messages") : nullptr;
    if (messages != nullptr && messages->empty()) {
      r.Fail(errors::kFieldMissing, "messages", "empty");
    }
    s.message_id = first ? r.RequiredString(*first, "id", "messages[0]") : "";
    if (r.failed()) {
      return MakeError(errors::kResponseInvalid, r.error().message);
    }
    return s;
  }
  // A Graph error body: {"error":{"message","type","code","error_data":{"details"},...}}.
  // Read leniently: a proxy's HTML page must still give a usable result.
  const Json* error = parsed ? r.Object(*parsed, "error", "") : nullptr;
  if (error != nullptr) {
    s.error_code = ClampCode(r.Int(*error, "code", "error").value_or(0));
    s.error_message = r.String(*error, "message", "error").value_or("");
    if (const Json* data = r.Object(*error, "error_data", "error")) {
      std::string details = r.String(*data, "details", "error.error_data").value_or("");
      if (!details.empty() && details != s.error_message) {
        s.error_message += s.error_message.empty() ? details : " (" + details + ")";
      }
    }
  }
  if (s.error_message.empty()) {
    s.error_message = "HTTP " + std::to_string(http_status);
  }
  // Not the message's fault, so tried again (and alerted on by the failures' counters): a rate
  // limit, and an access token Meta refuses (expired, revoked, lacking a permission), which the
  // town replaces.
  s.token_refused = http_status == 401 || (http_status >= 400 && IsAccessTokenCode(s.error_code));
  s.permanent = http_status >= 400 && http_status < 500 && http_status != 429 && !s.token_refused &&
                !IsRateLimitCode(s.error_code);
  return s;
}

Result<MediaInfo> ParseMediaInfo(std::string_view body, std::string_view trusted_origin) {
  auto parsed = chat::ParseObject(body, chat::kResponseBody);
  if (!parsed) {
    return parsed.error();
  }
  FieldReader r;
  if (const Json* error = r.Object(*parsed, "error", "")) {
    std::string message = r.String(*error, "message", "error").value_or("");
    int64_t code = r.Int(*error, "code", "error").value_or(0);
    return MakeError(errors::kGraphError, "Graph error " + std::to_string(code) + ": " + message);
  }
  MediaInfo info;
  info.url = r.RequiredString(*parsed, "url", "");
  info.mime_type = r.String(*parsed, "mime_type", "").value_or("");
  info.sha256_hex = NormalizeSha256(r.String(*parsed, "sha256", "").value_or(""));
  info.file_size = r.IntOrDigits(*parsed, "file_size", "");
  if (r.failed()) {
    return r.error();
  }
  // The download carries our bearer token: never to a plain-http URL.
  bool trusted = !trusted_origin.empty() && info.url.size() > trusted_origin.size() &&
                 info.url.compare(0, trusted_origin.size(), trusted_origin) == 0 &&
                 info.url[trusted_origin.size()] == '/';
  if (info.url.rfind("https://", 0) != 0 && !trusted) {
    return MakeError(errors::kFieldValueInvalid, "url: must be an https URL");
  }
  return info;
}

}  // namespace meldestelle::whatsapp
