#pragma once

#include <string>
#include <string_view>

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
  std::string raw;
};

bool IsMessage(std::string_view body);
std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view body);

}  // namespace meldestelle::email
