#include "channels/http.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace meldestelle::channels {

std::string_view Header(const httplib::Request& req, std::string_view name) {
  // The map's order (by name, then as they came) makes the first match the library's.
  for (const auto& [field, value] : req.headers) {
    if (AsciiEqualIgnoringCase(field, name))
      return value;
  }
  return {};
}

bool IsMultipart(std::string_view content_type) {
  return content_type.substr(0, 19) == "multipart/form-data";
}

void SendError(httplib::Response& res, int status, ErrorCode code, const std::string& message) {
  SendJson(res, status, nlohmann::json{{"error", {{"code", code.str()}, {"message", message}}}});
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

int HttpStatusFor(ErrorCode code) {
  if (code == errors::kPhotoTooLarge || code == errors::kPayloadTooLarge)
    return 413;
  if (code == errors::kNotAnImage || code == errors::kUnsupportedMediaType ||
      code == errors::kUnsupportedPhotoType)
    return 415;
  if (code == errors::kJsonInvalid || code == errors::kMultipartInvalid ||
      code == errors::kPayloadInvalid || code == errors::kControlCharacters ||
      code == errors::kFormInvalid || code == errors::kInvalidUtf8 ||
      code == errors::kUnknownField || code == errors::kDuplicateField ||
      code == errors::kFieldTypeInvalid || code == errors::kUnknownFileField ||
      code == errors::kPhotoNotAFile || code == errors::kIdempotencyKeyInvalid) {
    return 400;
  }
  if (code == errors::kIdempotencyKeyReused)
    return 422;
  if (code == errors::kRateLimited)
    return 429;
  if (code == errors::kBrokerUnavailable || code == errors::kBrokerTimeout ||
      code == errors::kBrokerRefused || code == errors::kBrokerError ||
      code == errors::kDbUnavailable || code == errors::kDbError ||
      code == errors::kStorageFailed) {
    return 503;
  }
  return 422;
}

Result<std::string> ReadAll(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader, size_t cap) {
  std::string raw;
  // Room for the body its Content-Length announces (the gateway checked it before routing),
  // allocated once instead of growing with each piece read; at most 256 KiB ahead of the bytes
  // that came, so that a length announced but not sent costs little.
  const std::string_view length = Header(req, "Content-Length");
  size_t announced = 0;
  if (std::from_chars(length.data(), length.data() + length.size(), announced).ec == std::errc{})
    raw.reserve(std::min({announced, cap, size_t{256} * 1024}));
  bool over = false;
  bool ok = reader([&](const char* data, size_t n) {
    over = raw.size() + n > cap;
    if (!over)
      raw.append(data, n);
    return !over;
  });
  if (!ok && (res.status == 413 || over)) {
    // cpp-httplib answers an over-long Content-Length itself by setting 413 and failing the
    // read; the handler answers instead.
    res.status = 200;
    return MakeError(errors::kPayloadTooLarge,
                     "Die Anfrage ist zu groß (höchstens " + std::to_string(cap / 1000000) +
                         " MB). Bitte weniger oder kleinere Fotos senden.");
  }
  if (!ok)
    return MakeError(errors::kPayloadInvalid, "Die Anfrage konnte nicht gelesen werden.");
  return raw;
}

}  // namespace meldestelle::channels
