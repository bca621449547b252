#include "channels/phone/twilio.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>

#include "channels/chat/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

// Form decoding, signatures and callback mapping. The TwiML and the spelling are in twiml.cpp.
namespace meldestelle::twilio {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes one name or value; false on a bad escape.
bool DecodeComponent(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return false;
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

Error FormError(std::string_view why, size_t segment) {
  return MakeError(errors::kFormInvalid,
                   "form field " + std::to_string(segment + 1) + ": " + std::string(why));
}

bool Contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

bool IsSid(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

bool IsStatusToken(std::string_view s) {
  return !s.empty() && s.size() <= 32 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IsHttpUrl(std::string_view s) {
  std::string_view rest;
  if (StartsWith(s, "https://")) {
    rest = s.substr(8);
  } else if (StartsWith(s, "http://")) {
    rest = s.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/' || rest.size() > 2048) {
    return false;
  }
  // No whitespace or control characters: the URL is fetched and logged as is.
  return std::none_of(rest.begin(), rest.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; });
}

// Reads callback fields; the first error sticks, like chat::FieldReader.
class ParamReader {
 public:
  explicit ParamReader(const Params& params) : params_(params) {}

  std::string Optional(std::string_view name) {
    auto v = Find(params_, name);
    return v ? std::string(*v) : std::string();
  }
  std::string Required(std::string_view name) {
    std::string v = Optional(name);
    if (v.empty()) {
      Fail(errors::kFieldMissing, name, "missing");
    }
    return v;
  }
  std::string Sid(std::string_view name, bool required) {
    std::string v = required ? Required(name) : Optional(name);
    if (!v.empty() && !IsSid(v)) {
      Fail(errors::kFieldValueInvalid, name, "not a SID");
    }
    return v;
  }
  std::string Status(std::string_view name) {
    std::string v = Required(name);
    if (!v.empty() && !IsStatusToken(v)) {
      Fail(errors::kFieldValueInvalid, name, "not a status");
    }
    return v;
  }
  std::string Url(std::string_view name, bool required) {
    std::string v = required ? Required(name) : Optional(name);
    if (!v.empty() && !IsHttpUrl(v)) {
      Fail(errors::kFieldValueInvalid, name, "not an http(s) URL");
    }
    return v;
  }
  // Whole seconds; Twilio has been seen to send -1 for "unknown", which becomes 0.
  int Seconds(std::string_view name, bool required) {
    std::string v = required ? Required(name) : Optional(name);
    if (v.empty()) {
      return 0;
    }
    auto n = chat::ParseInt64(v);
    if (!n || *n > std::numeric_limits<int>::max() || *n < std::numeric_limits<int>::min()) {
      Fail(errors::kFieldValueInvalid, name, "not an integer");
      return 0;
    }
    return *n < 0 ? 0 : static_cast<int>(*n);
  }
  void Fail(ErrorCode code, std::string_view name, std::string_view reason) {
    if (!error_) {
      error_ = MakeError(code, std::string(name) + ": " + std::string(reason));
    }
  }
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  const Params& params_;
  std::optional<Error> error_;
};

Result<phone::Event> Finish(const ParamReader& r, phone::Event e) {
  if (r.failed()) {
    return r.error();
  }
  return e;
}

}  // namespace

Result<Params> ParseForm(std::string_view body) {
  Params params;
  size_t segment = 0;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return FormError("no '='", segment);
    }
    if (eq == 0) {
      return FormError("empty name", segment);
    }
    std::string name;
    std::string value;
    if (!DecodeComponent(pair.substr(0, eq), &name) ||
        !DecodeComponent(pair.substr(eq + 1), &value)) {
      return FormError("bad %-escape", segment);
    }
    if (!IsValidUtf8(name) || !IsValidUtf8(value) || Contains(name, '\0') ||
        Contains(value, '\0')) {
      return FormError("not UTF-8 text", segment);
    }
    params.emplace_back(std::move(name), std::move(value));
    ++segment;
  }
  return params;
}

std::optional<std::string_view> Find(const Params& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string ComputeSignature(std::string_view auth_token, std::string_view url,
                             const Params& body_params) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(body_params.size());
  for (const auto& p : body_params) {
    sorted.push_back(&p);
  }
  // std::string compares bytes as unsigned char, which is Twilio's byte order.
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string data(url);
  for (const auto* p : sorted) {
    data += p->first;
    data += p->second;
  }
  return HmacSha1Base64(auth_token, data);
}

SignatureCheck VerifySignature(std::string_view auth_token, std::string_view url,
                               const Params& body_params, std::string_view header_value) {
  std::string_view given = TrimAscii(header_value);
  if (given.empty()) {
    return SignatureCheck::kMissing;
  }
  if (auth_token.empty()) {
    return SignatureCheck::kMismatch;
  }
  return ConstantTimeEquals(ComputeSignature(auth_token, url, body_params), given)
             ? SignatureCheck::kOk
             : SignatureCheck::kMismatch;
}

std::string CallerNumber(std::string_view from) {
  std::string_view n = TrimAscii(from);
  // Twilio's placeholders for ANONYMOUS, RESTRICTED, BLOCKED and UNAVAILABLE callers.
  static constexpr std::array<std::string_view, 4> kPlaceholders = {"+266696687", "+7378742833",
                                                                    "+2562533", "+86282452253"};
  if (std::find(kPlaceholders.begin(), kPlaceholders.end(), n) != kPlaceholders.end()) {
    return {};
  }
  // The words ("anonymous", "Restricted", "Unknown", …) fail this test too.
  if (n.size() < 3 || n.size() > 16 || n[0] != '+' || n[1] == '0' ||
      !std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {};
  }
  return std::string(n);
}

Result<phone::Event> ParseIncomingCall(const Params& params) {
  ParamReader r(params);
  phone::Event e;
  e.kind = phone::EventKind::kCallStarted;
  e.call_id = r.Sid("CallSid", true);
  e.dedupe_key = "call:" + e.call_id;
  if (!Find(params, "From")) {
    r.Fail(errors::kFieldMissing, "From", "missing");
  }
  e.from = CallerNumber(r.Optional("From"));
  e.to = r.Optional("To");
  return Finish(r, std::move(e));
}

Result<phone::Event> ParseRecorded(const Params& params, std::string_view language) {
  ParamReader r(params);
  phone::Event e;
  e.kind = phone::EventKind::kRecorded;
  e.call_id = r.Sid("CallSid", true);
  e.dedupe_key = "recorded:" + e.call_id;
  e.from = CallerNumber(r.Optional("From"));
  e.to = r.Optional("To");
  e.language = language == "en" ? "en" : "de";
  e.recording_url = r.Url("RecordingUrl", true);
  e.recording_duration_s = r.Seconds("RecordingDuration", true);
  e.recording_sid = r.Sid("RecordingSid", false);
  return Finish(r, std::move(e));
}

Result<phone::Event> ParseRecordingStatus(const Params& params) {
  ParamReader r(params);
  phone::Event e;
  e.kind = phone::EventKind::kRecordingStatus;
  e.call_id = r.Sid("CallSid", true);
  e.recording_sid = r.Sid("RecordingSid", true);
  e.recording_status = r.Status("RecordingStatus");
  e.dedupe_key = "recording:" + e.recording_sid + ":" + e.recording_status;
  e.recording_url = r.Url("RecordingUrl", false);
  e.recording_duration_s = r.Seconds("RecordingDuration", false);
  return Finish(r, std::move(e));
}

Result<phone::Event> ParseTranscription(const Params& params) {
  ParamReader r(params);
  phone::Event e;
  e.kind = phone::EventKind::kTranscription;
  e.call_id = r.Sid("CallSid", true);
  e.transcription_sid = r.Sid("TranscriptionSid", true);
  e.dedupe_key = "transcription:" + e.transcription_sid;
  e.transcription_status = r.Status("TranscriptionStatus");
  if (e.transcription_status == "completed") {
    e.transcription_text = std::string(TrimAscii(r.Optional("TranscriptionText")));
  }
  e.recording_sid = r.Sid("RecordingSid", false);
  e.recording_url = r.Url("RecordingUrl", false);
  e.from = CallerNumber(r.Optional("From"));
  e.to = r.Optional("To");
  return Finish(r, std::move(e));
}

// ---------------------------------------------------------------------------------------------
// SMS

namespace {

void AppendFormEncoded(std::string& out, std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '*') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xF]);
    }
  }
}

constexpr size_t kMaxSmsCodePoints = 1600;

}  // namespace

std::string BuildSmsForm(std::string_view from, std::string_view to, std::string_view body) {
  if (IsValidUtf8(body)) {
    body = chat::TruncateUtf8(body, kMaxSmsCodePoints);
  }
  std::string out = "From=";
  AppendFormEncoded(out, from);
  out += "&To=";
  AppendFormEncoded(out, to);
  out += "&Body=";
  AppendFormEncoded(out, body);
  return out;
}

Result<SmsResult> ParseSmsResponse(int http_status, std::string_view body) {
  auto parsed = chat::ParseObject(body, chat::kResponseBody);
  chat::FieldReader r;
  SmsResult s;
  if (http_status >= 200 && http_status < 300) {
    if (!parsed) {
      return MakeError(errors::kResponseInvalid, parsed.error().message);
    }
    s.sid = r.RequiredString(*parsed, "sid", "");
    if (r.failed()) {
      return MakeError(errors::kResponseInvalid, r.error().message);
    }
    return s;
  }
  // {"code": 21211, "message": "The 'To' number … is not a valid phone number.",
  //  "more_info": "…", "status": 400}
  if (parsed) {
    int64_t code = r.Int(*parsed, "code", "").value_or(0);
    if (code >= std::numeric_limits<int>::min() && code <= std::numeric_limits<int>::max()) {
      s.error_code = static_cast<int>(code);
    }
    s.error_message = r.failed() ? "" : r.String(*parsed, "message", "").value_or("");
  }
  if (s.error_message.empty()) {
    s.error_message = "HTTP " + std::to_string(http_status);
  }
  s.permanent =
      http_status >= 400 && http_status < 500 && http_status != 429 && s.error_code != 20429;
  s.recipient_refuses = s.error_code == 21610;
  return s;
}

// ---------------------------------------------------------------------------------------------
// The call-centre transcript endpoint

namespace {

constexpr size_t kMaxCallIdCodePoints = 200;

Error FieldError(ErrorCode code, std::string_view key, std::string_view reason) {
  return MakeError(code, std::string(key) + ": " + std::string(reason));
}

}  // namespace

Result<ExternalTranscript> ParseExternalTranscript(std::string_view body) {
  // nlohmann rejects invalid UTF-8 in strings as a parse error.
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return MakeError(errors::kJsonInvalid, "body: not valid JSON");
  }
  if (!json.is_object()) {
    return MakeError(errors::kJsonInvalid, "body: expected a JSON object");
  }
  static constexpr std::array<std::string_view, 5> kKnown = {"call_id", "caller", "transcript",
                                                             "audio_url", "language"};
  ExternalTranscript t;
  bool has_call_id = false;
  bool has_transcript = false;
  for (const auto& [key, value] : json.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return FieldError(errors::kUnknownField, chat::TruncateUtf8(key, 64), "unknown field");
    }
    bool required = key == "call_id" || key == "transcript";
    if (value.is_null() && !required) {
      continue;
    }
    if (!value.is_string()) {
      return FieldError(errors::kFieldTypeInvalid, key, "expected a string");
    }
    const auto& s = value.get_ref<const std::string&>();
    if (Contains(s, '\0')) {
      return FieldError(errors::kFieldValueInvalid, key, "contains NUL");
    }
    if (key == "call_id") {
      if (s.empty() || Utf8Length(s) > kMaxCallIdCodePoints) {
        return FieldError(s.empty() ? errors::kFieldMissing : errors::kFieldValueInvalid, key,
                          "must be 1 to 200 characters");
      }
      t.call_id = s;
      has_call_id = true;
    } else if (key == "caller") {
      t.caller = CallerNumber(s);
    } else if (key == "transcript") {
      t.transcript = s;
      has_transcript = true;
    } else if (key == "audio_url") {
      if (!s.empty() && !IsHttpUrl(s)) {
        return FieldError(errors::kFieldValueInvalid, key, "not an http(s) URL");
      }
      t.audio_url = s;
    } else if (key == "language") {
      if (s != "de" && s != "en") {
        return FieldError(errors::kFieldValueInvalid, key, "expected \"de\" or \"en\"");
      }
      t.language = s;
    }
  }
  if (!has_call_id) {
    return FieldError(errors::kFieldMissing, "call_id", "missing");
  }
  if (!has_transcript) {
    return FieldError(errors::kFieldMissing, "transcript", "missing");
  }
  return t;
}

bool VerifyTranscriptSignature(std::string_view secret, std::string_view body,
                               std::string_view header_value) {
  std::string_view header = TrimAscii(header_value);
  constexpr std::string_view kPrefix = "sha256=";
  if (secret.empty() || header.size() != kPrefix.size() + 64 ||
      header.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  std::string given(header.substr(kPrefix.size()));
  for (char& c : given) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return ConstantTimeEquals(HmacSha256Hex(secret, body), given);
}

}  // namespace meldestelle::twilio
