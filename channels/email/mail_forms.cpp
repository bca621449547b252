#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "channels/email/mail.hpp"
#include "channels/email/mail_internal.hpp"
#include "core/errors.hpp"
#include "core/media.hpp"
#include "core/text.hpp"

// The parsed form posts of Mailgun Routes and SendGrid Inbound Parse (channels.md §4.2, §4.3).
// The header facts still come from GMime: the posted headers are put back into a header block.
namespace meldestelle::email {

using namespace internal;

namespace {

using Json = nlohmann::json;

const FormField* Find(const std::vector<FormField>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name && f.filename.empty()) {
      return &f;
    }
  }
  return nullptr;
}

std::string Value(const std::vector<FormField>& fields, std::string_view name) {
  const FormField* f = Find(fields, name);
  return f == nullptr ? std::string() : f->value;
}

std::optional<Error> CheckSize(const std::vector<FormField>& fields, const Limits& limits) {
  int64_t total = 0;
  for (const auto& f : fields) {
    total += static_cast<int64_t>(f.name.size() + f.filename.size() + f.content_type.size() +
                                  f.value.size());
  }
  if (total > limits.max_bytes) {
    return MakeError(errors::kMailTooLarge,
                     "The mail is larger than " + std::to_string(limits.max_bytes) + " bytes.",
                     std::to_string(total) + " bytes in the form fields");
  }
  return std::nullopt;
}

bool IsHeaderName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == ':') {
      return false;
    }
  }
  return true;
}

void AppendHeader(std::string_view name, std::string_view value, std::string* block) {
  if (!IsHeaderName(name)) {
    return;
  }
  block->append(name);
  block->append(": ");
  for (char c : value) {
    block->push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  block->append("\r\n");
}

// The mailbox in a decoded "Name <addr>" field.
void SetFrom(std::string_view field, Mail* mail) {
  std::string value = ToUtf8(field, "utf-8");
  InternetAddressList* list = internet_address_list_parse(nullptr, value.c_str());
  if (list == nullptr) {
    return;
  }
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (IsA(a, internet_address_mailbox_get_type())) {
      const char* addr =
          internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(a));
      const char* name = internet_address_get_name(a);
      mail->from_address = FixDecodedText(addr == nullptr ? "" : addr);
      mail->from_name = FixDecodedText(name == nullptr ? "" : name);
      break;
    }
  }
  g_object_unref(list);
}

void AppendAddresses(std::string_view field, std::vector<std::string>* out) {
  std::string value = ToUtf8(field, "utf-8");
  if (value.empty()) {
    return;
  }
  InternetAddressList* list = internet_address_list_parse(nullptr, value.c_str());
  if (list == nullptr) {
    return;
  }
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (IsA(a, internet_address_mailbox_get_type())) {
      const char* addr =
          internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(a));
      out->push_back(addr == nullptr ? "" : addr);
    }
  }
  g_object_unref(list);
}

std::string StripAngles(std::string s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// {"<cid>": "attachment-1"} (Mailgun) or {"cid": "attachment1"} (SendGrid) → field → cid.
std::map<std::string, std::string> ContentIds(const std::string& json) {
  std::map<std::string, std::string> by_field;
  Json j = Json::parse(json, nullptr, false);
  if (j.is_object()) {
    for (const auto& [cid, field] : j.items()) {
      if (field.is_string()) {
        by_field[field.get<std::string>()] = StripAngles(cid);
      }
    }
  }
  return by_field;
}

Attachment FromFile(const FormField& f, const std::map<std::string, std::string>& cids,
                    std::string fallback_type) {
  Attachment a;
  a.filename = SanitizeFilename(ToUtf8(f.filename, "utf-8"));
  std::string type = f.content_type.empty() ? std::move(fallback_type) : f.content_type;
  type = type.substr(0, type.find(';'));
  for (char& c : type) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  a.declared_type = type;
  auto it = cids.find(f.name);
  if (it != cids.end()) {
    a.content_id = it->second;
    a.inline_part = true;
  }
  a.bytes = f.value;
  return a;
}

Error MissingHeaders(const char* provider) {
  return MakeError(
      errors::kMailInvalid,
      std::string("The ") + provider + " post carries neither the mail headers nor a sender.");
}

}  // namespace

Result<Mail> FromMailgun(const std::vector<FormField>& fields, const Limits& limits) {
  if (auto e = CheckSize(fields, limits)) {
    return *e;
  }
  if (const FormField* mime = Find(fields, "body-mime")) {
    return ParseMail(mime->value, limits);
  }
  std::string block;
  if (const FormField* headers = Find(fields, "message-headers")) {
    Json j = Json::parse(headers->value, nullptr, false);
    if (!j.is_array()) {
      return MakeError(errors::kMailInvalid, "Mailgun's message-headers is not a JSON list.");
    }
    for (const auto& h : j) {
      if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string()) {
        AppendHeader(h[0].get<std::string>(), h[1].get<std::string>(), &block);
      }
    }
  } else {
    // Without message-headers, Mailgun's own fields are lower case and the mail's headers keep
    // their capitals ("Message-Id", "In-Reply-To").
    for (const auto& f : fields) {
      if (f.filename.empty() && !f.name.empty() &&
          std::isupper(static_cast<unsigned char>(f.name[0])) != 0) {
        AppendHeader(f.name, f.value, &block);
      }
    }
  }
  if (block.empty() && Find(fields, "from") == nullptr && Find(fields, "sender") == nullptr) {
    return MissingHeaders("Mailgun");
  }
  AppendHeader("X-Meldestelle-Source", "mailgun", &block);
  GPtr<GMimeMessage> message = ParseHeaderBlock(block);
  if (message == nullptr) {
    return MissingHeaders("Mailgun");
  }
  std::map<std::string, std::string> cids = ContentIds(Value(fields, "content-id-map"));
  std::vector<Attachment> attachments;
  int not_kept = 0;
  for (const auto& f : fields) {
    if (!f.filename.empty() || f.name.rfind("attachment-", 0) == 0) {
      if (f.name == "attachment-count") {
        continue;
      }
      if (static_cast<int>(attachments.size()) >= limits.max_attachments) {
        ++not_kept;  // Mail::attachments_not_kept
        continue;
      }
      attachments.push_back(FromFile(f, cids, "application/octet-stream"));
    }
  }
  Mail mail;
  mail.attachments_not_kept = not_kept;
  HeaderFacts facts = ReadHeaders(message.get(), &mail);
  if (const FormField* subject = Find(fields, "subject")) {
    mail.subject = std::string(TrimAscii(FixDecodedText(subject->value)));
  }
  if (const FormField* from = Find(fields, "from")) {
    SetFrom(from->value, &mail);
  }
  AppendAddresses(Value(fields, "recipient"), &facts.recipients);
  mail.attachments = std::move(attachments);
  std::string plain = Value(fields, "body-plain");
  std::string body = !TrimAscii(plain).empty()
                         ? ToUtf8(plain, "utf-8")
                         : HtmlToText(ToUtf8(Value(fields, "body-html"), "utf-8"));
  Finish(message.get(), facts, body, &mail);
  return mail;
}

Result<Mail> FromSendGrid(const std::vector<FormField>& fields, const Limits& limits) {
  if (auto e = CheckSize(fields, limits)) {
    return *e;
  }
  if (const FormField* raw = Find(fields, "email")) {
    return ParseMail(raw->value, limits);
  }
  Json charsets = Json::parse(Value(fields, "charsets"), nullptr, false);
  auto transcoded = [&](const char* name) -> std::optional<std::string> {
    const FormField* f = Find(fields, name);
    if (f == nullptr) {
      return std::nullopt;
    }
    std::string charset;
    if (charsets.is_object() && charsets.contains(name) && charsets[name].is_string()) {
      charset = charsets[name].get<std::string>();
    }
    return ToUtf8(f->value, charset);
  };
  std::string block = Value(fields, "headers");
  // Header lines in SendGrid's field end in LF; strip the trailing blank line if any, then add
  // ours.
  while (!block.empty() && (block.back() == '\n' || block.back() == '\r')) {
    block.pop_back();
  }
  if (TrimAscii(block).empty() && Find(fields, "from") == nullptr) {
    return MissingHeaders("SendGrid");
  }
  block.append(block.empty() ? "" : "\r\n");
  AppendHeader("X-Meldestelle-Source", "sendgrid", &block);
  GPtr<GMimeMessage> message = ParseHeaderBlock(block);
  if (message == nullptr) {
    return MissingHeaders("SendGrid");
  }
  std::map<std::string, std::string> cids = ContentIds(Value(fields, "content-ids"));
  Json info = Json::parse(Value(fields, "attachment-info"), nullptr, false);
  std::vector<Attachment> attachments;
  int not_kept = 0;
  for (const auto& f : fields) {
    if (f.filename.empty()) {
      continue;
    }
    if (static_cast<int>(attachments.size()) >= limits.max_attachments) {
      ++not_kept;  // Mail::attachments_not_kept
      continue;
    }
    std::string info_type;
    if (info.is_object() && info.contains(f.name) && info[f.name].is_object() &&
        info[f.name].contains("type") && info[f.name]["type"].is_string()) {
      info_type = info[f.name]["type"].get<std::string>();
    }
    attachments.push_back(
        FromFile(f, cids, info_type.empty() ? "application/octet-stream" : info_type));
  }
  Mail mail;
  HeaderFacts facts = ReadHeaders(message.get(), &mail);
  if (auto subject = transcoded("subject")) {
    mail.subject = std::string(TrimAscii(FixDecodedText(*subject)));
  }
  if (auto from = transcoded("from")) {
    SetFrom(*from, &mail);
  }
  if (auto to = transcoded("to")) {
    AppendAddresses(*to, &facts.recipients);
  }
  Json envelope = Json::parse(Value(fields, "envelope"), nullptr, false);
  if (envelope.is_object() && envelope.contains("to") && envelope["to"].is_array()) {
    for (const auto& to : envelope["to"]) {
      if (to.is_string()) {
        facts.recipients.push_back(to.get<std::string>());
      }
    }
  }
  mail.attachments = std::move(attachments);
  mail.attachments_not_kept = not_kept;
  std::string text = transcoded("text").value_or("");
  std::string body = !TrimAscii(text).empty() ? text : HtmlToText(transcoded("html").value_or(""));
  Finish(message.get(), facts, body, &mail);
  return mail;
}

}  // namespace meldestelle::email
