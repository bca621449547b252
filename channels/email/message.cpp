#include "channels/email/message.hpp"

#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"

namespace meldestelle::email {

using nlohmann::json;

namespace {
constexpr std::string_view kPrefix = R"({"kind":"mail_event")";
}

bool IsMessage(std::string_view body) { return body.substr(0, kPrefix.size()) == kPrefix; }

std::string EncodeMessage(const Message& m) {
  json rest{{"reference", m.reference},     {"report_id", m.report_id},
            {"received_at", m.received_at}, {"source", m.source},
            {"format", m.format},           {"raw_base64", Base64Encode(m.raw)}};
  std::string out(kPrefix);
  std::string tail = rest.dump();
  out += ",";
  out.append(tail, 1, std::string::npos);
  return out;
}

Result<Message> DecodeMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  // Not j.value("kind", ""): it throws when "kind" is there but not a string (fuzz/queue), and
  // a message that cannot be decoded must be an error (dead-lettered at once), not an exception.
  if (j.is_discarded() || !j.is_object() || !j.contains("kind") || j["kind"] != "mail_event") {
    return MakeError(errors::kMailMessageInvalid, "message is not a mail event");
  }
  try {
    Message m;
    m.reference = j.at("reference").get<std::string>();
    m.report_id = j.at("report_id").get<std::string>();
    m.received_at = j.at("received_at").get<std::string>();
    m.source = j.value("source", "");
    m.format = j.value("format", "rfc822");
    if (!Base64Decode(j.at("raw_base64").get<std::string>(), &m.raw)) {
      return MakeError(errors::kMailMessageInvalid, "raw mail is not base64");
    }
    return m;
  } catch (const json::exception& e) {
    return MakeError(errors::kMailMessageInvalid,
                     std::string("mail event is malformed: ") + e.what());
  }
}

std::string EncodeFields(const std::vector<FormField>& fields) {
  json list = json::array();
  for (const auto& f : fields) {
    list.push_back({{"name", f.name},
                    {"filename", f.filename},
                    {"content_type", f.content_type},
                    {"value_base64", Base64Encode(f.value)}});
  }
  return list.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<FormField>> DecodeFields(std::string_view text) {
  json list = json::parse(text, nullptr, false);
  if (!list.is_array())
    return MakeError(errors::kMailMessageInvalid, "form fields are not a list");
  std::vector<FormField> out;
  try {
    for (const auto& f : list) {
      FormField field;
      field.name = f.at("name").get<std::string>();
      field.filename = f.value("filename", "");
      field.content_type = f.value("content_type", "");
      if (!Base64Decode(f.at("value_base64").get<std::string>(), &field.value)) {
        return MakeError(errors::kMailMessageInvalid, "form field is not base64");
      }
      out.push_back(std::move(field));
    }
  } catch (const json::exception& e) {
    return MakeError(errors::kMailMessageInvalid, std::string("form fields: ") + e.what());
  }
  return out;
}

}  // namespace meldestelle::email
