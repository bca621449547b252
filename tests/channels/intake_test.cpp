#include "channels/webform/intake.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "channels/builtin.hpp"
#include "channels/webform/token.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/errors.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace intake_test {

using namespace meldestelle;
using namespace meldestelle::webform;

namespace {

const Config& ExampleConfig() {
  static const Config cfg = [] {
    auto c = LoadConfig(
        std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
        channels::BuiltinChannels().ConfigSections(), /*ignore_other_keys=*/true);
    REQUIRE(c.ok());
    return std::move(c).value();
  }();
  return cfg;
}

std::string ReadVector(const std::string& rel) {
  std::ifstream in(std::string(MELDESTELLE_VECTORS_DIR) + "/" + rel, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kJpeg = ReadVector("webform/tiny-test.jpg");

Validation ValidateJson(const std::string& body, Limits limits = {}) {
  auto sub = FromJson(body);
  REQUIRE(sub.ok());
  return Validate(*sub, limits, ExampleConfig());
}

std::string FirstCode(const Validation& v) {
  return v.errors.empty() ? "" : v.errors[0].code.str();
}

}  // namespace

TEST_CASE("a JSON report from an app is normalised") {
  auto v = ValidateJson(
      R"({"description":"Laterne brennt nicht","category":"BEL-01","lat":50.9381,"lon":6.9584,)"
      R"("email":"a@example.net","language":"en"})");
  REQUIRE(v.intake);
  const Report& r = v.intake->report;
  CHECK(r.text == "Laterne brennt nicht");
  CHECK(r.category == "BEL-01");
  CHECK(*r.location.lat == Approx(50.9381));
  CHECK(r.location.source == LocationSource::kDevice);
  CHECK(r.reporter.ack_channel == "email");
  CHECK(r.reporter.ack_address == "a@example.net");
  CHECK(r.reporter.language == "en");
}

TEST_CASE("an address without coordinates is kept as given") {
  auto v =
      ValidateJson(R"({"description":"Müll","address":"Lindenstraße 7","phone":"0170 123456"})");
  REQUIRE(v.intake);
  CHECK(v.intake->report.location.source == LocationSource::kAddress);
  CHECK(v.intake->report.location.address == "Lindenstraße 7");
  CHECK(v.intake->report.reporter.ack_channel == "sms");
}

TEST_CASE("the acknowledgement goes to the first contact given, where its channel can send") {
  const std::string both =
      R"({"description":"Müll","email":"a@example.net","phone":"+49 171 123456"})";
  const std::string phone = R"({"description":"Müll","phone":"+49 171 123456"})";
  auto ack = [&](const std::string& body, std::set<std::string, std::less<>> senders) {
    Limits limits;
    limits.ack_senders = &senders;
    auto v = ValidateJson(body, limits);
    REQUIRE(v.intake);
    const Reporter& r = v.intake->report.reporter;
    return r.ack_channel + " " + r.ack_address + " " + r.address;
  };
  CHECK(ack(both, {"email", "sms"}) == "email a@example.net a@example.net");
  // The SMS goes to the number's E.164 form; the report keeps it as typed.
  CHECK(ack(phone, {"email", "sms"}) == "sms +49171123456 +49 171 123456");
  // No relay here: no acknowledgement that would wait for ever, and no SMS to a phone number
  // the form said was only for questions; the address is kept for staff.
  CHECK(ack(both, {"sms"}) == "none  a@example.net");
  CHECK(ack(phone, {"email"}) == "none  +49 171 123456");
  // No SMS reaches a landline (phone.sms_prefixes) or a number without its area code: none
  // promised, the number kept for staff.
  CHECK(ack(R"({"description":"Müll","phone":"0221 123456"})", {"email", "sms"}) ==
        "none  0221 123456");
  CHECK(ack(R"({"description":"Müll","phone":"555 01 03"})", {"email", "sms"}) ==
        "none  555 01 03");
  CHECK(ack(R"({"description":"Müll","phone":"(0171) 12.34.56"})", {"email", "sms"}) ==
        "sms +49171123456 (0171) 12.34.56");
  CHECK(ack(R"({"description":"Müll"})", {"email", "sms"}) == "none  ");
  // Without a list (Open311, tests), as before: every channel can send.
  CHECK(ValidateJson(both).intake->report.reporter.ack_channel == "email");
}

TEST_CASE("broken JSON bodies are refused with a code") {
  CHECK(FromJson("").error().code.name() == "json_invalid");
  CHECK(FromJson("{\"description\":").error().code.name() == "json_invalid");
  CHECK(FromJson("[1,2]").error().code.name() == "json_invalid");
  CHECK(FromJson("{\"description\":\"a\xFF\"}").error().code.name() == "invalid_utf8");
  CHECK(FromJson(R"({"description":"a","colour":"red"})").error().code.name() == "unknown_field");
  CHECK(FromJson(R"({"description":5})").error().code.name() == "field_type_invalid");
  CHECK(FromJson(R"({"description":"a","lat":"50.1"})").error().code.name() ==
        "coordinates_invalid");
  CHECK(FromJson(R"({"description":"a","website":"x"})").error().code.name() == "unknown_field");
  // More broken input: trailing bytes, a second document, nesting, bad escapes and numbers,
  // lone surrogates (Validate relies on simdjson's strings being valid UTF-8), a NUL byte before
  // the end, comments and trailing commas.
  for (const char* bad :
       {R"({"description":"a"} x)", R"({"description":"a"}{"description":"b"})",
        R"({"description":"a",})", R"({"description":"a" // c
})",
        R"({'description':'a'})", R"({"description":"\q"})", R"({"description":"\ud800"})",
        R"({"description":"\udc00"})", R"({"description":"\udc00\ud800"})",
        R"({"description":"\ud800\u0041"})", R"({"description":"a","lat":01})",
        R"({"description":"a","lat":1.})", R"({"description":"a","lat":-})",
        R"({"description":"a","lat":NaN})", "{", "}", "null", "\"text\"", "  "}) {
    INFO(bad);
    CHECK(FromJson(bad).error().code.name() == "json_invalid");
  }
  CHECK(FromJson(std::string(R"({"description":"a")") + '\0' + "}").error().code.name() ==
        "json_invalid");
  CHECK(FromJson(R"({"description":["a"]})").error().code.name() == "field_type_invalid");
  CHECK(FromJson(R"({"description":{"text":"a"}})").error().code.name() == "field_type_invalid");
  CHECK(FromJson(R"({"description":true})").error().code.name() == "field_type_invalid");
  CHECK(FromJson(R"({"description":"a","lat":[50]})").error().code.name() == "coordinates_invalid");
}

TEST_CASE("a JSON name given twice is refused, whichever way it is spelt") {
  for (const char* twice :
       {R"({"description":"a","description":"b"})", R"({"description":"a","beschreibung":"b"})",
        R"({"description":"a","lat":null,"lat":50.9})",
        R"({"description":"a","lat":50.9,"lat":null})",
        R"({"description":"a","lon":6.9,"lng":7.0})"}) {
    INFO(twice);
    auto sub = FromJson(twice);
    REQUIRE_FALSE(sub.ok());
    CHECK(sub.error().code.name() == "duplicate_field");
  }
}

TEST_CASE("a JSON report's byte order mark, escapes and number forms are read as JSON says") {
  auto sub = FromJson(
      "\xEF\xBB\xBF"
      R"({"description":"Stra\u00dfe \"7\"\n","lat":5.09e1,"lon":7,)"
      R"("category":null})");
  REQUIRE(sub.ok());
  CHECK(sub->fields.at("description") == "Straße \"7\"\n");
  CHECK(sub->fields.at("lat") == "50.90000000");
  CHECK(sub->fields.at("lon") == "7.00000000");
  CHECK(sub->fields.count("category") == 0);
  // A second mark is not skipped: it is not JSON.
  CHECK(FromJson("\xEF\xBB\xBF\xEF\xBB\xBF{}").error().code.name() == "json_invalid");
}

TEST_CASE("the description's place in an app's JSON is kept only when the text is its value") {
  // The message carries the text once: the envelope names where the raw body holds it, and the
  // worker reads it there with the same parser (core/envelope.hpp, TextInRaw).
  struct Case {
    std::string body;
    std::string pointer;  // "" = the text is not the value as given
  };
  const std::vector<Case> cases{
      {R"({"description":"Laterne brennt nicht","lat":50.9,"lon":6.9})", "/description"},
      {R"({"lat":50.9,"lon":6.9,"beschreibung":"Laterne brennt nicht"})", "/beschreibung"},
      {R"({"descr\u0069ption":"Stra\u00dfe \"7\" \ud83d\udea7 \/ \\ Ende"})", "/description"},
      {"\xEF\xBB\xBF{\"description\":\"M\u00fcll\"}", "/description"},
      // Trimmed: the text is not the value as it stands in the raw body.
      {R"({"description":"  Laterne brennt nicht\n"})", ""},
      {R"({"description":"Laterne\t"})", ""},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto v = ValidateJson(c.body);
    REQUIRE(v.intake);
    CHECK(v.intake->text_in_raw == c.pointer);
    if (!c.pointer.empty()) {
      auto text = TextInRaw(c.body, c.pointer);
      REQUIRE(text.ok());
      CHECK(*text == v.intake->report.text);
    }
  }
  // A form's fields are not JSON: nowhere.
  auto form = FromUrlEncoded("beschreibung=Laterne+brennt+nicht");
  REQUIRE(form.ok());
  auto v = Validate(*form, {}, ExampleConfig());
  REQUIRE(v.intake);
  CHECK(v.intake->text_in_raw.empty());
  // A description given as null: no text, nowhere.
  auto none = ValidateJson(R"({"description":null,"category":"BEL-01"})", {5, 1000, 100, false});
  REQUIRE(none.intake);
  CHECK(none.intake->text_in_raw.empty());
}

TEST_CASE("bad field values are refused with German messages") {
  CHECK(FirstCode(ValidateJson(R"({"description":"   "})")) == "description_missing");
  CHECK(FirstCode(ValidateJson(R"({"category":"STR-01"})")) == "description_missing");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","category":"XXX-99"})")) ==
        "category_unknown");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","lat":91,"lon":6})")) ==
        "coordinates_out_of_range");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","lat":50,"lon":-181})")) ==
        "coordinates_out_of_range");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","email":"kein-at-zeichen"})")) ==
        "email_invalid");
  // What would break the acknowledgement's To: field, or is not the address its owner reads.
  for (const char* email :
       {R"(x\"><script>@a.de)", "a<b>@example.net", "a,b@example.net", "a@exa<mple.net",
        "a\u200b@example.net", "a@example.net\u202e", "a@localhost", "a@10.0.0.1"}) {
    INFO(email);
    CHECK(FirstCode(ValidateJson(std::string(R"({"description":"a","email":")") + email + "\"}")) ==
          "email_invalid");
  }
  CHECK(ValidateJson(R"({"description":"a","email":"anna@münchen.example"})").intake);
  // Isolates ("Trojan Source") and tags are format characters too; a punycode top-level domain
  // (.рф) is a domain.
  for (const char* email :
       {"a\u2067@example.net", "a@example.net\\udb40\\udc41", "a\u061c@example.net"}) {
    INFO(email);
    CHECK(FirstCode(ValidateJson(std::string(R"({"description":"a","email":")") + email + "\"}")) ==
          "email_invalid");
  }
  CHECK(ValidateJson(R"({"description":"a","email":"ivan@xn--e1afmkfd.xn--p1ai"})").intake);
  CHECK(ValidateJson(R"({"description":"a","email":"ivan@пример.рф"})").intake);
  CHECK(FirstCode(ValidateJson(R"({"description":"a","phone":"12"})")) == "phone_invalid");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","language":"fr"})")) ==
        "language_unsupported");
  Limits small;
  small.max_description_chars = 5;
  auto v = ValidateJson(R"({"description":"Schlagloch"})", small);
  CHECK(FirstCode(v) == "description_too_long");
  CHECK_THAT(v.errors[0].message, Catch::Contains("höchstens 5 Zeichen"));
  // Five umlauts are five characters, not ten bytes.
  CHECK(ValidateJson(R"({"description":"äöüßä"})", small).intake);
}

TEST_CASE("the multipart vector from a browser becomes a report with two photos") {
  // The parts as cpp-httplib hands them over (see channels.md §6): all in one list.
  std::vector<UploadedFile> parts = {
      {"kategorie", "", "", "STR-01"},
      {"beschreibung", "", "", "Schlagloch auf der Fahrbahn, ca. 40 cm breit."},
      {"lat", "", "", "50.937531"},
      {"lon", "", "", "6.960279"},
      {"adresse", "", "", "Mühlenweg 12"},
      {"email", "", "", "j.mueller@example.net"},
      {"website", "", "", ""},
      {"form_token", "", "", "1741600000.abc.def"},
      {"fotos[]", "Straße_Mühlenweg.jpg", "image/jpeg", kJpeg},
      {"fotos[]", "IMG_0412.JPG", "image/jpeg", kJpeg},
  };
  auto sub = FromParts(parts);
  REQUIRE(sub.ok());
  CHECK(sub->fields.at("website").empty());
  auto v = Validate(*sub, Limits{}, ExampleConfig());
  REQUIRE(v.intake);
  REQUIRE(v.intake->photos.size() == 2);
  CHECK(v.intake->photos[0].filename == "Straße_Mühlenweg.jpg");
  CHECK(v.intake->photos[0].media_type == "image/jpeg");
  CHECK(v.intake->report.location.address == "Mühlenweg 12");
}

TEST_CASE("photos are checked by magic bytes, count and size") {
  auto with_files = [](std::vector<UploadedFile> files, Limits limits = {}) {
    std::vector<UploadedFile> parts = {{"beschreibung", "", "", "Müll"}};
    parts.insert(parts.end(), files.begin(), files.end());
    auto sub = FromParts(parts);
    REQUIRE(sub.ok());
    return Validate(*sub, limits, ExampleConfig());
  };
  CHECK(FirstCode(with_files({{"fotos[]", "virus.jpg", "image/jpeg", "MZ\x90\x00"}})) ==
        "not_an_image");
  Limits two;
  two.max_photos = 2;
  CHECK(FirstCode(with_files({{"fotos[]", "a.jpg", "", kJpeg},
                              {"fotos[]", "b.jpg", "", kJpeg},
                              {"fotos[]", "c.jpg", "", kJpeg}},
                             two)) == "too_many_photos");
  Limits tiny;
  tiny.max_photo_bytes = 100;
  CHECK(FirstCode(with_files({{"fotos[]", "a.jpg", "", kJpeg}}, tiny)) == "photo_too_large");
  // An empty file input is what a browser sends when no photo was chosen.
  auto none = with_files({{"fotos[]", "", "application/octet-stream", ""}});
  REQUIRE(none.intake);
  CHECK(none.intake->photos.empty());
}

TEST_CASE(
    "photos whose metadata cannot be removed are refused with a German message naming the "
    "format") {
  std::string tiff("MM\0*\0\0\0\x08", 8);
  tiff.resize(64, '\0');
  std::vector<UploadedFile> parts = {{"beschreibung", "", "", "Müll"},
                                     {"fotos[]", "scan.tif", "image/tiff", tiff}};
  auto sub = FromParts(parts);
  REQUIRE(sub.ok());
  auto v = Validate(*sub, Limits{}, ExampleConfig());
  REQUIRE_FALSE(v.intake);
  REQUIRE(v.errors.size() == 1);
  CHECK(v.errors[0].field == "photos");
  CHECK(v.errors[0].code.name() == "unsupported_photo_type");
  CHECK_THAT(v.errors[0].message, Catch::Contains("\"scan.tif\""));
  CHECK_THAT(v.errors[0].message, Catch::Contains("dem Format TIFF"));
  CHECK_THAT(v.errors[0].message, Catch::Contains("JPEG, PNG, HEIC, WebP oder GIF"));

  // What StripPhoto refuses later (core/photo) gets a message per reason.
  auto too_large = PhotoRefused(MakeError(errors::kPhotoTooLarge, "x"), "gross.jpg", {});
  CHECK(too_large.field == "photos");
  CHECK(too_large.code.name() == "photo_too_large");
  CHECK_THAT(too_large.message, Catch::Contains("50 Megapixel"));
  CHECK_THAT(PhotoRefused(MakeError(errors::kInvalidPhoto, "x"), "", {}).message,
             Catch::StartsWith("Datei ist beschädigt"));
  CHECK_THAT(PhotoRefused(MakeError(errors::kUnsupportedPhotoType, "x"), "a.psd", {}).message,
             Catch::Contains("diesem Format"));
}

TEST_CASE("broken or unexpected multipart parts are refused") {
  CHECK(FromParts({{"bogus", "", "", "x"}}).error().code.name() == "unknown_field");
  CHECK(FromParts({{"beschreibung", "", "", "a"}, {"beschreibung", "", "", "b"}})
            .error()
            .code.name() == "duplicate_field");
  // Named as the form names it, not by our internal name.
  CHECK(FromParts({{"beschreibung", "", "", "a"}, {"beschreibung", "", "", "b"}}).error().message ==
        "Das Feld \"beschreibung\" kommt mehrfach vor.");
  CHECK(FromJson(R"({"description":"a","beschreibung":"b"})").error().message ==
        "Das Feld \"beschreibung\" kommt mehrfach vor.");
  CHECK(FromParts({{"beschreibung", "x.txt", "text/plain", "a"}}).error().code.name() ==
        "unknown_file_field");
}

TEST_CASE("the url-encoded vector is decoded") {
  auto sub = FromUrlEncoded(ReadVector("webform/03-urlencoded-no-photo.txt"));
  REQUIRE(sub.ok());
  CHECK(sub->fields.at("description") ==
        "Laterne vor Hausnummer 7 brennt nicht (Nr. 0815 am Mast).");
  CHECK(sub->fields.at("address") == "Lindenstraße 7");
  auto v = Validate(*sub, Limits{}, ExampleConfig());
  REQUIRE(v.intake);
  CHECK(v.intake->report.reporter.ack_channel == "none");
  CHECK(v.intake->report.category == "BEL-01");
}

TEST_CASE("a form's coordinates are read as people write decimal numbers, and nothing else") {
  auto place = [](const std::string& lat, const std::string& lon) {
    auto sub = FromUrlEncoded("beschreibung=Loch&lat=" + lat + "&lon=" + lon);
    REQUIRE(sub.ok());
    return Validate(*sub, Limits{}, ExampleConfig());
  };
  struct Case {
    std::string lat, lon;
    double want_lat, want_lon;
  };
  for (const Case& c : std::vector<Case>{{"50.9381", "6.9584", 50.9381, 6.9584},
                                         {"50%2C9381", "6%2C9584", 50.9381, 6.9584},  // comma
                                         {"%2B50.5", "-0.25", 50.5, -0.25},           // a plus sign
                                         {"+%2050.5+", "7", 50.5, 7},  // blanks around
                                         {"5.05e1", "-.5", 50.5, -0.5},
                                         {"-90", "180", -90, 180}}) {
    INFO(c.lat << " " << c.lon);
    auto v = place(c.lat, c.lon);
    REQUIRE(v.intake);
    CHECK(*v.intake->report.location.lat == Approx(c.want_lat));
    CHECK(*v.intake->report.location.lon == Approx(c.want_lon));
  }
  for (const std::string& bad :
       std::vector<std::string>{"50.9abc", "0x32", "%2B-50", "%2B", "-", "50.9.1", "nan", "inf",
                                "1e999", "50%2C9%2C1", "5%2B0", std::string(33, '5')}) {
    INFO(bad);
    CHECK(FirstCode(place(bad, "6.9")) == "coordinates_invalid");
  }
  CHECK(FirstCode(place("90.5", "6.9")) == "coordinates_out_of_range");
}

TEST_CASE("control characters are refused, NUL above all") {
  CHECK(FirstCode(ValidateJson(R"({"description":"Loch\u0000im Weg"})")) == "control_characters");
  CHECK(FirstCode(ValidateJson(R"({"description":"a","address":"Weg\u001b[31m"})")) ==
        "control_characters");
  CHECK(ValidateJson(R"({"description":"Zeile 1\r\nZeile 2\tTab"})").intake);
  auto sub = FromUrlEncoded("beschreibung=a%00b");
  REQUIRE(sub.ok());
  CHECK(FirstCode(Validate(*sub, Limits{}, ExampleConfig())) == "control_characters");
}

TEST_CASE("broken url-encoded bodies are refused") {
  CHECK(FromUrlEncoded("beschreibung=%ZZ").error().code.name() == "form_invalid");
  CHECK(FromUrlEncoded("beschreibung=%4").error().code.name() == "form_invalid");
  CHECK(FromUrlEncoded("x=1").error().code.name() == "unknown_field");
  auto sub = FromUrlEncoded("beschreibung=%FF%FE");
  REQUIRE(sub.ok());
  CHECK(FirstCode(Validate(*sub, Limits{}, ExampleConfig())) == "invalid_utf8");
  CHECK(FromUrlEncoded("").ok());
}

TEST_CASE("form tokens are signed, timed and carry a nonce") {
  const std::string secret = "test-secret";
  std::string token = IssueFormTokenAt(secret, 1000, "abc123");
  auto ok = VerifyFormToken(token, secret, 1010, 3, 7200);
  CHECK(ok.verdict == TokenVerdict::kValid);
  CHECK(ok.nonce == "abc123");
  CHECK(VerifyFormToken(token, secret, 1001, 3, 7200).verdict == TokenVerdict::kTooFast);
  CHECK(VerifyFormToken(token, secret, 1000 + 7201, 3, 7200).verdict == TokenVerdict::kExpired);
  CHECK(VerifyFormToken(token, "other", 1010, 3, 7200).verdict == TokenVerdict::kBadSignature);
  std::string forged = IssueFormTokenAt(secret, 1000, "abc123");
  forged[0] = '9';  // change the time, keep the MAC
  CHECK(VerifyFormToken(forged, secret, 9000, 3, 7200).verdict == TokenVerdict::kBadSignature);
  CHECK(VerifyFormToken("", secret, 1010, 3, 7200).verdict == TokenVerdict::kMalformed);
  CHECK(VerifyFormToken("1741600000.8f2c1a9e", secret, 1741600010, 3, 7200).verdict ==
        TokenVerdict::kMalformed);
  CHECK(IssueFormToken(secret, 5) != IssueFormToken(secret, 5));
}

}  // namespace intake_test
