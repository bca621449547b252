#include "channels/chat/batch.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::chat {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = R"({"kind":"chat_batch")";

const char* KindName(EventKind k) {
  switch (k) {
    case EventKind::kMessage:
      return "message";
    case EventKind::kEdit:
      return "edit";
    case EventKind::kStatus:
      return "status";
  }
  return "message";
}

const char* TypeName(MessageType t) {
  switch (t) {
    case MessageType::kText:
      return "text";
    case MessageType::kImage:
      return "image";
    case MessageType::kLocation:
      return "location";
    case MessageType::kDocument:
      return "document";
    case MessageType::kAudio:
      return "audio";
    case MessageType::kInteractive:
      return "interactive";
    case MessageType::kUnsupported:
      return "unsupported";
  }
  return "unsupported";
}

json EventToJson(const ChatEvent& e) {
  json media = json::array();
  for (const auto& m : e.media) {
    json jm{{"id", m.id},
            {"unique_id", m.unique_id},
            {"mime_type", m.mime_type},
            {"sha256", m.sha256_hex},
            {"filename", m.filename},
            {"voice", m.voice}};
    if (m.size)
      jm["size"] = *m.size;
    media.push_back(std::move(jm));
  }
  json j{{"kind", KindName(e.kind)},
         {"channel", e.channel},
         {"dedupe_key", e.dedupe_key},
         {"message_id", e.message_id},
         {"account", e.account},
         {"sender", e.sender},
         {"sender_name", e.sender_name},
         {"language", e.language},
         {"timestamp", e.timestamp},
         {"type", TypeName(e.type)},
         {"text", e.text},
         {"media", std::move(media)},
         {"reply_to", e.reply_to},
         {"media_group_id", e.media_group_id},
         {"interactive_id", e.interactive_id},
         {"interactive_title", e.interactive_title},
         {"status", e.status},
         {"status_message_id", e.status_message_id},
         {"recipient", e.recipient},
         {"error_code", e.error_code},
         {"error_title", e.error_title},
         {"resend_as_template", e.resend_as_template}};
  if (!e.provider_type.empty())
    j["provider_type"] = e.provider_type;  // optional: a worker before it answers as before
  if (e.location) {
    json l{{"lat", e.location->lat},
           {"lon", e.location->lon},
           {"name", e.location->name},
           {"address", e.location->address}};
    if (e.location->accuracy_m)
      l["accuracy_m"] = *e.location->accuracy_m;
    j["location"] = std::move(l);
  }
  return j;
}

// Our own serialisation read back: a mismatch is a bug or a foreign message, never a citizen's
// input, so any type error fails the whole batch (json::exception, caught by the caller).
ChatEvent EventFromJson(const json& j) {
  ChatEvent e;
  std::string kind = j.at("kind").get<std::string>();
  e.kind = kind == "edit"     ? EventKind::kEdit
           : kind == "status" ? EventKind::kStatus
                              : EventKind::kMessage;
  e.channel = j.at("channel").get<std::string>();
  e.dedupe_key = j.at("dedupe_key").get<std::string>();
  e.message_id = j.at("message_id").get<std::string>();
  e.account = j.value("account", "");
  e.sender = j.at("sender").get<std::string>();
  e.sender_name = j.value("sender_name", "");
  e.language = j.value("language", "");
  e.timestamp = j.value("timestamp", int64_t{0});
  std::string type = j.value("type", "text");
  for (MessageType t :
       {MessageType::kText, MessageType::kImage, MessageType::kLocation, MessageType::kDocument,
        MessageType::kAudio, MessageType::kInteractive, MessageType::kUnsupported}) {
    if (type == TypeName(t))
      e.type = t;
  }
  e.provider_type = j.value("provider_type", "");
  e.text = j.value("text", "");
  for (const auto& jm : j.at("media")) {
    Media m;
    m.id = jm.at("id").get<std::string>();
    m.unique_id = jm.value("unique_id", "");
    m.mime_type = jm.value("mime_type", "");
    m.sha256_hex = jm.value("sha256", "");
    m.filename = jm.value("filename", "");
    m.voice = jm.value("voice", false);
    if (auto s = jm.find("size"); s != jm.end())
      m.size = s->get<int64_t>();
    e.media.push_back(std::move(m));
  }
  if (auto l = j.find("location"); l != j.end()) {
    ChatLocation loc;
    loc.lat = l->at("lat").get<double>();
    loc.lon = l->at("lon").get<double>();
    loc.name = l->value("name", "");
    loc.address = l->value("address", "");
    if (auto a = l->find("accuracy_m"); a != l->end())
      loc.accuracy_m = a->get<double>();
    e.location = std::move(loc);
  }
  e.reply_to = j.value("reply_to", "");
  e.media_group_id = j.value("media_group_id", "");
  e.interactive_id = j.value("interactive_id", "");
  e.interactive_title = j.value("interactive_title", "");
  e.status = j.value("status", "");
  e.status_message_id = j.value("status_message_id", "");
  e.recipient = j.value("recipient", "");
  e.error_code = j.value("error_code", 0);
  e.error_title = j.value("error_title", "");
  // Batches queued before the flag existed: only WhatsApp reports delivery failures, and 131047
  // is its "outside the 24-hour window".
  e.resend_as_template =
      j.value("resend_as_template", e.status == "failed" && e.error_code == 131047);
  return e;
}

}  // namespace

bool IsBatch(std::string_view body) { return body.substr(0, kPrefix.size()) == kPrefix; }

std::string EncodeBatch(const Batch& b) {
  json items = json::array();
  for (const auto& it : b.items) {
    json e = EventToJson(it.event);
    e["reference"] = it.reference;
    e["report_id"] = it.report_id;
    items.push_back(std::move(e));
  }
  json rest{
      {"channel", b.channel},
      {"received_at", b.received_at},
      {"events", std::move(items)},
      {"raw", {{"content_type", b.raw.content_type}, {"body_base64", Base64Encode(b.raw.body)}}}};
  // The kind goes first so that IsBatch can tell without parsing.
  std::string out(kPrefix);
  std::string tail = rest.dump(-1, ' ', false, json::error_handler_t::replace);
  out += ",";
  out.append(tail, 1, std::string::npos);  // drop the opening brace
  return out;
}

Result<Batch> DecodeBatch(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  // Not j.value("kind", ""): it throws when "kind" is there but not a string (fuzz/queue), and
  // a message that cannot be decoded must be an error (dead-lettered at once), not an exception.
  if (j.is_discarded() || !j.is_object() || !j.contains("kind") || j["kind"] != "chat_batch") {
    return MakeError(errors::kBatchInvalid, "message is not a chat batch");
  }
  try {
    Batch b;
    b.channel = j.at("channel").get<std::string>();
    b.received_at = j.at("received_at").get<std::string>();
    for (const auto& je : j.at("events")) {
      Batch::Item it;
      it.event = EventFromJson(je);
      it.reference = je.at("reference").get<std::string>();
      it.report_id = je.at("report_id").get<std::string>();
      b.items.push_back(std::move(it));
    }
    const auto& raw = j.at("raw");
    b.raw.content_type = raw.at("content_type").get<std::string>();
    if (!Base64Decode(raw.at("body_base64").get<std::string>(), &b.raw.body)) {
      return MakeError(errors::kBatchInvalid, "raw payload is not base64");
    }
    return b;
  } catch (const json::exception& e) {
    return MakeError(errors::kBatchInvalid, std::string("chat batch is malformed: ") + e.what());
  }
}

}  // namespace meldestelle::chat
