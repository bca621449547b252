// The web form and the app API (POST /formular/meldung, /api/v1/reports;
// channels/webform/routes.cpp ReadBody): the body read as each of its three formats —
// url-encoded (FromUrlEncoded), JSON (FromJson), multipart/form-data parts (split here as
// cpp-httplib does, then FromParts) — and every submission validated with the example town's
// categories and the production limits (Validate). Also the form's signed time token.
#include <cstddef>
#include <cstdint>

#include "channels/webform/intake.hpp"
#include "channels/webform/settings.hpp"
#include "channels/webform/token.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle;
using namespace meldestelle::webform;

namespace {

void ValidateEach(const Result<Submission>& sub) {
  if (!sub) {
    return;
  }
  const Config& config = fuzz::ExampleConfig();
  const auto& s = config.Get<webform::Settings>();
  (void)Validate(*sub, {s.max_photos, s.max_photo_bytes, s.max_description_chars}, config);
  // Open311 validates the same way without requiring a description.
  (void)Validate(*sub, {0, 0, s.max_description_chars, false}, config);
  auto token = sub->fields.find("form_token");
  if (token != sub->fields.end()) {
    (void)VerifyFormToken(token->second, "fuzz-secret", 1'750'000'000, 3, 7200);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  ValidateEach(FromUrlEncoded(in));
  ValidateEach(FromJson(in));
  if (in.substr(0, 2) == "--") {
    std::vector<UploadedFile> parts;
    for (auto& p : fuzz::SplitMultipart(in)) {
      parts.push_back({std::move(p.name), std::move(p.filename), std::move(p.content_type),
                       std::move(p.value)});
    }
    ValidateEach(FromParts(parts));
  }
  return 0;
}
