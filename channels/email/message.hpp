#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace meldestelle::email {

// What the gateway publishes for one accepted e-mail: the raw RFC 5322 bytes (the worker parses
// them again — parsing is pure and deterministic), the reference and report id given at intake,
// and where it came from ("imap", "mailgate", "api"). JSON {"kind":"mail_event",…}.
struct Message {
  std::string reference;
  std::string report_id;
  std::string received_at;
  std::string source;
  // "rfc822": raw is the message. "mailgun" / "sendgrid": a parsed inbound-parse POST, raw is
  // the JSON list of its form fields (EncodeFields), turned into a Mail by
  // FromMailgun/FromSendGrid.
  std::string format = "rfc822";
  std::string raw;
};

struct FormField;  // mail.hpp
std::string EncodeFields(const std::vector<FormField>& fields);
Result<std::vector<FormField>> DecodeFields(std::string_view json);

// The AMQP type of a mail on the work queue.
inline constexpr std::string_view kMessageType = "mail_event";

// Whether an untyped message (published before messages carried their type) is a mail.
bool IsMessage(std::string_view body);
std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view body);

}  // namespace meldestelle::email
