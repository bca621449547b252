// Photos on the web form and the app API (docs/security.md, "Photos"): what cannot be cleaned
// of its metadata is refused with a German message and leaves nothing behind; a HEIC photo is
// accepted as a JPEG without metadata.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/photo.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace photo_intake_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

std::string Sample(const char* name) {
  return ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data" / name);
}

// A little-endian TIFF whose first IFD carries the camera's model: an image by its bytes, and a
// type whose metadata we do not remove.
std::string Tiff() {
  std::string tiff("II*\0\x08\0\0\0", 8);
  tiff.resize(256, '\0');
  tiff.replace(200, 10, "Testkamera");
  return tiff;
}

httplib::MultipartFormDataItems FormWith(const std::string& token, const std::string& photo,
                                         const std::string& name) {
  return {
      {"beschreibung", "Schlagloch vor der Schule", "", ""},
      {"adresse", "Mühlenweg 12", "", ""},
      {"email", "j.mueller@example.net", "", ""},
      {"website", "", "", ""},
      {"form_token", token, "", ""},
      {"fotos[]", photo, name, "image/jpeg"},
  };
}

}  // namespace

TEST_CASE("photos whose metadata cannot be removed are refused on the form and the API, and "
          "nothing is kept",
          "[integration][photo]") {
  StackOptions options;
  options.workers = 0;  // whatever were published would stay visible in the queue
  Stack s(options);
  const std::string jpeg = Jpeg();
  struct Case {
    const char* what;
    std::string photo;
    int status;
    const char* code;
    const char* german;  // a part of the message
  };
  const std::vector<Case> cases = {
      {"TIFF (refused by type)", Tiff(), 415, "unsupported_photo_type", "dem Format TIFF"},
      {"a truncated JPEG", jpeg.substr(0, jpeg.size() / 2), 422, "invalid_photo",
       "ist beschädigt"},
      {"a HEIC with nothing but its header",
       std::string("\0\0\0\x18"
                   "ftypheic\0\0\0\0mif1heic",
                   24),
       422, "invalid_photo", "ist beschädigt"},
      {"a GIF whose blocks run past the end", std::string("GIF89a\x01\0\x01\0\0\0\0\x21\xFE\x40x", 17),
       422, "invalid_photo", "ist beschädigt"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    httplib::MultipartFormDataItems items = {{"description", "Schlagloch", "", ""},
                                             {"photos", c.photo, "bild.tif", "image/tiff"}};
    auto api = s.Client().Post("/api/v1/reports", items);
    REQUIRE(api);
    INFO(api->body);
    CHECK(api->status == c.status);
    json j = json::parse(api->body, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["error"]["code"] == c.code);
    CHECK_THAT(j["error"]["message"].get<std::string>(), Catch::Contains(c.german));
    CHECK_THAT(j["error"]["message"].get<std::string>(), Catch::Contains("bild.tif"));
    REQUIRE(j["error"]["fields"].size() == 1);
    CHECK(j["error"]["fields"][0]["field"] == "photos");
    CHECK(j["error"]["fields"][0]["code"] == c.code);

    auto form =
        s.Client().Post("/formular/meldung", FormWith(s.MintFormToken(10), c.photo, "bild.tif"));
    REQUIRE(form);
    CHECK(form->status == c.status);
    CHECK_THAT(form->body, Catch::Contains(c.german));
    CHECK_THAT(form->body, Catch::Contains("id=\"fotos-fehler\""));  // at the photo field
    CHECK_THAT(form->body, Catch::Contains("Schlagloch vor der Schule"));
    CHECK_THAT(form->body, Catch::Contains("Mühlenweg 12"));
    CHECK_THAT(form->body, Catch::Contains("j.mueller@example.net"));
  }
  CHECK(s.QueueDepth(s.queue()) == 0);
  CHECK(s.Count(kTickets) == 0);
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 0);
  CHECK(StoredFiles(s.media_dir()) == 0);  // the folder is there from the start, empty
  auto m = s.Client().Get("/metrics");
  REQUIRE(m);
  for (const char* channel : {"app", "webform"}) {
    const std::string counter =
        std::string("meldestelle_reports_rejected_total{channel=\"") + channel + "\",reason=";
    CHECK_THAT(m->body, Catch::Contains(counter + "\"unsupported_photo_type\"} 1"));
    CHECK_THAT(m->body, Catch::Contains(counter + "\"invalid_photo\"} 3"));
  }
  // The checks above can see a stored photo and a published report: a good one shows up.
  httplib::MultipartFormDataItems good = {{"description", "Schlagloch", "", ""},
                                          {"photos", jpeg, "bild.jpg", "image/jpeg"}};
  auto res = s.Client().Post("/api/v1/reports", good);
  REQUIRE(res);
  CHECK(res->status == 202);
  CHECK(s.QueueDepth(s.queue()) == 1);
  CHECK(StoredFiles(s.media_dir()) == 1);
}

TEST_CASE("a HEIC photo from the app is located by its GPS and kept as a JPEG without metadata",
          "[integration][photo]") {
  Stack s;
  const std::string heic = Sample("photo-gps.heic");
  httplib::MultipartFormDataItems items = {{"description", "Laterne dunkel", "", ""},
                                           {"photos", heic, "IMG_0042.HEIC", "image/heic"}};
  auto res = s.Client().Post("/api/v1/reports", items);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 1));
  auto t = s.Query("SELECT lat, lon, location_source FROM tickets");
  CHECK(t[0][0].as<double>() == Approx(52.5201).margin(1e-3));
  CHECK(t[0][1].as<double>() == Approx(13.4102).margin(1e-3));
  CHECK(t[0][2].as<std::string>() == "photo");
  auto att = s.Query("SELECT sha256, media_type, size, filename FROM attachments");
  REQUIRE(att.size() == 1);
  CHECK(att[0][1].as<std::string>() == "image/jpeg");
  CHECK(att[0][3].as<std::string>() == "IMG_0042.jpg");
  const std::string sha = att[0][0].as<std::string>();
  const std::string stored = ReadFile(s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha);
  CHECK(Sha256Hex(stored) == sha);
  CHECK(att[0][2].as<long long>() == static_cast<long long>(stored.size()));
  CHECK(stored.substr(0, 3) == "\xFF\xD8\xFF");
  CHECK(heic.find("Testkamera") != std::string::npos);
  CHECK(stored.find("Testkamera") == std::string::npos);
  auto meta = ReadPhotoMetadata(stored);
  REQUIRE(meta);
  CHECK_FALSE(meta->lat.has_value());
}

}  // namespace photo_intake_test
