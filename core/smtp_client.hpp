#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {

// Sends one message through an SMTP relay with libcurl (smtp:// or smtps://; STARTTLS is used
// when the server offers it). Errors: "smtp_temporary" (connection, timeout, 4xx: try again),
// "smtp_permanent" (5xx: the relay refused the message or the recipient) and
// "smtp_unconfirmed": the whole message and its end of data (".") were sent, and the relay's
// final reply did not come (timeout, connection lost) — it may have taken the message. The URL
// and the password never appear in an error.
struct SmtpMessage {
  std::string url;  // smtp://host:port
  std::string user, password;
  std::string mail_from;  // envelope sender; "" sends MAIL FROM:<> (auto-replies)
  std::vector<std::string> recipients;
  std::string data;  // the RFC 5322 message, CRLF line ends
  std::chrono::seconds timeout{30};  // the whole exchange
};
Status SendSmtp(const SmtpMessage& message);

// Whether an address (from a mail's headers, a form, an app) may become a recipient of ours:
// one addr-spec "local@domain" of at most 254 bytes, a local part of at most 64 bytes of printable
// characters without blanks, quotes, brackets, commas, semicolons or backslashes, and a domain name
// of at least two labels (letters, digits, hyphens, UTF-8; no IP literal, no "localhost", no label
// beginning or ending with a hyphen, a last label not all digits), and no invisible format
// character (Unicode's Cf: a zero-width space, a direction override or isolate, a tag).
bool IsRecipientAddress(std::string_view address);

// The relay our own mails go out through, and the sender they carry (email.smtp_url, …): handed
// to every sender of e-mail, whoever owns its settings.
struct SmtpRelay {
  std::string url;  // empty: no relay, e-mail rows wait in the outbox
  std::string user, password;
  std::string from;       // maengel@musterstadt.example
  std::string from_name;  // "Meldestelle"
  std::chrono::seconds timeout{30};  // email.smtp_timeout_seconds
  bool enabled() const { return !url.empty(); }
  // An SmtpMessage through this relay to `to`, with `mail_from` as the envelope sender.
  SmtpMessage To(const std::string& to, std::string mail_from, std::string data) const;
};

}  // namespace meldestelle
