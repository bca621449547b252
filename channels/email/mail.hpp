#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/smtp_client.hpp"

// The e-mail channel, pure part: raw RFC 5322 messages (SMTP/LMTP, pipe, IMAP, Mailgun
// body-mime, SendGrid "email") and the parsed form posts of Mailgun Routes and SendGrid Inbound
// Parse become one `Mail`. MIME structure, transfer encodings, RFC 2047/2231 and charsets go
// through GMime 3 (and its iconv), never a hand-written MIME parser. No I/O, no clock (the time
// is passed in). All functions are thread-safe; GMime is initialised once on first use.
// Facts and sources: shared/reference/channels.md §4; vectors in shared/reference/vectors/email.
namespace meldestelle::email {

struct Limits {
  int64_t max_bytes = 30 * 1024 * 1024;  // the raw message (or the sum of all form fields)
  int max_attachments = 20;
  int max_depth = 10;  // nesting of multiparts and message/rfc822 (the top-level body is depth 0)
};

struct Attachment {
  std::string filename;       // RFC 2231 / 2047 decoded, sanitised (SanitizeFilename); may be ""
  std::string declared_type;  // "type/subtype" as the sender declared it, lower case; never trusted
  std::string content_id;     // without <>
  // Content-Disposition: inline, or no disposition but a Content-ID (an image in the HTML).
  bool inline_part = false;
  std::string bytes;  // transfer encoding decoded; no charset conversion
};

// Why we must not answer a mail (channels.md §4.6). Bounce wins over auto-reply over list.
enum class Robot { kNone, kAutoReply, kBounce, kList };

// The longest Message-ID kept as a key as it is: an index entry of PostgreSQL holds about
// 2,700 bytes (a longer id was refused on every try).
constexpr size_t kMaxKeyBytes = 2000;

struct Mail {
  std::string message_id;  // without <>, "" if missing
  // message_id (if at most kMaxKeyBytes; else "sha256:<hex>" of it), or "sha256:<hex>" of the
  // Date, From and Subject header values and the body text (before quote stripping) when the
  // Message-ID is missing.
  std::string dedupe_key;
  std::vector<std::string> in_reply_to_and_references;  // ids without <>, In-Reply-To first, unique
  std::string subject;                                  // RFC 2047 decoded, valid UTF-8
  std::string from_address, from_name, return_path;     // the first mailbox of each
  std::string reply_to;                                 // its one mailbox; "" for none or a list
  bool return_path_empty = false;  // "Return-Path: <>" (return_path is then "")
  std::string date;                // RFC 3339 with the sender's offset if parseable, else ""
  // The report text: subject + "\n\n" + body (either alone if the other is empty). The body is
  // the text/plain part (preferred in multipart/alternative) or the HTML part made readable, with
  // quoted history and the signature removed, LF line endings. Valid UTF-8.
  std::string text;
  // Every leaf that is not the chosen body or its HTML/plain alternative: images (inline ones
  // too), other files, the leaves of nested message/rfc822 parts, the parts of a DSN.
  std::vector<Attachment> attachments;
  // Leaves beyond Limits::max_attachments: not decoded, not kept, only counted (a forwarded thread
  // carries every mail's signature logos; the citizen's photos come first). The report is taken
  // with the first ones and flagged.
  int attachments_not_kept = 0;
  // Outlook winmail.dat attachments whose files could not be read (ExpandTnef): dropped, and the
  // ticket is flagged.
  int tnef_not_read = 0;
  Robot robot = Robot::kNone;
  // One per rule that fired, e.g. "Auto-Submitted: auto-replied", "Return-Path: <>",
  // "Precedence: bulk", "X-Autoreply: yes", "List-Id", "multipart/report;
  // report-type=delivery-status", "From MAILER-DAEMON", "Subject: Out of Office".
  std::vector<std::string> robot_reasons;
  // For a DSN (multipart/report; report-type=delivery-status): the Message-ID of the original
  // message (its message/rfc822 or text/rfc822-headers part), without <>.
  std::string bounced_message_id;
  // A ticket reference from the subject ("[4KQ7-XRT2-WNPA]", "[4KQ7XRT2WNPA]") or from a plus
  // address among the recipients (maengel+4KQ7XRT2WNPA@…), normalised and checked with
  // ParseReference; "" if none.
  std::string references_reference;
  // The town's web form that relayed the mail (TakeFormRelay): its From address; "" for a mail
  // the citizen sent.
  std::string relayed_by;
};

// Errors (code): "mail_too_large", "mail_too_deep", "mail_invalid"
// (not a message, no header block, truncated: a multipart without its closing boundary). An
// error never comes with a partial result.
Result<Mail> ParseMail(std::string_view raw, const Limits& limits = {});

// A mail the town's web form relayed: its From is `own` (our address) or one of `form_senders`
// (lower case), its one Reply-To another address that may become a recipient. Such a mail is
// the citizen's: `relayed_by` is set to the From. For a listed form, what its sending alone
// made a robot (its noreply@ address, "Auto-Submitted: auto-generated", an empty Return-Path)
// no longer counts; any other robot finding (list headers, an out-of-office's marks) keeps the
// mail a robot's, not relayed, as does any finding at all for our own address, and a bounce.
// Returns whether the mail was taken as relayed.
bool TakeFormRelay(const std::vector<std::string>& form_senders, std::string_view own, Mail* mail);
// Whether `address` is `own` (our address) or one of `form_senders` (lower case), in any case.
bool IsFormSender(const std::vector<std::string>& form_senders, std::string_view own,
                  std::string_view address);

// The mail as we keep it for evidence (raw_payloads; docs/datenschutz.md, "Minimisation"): its
// headers and text, every other part (photos with their EXIF, documents, attached messages)
// emptied, with a header "X-Meldestelle-Removed: N bytes" where it was. Input GMime cannot read
// as a message keeps only its header block.
std::string WithoutAttachments(std::string_view raw);

// Whether an address from a mail's headers may become a recipient of ours (core/smtp_client).
using meldestelle::IsRecipientAddress;

// Mailgun webhook signature: hex(HMAC-SHA256(signing_key, timestamp + token)) == signature
// (compared in constant time), and the timestamp (decimal seconds) within ±max_age_s of now_unix.
// An empty key never verifies. Refusing a reused token (replay) is the caller's job.
bool VerifyMailgun(std::string_view signing_key, std::string_view timestamp, std::string_view token,
                   std::string_view signature, int64_t now_unix, int64_t max_age_s = 300);

// One field of a parsed multipart/form-data (or url-encoded) POST; files carry a filename.
struct FormField {
  std::string name, filename, content_type, value;
};

// Mailgun Routes, parsed mode (channels.md §4.2): "message-headers" (JSON [[name, value], …]) or
// else the capitalised header fields, "subject", "from", "body-plain" (else "body-html"),
// "recipient", "attachment-N" files, "content-id-map". A "body-mime" field is handed to ParseMail.
Result<Mail> FromMailgun(const std::vector<FormField>& fields, const Limits& limits = {});
// SendGrid Inbound Parse, parsed mode (§4.3): "headers" (the raw header block), "subject",
// "from", "to", "text" (else "html"), each transcoded per the "charsets" JSON field, "envelope",
// "content-ids", "attachmentN" files. An "email" field (raw mode) is handed to ParseMail.
Result<Mail> FromSendGrid(const std::vector<FormField>& fields, const Limits& limits = {});

}  // namespace meldestelle::email
