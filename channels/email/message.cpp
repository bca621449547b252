#include "channels/email/message.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"

namespace meldestelle::email {

using nlohmann::json;

namespace {
constexpr std::string_view kPrefix = R"({"kind":"mail_event")";
}

bool IsMessage(std::string_view body) { return body.substr(0, kPrefix.size()) == kPrefix; }

std::string EncodeMessage(const Message& m) {
  json rest{{"reference", m.reference},
            {"report_id", m.report_id},
            {"received_at", m.received_at},
            {"source", m.source},
            {"raw_base64", Base64Encode(m.raw)}};
  std::string out(kPrefix);
  std::string tail = rest.dump();
  out += ",";
  out.append(tail, 1, std::string::npos);
  return out;
}

Result<Message> DecodeMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "mail_event") {
    return MakeError("mail_message_invalid", "message is not a mail event");
  }
  try {
    Message m;
    m.reference = j.at("reference").get<std::string>();
    m.report_id = j.at("report_id").get<std::string>();
    m.received_at = j.at("received_at").get<std::string>();
    m.source = j.value("source", "");
    if (!Base64Decode(j.at("raw_base64").get<std::string>(), &m.raw)) {
      return MakeError("mail_message_invalid", "raw mail is not base64");
    }
    return m;
  } catch (const json::exception& e) {
    return MakeError("mail_message_invalid", std::string("mail event is malformed: ") + e.what());
  }
}

}  // namespace meldestelle::email
