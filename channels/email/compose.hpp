#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Composing the e-mails we send (acknowledgements, forwards, department deliveries): RFC 5322 +
// MIME, UTF-8 text as quoted-printable, non-ASCII header text as RFC 2047 encoded words; with
// attachments a multipart/mixed message whose files are base64 parts. Pure.
namespace meldestelle::email {

struct OutgoingAttachment {
  std::string filename;    // UTF-8; sent as RFC 2231 filename* (and an RFC 2047 name) if not ASCII
  std::string media_type;  // e.g. image/jpeg; "" = application/octet-stream
  std::string bytes;
};

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
  std::vector<OutgoingAttachment> attachments;  // none: a single text/plain part
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
// Base64 with CRLF line breaks every 76 characters (RFC 2045 body of a part).
std::string EncodeBase64Lines(std::string_view bytes);
// The Content-Type and Content-Disposition header lines of an attachment part (without the final
// CRLF): ASCII names quoted, others as RFC 2231 `filename*=UTF-8''…` and an RFC 2047 `name`.
std::string AttachmentHeaders(const OutgoingAttachment& attachment);
// "ack.<reference>.<random hex>@<domain>": recognisable in replies (In-Reply-To / References).
std::string NewMessageId(std::string_view kind, std::string_view reference,
                         std::string_view domain);
// "<kind>.<24 hex>@<domain>": the Message-ID of the mail an outbox row sends, the same at every
// attempt of the row, so that a mail sent again (a relay that took it and never said so) is the
// same message: relays and mail programs drop the copy. The hex is a signature of the kind, the
// reference and the row's id with `secret` (KeyPurpose::kMessageIds), not the id itself: a reply
// or a bounce is matched to its ticket by the ids it refers to, so nobody may make one up from
// what they can know (references are public, row ids count up). Without a secret: random, as
// every attempt's own.
std::string RowMessageId(std::string_view kind, std::string_view reference, int64_t outbox_id,
                         std::string_view domain, const std::string& secret);
// RFC 5322 date of now, UTC.
std::string NowRfc5322();
// The domain part of an address ("" if none).
std::string DomainOf(std::string_view address);

}  // namespace meldestelle::email
