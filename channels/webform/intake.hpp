#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/report.hpp"
#include "core/result.hpp"
#include "core/texts.hpp"

// The web form and app channel: turns a submission (HTML form, multipart or JSON) into a
// normalized report. Pure: bytes in, a report draft or field errors out.
namespace meldestelle::webform {

struct UploadedFile {
  std::string field;
  std::string filename;
  std::string declared_type;  // what the client claimed; never trusted
  std::string content;
};

// A submission with its channel format already decoded. Field names may be the German form names
// (beschreibung, kategorie, adresse, telefon, sprache, fotos[]) or the API names (description,
// category, address, phone, language, photos).
struct Submission {
  // Canonical English names after Canonicalize; looked up by string_view.
  std::map<std::string, std::string, std::less<>> fields;
  std::vector<UploadedFile> files;
  // Where the raw payload kept for audit holds the description's value as it is in `fields`,
  // as a JSON pointer ("/beschreibung" in an app's JSON; "/2/value" in the multipart summary):
  // the message then carries the text once (core/envelope.hpp). "" = nowhere (a url-encoded
  // form).
  std::string description_in_raw;
  // Every field is known to be valid UTF-8 (FromJson: simdjson checked the whole body as it read
  // it); Validate then looks only for control characters.
  bool utf8_checked = false;
};

struct FieldError {
  std::string field;    // canonical field name, or "" for the whole request
  ErrorCode code;       // machine-readable, e.g. errors::kDescriptionMissing
  std::string message;  // German, for citizens
};

struct Limits {
  int max_photos = 5;
  int64_t max_photo_bytes = 10 * 1024 * 1024;
  int max_description_chars = 4000;
  bool require_description = true;  // Open311: the description is optional
  // The outbox channels with an acknowledgement sender here (channels::Intake::
  // AcknowledgementSenders): the acknowledgement goes to the first contact given (e-mail, then
  // phone) whose channel has one, and to none if neither has. Null: every channel has one.
  const std::set<std::string, std::less<>>* ack_senders = nullptr;
};

struct Photo {
  std::string content;
  std::string media_type;  // sniffed
  std::string filename;    // sanitised
  std::string sha256;      // of content, computed once here
};

// What the gateway needs to finish a report: everything but id, reference, time and raw_ref.
struct Intake {
  Report report;  // text, category, location, reporter filled
  std::vector<Photo> photos;
  // Submission::description_in_raw when report.text is that value unchanged (nothing trimmed),
  // else "": the text's place in the raw payload for EncodeEnvelope.
  std::string text_in_raw;
};

struct Validation {
  std::optional<Intake> intake;
  std::vector<FieldError> errors;  // non-empty iff !intake
};

// An address the acknowledgement can be sent to (IsRecipientAddress, core/smtp_client: the same
// rule as for a mail's sender); what the form, the app API, Open311 and "Ich auch" accept.
bool LooksLikeEmail(const std::string& e);
// A phone number as people type it: an optional +, 6 to 17 digits, blanks and / ( ) - . between
// (not that an SMS can reach it: core/phone.hpp).
bool LooksLikePhone(const std::string& p);

// Maps a field name to its canonical name, or "" if unknown.
std::string CanonicalField(std::string_view name);

// Builds a submission from multipart parts: text parts become fields, parts with a filename
// (or in the photo field) become files. Unknown parts and repeated text fields are errors.
Result<Submission> FromParts(const std::vector<UploadedFile>& parts);
// application/x-www-form-urlencoded.
Result<Submission> FromUrlEncoded(std::string_view body);
// The decoded (name, value) pairs of an application/x-www-form-urlencoded body, in order,
// repeated names kept ('+' is a space). Error "form_invalid" on a broken %-escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(std::string_view body);
// The JSON API body: {"description", "category", "lat", "lon", "address", "email", "phone",
// "language"}; lat/lon are numbers.
Result<Submission> FromJson(std::string_view body);

// Validates a submission against the limits and the configured categories. A photo of a type
// whose metadata cannot be removed (TIFF, BMP; core/photo.hpp: CanCleanPhotoType) is refused
// with errors::kUnsupportedPhotoType.
Validation Validate(const Submission& s, const Limits& limits, const Config& config);

// The citizen's message (German) for a photo that StripPhoto refused with `e`, naming the file
// (`filename` sanitised): field "photos", e's code.
FieldError PhotoRefused(const Error& e, const std::string& filename, const texts::Lang& t);
// The language a submission asks for (its "language"/"sprache" field; German if none or unknown):
// the language of its messages.
texts::Lang LanguageOf(const Submission& s, const Config& config);

// The form's honeypot field name; a non-empty value marks a bot.
inline constexpr std::string_view kHoneypotField = "website";

}  // namespace meldestelle::webform
