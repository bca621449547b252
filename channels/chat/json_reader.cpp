#include "channels/chat/json_reader.hpp"

#include <charconv>
#include <limits>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle::chat {

namespace {

const char* TypeName(const Json& v) { return v.type_name(); }

}  // namespace

Result<Json> ParseObject(std::string_view body, std::string_view what) {
  const std::string name(what);
  if (TrimAscii(body).empty()) {
    return MakeError(errors::kBodyEmpty, name + " is empty");
  }
  if (!IsValidUtf8(body)) {
    return MakeError(errors::kInvalidUtf8, name + " is not valid UTF-8");
  }
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::exception& e) {
    // Syntax errors are parse_error; a number like 1e400 is out_of_range. e.what() starts
    // "[json.exception.parse_error.101] parse error at line 1, column 7: ...".
    std::string what_failed = e.what();
    size_t cut = what_failed.find("] ");
    return MakeError(errors::kJsonInvalid,
                     name + " is not valid JSON: " +
                         (cut == std::string::npos ? what_failed : what_failed.substr(cut + 2)));
  }
  if (!j.is_object()) {
    return MakeError(errors::kJsonInvalid,
                     name + " must be a JSON object, not " + TypeName(j));
  }
  return j;
}

std::string UnreadableAnswer(long http_status, const Error& error) {
  return "HTTP " + std::to_string(http_status) +
         " (accepted), but its answer cannot be read: " + error.message +
         "; most probably sent, not confirmed";
}

std::string Path(std::string_view parent, std::string_view key) {
  std::string p(parent);
  if (!p.empty()) {
    p += '.';
  }
  p += key;
  return p;
}

std::string Path(std::string_view parent, size_t index) {
  std::string p(parent);
  p += '[';
  p += std::to_string(index);
  p += ']';
  return p;
}

std::optional<int64_t> ParseInt64(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) {
    return std::nullopt;
  }
  int64_t v = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

std::string_view TruncateUtf8(std::string_view s, size_t max_code_points) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // Continuation bytes (10xxxxxx) belong to the code point before them.
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max_code_points) {
        return s.substr(0, i);
      }
      ++count;
    }
  }
  return s;
}

void FieldReader::Fail(ErrorCode code, std::string_view path, std::string_view reason) {
  if (!error_) {
    std::string message(path);
    message += ": ";
    message += reason;
    error_ = MakeError(code, std::move(message));
  }
}

const Json* FieldReader::Find(const Json& obj, std::string_view key) {
  if (error_ || !obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> FieldReader::String(const Json& obj, std::string_view key,
                                               std::string_view path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    Fail(errors::kFieldTypeInvalid, Path(path, key),
         std::string("expected a string, got ") + TypeName(*v));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<int64_t> FieldReader::Int(const Json& obj, std::string_view key,
                                        std::string_view path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(errors::kFieldValueInvalid, Path(path, key), "integer out of range");
      return std::nullopt;
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  Fail(errors::kFieldTypeInvalid, Path(path, key),
       std::string("expected an integer, got ") + TypeName(*v));
  return std::nullopt;
}

std::optional<double> FieldReader::Number(const Json& obj, std::string_view key,
                                          std::string_view path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_number()) {
    Fail(errors::kFieldTypeInvalid, Path(path, key),
         std::string("expected a number, got ") + TypeName(*v));
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<bool> FieldReader::Bool(const Json& obj, std::string_view key,
                                      std::string_view path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    Fail(errors::kFieldTypeInvalid, Path(path, key),
         std::string("expected true or false, got ") + TypeName(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<int64_t> FieldReader::IntOrDigits(const Json& obj, std::string_view key,
                                                std::string_view path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    auto n = s.empty() || s[0] == '-' ? std::nullopt : ParseInt64(s);
    if (!n) {
      Fail(errors::kFieldValueInvalid, Path(path, key),
           "expected decimal digits, got \"" + std::string(TruncateUtf8(s, 32)) + "\"");
    }
    return n;
  }
  auto n = Int(obj, key, path);
  if (n && *n < 0) {
    Fail(errors::kFieldValueInvalid, Path(path, key), "must not be negative");
    return std::nullopt;
  }
  return n;
}

const Json* FieldReader::Object(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = Find(obj, key);
  if (v != nullptr && !v->is_object()) {
    Fail(errors::kFieldTypeInvalid, Path(path, key),
         std::string("expected an object, got ") + TypeName(*v));
    return nullptr;
  }
  return v;
}

const Json* FieldReader::Array(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = Find(obj, key);
  if (v != nullptr && !v->is_array()) {
    Fail(errors::kFieldTypeInvalid, Path(path, key),
         std::string("expected an array, got ") + TypeName(*v));
    return nullptr;
  }
  return v;
}

std::string FieldReader::RequiredString(const Json& obj, std::string_view key,
                                        std::string_view path) {
  auto v = String(obj, key, path);
  if (!v || v->empty()) {
    Fail(errors::kFieldMissing, Path(path, key), v ? "must not be empty" : "missing");
    return {};
  }
  return *v;
}

int64_t FieldReader::RequiredInt(const Json& obj, std::string_view key, std::string_view path) {
  auto v = Int(obj, key, path);
  if (!v) {
    Fail(errors::kFieldMissing, Path(path, key), "missing");
    return 0;
  }
  return *v;
}

double FieldReader::RequiredNumber(const Json& obj, std::string_view key, std::string_view path) {
  auto v = Number(obj, key, path);
  if (!v) {
    Fail(errors::kFieldMissing, Path(path, key), "missing");
    return 0;
  }
  return *v;
}

const Json* FieldReader::RequiredObject(const Json& obj, std::string_view key,
                                        std::string_view path) {
  const Json* v = Object(obj, key, path);
  if (v == nullptr) {
    Fail(errors::kFieldMissing, Path(path, key), "missing");
  }
  return v;
}

const Json* FieldReader::RequiredArray(const Json& obj, std::string_view key,
                                       std::string_view path) {
  const Json* v = Array(obj, key, path);
  if (v == nullptr) {
    Fail(errors::kFieldMissing, Path(path, key), "missing");
  }
  return v;
}

const Json* FieldReader::ObjectAt(const Json& array, size_t index, std::string_view array_path) {
  if (error_ || !array.is_array() || index >= array.size()) {
    return nullptr;
  }
  const Json& v = array[index];
  if (!v.is_object()) {
    Fail(errors::kFieldTypeInvalid, Path(array_path, index),
         std::string("expected an object, got ") + TypeName(v));
    return nullptr;
  }
  return &v;
}

}  // namespace meldestelle::chat
