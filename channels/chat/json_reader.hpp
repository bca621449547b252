#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

// Typed field access on a parsed provider payload, shared by the WhatsApp and Telegram parsers.
// Errors name the JSON path ("entry[0].changes[1].value.messages[2].from: missing") because the
// payload is untrusted and the log line is all an operator has to go on.
namespace meldestelle::chat {

using Json = nlohmann::json;

// Checks UTF-8, then parses. Codes: "body_empty", "invalid_utf8", "json_invalid" (syntax, or not a
// JSON object at the top). nlohmann decodes \uXXXX escapes, surrogate pairs and "\/" itself and
// rejects lone surrogates. `what` names the body in the messages: a webhook's request body, or a
// provider's answer to us ("the response body").
inline constexpr std::string_view kRequestBody = "the request body";
inline constexpr std::string_view kResponseBody = "the response body";
Result<Json> ParseObject(std::string_view body, std::string_view what = kRequestBody);

// How long a send waits before its next try when the provider refused our token (expired,
// revoked): with the dispatcher's attempts (chat.send_max_attempts, 8) about 80 minutes for the
// town to replace it, not the few minutes of the usual back-off.
inline constexpr int kTokenRefusedWaitSeconds = 600;

// The detail of a provider's success (`http_status` 2xx) whose body could not be read (`error`,
// from the send response's parser): the message most probably went out, its id is unknown.
std::string UnreadableAnswer(long http_status, const Error& error);

// Reads fields of one object after another; the first error sticks and every later read returns
// "absent", so a parser may read a whole object and check `failed()` once. A JSON null counts as
// absent. Not thread-safe; one reader per parse.
class FieldReader {
 public:
  // Absent -> nullopt; present with another type -> error "field_type_invalid".
  std::optional<std::string> String(const Json& obj, std::string_view key, std::string_view path);
  std::optional<int64_t> Int(const Json& obj, std::string_view key, std::string_view path);
  std::optional<double> Number(const Json& obj, std::string_view key, std::string_view path);
  std::optional<bool> Bool(const Json& obj, std::string_view key, std::string_view path);
  // A non-negative integer given as a JSON number or as a string of decimal digits (WhatsApp
  // timestamps and media file sizes).
  std::optional<int64_t> IntOrDigits(const Json& obj, std::string_view key, std::string_view path);
  // nullptr if absent.
  const Json* Object(const Json& obj, std::string_view key, std::string_view path);
  const Json* Array(const Json& obj, std::string_view key, std::string_view path);

  // Like the above, but absence (or an empty string) is an error "field_missing".
  std::string RequiredString(const Json& obj, std::string_view key, std::string_view path);
  int64_t RequiredInt(const Json& obj, std::string_view key, std::string_view path);
  double RequiredNumber(const Json& obj, std::string_view key, std::string_view path);
  const Json* RequiredObject(const Json& obj, std::string_view key, std::string_view path);
  const Json* RequiredArray(const Json& obj, std::string_view key, std::string_view path);
  // Element `index` of `array` (found at `array_path`), which must be an object.
  const Json* ObjectAt(const Json& array, size_t index, std::string_view array_path);

  // Records an error unless one is recorded already.
  void Fail(ErrorCode code, std::string_view path, std::string_view reason);
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  const Json* Find(const Json& obj, std::string_view key);
  std::optional<Error> error_;
};

// "a.b" / "a[3]" helpers for building paths.
std::string Path(std::string_view parent, std::string_view key);
std::string Path(std::string_view parent, size_t index);

// Strictly decimal, optional leading '-', fits in int64.
std::optional<int64_t> ParseInt64(std::string_view digits);

// The longest prefix of valid UTF-8 `s` with at most `max_code_points` code points.
std::string_view TruncateUtf8(std::string_view s, size_t max_code_points);

}  // namespace meldestelle::chat
