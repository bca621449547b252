#include "core/report.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/json_writer.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"

namespace meldestelle {

using namespace std::string_view_literals;

using nlohmann::json;

const char* ToString(LocationSource s) {
  switch (s) {
    case LocationSource::kDevice:
      return "device";
    case LocationSource::kPhoto:
      return "photo";
    case LocationSource::kAddress:
      return "address";
    case LocationSource::kNone:
      break;
  }
  return "none";
}

std::optional<LocationSource> LocationSourceFromString(std::string_view s) {
  if (s == "none")
    return LocationSource::kNone;
  if (s == "device")
    return LocationSource::kDevice;
  if (s == "photo")
    return LocationSource::kPhoto;
  if (s == "address")
    return LocationSource::kAddress;
  return std::nullopt;
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  // Calendar arithmetic rather than gmtime_r and printf: the gateway writes two timestamps per
  // accepted report (the report's and the log line's), and gmtime_r takes the time zone lock
  // that every request thread shares.
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  const int year = static_cast<int>(ymd.year());
  char buf[64];
  if (year < 0 || year > 9999) {  // not four digits: printf's way
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf;
  }
  auto put = [&buf](size_t at, unsigned value, size_t width) {
    for (size_t i = width; i-- > 0; value /= 10)
      buf[at + i] = static_cast<char>('0' + value % 10);
  };
  std::memcpy(buf, "0000-00-00T00:00:00.000Z", 24);
  put(0, static_cast<unsigned>(year), 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, static_cast<unsigned>(hms.hours().count()), 2);
  put(14, static_cast<unsigned>(hms.minutes().count()), 2);
  put(17, static_cast<unsigned>(hms.seconds().count()), 2);
  put(20, static_cast<unsigned>(hms.subseconds().count()), 3);
  return std::string(buf, 24);
}

std::string NowTimestamp() { return FormatTimestamp(std::chrono::system_clock::now()); }

json ReportToJson(const Report& r) {
  // One serializer: the DOM is read back from the direct writer.
  std::string text;
  AppendReportJson(text, r);
  return json::parse(text);
}

namespace {

// A reporter with every member at its default: the queue's form leaves it out.
bool IsDefault(const Reporter& r) {
  return r.address.empty() && r.name.empty() && r.ack_channel.empty() && r.ack_address.empty() &&
         r.language == "de";
}

bool IsDefault(const Location& l) {
  return !l.lat && !l.lon && !l.accuracy_m && l.source == LocationSource::kNone &&
         l.address.empty();
}

// `"key":` after the object's `{` or a `,`.
void Key(std::string& out, bool& first, std::string_view key) {
  out += first ? "{\""sv : ",\""sv;
  first = false;
  out += key;
  out += "\":"sv;
}

}  // namespace

void AppendReporterJson(std::string& out, const Reporter& reporter, ReportJsonForm form) {
  using json_writer::AppendString;
  if (form == ReportJsonForm::kStored) {
    out += "{\"ack\":{\"address\":"sv;
    AppendString(out, reporter.ack_address);
    out += ",\"channel\":"sv;
    AppendString(out, reporter.ack_channel);
    out += "},\"address\":"sv;
    AppendString(out, reporter.address);
    out += ",\"language\":"sv;
    AppendString(out, reporter.language);
    out += ",\"name\":"sv;
    AppendString(out, reporter.name);
    out += "}"sv;
    return;
  }
  // The queue's form: what ReportFromJson reads back as the same reporter.
  bool first = true;
  if (!reporter.ack_address.empty() || !reporter.ack_channel.empty()) {
    Key(out, first, "ack"sv);
    bool first_of_ack = true;
    if (!reporter.ack_address.empty()) {
      Key(out, first_of_ack, "address"sv);
      AppendString(out, reporter.ack_address);
    }
    if (!reporter.ack_channel.empty()) {
      Key(out, first_of_ack, "channel"sv);
      AppendString(out, reporter.ack_channel);
    }
    out += "}"sv;
  }
  if (!reporter.address.empty()) {
    Key(out, first, "address"sv);
    AppendString(out, reporter.address);
  }
  if (reporter.language != "de") {
    Key(out, first, "language"sv);
    AppendString(out, reporter.language);
  }
  if (!reporter.name.empty()) {
    Key(out, first, "name"sv);
    AppendString(out, reporter.name);
  }
  out += first ? "{}"sv : "}"sv;
}

void AppendReportJson(std::string& out, const Report& r, ReportJsonForm form) {
  AppendReportJsonBeforeText(out, r, form);
  out += ",\"text\":"sv;
  json_writer::AppendString(out, r.text);
  out += "}"sv;
}

void AppendReportJsonBeforeText(std::string& out, const Report& r, ReportJsonForm form) {
  using json_writer::AppendInt;
  using json_writer::AppendNumber;
  using json_writer::AppendString;
  // Stored: every member, the keys in the order nlohmann::json (a std::map) writes them, so both
  // forms are identical. Queue: the same order, members at their default value left out (what
  // ReportFromJson reads back as that default).
  const bool all = form == ReportJsonForm::kStored;
  bool first = true;
  if (all || !r.attachments.empty()) {
    Key(out, first, "attachments"sv);
    out += "["sv;
    for (size_t i = 0; i < r.attachments.size(); ++i) {
      const Attachment& a = r.attachments[i];
      out += i == 0 ? "{\"filename\":" : ",{\"filename\":";
      AppendString(out, a.filename);
      out += ",\"media_type\":"sv;
      AppendString(out, a.media_type);
      out += ",\"sha256\":"sv;
      AppendString(out, a.sha256);
      out += ",\"size\":"sv;
      AppendInt(out, a.size);
      out += "}"sv;
    }
    out += "]"sv;
  }
  if (!r.attributes.empty()) {
    Key(out, first, "attributes"sv);
    out += "["sv;
    for (size_t i = 0; i < r.attributes.size(); ++i) {
      const ReportAttribute& a = r.attributes[i];
      out += i == 0 ? "{\"code\":" : ",{\"code\":";
      AppendString(out, a.code);
      out += ",\"name\":"sv;
      AppendString(out, a.name);
      out += ",\"values\":["sv;
      for (size_t k = 0; k < a.values.size(); ++k) {
        if (k > 0)
          out += ","sv;
        AppendString(out, a.values[k]);
      }
      out += "]}"sv;
    }
    out += "]"sv;
  }
  if (all || !r.category.empty()) {
    Key(out, first, "category"sv);
    if (r.category.empty()) {
      out += "null"sv;
    } else {
      AppendString(out, r.category);
    }
  }
  Key(out, first, "channel"sv);
  AppendString(out, r.channel);
  out += ",\"channel_message_id\":"sv;
  AppendString(out, r.channel_message_id);
  out += ",\"id\":"sv;
  AppendString(out, r.id);
  if (all || !IsDefault(r.location)) {
    out += ",\"location\":{"sv;
    if (all || r.location.accuracy_m) {
      out += "\"accuracy_m\":"sv;
      AppendNumber(out, r.location.accuracy_m);
      out += ","sv;
    }
    if (all || !r.location.address.empty()) {
      out += "\"address\":"sv;
      AppendString(out, r.location.address);
      out += ","sv;
    }
    if (all || r.location.lat) {
      out += "\"lat\":"sv;
      AppendNumber(out, r.location.lat);
      out += ","sv;
    }
    if (all || r.location.lon) {
      out += "\"lon\":"sv;
      AppendNumber(out, r.location.lon);
      out += ","sv;
    }
    out += "\"source\":"sv;
    AppendString(out, ToString(r.location.source));
    out += "}"sv;
  }
  if (all || !r.raw_ref.empty()) {
    out += ",\"raw_ref\":"sv;
    AppendString(out, r.raw_ref);
  }
  out += ",\"received_at\":"sv;
  AppendString(out, r.received_at);
  out += ",\"reference\":"sv;
  AppendString(out, r.reference);
  if (all || !IsDefault(r.reporter)) {
    out += ",\"reporter\":"sv;
    AppendReporterJson(out, r.reporter, form);
  }
  if (!r.same_as.empty()) {
    out += ",\"same_as\":"sv;
    AppendString(out, r.same_as);
  }
  out += ",\"schema_version\":"sv;
  AppendInt(out, r.schema_version);
}

namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 8-4-4-4-12 hex digits, the form every writer of a report id uses (and PostgreSQL's uuid takes).
bool IsUuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i]))
      return false;
  }
  return true;
}

// `n` digits at `at`, as a number; -1 if they are not all digits.
int Digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size())
    return -1;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// RFC 3339 as every writer of a report writes it ("2026-11-27T13:18:59.074Z"; an offset ±HH:MM
// instead of Z is read too), with a date that exists and a time PostgreSQL's timestamptz takes:
// years 0001…9999, no leap second, at most 9 digits of a second's fraction.
bool IsTimestamp(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return false;
  }
  const int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  const int h = Digits(s, 11, 2), mi = Digits(s, 14, 2), se = Digits(s, 17, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
      se > 59) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap))
    return false;
  size_t at = 19;
  if (at < s.size() && s[at] == '.') {
    const size_t first = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9')
      ++at;
    if (at == first || at - first > 9)
      return false;
  }
  if (at + 1 == s.size() && s[at] == 'Z')
    return true;
  return at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':' &&
         Digits(s, at + 1, 2) >= 0 && Digits(s, at + 1, 2) <= 15 && Digits(s, at + 4, 2) >= 0 &&
         Digits(s, at + 4, 2) <= 59;
}

// The languages a report may name: the catalogues' codes (what the gateway normalises to,
// texts::Normalise), or a bare ISO 639 code of 2 or 3 letters (a chat's language as its provider
// gives it); empty means German.
bool IsLanguageCode(std::string_view s) {
  if (s.empty() || texts::IsLanguage(s))
    return true;
  if (s.size() < 2 || s.size() > 3)
    return false;
  for (char c : s) {
    if (c < 'a' || c > 'z')
      return false;
  }
  return true;
}

// Small typed accessors that turn a wrong shape into an Error instead of an exception.
class Reader {
 public:
  bool String(const json& obj, const char* key, std::string* out, bool required, Error* err,
              const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) {
        *err = MakeError(errors::kSchemaInvalid, path + key + " is required");
        return false;
      }
      return true;
    }
    if (!it->is_string()) {
      *err = MakeError(errors::kSchemaInvalid, path + key + " must be a string");
      return false;
    }
    *out = it->get<std::string>();
    if (!IsValidUtf8(*out)) {
      *err = MakeError(errors::kSchemaInvalid, path + key + " is not valid UTF-8");
      return false;
    }
    // PostgreSQL stores no U+0000 in text or jsonb (22P05): refused here, not retried there.
    if (out->find('\0') != std::string::npos) {
      *err = MakeError(errors::kSchemaInvalid, path + key + " must not contain U+0000");
      return false;
    }
    return true;
  }

  // A string that names or identifies something (an id, a code, a time, a file name): as
  // String, and no NUL, which PostgreSQL cannot store. Other control characters are let through:
  // what the gateway's channels accept (a tab in an Idempotency-Key, a C1 character in a photo's
  // name, a call centre's call id) must not be dead-lettered behind its 2xx, nor a stored report
  // refused when it is read again; the fields' own formats are checked where they have one.
  bool Name(const json& obj, const char* key, std::string* out, bool required, Error* err,
            const std::string& path) {
    if (!String(obj, key, out, required, err, path))
      return false;
    if (out->find('\0') != std::string::npos) {
      *err = MakeError(errors::kSchemaInvalid, path + key + " must not contain NUL");
      return false;
    }
    return true;
  }

  bool Number(const json& obj, const char* key, std::optional<double>* out, Error* err,
              const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      return true;
    }
    if (!it->is_number()) {
      *err = MakeError(errors::kSchemaInvalid, path + key + " must be a number");
      return false;
    }
    *out = it->get<double>();
    return true;
  }
};

// The parts of a report (ReportFromJson); each returns the first problem, or Ok.

Status ReadReporter(const json& rep, Reporter& out) {
  Reader rd;
  Error err;
  if (!rep.is_object()) {
    return MakeError(errors::kSchemaInvalid, "reporter must be an object");
  }
  if (!rd.String(rep, "address", &out.address, false, &err, "reporter.") ||
      !rd.String(rep, "name", &out.name, false, &err, "reporter.") ||
      !rd.Name(rep, "language", &out.language, false, &err, "reporter.")) {
    return err;
  }
  if (!IsLanguageCode(out.language)) {
    return MakeError(errors::kSchemaInvalid,
                     "reporter.language must be a language code (de, en, tr, ar, uk, ru, de-x-ls, "
                     "or two or three letters a-z)");
  }
  if (auto ack = rep.find("ack"); ack != rep.end() && !ack->is_null()) {
    if (!ack->is_object()) {
      return MakeError(errors::kSchemaInvalid, "reporter.ack must be an object");
    }
    if (!rd.Name(*ack, "channel", &out.ack_channel, false, &err, "reporter.ack.") ||
        !rd.String(*ack, "address", &out.ack_address, false, &err, "reporter.ack.")) {
      return err;
    }
  }
  return Ok{};
}

Status ReadLocation(const json& loc, Location& out) {
  Reader rd;
  Error err;
  if (!loc.is_object()) {
    return MakeError(errors::kSchemaInvalid, "location must be an object");
  }
  std::string source = "none";
  if (!rd.Number(loc, "lat", &out.lat, &err, "location.") ||
      !rd.Number(loc, "lon", &out.lon, &err, "location.") ||
      !rd.Number(loc, "accuracy_m", &out.accuracy_m, &err, "location.") ||
      !rd.Name(loc, "source", &source, false, &err, "location.") ||
      !rd.String(loc, "address", &out.address, false, &err, "location.")) {
    return err;
  }
  auto parsed = LocationSourceFromString(source);
  if (!parsed) {
    return MakeError(errors::kSchemaInvalid,
                     "location.source must be none, device, photo or address");
  }
  out.source = *parsed;
  if (out.lat.has_value() != out.lon.has_value()) {
    return MakeError(errors::kSchemaInvalid, "location.lat and location.lon go together");
  }
  if (out.lat && (*out.lat < -90 || *out.lat > 90 || *out.lon < -180 || *out.lon > 180)) {
    return MakeError(errors::kSchemaInvalid, "location coordinates out of range");
  }
  return Ok{};
}

Status ReadAttachments(const json& atts, std::vector<Attachment>& out) {
  Reader rd;
  Error err;
  if (!atts.is_array()) {
    return MakeError(errors::kSchemaInvalid, "attachments must be an array");
  }
  for (const auto& a : atts) {
    if (!a.is_object()) {
      return MakeError(errors::kSchemaInvalid, "attachments[] must be objects");
    }
    Attachment att;
    std::string path = "attachments[].";
    if (!rd.Name(a, "sha256", &att.sha256, true, &err, path) ||
        !rd.Name(a, "media_type", &att.media_type, true, &err, path) ||
        !rd.Name(a, "filename", &att.filename, false, &err, path)) {
      return err;
    }
    // The channels keep a file's own name only (SanitizeFilename, core/media.hpp): a name with
    // a path in it was not written by them.
    if (att.filename.find_first_of("/\\") != std::string::npos || att.filename == "." ||
        att.filename == "..") {
      return MakeError(errors::kSchemaInvalid,
                       "attachments[].filename must be a file name without a path");
    }
    auto size = a.find("size");
    if (size == a.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
      return MakeError(errors::kSchemaInvalid, "attachments[].size must be a non-negative integer");
    }
    att.size = size->get<int64_t>();
    if (att.sha256.size() != 64 ||
        att.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return MakeError(errors::kSchemaInvalid,
                       "attachments[].sha256 must be 64 lowercase hex digits");
    }
    out.push_back(std::move(att));
  }
  return Ok{};
}

Status ReadAttributes(const json& list, std::vector<ReportAttribute>& out) {
  Reader rd;
  Error err;
  if (!list.is_array())
    return MakeError(errors::kSchemaInvalid, "attributes must be an array");
  for (const auto& a : list) {
    if (!a.is_object())
      return MakeError(errors::kSchemaInvalid, "attributes[] must be objects");
    ReportAttribute att;
    if (!rd.String(a, "code", &att.code, true, &err, "attributes[].") ||
        !rd.String(a, "name", &att.name, false, &err, "attributes[].")) {
      return err;
    }
    auto values = a.find("values");
    if (values == a.end() || !values->is_array())
      return MakeError(errors::kSchemaInvalid, "attributes[].values must be an array");
    for (const auto& v : *values) {
      if (!v.is_string() || !IsValidUtf8(v.get_ref<const std::string&>()) ||
          v.get_ref<const std::string&>().find('\0') != std::string::npos) {
        return MakeError(errors::kSchemaInvalid,
                         "attributes[].values[] must be UTF-8 strings without U+0000");
      }
      att.values.push_back(v.get<std::string>());
    }
    out.push_back(std::move(att));
  }
  return Ok{};
}

// A member that is absent or null is not read.
const json* Present(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null() ? &*it : nullptr;
}

}  // namespace

Result<Report> ReportFromJson(const json& j) {
  if (!j.is_object()) {
    return MakeError(errors::kSchemaInvalid, "report must be a JSON object");
  }
  Report r;
  Error err;
  Reader rd;
  auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer()) {
    return MakeError(errors::kSchemaInvalid, "schema_version must be an integer");
  }
  // Read whole (64 bits, signed or not) before it is compared: get<int>() would cut 4294967297
  // down to 1 and take a version we do not know for ours.
  const bool known = version->is_number_unsigned()
                         ? version->get<uint64_t>() == static_cast<uint64_t>(kReportSchemaVersion)
                         : version->get<int64_t>() == kReportSchemaVersion;
  if (!known) {
    return MakeError(errors::kSchemaVersionUnsupported,
                     "schema_version " + version->dump() + " is not supported");
  }
  r.schema_version = kReportSchemaVersion;
  if (!rd.Name(j, "id", &r.id, true, &err, "") ||
      !rd.Name(j, "reference", &r.reference, true, &err, "") ||
      !rd.Name(j, "channel", &r.channel, true, &err, "") ||
      !rd.Name(j, "channel_message_id", &r.channel_message_id, true, &err, "") ||
      !rd.Name(j, "received_at", &r.received_at, true, &err, "") ||
      !rd.String(j, "text", &r.text, false, &err, "") ||
      !rd.Name(j, "category", &r.category, false, &err, "") ||
      !rd.Name(j, "raw_ref", &r.raw_ref, false, &err, "") ||
      !rd.Name(j, "same_as", &r.same_as, false, &err, "")) {
    return err;
  }
  if (r.channel.empty() || r.channel_message_id.empty()) {
    return MakeError(errors::kSchemaInvalid, "channel and channel_message_id must not be empty");
  }
  // What the ticket table would refuse (22P02, 22007/22008) is refused here, before a
  // transaction: a message that does not validate is dead-lettered at once.
  if (!IsUuid(r.id)) {
    return MakeError(errors::kSchemaInvalid, "id must be a UUID (8-4-4-4-12 hex digits)");
  }
  if (!IsTimestamp(r.received_at)) {
    return MakeError(errors::kSchemaInvalid,
                     "received_at must be an RFC 3339 time, e.g. 2026-11-27T13:18:59.074Z");
  }
  if (const json* rep = Present(j, "reporter"); rep != nullptr) {
    if (auto st = ReadReporter(*rep, r.reporter); !st)
      return st.error();
  }
  if (const json* loc = Present(j, "location"); loc != nullptr) {
    if (auto st = ReadLocation(*loc, r.location); !st)
      return st.error();
  }
  if (const json* atts = Present(j, "attachments"); atts != nullptr) {
    if (auto st = ReadAttachments(*atts, r.attachments); !st)
      return st.error();
  }
  if (const json* atts = Present(j, "attributes"); atts != nullptr) {
    if (auto st = ReadAttributes(*atts, r.attributes); !st)
      return st.error();
  }
  return r;
}

}  // namespace meldestelle
