#include "channels/open311/open311.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "channels/open311/settings.hpp"
#include "channels/webform/settings.hpp"
#include "core/charset.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle::open311 {

namespace {

using ojson = nlohmann::ordered_json;

constexpr size_t kMaxNameChars = 200;
constexpr size_t kMaxIdChars = 200;
constexpr size_t kMaxListChars = 4096;  // service_code's comma list
constexpr size_t kMaxUrlBytes = 2000;
constexpr size_t kMaxAttributes = 50;
constexpr size_t kMaxAttributeCodeBytes = 100;
constexpr size_t kMaxAttributeChars = 2000;
constexpr size_t kMaxIgnoredNameBytes = 100;

// Element names of array items in XML (the specification's "Spark convention" in reverse).
std::string ItemName(const std::string& array_name) {
  static const std::map<std::string, std::string> kItems = {
      {"services", "service"}, {"service_requests", "request"},
      {"errors", "error"},     {"attributes", "attribute"},
      {"values", "value"},     {"endpoints", "endpoint"},
      {"formats", "format"},   {"service_request_updates", "request_update"}};
  auto it = kItems.find(array_name);
  return it == kItems.end() ? "item" : it->second;
}

void AppendXml(std::string& out, const std::string& name, const ojson& v) {
  out += "<" + name + ">";
  if (v.is_object()) {
    for (const auto& [key, child] : v.items())
      AppendXml(out, key, child);
  } else if (v.is_array()) {
    std::string item = ItemName(name);
    for (const auto& child : v)
      AppendXml(out, item, child);
  } else if (v.is_string()) {
    out += XmlEscape(v.get_ref<const std::string&>());
  } else if (!v.is_null()) {
    out += v.dump();  // numbers and booleans
  }
  out += "</" + name + ">";
}

// `root` is the document element; an array's items are named after it (see ItemName).
std::string Render(const ojson& doc, const std::string& root, Format f) {
  if (f == Format::kJson) {
    return doc.dump(-1, ' ', false, ojson::error_handler_t::replace);
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  AppendXml(out, root, doc);
  out += "\n";
  return out;
}

ojson NullIfEmpty(const std::string& s) { return s.empty() ? ojson(nullptr) : ojson(s); }

ojson Code(const std::string& code) {
  bool digits = !code.empty() && std::all_of(code.begin(), code.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
  return digits ? ojson(std::stoi(code)) : ojson(code);
}

bool IsHttpUrl(std::string_view url) {
  static const std::regex kUrl(
      R"(^https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^\s]*)?$)",
      std::regex::icase);
  return url.size() <= kMaxUrlBytes && std::regex_match(std::string(url), kUrl);
}

// What a webform::Validate error code means to an integrator.
Error311 Translate(const webform::FieldError& e, int max_chars) {
  if (e.code == errors::kCoordinatesInvalid)
    return {"LOCATION_INVALID", "lat and long must both be given as decimal numbers"};
  if (e.code == errors::kCoordinatesOutOfRange)
    return {"LOCATION_INVALID", "lat must lie in -90..90 and long in -180..180"};
  if (e.code == errors::kDescriptionTooLong)
    return {"DESCRIPTION_TOO_LONG",
            "description is longer than " + std::to_string(max_chars) + " characters"};
  if (e.code == errors::kAddressTooLong)
    return {"ADDRESS_TOO_LONG", "address_string is too long"};
  if (e.code == errors::kEmailInvalid)
    return {"EMAIL_INVALID", "email is not a valid e-mail address"};
  if (e.code == errors::kInvalidUtf8)
    return {"400", "the request is not valid UTF-8"};
  if (e.code == errors::kControlCharacters)
    return {"400", "a field contains control characters"};
  if (e.code == errors::kTooManyPhotos)
    return {"MEDIA_INVALID", "media: more files than webform.max_photos allows"};
  if (e.code == errors::kPhotoTooLarge)
    return {"MEDIA_INVALID", "media: a file is larger than webform.max_photo_bytes allows"};
  if (e.code == errors::kNotAnImage)
    return {"MEDIA_INVALID", "media: a file is not an image (JPEG, PNG, GIF, WebP, HEIC, AVIF)"};
  if (e.code == errors::kUnsupportedPhotoType)
    return {"MEDIA_INVALID",
            "media: an image of a type whose metadata cannot be removed (TIFF, "
            "BMP); send JPEG or PNG"};
  return {"400", e.field.empty() ? e.code.str() : e.field + ": " + e.code.str()};
}

}  // namespace

const char* ContentType(Format f) {
  return f == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

Resource SplitFormat(std::string_view path, std::string_view accept) {
  Resource r;
  auto ends = [&](std::string_view suffix) {
    return path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends(".json")) {
    r.name = std::string(path.substr(0, path.size() - 5));
  } else if (ends(".xml")) {
    r.name = std::string(path.substr(0, path.size() - 4));
    r.format = Format::kXml;
  } else {
    r.name = std::string(path);
    std::string a = AsciiLower(accept);
    if (a.find("xml") != std::string::npos && a.find("json") == std::string::npos) {
      r.format = Format::kXml;
    }
  }
  return r;
}

std::string RenderErrors(const std::vector<Error311>& errors, Format f) {
  ojson list = ojson::array();
  for (const auto& e : errors)
    list.push_back({{"code", Code(e.code)}, {"description", e.description}});
  return Render(list, "errors", f);
}

Result<Form> ParseForm(std::string_view body) {
  auto pairs = webform::ParseUrlEncoded(body);
  if (!pairs)
    return MakeError(errors::kFormInvalid, "the form-encoded body has a broken %-escape");
  return std::move(pairs).value();
}

Result<Form> ParseJsonBody(std::string_view body) {
  if (!IsValidUtf8(body))
    return MakeError(errors::kInvalidUtf8, "the body is not valid UTF-8");
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(errors::kJsonInvalid, "the body is not a JSON object");
  }
  Form form;
  auto scalar = [](const nlohmann::json& v, std::string* out) {
    if (v.is_string()) {
      *out = v.get<std::string>();
    } else if (v.is_number()) {
      *out = v.dump();
    } else if (v.is_boolean()) {
      *out = v.get<bool>() ? "true" : "false";
    } else {
      return false;
    }
    return true;
  };
  // A field read as text, as form-encoded: a string, a number, true or false, or an array of
  // them (a repeated field). False if it is none.
  auto add = [&](const std::string& key, const nlohmann::json& value) {
    std::string text;
    if (value.is_array()) {
      for (const auto& item : value) {
        if (!scalar(item, &text))
          return false;
        form.emplace_back(key, text);
      }
      return true;
    }
    if (!scalar(value, &text))
      return false;
    form.emplace_back(key, std::move(text));
    return true;
  };
  for (const auto& [key, value] : j.items()) {
    if (value.is_null())
      continue;
    // The answers as one object, {"attribute": {"CODE": "v", "MULTI": ["a", "b"]}}: what a
    // form sends as attribute[CODE]=v and attribute[MULTI][]=a.
    if (key == "attribute" && value.is_object()) {
      for (const auto& [code, answer] : value.items()) {
        if (answer.is_null())
          continue;
        const std::string name =
            "attribute[" + code + "]" + (answer.is_array() ? std::string("[]") : std::string());
        if (!add(name, answer))
          return MakeError(errors::kFieldTypeInvalid, "attribute." + code +
                                                          " must be a string, a number or an "
                                                          "array of them");
      }
      continue;
    }
    // An object, or an array holding one: refused where the request or update reads the field,
    // ignored where it is a client's own (the Fields of ParseRequest and ParseUpdate decide).
    if (!add(key, value))
      form.emplace_back(key, std::string(kNotText));
  }
  return form;
}

Result<Form> ParseBody(std::string_view content_type, std::string_view body) {
  std::string type = AsciiLower(content_type);
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0)
    return ParseForm(body);
  if (type.rfind("application/json", 0) == 0)
    return ParseJsonBody(body);
  return MakeError(errors::kUnsupportedMediaType,
                   "send application/x-www-form-urlencoded (or application/json)");
}

namespace {

// The charset parameter of a Content-Type (lower case, without quotes), "" if none.
std::string CharsetOf(std::string_view content_type) {
  std::string type = AsciiLower(content_type);
  for (size_t semi = type.find(';'); semi != std::string::npos; semi = type.find(';', semi + 1)) {
    std::string_view param = TrimAscii(std::string_view(type).substr(semi + 1));
    if (!param.starts_with("charset"))
      continue;
    param = TrimAscii(param.substr(7));
    if (!param.starts_with("="))
      continue;
    std::string_view value = TrimAscii(param.substr(1));
    value = value.substr(0, value.find(';'));
    value = TrimAscii(value);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return "";
}

// The charset iconv is to read a form's text in where it is not UTF-8, by its Content-Type:
// windows-1252 unlabelled (as the specification's form encoding usually is) or labelled Latin-1
// (read as browsers read it); another label as named (iso-8859-15, koi8-r: whatever iconv
// knows); "" for a text said to be UTF-8 (refused by the checks) or a label that is none.
std::string ReadCharset(std::string_view content_type) {
  const std::string label = CharsetOf(content_type);
  if (label.empty() || IsWindows1252Label(label))
    return "WINDOWS-1252";
  if (label == "utf-8" || label == "utf8")
    return "";
  if (label.size() <= 40 && std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ':';
      }))
    return label;
  return "";
}

}  // namespace

std::string TextAsUtf8(const std::string& text, std::string_view content_type) {
  if (IsValidUtf8(text))
    return text;
  const std::string from = ReadCharset(content_type);
  if (from.empty())
    return text;
  return ConvertToUtf8(text, from.c_str()).value_or(text);
}

std::optional<RecodedForm> RecodeForm(std::string_view content_type, const Form& form) {
  if (AsciiLower(content_type).rfind("application/x-www-form-urlencoded", 0) != 0)
    return std::nullopt;
  // UTF-8 whatever the label says: some clients label UTF-8 bodies ISO-8859-1 (Apache
  // HttpClient's form default), and Latin-1 text with accents is almost never valid UTF-8.
  if (std::all_of(form.begin(), form.end(),
                  [](const auto& f) { return IsValidUtf8(f.first) && IsValidUtf8(f.second); }))
    return std::nullopt;
  const std::string from = ReadCharset(content_type);
  if (from.empty())
    return std::nullopt;  // said to be UTF-8 and not (refused by the checks), or no label
  // Field by field: one that is UTF-8 already (a name, a number, a URL) stays as it is.
  auto recode = [&](const std::string& text) -> std::optional<std::string> {
    if (IsValidUtf8(text))
      return text;
    return ConvertToUtf8(text, from.c_str());
  };
  RecodedForm out;
  out.content_type = "application/x-www-form-urlencoded; charset=utf-8";
  for (const auto& [name, value] : form) {
    auto n = recode(name);
    auto v = recode(value);
    if (!n || !v)
      return std::nullopt;  // a charset iconv does not know: checked as UTF-8
    if (!out.raw.empty())
      out.raw += '&';
    out.raw += PercentEncode(*n) + "=" + PercentEncode(*v);
    out.form.emplace_back(std::move(*n), std::move(*v));
  }
  return out;
}

std::string WithoutApiKey(std::string_view content_type, std::string_view body) {
  std::string type = AsciiLower(content_type);
  if (type.rfind("application/json", 0) == 0) {
    auto j = nlohmann::ordered_json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("api_key"))
      return std::string(body);
    j.erase("api_key");
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  // Form-encoded: drop every pair whose name decodes to api_key.
  std::string out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    std::string_view pair = body.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    auto decoded = webform::ParseUrlEncoded(pair.substr(0, pair.find('=')));
    bool key = decoded && decoded->size() == 1 && (*decoded)[0].first == "api_key";
    if (!key && !pair.empty()) {
      if (!out.empty())
        out += '&';
      out += pair;
    }
    if (amp == std::string_view::npos)
      break;
    pos = amp + 1;
  }
  return out;
}

std::optional<std::string> ClientForKey(const Config& config, std::string_view key) {
  if (key.empty())
    return std::nullopt;
  for (const auto& k : config.Get<Settings>().api_keys) {
    // Constant-time comparison: the key is a secret.
    if (k.key.size() != key.size() || k.key.empty())
      continue;
    unsigned diff = 0;
    for (size_t i = 0; i < key.size(); ++i) {
      diff |= static_cast<unsigned char>(k.key[i]) ^ static_cast<unsigned char>(key[i]);
    }
    if (diff == 0)
      return k.client;
  }
  return std::nullopt;
}

Failure InvalidApiKey() {
  return {403, {{"403", "Invalid api_key received -- can't proceed with create_request."}}};
}

namespace {

// What is wrong with a request: bad fields (400) and unknown things (404).
struct Problems {
  std::vector<Error311> bad;
  std::vector<Error311> unknown;
};

// Whether there were problems, and then the answer: 404 when only something unknown was named
// (service, jurisdiction), else 400 with every problem.
bool Failed(Problems& p, Failure& out) {
  if (p.bad.empty() && p.unknown.empty())
    return false;
  out.http_status = p.bad.empty() ? 404 : 400;
  out.errors = std::move(p.bad);
  out.errors.insert(out.errors.end(), p.unknown.begin(), p.unknown.end());
  return true;
}

// UTF-8 text without control characters (but tab, line feed and carriage return).
bool IsCleanText(std::string_view s) { return CheckText(s) == TextFault::kNone; }

// A field name for the log and the answer: printable ASCII, at most 100 bytes.
std::string PrintableName(std::string_view name) {
  std::string out;
  for (char c : Utf8Prefix(name, kMaxIgnoredNameBytes))
    out += (c > 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// The request's fields by name, trimmed. Unknown fields are ignored (named in `ignored`), as
// the specification's clients expect (FixMyStreet sends deviceid, several media_url and
// attribute[…]); a known field given twice with different values is a problem, except those
// that may repeat (`repeatable`).
class Fields {
 public:
  Fields(const Form& form, const std::set<std::string>& known,
         const std::set<std::string>& repeatable, Problems& p) {
    for (const auto& [name, value] : form) {
      if (value == kNotText) {
        // A JSON object or nested array (ParseJsonBody).
        if (known.count(name) != 0 || name.rfind("attribute[", 0) == 0) {
          p.bad.push_back(
              {"400", PrintableName(name) + " must be a string, a number or an array of them"});
        } else if (std::string printable = PrintableName(name);
                   std::find(ignored_.begin(), ignored_.end(), printable) == ignored_.end()) {
          ignored_.push_back(printable);
        }
        continue;
      }
      if (name.rfind("attribute[", 0) == 0) {
        attributes_.emplace_back(name, value);
        continue;
      }
      if (known.count(name) == 0) {
        std::string printable = PrintableName(name);
        if (std::find(ignored_.begin(), ignored_.end(), printable) == ignored_.end())
          ignored_.push_back(printable);
        continue;
      }
      std::string v(TrimAscii(value));
      if (repeatable.count(name) != 0) {
        if (!v.empty())
          lists_[name].push_back(v);
        continue;
      }
      auto [it, fresh] = f_.emplace(name, v);
      if (!fresh && it->second != v)
        p.bad.push_back({"400", name + " was given more than once, with different values"});
    }
  }
  std::string operator()(const char* name) const {
    auto it = f_.find(name);
    return it == f_.end() ? std::string() : it->second;
  }
  std::vector<std::string> List(const char* name) const {
    auto it = lists_.find(name);
    return it == lists_.end() ? std::vector<std::string>() : it->second;
  }
  const Form& attributes() const { return attributes_; }
  const std::vector<std::string>& ignored() const { return ignored_; }

 private:
  std::map<std::string, std::string> f_;
  std::map<std::string, std::vector<std::string>> lists_;
  Form attributes_;
  std::vector<std::string> ignored_;
};

const std::set<std::string>& RequestFields() {
  static const std::set<std::string> kFields = {
      "api_key",        "jurisdiction_id", "service_code", "lat",         "long",
      "address_string", "address_id",      "email",        "device_id",   "account_id",
      "first_name",     "last_name",       "phone",        "description", "media_url"};
  return kFields;
}

const std::set<std::string>& UpdateFields() {
  static const std::set<std::string> kFields = {
      "api_key", "jurisdiction_id", "service_request_id", "update_id", "status", "description",
      "updated_datetime", "media_url",
      // Sent by FixMyStreet and mySociety's servers, not used here: no contact data is kept
      // with an update (on FixMyStreet anyone may comment).
      "first_name", "last_name", "email", "phone", "title", "service_request_id_ext",
      "update_id_ext", "public_anonymity_required", "email_alerts_requested", "account_id",
      "service_code"};
  return kFields;
}

// media_url values: http(s) URLs of at most kMaxUrlBytes, at most kMaxMediaUrls of them. One that
// is none (an app's content:// or file:// path, a URL cut short) or one too many cannot be
// fetched: it is dropped and named in `ignored`, and the report goes in without it rather than
// being lost for it. The worker reads the kept request by the same rule (MediaUrlsFromRaw).
void KeepFetchable(std::vector<std::string>& urls, std::vector<std::string>& ignored) {
  std::vector<std::string> kept;
  bool odd = false, many = false;
  for (auto& url : urls) {
    if (!IsHttpUrl(url)) {
      odd = true;
    } else if (kept.size() == kMaxMediaUrls) {
      many = true;
    } else {
      kept.push_back(std::move(url));
    }
  }
  urls = std::move(kept);
  if (odd)
    ignored.push_back("media_url (not an http or https URL)");
  if (many)
    ignored.push_back("media_url (more than " + std::to_string(kMaxMediaUrls) + ")");
}

// attribute[CODE]=v and attribute[CODE][]=v (several values) → the answers to the category's
// questions: a required one must be there and well-formed (a choice among the configured keys,
// stored by its name; a number; a W3C date-time; one value unless multiple choice); an optional
// one that is not well-formed is kept as sent (the citizen's form may not have checked it).
// Codes no question asks for (FixMyStreet's own, a client's extras) are not kept: they are named
// in `ignored` like unknown fields — they may hold anything, contact data included.
std::vector<ReportAttribute> ReadAttributes(const Form& form, const Category* category,
                                            std::vector<std::string>& ignored, Problems& p) {
  std::vector<ReportAttribute> out;
  std::set<std::string> asked;
  if (category != nullptr) {
    for (const auto& q : category->questions)
      asked.insert(q.code);
  }
  auto find = [&](const std::string& code) -> ReportAttribute& {
    for (auto& a : out) {
      if (a.code == code)
        return a;
    }
    out.push_back({code, "", {}});
    return out.back();
  };
  for (const auto& [name, raw] : form) {
    size_t close = name.find(']', 10);
    std::string code = close == std::string::npos ? "" : name.substr(10, close - 10);
    std::string rest = close == std::string::npos ? "" : name.substr(close + 1);
    if (code.empty() || (!rest.empty() && rest != "[]") || code.size() > kMaxAttributeCodeBytes ||
        !IsCleanText(code)) {
      p.bad.push_back({"400", "malformed attribute field " + PrintableName(name)});
      continue;
    }
    if (asked.count(code) == 0) {
      std::string printable = PrintableName("attribute[" + code + "]");
      if (std::find(ignored.begin(), ignored.end(), printable) == ignored.end())
        ignored.push_back(printable);
      continue;
    }
    std::string value(TrimAscii(raw));
    if (!IsCleanText(value) || Utf8Length(value) > kMaxAttributeChars) {
      p.bad.push_back({"400", "attribute[" + code + "] must be UTF-8 text of at most " +
                                  std::to_string(kMaxAttributeChars) + " characters"});
      continue;
    }
    if (value.empty())
      continue;  // an unanswered question
    if (find(code).values.size() >= kMaxAttributes) {
      p.bad.push_back({"400", "attribute[" + code + "] has too many values"});
      continue;
    }
    find(code).values.push_back(value);
  }
  if (category == nullptr)
    return out;
  static const std::regex kNumber(R"(^[+-]?[0-9]+([.,][0-9]+)?$)");
  for (const auto& q : category->questions) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const ReportAttribute& a) { return a.code == q.code; });
    if (it == out.end()) {
      if (q.required)
        p.bad.push_back({"400", "attribute[" + q.code + "] is required: " + q.text});
      continue;
    }
    it->name = q.text;
    std::vector<std::string> problems;
    std::vector<std::string> named = it->values;
    if (q.type != "multivaluelist" && it->values.size() > 1)
      problems.push_back("attribute[" + q.code + "] takes one value");
    for (auto& v : named) {
      if (q.IsList()) {
        auto choice = std::find_if(q.choices.begin(), q.choices.end(),
                                   [&](const CategoryQuestion::Choice& c) { return c.key == v; });
        if (choice == q.choices.end()) {
          problems.push_back("attribute[" + q.code + "]: \"" + v +
                             "\" is none of the keys of service " + category->code +
                             "'s definition");
        } else {
          v = choice->name;
        }
      } else if (q.type == "number" && !std::regex_match(v, kNumber)) {
        problems.push_back("attribute[" + q.code + "] must be a number");
      } else if (q.type == "datetime" && !IsW3cDateTime(v)) {
        problems.push_back("attribute[" + q.code + "] must be a W3C date-time");
      }
    }
    if (problems.empty()) {
      it->values = std::move(named);
    } else if (q.required) {
      for (auto& text : problems)
        p.bad.push_back({"400", std::move(text)});
    }
  }
  return out;
}

// address_id as address text; FixMyStreet's marker "#NOTPINPOINTED#" (and any "#…#") is none.
std::string AddressIdText(const std::string& id) {
  return id.size() >= 2 && id.front() == '#' && id.back() == '#' ? std::string() : id;
}

// The jurisdiction, the service, where (lat/long or an address), the media URL, the name and
// the ids: what the web form does not check.
void CheckOpen311Fields(const Fields& field, const PostRequest& req, const std::string& name,
                        const Config& config, Problems& p) {
  if (!config.Get<Settings>().Serves(req.jurisdiction_id)) {
    p.unknown.push_back({"404", "jurisdiction_id " + req.jurisdiction_id + " not found"});
  }
  if (req.service_code.empty()) {
    p.bad.push_back({"400", "service_code was not provided"});
  } else if (config.FindCategory(req.service_code) == nullptr) {
    p.unknown.push_back({"404", "service_code " + req.service_code + " not found"});
  }
  std::string lat = field("lat");
  std::string lon = field("long");
  if (lat.empty() && lon.empty() && field("address_string").empty() &&
      AddressIdText(field("address_id")).empty()) {
    p.bad.push_back({"LOCATION_MISSING", "lat/long, address_string or address_id required"});
  } else if (lat.empty() != lon.empty()) {
    p.bad.push_back({"LOCATION_INVALID", "lat and long must be given together"});
  }
  if (Utf8Length(name) > kMaxNameChars) {
    p.bad.push_back({"NAME_TOO_LONG", "first_name and last_name are too long"});
  }
  if (req.device_id.size() > kMaxIdChars || req.account_id.size() > kMaxIdChars) {
    p.bad.push_back({"400", "device_id and account_id may have at most 200 characters"});
  }
}

// The common checks (UTF-8, coordinates, e-mail, phone, lengths) are the web form's.
webform::Validation ValidateAsForm(const Fields& field, const Config& config,
                                   const std::vector<webform::UploadedFile>& photos,
                                   std::vector<std::string>& ignored, Problems& p) {
  webform::Submission s;
  s.files = photos;
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty())
      s.fields[key] = value;
  };
  const std::string lat = field("lat");
  const std::string lon = field("long");
  const std::string address = field("address_string");
  put("description", field("description"));
  put("lat", lat);
  put("lon", lon);
  put("address", address.empty() ? AddressIdText(field("address_id")) : address);
  put("email", field("email"));
  // A phone number of another form ("555-CALL-NOW", "+1 555 123 4567 ext. 12"; the
  // specification does not say one) is dropped, named in `ignored`, rather than refusing the
  // report: it is contact data only.
  if (std::string phone = field("phone"); !phone.empty() && !webform::LooksLikePhone(phone)) {
    ignored.push_back("phone (not a phone number)");
  } else {
    put("phone", phone);
  }
  const auto& form = config.Get<webform::Settings>();
  const int max_chars = form.max_description_chars;
  webform::Limits limits{form.max_photos, form.max_photo_bytes, max_chars, false};
  webform::Validation v = webform::Validate(s, limits, config);
  for (const auto& e : v.errors) {
    if (e.code == errors::kCoordinatesInvalid && lat.empty() != lon.empty())
      continue;  // said by CheckOpen311Fields
    p.bad.push_back(Translate(e, max_chars));
  }
  return v;
}

}  // namespace

PostParse ParseRequest(const Form& form, const Config& config,
                       const std::vector<webform::UploadedFile>& photos) {
  PostParse out;
  Problems p;
  static const std::set<std::string> kRepeatable = {"media_url"};
  const Fields field(form, RequestFields(), kRepeatable, p);
  PostRequest req;
  req.api_key = field("api_key");
  req.jurisdiction_id = field("jurisdiction_id");
  req.service_code = field("service_code");
  req.device_id = field("device_id");
  req.account_id = field("account_id");
  req.media_urls = field.List("media_url");
  req.ignored_fields = field.ignored();
  KeepFetchable(req.media_urls, req.ignored_fields);
  std::string name = field("first_name");
  std::string last = field("last_name");
  if (!last.empty())
    name += name.empty() ? last : " " + last;
  CheckOpen311Fields(field, req, name, config, p);
  webform::Validation v = ValidateAsForm(field, config, photos, req.ignored_fields, p);
  std::vector<ReportAttribute> attributes = ReadAttributes(
      field.attributes(), config.FindCategory(req.service_code), req.ignored_fields, p);
  std::vector<std::string> texts = {name, req.device_id, req.account_id};
  texts.insert(texts.end(), req.media_urls.begin(), req.media_urls.end());
  // As the form's fields (ValidateAsForm): PostgreSQL refuses U+0000 in the stored report, so a
  // report answered 200 with one would never become a ticket.
  for (const auto& text : texts) {
    if (TextFault fault = CheckText(text); fault == TextFault::kInvalidUtf8) {
      p.bad.push_back({"400", "the request is not valid UTF-8"});
      break;
    } else if (fault == TextFault::kControlCharacter) {
      p.bad.push_back({"400",
                       "first_name, last_name, device_id, account_id and media_url may not "
                       "contain control characters"});
      break;
    }
  }
  if (Failed(p, out.failure))
    return out;
  req.intake = std::move(*v.intake);
  req.intake.report.category = req.service_code;
  req.intake.report.reporter.name = name;
  req.intake.report.attributes = std::move(attributes);
  out.request = std::move(req);
  return out;
}

std::vector<std::string> MediaUrlsFromRaw(const RawPayload& raw) {
  std::vector<std::string> urls, ignored;
  auto form = ParseBody(raw.content_type, raw.body);
  if (!form)
    return urls;
  for (const auto& [name, value] : *form) {
    if (name == "media_url")
      urls.emplace_back(TrimAscii(value));
  }
  KeepFetchable(urls, ignored);  // the gateway's rule (ParseRequest)
  return urls;
}

std::vector<Service> ServicesFromConfig(const Config& config) {
  std::vector<Service> out;
  for (const auto& c : config.categories) {
    Service s;
    s.code = c.code;
    s.name = c.name;
    s.description = c.group.empty() ? c.name : c.group + ": " + c.name;
    s.group = c.group;
    s.metadata = !c.questions.empty();
    for (const auto& k : c.keywords) {
      if (!s.keywords.empty())
        s.keywords += ", ";
      s.keywords += k.text;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string RenderServices(const std::vector<Service>& services, Format f) {
  ojson list = ojson::array();
  for (const auto& s : services) {
    list.push_back({{"service_code", s.code},
                    {"service_name", s.name},
                    {"description", s.description},
                    {"metadata", s.metadata},
                    {"type", s.type},
                    {"keywords", s.keywords},
                    {"group", s.group}});
  }
  return Render(list, "services", f);
}

std::string RenderServiceDefinition(const ServiceDefinition& d, Format f) {
  ojson attributes = ojson::array();
  for (const auto& a : d.attributes) {
    ojson values = ojson::array();
    for (const auto& v : a.values)
      values.push_back({{"key", v.key}, {"name", v.name}});
    attributes.push_back({{"variable", a.variable},
                          {"code", a.code},
                          {"datatype", a.datatype},
                          {"required", a.required},
                          {"datatype_description", NullIfEmpty(a.datatype_description)},
                          {"order", a.order},
                          {"description", a.description},
                          {"values", values}});
  }
  ojson doc{{"service_code", d.service_code}, {"attributes", attributes}};
  return Render(doc, "service_definition", f);
}

ServiceDefinition DefinitionFromCategory(const Category& c) {
  ServiceDefinition d{c.code, {}};
  int order = 0;
  for (const auto& q : c.questions) {
    Attribute a;
    a.code = q.code;
    a.datatype = q.type;
    a.required = q.required;
    a.order = ++order;
    a.description = q.text;
    for (const auto& choice : q.choices)
      a.values.push_back({choice.key, choice.name});
    d.attributes.push_back(std::move(a));
  }
  return d;
}

std::string RenderCreated(const Created& c, Format f) {
  ojson item = ojson::object();
  if (c.service_request_id.empty()) {
    item["token"] = c.token;  // batch services: the token alone (vector 03)
  } else {
    item["service_request_id"] = c.service_request_id;
    item["service_notice"] = NullIfEmpty(c.service_notice);
    item["account_id"] = NullIfEmpty(c.account_id);
  }
  return Render(ojson::array({item}), "service_requests", f);
}

std::string RenderToken(const TokenAnswer& t, Format f) {
  return Render(ojson::array({{{"service_request_id", t.service_request_id}, {"token", t.token}}}),
                "service_requests", f);
}

std::string RenderRequests(const std::vector<ServiceRequest>& requests, Format f) {
  ojson list = ojson::array();
  for (const auto& r : requests) {
    list.push_back({{"service_request_id", r.service_request_id},
                    {"status", r.status},
                    {"status_notes", NullIfEmpty(r.status_notes)},
                    {"service_name", NullIfEmpty(r.service_name)},
                    {"service_code", NullIfEmpty(r.service_code)},
                    {"description", NullIfEmpty(r.description)},
                    {"agency_responsible", NullIfEmpty(r.agency_responsible)},
                    {"service_notice", NullIfEmpty(r.service_notice)},
                    {"requested_datetime", NullIfEmpty(r.requested_datetime)},
                    {"updated_datetime", NullIfEmpty(r.updated_datetime)},
                    {"expected_datetime", NullIfEmpty(r.expected_datetime)},
                    {"address", NullIfEmpty(r.address)},
                    {"address_id", NullIfEmpty(r.address_id)},
                    {"zipcode", NullIfEmpty(r.zipcode)},
                    {"lat", r.lat ? ojson(*r.lat) : ojson(nullptr)},
                    {"long", r.lon ? ojson(*r.lon) : ojson(nullptr)},
                    {"media_url", NullIfEmpty(r.media_url)}});
  }
  return Render(list, "service_requests", f);
}

std::string StatusOf(std::string_view ticket_status) {
  return ticket_status == "done" || ticket_status == "rejected" || ticket_status == "duplicate"
             ? "closed"
             : "open";
}

std::string ZipcodeIn(std::string_view address) {
  static const std::regex kZip(R"((^|[^0-9])([0-9]{5})([^0-9]|$))");
  std::smatch m;
  std::string a(address);
  return std::regex_search(a, m, kZip) ? m[2].str() : "";
}

bool IsW3cDateTime(std::string_view s) {
  static const std::regex kDate(
      R"(^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])()"
      R"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9]))?$)");
  if (s.size() > 40 || !std::regex_match(std::string(s), kDate))
    return false;
  // The day must exist in its month (PostgreSQL would refuse 2025-02-30).
  int year = std::stoi(std::string(s.substr(0, 4)));
  if (year == 0)
    return false;  // PostgreSQL has no year 0
  int month = std::stoi(std::string(s.substr(5, 2)));
  int day = std::stoi(std::string(s.substr(8, 2)));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

namespace {

// The non-empty items of a comma list, without blanks around them.
std::vector<std::string> CommaList(std::string_view list) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = list.find(',', pos);
    std::string_view item = TrimAscii(
        list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (!item.empty())
      out.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

// A date-time from a query string whose "+01:00" came unencoded: the '+' of a query string is a
// space once decoded (a client that built the URL by pasting our own timestamps in), so a space
// just before a trailing offset is read as the '+' it was.
std::string QueryDateTime(std::string_view value) {
  std::string s(TrimAscii(value));
  for (size_t offset : {6, 5}) {  // " 01:00", " 0100"
    if (s.size() > offset + 10 && s[s.size() - offset] == ' ' && s.find('T') != std::string::npos) {
      std::string fixed = s;
      fixed[s.size() - offset] = '+';
      if (IsW3cDateTime(fixed))
        return fixed;
    }
  }
  return s;
}

QueryParse ParseQueryValues(const std::string& ids, const std::string& service_code,
                            const std::string& start_date, const std::string& end_date,
                            const std::string& status) {
  QueryParse out;
  Query q;
  std::vector<Error311> errors;
  q.ids = CommaList(ids);
  q.service_codes = CommaList(service_code);
  q.start_date = QueryDateTime(start_date);
  q.end_date = QueryDateTime(end_date);
  if (!q.start_date.empty() && !IsW3cDateTime(q.start_date)) {
    errors.push_back({"400", "start_date is not a W3C date-time (e.g. 2025-03-10T00:00:00Z)"});
  }
  if (!q.end_date.empty() && !IsW3cDateTime(q.end_date)) {
    errors.push_back({"400", "end_date is not a W3C date-time (e.g. 2025-03-10T00:00:00Z)"});
  }
  bool open = false, closed = false;
  for (const auto& s : CommaList(status)) {
    open |= s == "open";
    closed |= s == "closed";
    if (s != "open" && s != "closed") {
      errors.push_back({"400", "status must be open or closed (or both, comma separated)"});
      break;
    }
  }
  q.status = open == closed ? "" : open ? "open" : "closed";
  const bool too_long = service_code.size() > kMaxListChars || status.size() > kMaxIdChars ||
                        q.start_date.size() > kMaxIdChars || q.end_date.size() > kMaxIdChars;
  if (too_long || !IsValidUtf8(service_code) || !IsValidUtf8(status)) {
    errors.push_back({"400", "a parameter is too long or not valid UTF-8"});
  }
  if (!errors.empty()) {
    out.failure = {400, std::move(errors)};
    return out;
  }
  out.query = std::move(q);
  return out;
}

UpdatesQueryParse ParseUpdatesQuery(const std::string& start_date, const std::string& end_date) {
  UpdatesQueryParse out;
  UpdatesQuery q{QueryDateTime(start_date), QueryDateTime(end_date)};
  std::vector<Error311> errors;
  for (const auto& [name, value] :
       {std::pair{"start_date", q.start_date}, {"end_date", q.end_date}}) {
    if (!value.empty() && !IsW3cDateTime(value)) {
      errors.push_back(
          {"400", std::string(name) + " is not a W3C date-time (e.g. 2025-03-10T08:00:00Z)"});
    }
  }
  if (!errors.empty()) {
    out.failure = {400, std::move(errors)};
    return out;
  }
  out.query = std::move(q);
  return out;
}

std::string RenderUpdates(const std::vector<RequestUpdate>& updates, Format f) {
  ojson list = ojson::array();
  for (const auto& u : updates) {
    list.push_back({{"update_id", u.update_id},
                    {"service_request_id", u.service_request_id},
                    {"status", u.status},
                    {"updated_datetime", u.updated_datetime},
                    {"description", u.description},
                    {"media_url", u.media_url}});
  }
  return Render(list, "service_request_updates", f);
}

std::string RenderUpdateCreated(const std::string& update_id, Format f) {
  return Render(ojson::array({{{"update_id", update_id}}}), "service_request_updates", f);
}

UpdateParse ParseUpdate(const Form& form, const Config& config) {
  static const std::set<std::string> kRepeatable = {"media_url"};
  static const std::regex kStatus("^[A-Za-z_ ]{1,40}$");
  UpdateParse out;
  Problems p;
  const Fields field(form, UpdateFields(), kRepeatable, p);
  UpdatePost u;
  u.api_key = field("api_key");
  u.jurisdiction_id = field("jurisdiction_id");
  u.service_request_id = field("service_request_id");
  u.client_update_id = field("update_id");
  if (u.client_update_id.empty())
    u.client_update_id = field("update_id_ext");
  u.status = field("status");
  u.description = field("description");
  u.updated_datetime = field("updated_datetime");
  u.media_urls = field.List("media_url");
  u.ignored_fields = field.ignored();
  if (!config.Get<Settings>().Serves(u.jurisdiction_id))
    p.unknown.push_back({"404", "jurisdiction_id " + u.jurisdiction_id + " not found"});
  if (u.service_request_id.empty())
    p.bad.push_back({"400", "service_request_id was not provided"});
  if (!u.status.empty() && !std::regex_match(u.status, kStatus)) {
    p.bad.push_back({"400", "status must be a word such as OPEN, CLOSED or FIXED"});
  }
  std::replace(u.status.begin(), u.status.end(), ' ', '_');
  std::transform(u.status.begin(), u.status.end(), u.status.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!u.updated_datetime.empty() && !IsW3cDateTime(u.updated_datetime)) {
    p.bad.push_back({"400", "updated_datetime is not a W3C date-time"});
  }
  const int max_chars = config.Get<webform::Settings>().max_description_chars;
  if (!IsCleanText(u.description)) {
    p.bad.push_back({"400", "description must be UTF-8 text without control characters"});
  } else if (Utf8Length(u.description) > static_cast<size_t>(max_chars)) {
    p.bad.push_back({"DESCRIPTION_TOO_LONG",
                     "description is longer than " + std::to_string(max_chars) + " characters"});
  }
  for (const auto& v : {u.service_request_id, u.client_update_id}) {
    if (v.size() > kMaxIdChars || !IsCleanText(v)) {
      p.bad.push_back({"400", "service_request_id and update_id may have at most 200 characters"});
      break;
    }
  }
  KeepFetchable(u.media_urls, u.ignored_fields);
  if (u.description.empty() && u.media_urls.empty() && u.status.empty())
    p.bad.push_back(
        {"400", "an update needs a description, a media_url (http or https) or a status"});
  if (Failed(p, out.failure))
    return out;
  out.update = std::move(u);
  return out;
}

std::string UpdateStatusOf(std::string_view ticket_status) {
  // Never "closed": without its "extended statuses" setting FixMyStreet shows it as fixed.
  if (ticket_status == "accepted")
    return "investigating";
  if (ticket_status == "in_progress")
    return "in_progress";
  if (ticket_status == "done")
    return "fixed";
  if (ticket_status == "rejected")
    return "no_further_action";
  return "open";
}

bool UpdateSaysOpen(std::string_view status) {
  static const std::set<std::string_view> kOpen = {"OPEN",      "REOPEN",           "IN_PROGRESS",
                                                   "PLANNED",   "ACTION_SCHEDULED", "INVESTIGATING",
                                                   "FOR_TRIAGE"};
  return kOpen.count(status) != 0;
}

std::string RenderDiscovery(const Discovery& d, Format f) {
  ojson endpoint{{"specification", "http://wiki.open311.org/GeoReport_v2"},
                 {"url", d.endpoint_url},
                 {"changeset", d.changeset},
                 {"type", "production"},
                 {"formats", ojson::array({"text/xml", "application/json"})}};
  ojson doc{{"changeset", d.changeset},
            {"contact", d.contact},
            {"key_service", d.key_service},
            {"endpoints", ojson::array({endpoint})}};
  return Render(doc, "discovery", f);
}

}  // namespace meldestelle::open311
