#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Composing the e-mails we send (acknowledgements, forwards): RFC 5322 + MIME, UTF-8 text as
// quoted-printable, non-ASCII header text as RFC 2047 encoded words. Pure.
namespace meldestelle::email {

struct Outgoing {
  std::string from_address;             // maengel@musterstadt.example
  std::string from_name;                // "Meldestelle Musterstadt" (may be non-ASCII)
  std::string to;                       // one address
  std::string subject;                  // UTF-8
  std::string text;                     // UTF-8 body
  std::string message_id;               // without <>
  std::string in_reply_to;              // the citizen's Message-ID without <>, "" if none
  std::vector<std::string> references;  // ids without <>, oldest first
  std::string date;                     // RFC 5322 date, e.g. "Fri, 27 Nov 2026 16:00:00 +0000"
  bool auto_reply = true;               // Auto-Submitted: auto-replied + loop-prevention headers
  // More header fields (name, value), printable ASCII, after the threading headers; e.g.
  // List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058) of status notices.
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string Compose(const Outgoing& mail);
// Quoted-printable (RFC 2045): lines of at most 76 characters with soft breaks, CRLF line ends.
std::string EncodeQuotedPrintable(std::string_view text);
// An unstructured header value: as is if printable ASCII, else RFC 2047 "B" encoded words of at
// most 75 characters each, split on UTF-8 character boundaries.
std::string EncodeHeaderText(std::string_view text);
// "ack.<reference>.<random hex>@<domain>": recognisable in replies (In-Reply-To / References).
std::string NewMessageId(std::string_view kind, std::string_view reference,
                         std::string_view domain);
// RFC 5322 date of now, UTC.
std::string NowRfc5322();
// The domain part of an address ("" if none).
std::string DomainOf(std::string_view address);

}  // namespace meldestelle::email
