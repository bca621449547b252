#include "channels/webform/intake.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "channels/phone/settings.hpp"
#include "core/crypto.hpp"
#include "core/envelope.hpp"
#include "core/errors.hpp"
#include "core/json_parse.hpp"
#include "core/media.hpp"
#include "core/photo.hpp"
#include "core/smtp_client.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"

namespace meldestelle::webform {

namespace {

constexpr size_t kMaxAddressChars = 300;

struct Alias {
  std::string_view name;
  std::string_view canonical;
};
constexpr Alias kAliases[] = {
    {"description", "description"},
    {"beschreibung", "description"},
    {"category", "category"},
    {"kategorie", "category"},
    {"lat", "lat"},
    {"lon", "lon"},
    {"lng", "lon"},
    {"address", "address"},
    {"adresse", "address"},
    {"email", "email"},
    {"phone", "phone"},
    {"telefon", "phone"},
    {"language", "language"},
    {"sprache", "language"},
    {"website", "website"},
    {"form_token", "form_token"},
    {"photos", "photos"},
    {"photos[]", "photos"},
    {"fotos", "photos"},
    {"fotos[]", "photos"},
};

Error BadRequest(ErrorCode code, std::string message) {
  return MakeError(code, std::move(message));
}

std::string PercentDecodeForm(std::string_view s, bool* ok) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        *ok = false;
        return out;
      }
      out.push_back(
          static_cast<char>(std::strtol(std::string(s.substr(i + 1, 2)).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status AddField(Submission& s, std::string_view raw_name, std::string value) {
  std::string name = CanonicalField(raw_name);
  if (name.empty()) {
    return BadRequest(errors::kUnknownField, "Unbekanntes Feld \"" + std::string(raw_name) + "\".");
  }
  if (name == "photos") {
    return BadRequest(errors::kPhotoNotAFile, "Fotos müssen als Datei hochgeladen werden.");
  }
  if (!s.fields.emplace(name, std::move(value)).second) {
    // By the name the client sent (the form's "beschreibung"), not ours.
    return BadRequest(errors::kDuplicateField,
                      "Das Feld \"" + std::string(raw_name) + "\" kommt mehrfach vor.");
  }
  return Ok{};
}

std::optional<double> ParseCoordinate(std::string_view text) {
  std::string_view t = TrimAscii(text);
  if (t.empty() || t.size() > 32)
    return std::nullopt;
  // A decimal number, as strtod reads one (a sign, a German decimal comma) but without a
  // locale: std::from_chars, into a copy on the stack.
  char buf[32];
  size_t n = 0;
  for (char c : t)
    buf[n++] = c == ',' ? '.' : c;
  const char* begin = buf;
  if (n > 1 && buf[0] == '+' && buf[1] != '-')
    ++begin;  // from_chars takes a minus sign only
  double v = 0;
  auto [end, ec] = std::from_chars(begin, buf + n, v);
  if (ec != std::errc{} || end != buf + n || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// The field's value without blanks around it, "" if not given (a view into `s`).
std::string_view Field(const Submission& s, std::string_view name) {
  auto it = s.fields.find(name);
  return it == s.fields.end() ? std::string_view() : TrimAscii(it->second);
}

}  // namespace

bool LooksLikeEmail(const std::string& e) { return IsRecipientAddress(e); }

bool LooksLikePhone(const std::string& p) {
  // Dots separate groups in France and elsewhere (01.23.45.67.89).
  static const std::regex kPhone(R"(^\+?[0-9 ()/.\-]{6,24}$)");
  if (!std::regex_match(p, kPhone))
    return false;
  int digits = 0;
  for (char c : p)
    digits += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
  return digits >= 6 && digits <= 17;
}

namespace {

// The canonical name of a field (its text lives in kAliases), or "".
std::string_view CanonicalName(std::string_view name) {
  for (const auto& a : kAliases) {
    if (a.name == name)
      return a.canonical;
  }
  return {};
}

}  // namespace

std::string CanonicalField(std::string_view name) { return std::string(CanonicalName(name)); }

Result<Submission> FromParts(const std::vector<UploadedFile>& parts) {
  Submission s;
  for (const auto& p : parts) {
    std::string name = CanonicalField(p.field);
    if (name == "photos") {
      if (p.filename.empty() && p.content.empty())
        continue;  // browser: no file chosen
      s.files.push_back(p);
      continue;
    }
    if (!p.filename.empty()) {
      return BadRequest(errors::kUnknownFileField,
                        "Dateien sind nur im Feld für Fotos erlaubt (Feld \"" + p.field + "\").");
    }
    if (auto st = AddField(s, p.field, p.content); !st)
      return st.error();
  }
  return s;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pos = 0;
  while (pos <= body.size() && !body.empty()) {
    size_t amp = body.find('&', pos);
    std::string_view pair = body.substr(pos, amp == std::string_view::npos ? body.npos : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      bool ok = true;
      std::string name = PercentDecodeForm(pair.substr(0, eq), &ok);
      std::string value =
          eq == std::string_view::npos ? "" : PercentDecodeForm(pair.substr(eq + 1), &ok);
      if (!ok) {
        return BadRequest(errors::kFormInvalid, "Die Formulardaten sind fehlerhaft kodiert.");
      }
      pairs.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos)
      break;
    pos = amp + 1;
  }
  return pairs;
}

Result<Submission> FromUrlEncoded(std::string_view body) {
  auto pairs = ParseUrlEncoded(body);
  if (!pairs)
    return pairs.error();
  Submission s;
  for (auto& [name, value] : *pairs) {
    if (auto st = AddField(s, name, std::move(value)); !st)
      return st.error();
  }
  return s;
}

Result<Submission> FromJson(std::string_view body) {
  // simdjson rather than a nlohmann DOM: parsing the app's report (about 1 KB) with nlohmann
  // was 8 % of the gateway's CPU per request, more than all of our own request handling
  // (docs/benchmarks.md).
  simdjson::dom::element doc;
  if (ParseJson(body, &doc) != simdjson::SUCCESS) {
    // simdjson checks the UTF-8 of every byte; which is wrong, the bytes or the JSON, is only
    // worked out for a refusal.
    if (!IsValidUtf8(body))
      return BadRequest(errors::kInvalidUtf8, "Der Text ist kein gültiges UTF-8.");
    return BadRequest(errors::kJsonInvalid, "Der Inhalt ist kein gültiges JSON.");
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return BadRequest(errors::kJsonInvalid, "Erwartet wird ein JSON-Objekt.");
  }
  Submission s;
  // In the document's order. A name given twice (also as its alias, or once as null) is refused
  // as a form's field given twice is: parsers disagree on which of the two counts. The names
  // seen are canonical ones, each at most once: they fit in kAliases' count.
  std::string_view seen[std::size(kAliases)];
  size_t seen_count = 0;
  for (auto [key, value] : object) {
    std::string_view name = CanonicalName(key);
    if (name.empty() || name == "photos" || name == "website" || name == "form_token") {
      return BadRequest(errors::kUnknownField, "Unbekanntes Feld \"" + std::string(key) + "\".");
    }
    if (std::find(seen, seen + seen_count, name) != seen + seen_count) {
      return BadRequest(errors::kDuplicateField,
                        "Das Feld \"" + std::string(key) + "\" kommt mehrfach vor.");
    }
    seen[seen_count++] = name;
    if (value.is_null())
      continue;
    std::string field;
    if (name == "lat" || name == "lon") {
      double number = 0;
      if (!value.is_number() || value.get_double().get(number) != simdjson::SUCCESS) {
        return BadRequest(errors::kCoordinatesInvalid,
                          "\"" + std::string(key) + "\" muss eine Zahl sein.");
      }
      // printf's "%.8f" (as the form's text would carry it), without printf's cost; room for
      // the longest double written that way.
      char buf[400];
      auto written = std::to_chars(buf, buf + sizeof buf, number, std::chars_format::fixed, 8);
      field.assign(buf, written.ptr);
    } else if (std::string_view str; value.get_string().get(str) == simdjson::SUCCESS) {
      field = str;
    } else {
      return BadRequest(errors::kFieldTypeInvalid,
                        "\"" + std::string(key) + "\" muss eine Zeichenkette sein.");
    }
    if (name == "description")
      s.description_in_raw = JsonPointerStep(key);
    // Canonical, known and seen once (above): AddField's checks would all pass.
    s.fields.emplace(std::string(name), std::move(field));
  }
  // simdjson checked every byte, and refuses an escaped surrogate that is not one of a pair
  // (tests/channels/intake_test.cpp): every string read is valid UTF-8.
  s.utf8_checked = true;
  return s;
}

namespace {

void Fail(Validation& v, const char* field, ErrorCode code, std::string message) {
  v.errors.push_back(FieldError{field, code, std::move(message)});
}

// Every field is UTF-8 without control characters (PostgreSQL refuses U+0000); false: `v` has
// the error.
bool TextIsClean(const Submission& s, Validation& v, const texts::Lang& t) {
  for (const auto& [name, value] : s.fields) {
    const char* field = name == "description" ? "description" : "";
    TextFault fault = !s.utf8_checked              ? CheckText(value)
                      : HasControlCharacter(value) ? TextFault::kControlCharacter
                                                   : TextFault::kNone;
    if (fault == TextFault::kInvalidUtf8) {
      Fail(v, field, errors::kInvalidUtf8, t("formular.fehler.utf8"));
      return false;
    }
    if (fault == TextFault::kControlCharacter) {
      Fail(v, field, errors::kControlCharacters, t("formular.fehler.steuerzeichen"));
      return false;
    }
  }
  return true;
}

// lat/lon (from the device) and the address.
void ReadPlace(const Submission& s, Report& r, Validation& v, const texts::Lang& t) {
  std::string_view lat = Field(s, "lat");
  std::string_view lon = Field(s, "lon");
  if (!lat.empty() || !lon.empty()) {
    auto la = ParseCoordinate(lat);
    auto lo = ParseCoordinate(lon);
    if (!la || !lo) {
      Fail(v, "lat", errors::kCoordinatesInvalid, t("formular.fehler.standort_zahl"));
    } else if (*la < -90 || *la > 90 || *lo < -180 || *lo > 180) {
      Fail(v, "lat", errors::kCoordinatesOutOfRange, t("formular.fehler.standort_bereich"));
    } else {
      r.location.lat = *la;
      r.location.lon = *lo;
      r.location.source = LocationSource::kDevice;
    }
  }
  r.location.address = Field(s, "address");
  if (Utf8Length(r.location.address) > kMaxAddressChars) {
    Fail(v, "address", errors::kAddressTooLong, t("formular.fehler.adresse_lang"));
  } else if (!r.location.lat && !r.location.address.empty()) {
    r.location.source = LocationSource::kAddress;
  }
}

// E-mail or phone (the acknowledgement goes to the first given, if its channel can send here),
// and the language.
void ReadContact(const Submission& s, const Limits& limits, const Config& config, Report& r,
                 Validation& v, const texts::Lang& t) {
  std::string email(Field(s, "email"));
  std::string phone(Field(s, "phone"));
  if (!email.empty() && !LooksLikeEmail(email)) {
    Fail(v, "email", errors::kEmailInvalid, t("formular.fehler.email"));
  }
  if (!phone.empty() && !LooksLikePhone(phone)) {
    Fail(v, "phone", errors::kPhoneInvalid, t("formular.fehler.telefon"));
  }
  // One of core/texts.hpp's languages ("en-GB", "de_DE" are understood).
  std::string_view language = Field(s, "language");
  r.reporter.language = language.empty() ? "de" : texts::Normalise(language);
  if (r.reporter.language.empty()) {
    std::string known;
    for (const auto& l : texts::Languages())
      known += (known.empty() ? "" : ", ") + l;
    Fail(v, "language", errors::kLanguageUnsupported,
         t("formular.fehler.sprache", {{"languages", known}}));
  }
  auto can_send = [&](std::string_view channel) {
    return limits.ack_senders == nullptr || limits.ack_senders->count(channel) > 0;
  };
  // The acknowledgement goes to the e-mail address if one is given (the form says the phone is
  // only for questions then), else to the phone; to none where that channel cannot send here.
  r.reporter.address = !email.empty() ? email : phone;
  const std::string_view channel = !email.empty() ? "email" : "sms";
  std::string ack_address = r.reporter.address;
  if (channel == "sms" && !ack_address.empty()) {
    // The number an SMS goes to: E.164 (Twilio takes no other), and a mobile one (a landline
    // takes no SMS). One without its area code, or a landline, gets none, and the thanks page
    // promises none. The report keeps the number as typed (reporter.address).
    const auto& ph = config.Get<phone::Settings>();
    std::string to = ph.InternationalNumber(ack_address);
    ack_address = !to.empty() && ph.TakesSms(to) ? to : "";
  }
  if (!ack_address.empty() && can_send(channel)) {
    r.reporter.ack_channel = channel;
    r.reporter.ack_address = std::move(ack_address);
  } else {
    r.reporter.ack_channel = "none";
  }
}

// "\"IMG_0042.tif\"" or "Datei" for the messages about one file.
std::string ShownName(const std::string& sanitized, const texts::Lang& t) {
  return sanitized.empty() ? t("formular.fehler.datei") : "\"" + sanitized + "\"";
}

// "TIFF" for "image/tiff": the format's name as people know it.
std::string FormatName(std::string_view media_type) {
  std::string name(media_type.substr(media_type.find('/') + 1));
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return name;
}

std::string UncleanableMessage(const std::string& shown, std::string_view media_type,
                               const texts::Lang& t) {
  if (media_type.empty())
    return t("formular.fehler.foto_format_unbekannt", {{"file", shown}});
  return t("formular.fehler.foto_format", {{"file", shown}, {"format", FormatName(media_type)}});
}

// The photos: how many, how large, that each is an image (by its bytes, not its name), and of
// a type whose metadata we can remove.
void ReadPhotos(const Submission& s, const Limits& limits, Intake& in, Validation& v,
                const texts::Lang& t) {
  if (s.files.size() > static_cast<size_t>(limits.max_photos)) {
    Fail(v, "photos", errors::kTooManyPhotos,
         t("formular.fehler.zu_viele_fotos", {{"max", std::to_string(limits.max_photos)}}));
  }
  for (const auto& f : s.files) {
    std::string name = SanitizeFilename(f.filename);
    std::string shown = ShownName(name, t);
    if (static_cast<int64_t>(f.content.size()) > limits.max_photo_bytes) {
      Fail(v, "photos", errors::kPhotoTooLarge,
           t("formular.fehler.foto_zu_gross",
             {{"file", shown}, {"mb", std::to_string(limits.max_photo_bytes / (1024 * 1024))}}));
      continue;
    }
    std::string type = SniffMediaType(f.content);
    if (!IsImageMediaType(type)) {
      Fail(v, "photos", errors::kNotAnImage, t("formular.fehler.kein_foto", {{"file", shown}}));
      continue;
    }
    if (!CanCleanPhotoType(type)) {
      Fail(v, "photos", errors::kUnsupportedPhotoType, UncleanableMessage(shown, type, t));
      continue;
    }
    in.photos.push_back(Photo{f.content, type, name, Sha256Hex(f.content)});
  }
}

}  // namespace

FieldError PhotoRefused(const Error& e, const std::string& filename, const texts::Lang& t) {
  const std::string shown = ShownName(filename, t);
  if (e.code == errors::kPhotoTooLarge)
    return {"photos", e.code, t("formular.fehler.foto_pixel", {{"file", shown}})};
  if (e.code == errors::kUnsupportedPhotoType)
    return {"photos", e.code, UncleanableMessage(shown, "", t)};
  if (e.code == errors::kInvalidPhoto)
    return {"photos", e.code, t("formular.fehler.foto_kaputt", {{"file", shown}})};
  return {"photos", e.code, t("formular.fehler.foto_spaeter", {{"file", shown}})};
}

texts::Lang LanguageOf(const Submission& s, const Config& config) {
  auto it = s.fields.find("language");
  return texts::For(config, it == s.fields.end() ? std::string_view() : it->second);
}

Validation Validate(const Submission& s, const Limits& limits, const Config& config) {
  Validation v;
  const texts::Lang t = LanguageOf(s, config);
  if (!TextIsClean(s, v, t))
    return v;
  // Built where it is returned (a report is some twenty strings: no moving it there after).
  Intake& in = v.intake.emplace();
  Report& r = in.report;
  r.text = Field(s, "description");
  // A place is named only with the field (FromJson, ReadBody), and a text only from it.
  if (!s.description_in_raw.empty() && !r.text.empty() &&
      s.fields.find("description")->second == r.text)
    in.text_in_raw = s.description_in_raw;
  if (r.text.empty() && limits.require_description) {
    Fail(v, "description", errors::kDescriptionMissing, t("formular.fehler.beschreibung_fehlt"));
  } else if (Utf8Length(r.text) > static_cast<size_t>(limits.max_description_chars)) {
    Fail(v, "description", errors::kDescriptionTooLong,
         t("formular.fehler.beschreibung_lang",
           {{"max", std::to_string(limits.max_description_chars)}}));
  }
  r.category = Field(s, "category");
  if (!r.category.empty() && config.FindCategory(r.category) == nullptr) {
    Fail(v, "category", errors::kCategoryUnknown, t("formular.fehler.kategorie"));
  }
  ReadPlace(s, r, v, t);
  ReadContact(s, limits, config, r, v, t);
  ReadPhotos(s, limits, in, v, t);
  if (!v.errors.empty())
    v.intake.reset();  // errors or an intake, never both
  return v;
}

}  // namespace meldestelle::webform
