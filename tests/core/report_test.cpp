#include "core/report.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/envelope.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace report_test {

using namespace meldestelle;
using nlohmann::json;

namespace {
Report Sample() {
  Report r;
  r.id = "4b7f2c1e-0d9a-4c3b-8e5f-1a2b3c4d5e6f";
  r.reference = "4KQ7XRT2WNPA";
  r.channel = "webform";
  r.channel_message_id = "nonce-1";
  r.received_at = "2026-11-27T13:06:28.123Z";
  r.reporter = {"j.mueller@example.net", "Jana Müller", "email", "j.mueller@example.net", "de"};
  r.text = "Schlagloch auf der Fahrbahn – gefährlich!";
  r.category = "STR-01";
  r.location.lat = 50.937531;
  r.location.lon = 6.960279;
  r.location.accuracy_m = 12;
  r.location.source = LocationSource::kDevice;
  r.location.address = "Mühlenweg 12";
  r.attachments.push_back({std::string(64, 'a'), "image/jpeg", 334, "Straße_Mühlenweg.jpg"});
  r.raw_ref = "sha256:" + std::string(64, 'b');
  return r;
}
}  // namespace

TEST_CASE("a report survives a round trip through JSON") {
  Report r = Sample();
  json j = ReportToJson(r);
  CHECK(j["schema_version"] == kReportSchemaVersion);
  CHECK(j["location"]["source"] == "device");
  auto back = ReportFromJson(j);
  REQUIRE(back.ok());
  CHECK(ReportToJson(*back) == j);
  // "Ich auch": the ticket it joins, written only when set.
  CHECK_FALSE(j.contains("same_as"));
  r.same_as = "2SAJASNAS2EE";
  json joined = ReportToJson(r);
  CHECK(joined["same_as"] == "2SAJASNAS2EE");
  auto again = ReportFromJson(joined);
  REQUIRE(again.ok());
  CHECK(again->same_as == "2SAJASNAS2EE");
}

TEST_CASE("report JSON with a wrong shape is rejected with a reason") {
  json good = ReportToJson(Sample());
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;
    const char* code;
  };
  std::vector<Case> cases = {
      {"not an object", [](json& j) { j = json::array(); }, "schema_invalid"},
      {"missing version", [](json& j) { j.erase("schema_version"); }, "schema_invalid"},
      {"future version", [](json& j) { j["schema_version"] = 99; }, "schema_version_unsupported"},
      {"id missing", [](json& j) { j.erase("id"); }, "schema_invalid"},
      {"text a number", [](json& j) { j["text"] = 5; }, "schema_invalid"},
      {"lat without lon", [](json& j) { j["location"]["lon"] = nullptr; }, "schema_invalid"},
      {"lat out of range", [](json& j) { j["location"]["lat"] = 91.0; }, "schema_invalid"},
      {"lon out of range", [](json& j) { j["location"]["lon"] = -180.5; }, "schema_invalid"},
      {"bad source", [](json& j) { j["location"]["source"] = "gps"; }, "schema_invalid"},
      {"bad digest", [](json& j) { j["attachments"][0]["sha256"] = "xyz"; }, "schema_invalid"},
      {"negative size", [](json& j) { j["attachments"][0]["size"] = -1; }, "schema_invalid"},
      {"empty channel", [](json& j) { j["channel"] = ""; }, "schema_invalid"},
      {"reporter a string", [](json& j) { j["reporter"] = "x"; }, "schema_invalid"},
      {"same_as a number", [](json& j) { j["same_as"] = 7; }, "schema_invalid"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    json j = good;
    c.mutate(j);
    auto r = ReportFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code.name() == c.code);
  }
}

TEST_CASE("a schema_version other than 1 is refused whole, however large or of whatever type") {
  json good = ReportToJson(Sample());
  struct Case {
    json version;
    const char* code;
  };
  // 4294967297 is 2^32 + 1: read as an int it was 1.
  std::vector<Case> cases = {
      {json(4294967297LL), "schema_version_unsupported"},
      {json(static_cast<uint64_t>(18446744073709551615ULL)), "schema_version_unsupported"},
      {json(-1), "schema_version_unsupported"},
      {json(-4294967295LL), "schema_version_unsupported"},
      {json(1.0), "schema_invalid"},
      {json(1.5), "schema_invalid"},
      {json("1"), "schema_invalid"},
      {json(true), "schema_invalid"},
  };
  for (const auto& c : cases) {
    INFO(c.version.dump());
    json j = good;
    j["schema_version"] = c.version;
    auto r = ReportFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code.name() == c.code);
  }
  auto decoded = DecodeEnvelope(json{
      {"report", [&] {
         json j = good;
         j["schema_version"] = 4294967297LL;
         return j;
       }()}}.dump());
  REQUIRE_FALSE(decoded.ok());
  CHECK_THAT(decoded.error().message,
             Catch::Contains("schema_version_unsupported: schema_version 4294967297"));
}

TEST_CASE(
    "what the ticket table would refuse is refused when the report is read, naming the field") {
  json good = ReportToJson(Sample());
  REQUIRE(ReportFromJson(good).ok());
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;
    const char* field;  // named in the message
  };
  std::vector<Case> cases = {
      {"id not a UUID", [](json& j) { j["id"] = "not-a-uuid"; }, "id"},
      {"id a UUID too long", [](json& j) { j["id"] = j["id"].get<std::string>() + "0"; }, "id"},
      {"id with a brace", [](json& j) { j["id"] = "{4b7f2c1e-0d9a-4c3b-8e5f-1a2b3c4d5e6f}"; },
       "id"},
      {"received_at garbage", [](json& j) { j["received_at"] = "garbage"; }, "received_at"},
      {"received_at 31 February", [](json& j) { j["received_at"] = "2026-02-31T10:00:00.000Z"; },
       "received_at"},
      {"received_at 29 February of no leap year",
       [](json& j) { j["received_at"] = "2026-02-29T10:00:00Z"; }, "received_at"},
      {"received_at hour 24", [](json& j) { j["received_at"] = "2026-11-27T24:00:00.000Z"; },
       "received_at"},
      {"received_at year 0", [](json& j) { j["received_at"] = "0000-11-27T10:00:00.000Z"; },
       "received_at"},
      {"received_at without zone", [](json& j) { j["received_at"] = "2026-11-27T10:00:00.000"; },
       "received_at"},
      {"received_at with a trailing byte",
       [](json& j) { j["received_at"] = "2026-11-27T10:00:00.000Zx"; }, "received_at"},
      {"text with U+0000", [](json& j) { j["text"] = std::string("Loch\0im Weg", 11); }, "text"},
      {"name with U+0000", [](json& j) { j["reporter"]["name"] = std::string("A\0", 2); },
       "reporter.name"},
      {"address with U+0000", [](json& j) { j["location"]["address"] = std::string("\0", 1); },
       "location.address"},
      {"attribute value with U+0000",
       [](json& j) {
         j["attributes"] = json::array(
             {{{"code", "c"}, {"name", ""}, {"values", json::array({std::string("\0", 1)})}}});
       },
       "attributes[].values[]"},
      {"reference with U+0000", [](json& j) { j["reference"] = std::string("2SAJ\0", 5); },
       "reference"},
      {"category with U+0000", [](json& j) { j["category"] = std::string("STR\0", 4); },
       "category"},
      {"language unknown", [](json& j) { j["reporter"]["language"] = "xx-evil"; },
       "reporter.language"},
      {"language with a control", [](json& j) { j["reporter"]["language"] = "d\te"; },
       "reporter.language"},
      {"ack channel with U+0000",
       [](json& j) { j["reporter"]["ack"]["channel"] = std::string("e\0", 2); },
       "reporter.ack.channel"},
      {"filename with a path",
       [](json& j) { j["attachments"][0]["filename"] = "../../etc/passwd"; },
       "attachments[].filename"},
      {"filename with a backslash",
       [](json& j) { j["attachments"][0]["filename"] = "C:\\Users\\x.jpg"; },
       "attachments[].filename"},
      {"filename ..", [](json& j) { j["attachments"][0]["filename"] = ".."; },
       "attachments[].filename"},
      {"filename with U+0000",
       [](json& j) { j["attachments"][0]["filename"] = std::string("a\0.jpg", 6); },
       "attachments[].filename"},
      {"sha256 in capitals", [](json& j) { j["attachments"][0]["sha256"] = std::string(64, 'A'); },
       "attachments[].sha256"},
      {"sha256 too short", [](json& j) { j["attachments"][0]["sha256"] = std::string(63, 'a'); },
       "attachments[].sha256"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    json j = good;
    c.mutate(j);
    auto r = ReportFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code.name() == "schema_invalid");
    CHECK_THAT(r.error().message, Catch::StartsWith(c.field));
  }
}

TEST_CASE("the forms every writer of a report uses are still read") {
  json j = ReportToJson(Sample());
  for (const char* at :
       {"2026-11-27T13:06:28.123Z", "2026-11-27T13:06:28Z", "2028-02-29T00:00:00.5Z",
        "2026-11-27T14:06:28.123+01:00", "2026-11-27T13:06:28.123456789Z"}) {
    INFO(at);
    j["received_at"] = at;
    CHECK(ReportFromJson(j).ok());
  }
  j["received_at"] = "2026-11-27T13:06:28.123Z";
  j["id"] = "4B7F2C1E-0D9A-4C3B-8E5F-1A2B3C4D5E6F";
  CHECK(ReportFromJson(j).ok());
  // What the gateway takes and a 2xx answered: a tab in an Idempotency-Key, a C1 character in a
  // photo's name. Dead-lettering them would lose an accepted report.
  j["channel_message_id"] = "app-key\twith a tab";
  CHECK(ReportFromJson(j).ok());
  // The catalogues' languages, a chat's bare language code, none.
  for (const char* language : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls", "fr", "fil", ""}) {
    INFO(language);
    j["reporter"]["language"] = language;
    CHECK(ReportFromJson(j).ok());
  }
  // A text keeps its tabs and line breaks; a file name its spaces and umlauts.
  j["text"] = "Zeile 1\r\n\tZeile 2";
  j["attachments"][0]["filename"] = "Foto vom Mühlenweg.jpg";
  CHECK(ReportFromJson(j).ok());
}

TEST_CASE("report text must be valid UTF-8") {
  json j = ReportToJson(Sample());
  j["text"] = std::string("caf\xC3", 4);  // nlohmann stores bytes as given
  auto r = ReportFromJson(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("UTF-8") != std::string::npos);
}

TEST_CASE("an envelope carries the report and the raw payload byte for byte") {
  Envelope e{Sample(), {"application/octet-stream", std::string("\x00\xFF\r\nraw", 7)}, ""};
  auto back = DecodeEnvelope(EncodeEnvelope(e));
  REQUIRE(back.ok());
  CHECK(back->raw.body == e.raw.body);
  CHECK(back->raw.content_type == e.raw.content_type);
  CHECK(back->report.reference == e.report.reference);
}

TEST_CASE("a UTF-8 raw payload travels as text, other bytes as base64, and both are read") {
  const std::string text = "{\"description\": \"Straße \\\"gesperrt\\\"\\n\x01 🚧\"}";
  Envelope e{Sample(), {"application/json", text}, ""};
  std::string encoded = EncodeEnvelope(e);
  json j = json::parse(encoded);
  CHECK(j["raw"]["body"] == text);
  CHECK_FALSE(j["raw"].contains("body_base64"));
  auto back = DecodeEnvelope(encoded);
  REQUIRE(back.ok());
  CHECK(back->raw.body == text);
  // Latin-1 is not UTF-8: base64.
  e.raw.body = "M\xFChlenweg";
  j = json::parse(EncodeEnvelope(e));
  CHECK(j["raw"]["body_base64"] == Base64Encode(e.raw.body));
  CHECK_FALSE(j["raw"].contains("body"));
  // A message written before raw text (body_base64 for every payload) is still read.
  j = json{{"report", ReportToJson(Sample())},
           {"raw", {{"content_type", "application/json"}, {"body_base64", Base64Encode(text)}}}};
  back = DecodeEnvelope(j.dump());
  REQUIRE(back.ok());
  CHECK(back->raw.body == text);
}

TEST_CASE("broken envelopes are recognised") {
  CHECK_FALSE(DecodeEnvelope("").ok());
  CHECK_FALSE(DecodeEnvelope("{").ok());
  CHECK_FALSE(DecodeEnvelope("[]").ok());
  CHECK_FALSE(DecodeEnvelope(R"({"raw":{}})").ok());
  CHECK_FALSE(DecodeEnvelope(R"({"report":{"schema_version":1}})").ok());
  json j{{"report", ReportToJson(Sample())},
         {"raw", {{"content_type", "x"}, {"body_base64", "***"}}}};
  CHECK_FALSE(DecodeEnvelope(j.dump()).ok());
  // Both forms of the body, or a body that is not a string.
  j["raw"] = {{"content_type", "x"}, {"body_base64", "eA=="}, {"body", "x"}};
  CHECK_FALSE(DecodeEnvelope(j.dump()).ok());
  j["raw"] = {{"content_type", "x"}, {"body", 12}};
  CHECK_FALSE(DecodeEnvelope(j.dump()).ok());
  j["raw"] = {{"content_type", "x"}};
  CHECK_FALSE(DecodeEnvelope(j.dump()).ok());
}

TEST_CASE("a report's text given by its place in the raw payload travels once and is read back") {
  Report r = Sample();
  r.text = "Straße \"7\" ist gesperrt 🚧 \\ Ende";
  // Where the gateway finds it: an app's JSON, and the multipart summary's entry.
  const std::vector<std::pair<RawPayload, std::string>> cases{
      {{"application/json", R"({"lat":50.9,"description":"Stra\u00dfe \"7\" ist gesperrt )"
                            R"(\ud83d\udea7 \\ Ende"})"},
       "/description"},
      {{"application/vnd.meldestelle.multipart-summary+json",
        json::array({{{"name", "fotos[]"}, {"size", 3}, {"filename", "a.jpg"}},
                     {{"name", "beschreibung"}, {"size", 40}, {"value", r.text}}})
            .dump()},
       "/1/value"},
  };
  for (const auto& [raw, pointer] : cases) {
    INFO(raw.body);
    std::string encoded = EncodeEnvelope(r, raw, "", pointer);
    json j = json::parse(encoded);
    CHECK(j["report"]["text"] == json{{"in_raw", pointer}});
    CHECK(encoded.find("gesperrt") == encoded.rfind("gesperrt"));  // once
    auto back = DecodeEnvelope(encoded);
    REQUIRE(back.ok());
    CHECK(back->report.text == r.text);
    CHECK(back->raw.body == raw.body);
    // Written again (dead letters, tools): whole, and the same report.
    auto again = DecodeEnvelope(EncodeEnvelope(*back));
    REQUIRE(again.ok());
    CHECK(json::parse(EncodeEnvelope(*again))["report"]["text"] == r.text);
  }
  // Also from a raw payload that travelled as base64, and after a byte order mark.
  json j = json::parse(EncodeEnvelope(r, cases[0].first, "", "/description"));
  j["raw"] = {{"content_type", "application/json"},
              {"body_base64", Base64Encode("\xEF\xBB\xBF" + cases[0].first.body)}};
  auto back = DecodeEnvelope(j.dump());
  REQUIRE(back.ok());
  CHECK(back->report.text == r.text);
  // A name with the pointer's own characters.
  CHECK(JsonPointerStep("a/b~c") == "/a~1b~0c");
  auto odd = TextInRaw(R"({"a/b~c":"x","a":{"b~c":"y"}})", JsonPointerStep("a/b~c"));
  REQUIRE(odd.ok());
  CHECK(*odd == "x");
}

TEST_CASE("a text given by a place the raw payload does not hold is refused, not read as empty") {
  Report r = Sample();
  RawPayload raw{"application/json", R"({"description":"Laterne","lat":50.9,"n":null})"};
  json good = json::parse(EncodeEnvelope(r, raw, "", "/description"));
  REQUIRE(DecodeEnvelope(good.dump()).ok());
  struct Case {
    const char* what;
    json text;        // the report's "text"
    std::string raw;  // the raw body ("-": no raw payload at all)
  };
  const std::vector<Case> cases{
      {"no such member", {{"in_raw", "/beschreibung"}}, raw.body},
      {"a number", {{"in_raw", "/lat"}}, raw.body},
      {"null", {{"in_raw", "/n"}}, raw.body},
      {"the whole document", {{"in_raw", ""}}, raw.body},
      {"not a pointer", {{"in_raw", "description"}}, raw.body},
      {"a broken pointer", {{"in_raw", "/~2"}}, raw.body},
      {"not a string", {{"in_raw", 1}}, raw.body},
      {"more than the place", {{"in_raw", "/description"}, {"x", 1}}, raw.body},
      {"an empty object", json::object(), raw.body},
      {"a raw payload that is not JSON", {{"in_raw", "/description"}}, "description=Laterne"},
      {"broken JSON", {{"in_raw", "/description"}}, R"({"description":"Laterne")"},
      {"a lone surrogate", {{"in_raw", "/description"}}, R"({"description":"\ud800"})"},
      {"no raw payload", {{"in_raw", "/description"}}, "-"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    json j = good;
    j["report"]["text"] = c.text;
    if (c.raw == "-")
      j.erase("raw");
    else
      j["raw"]["body"] = c.raw;
    auto decoded = DecodeEnvelope(j.dump());
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code.name() == "envelope_invalid");
  }
  // Bytes that are not UTF-8 in the raw payload's string.
  json j = good;
  j["raw"] = {{"content_type", "application/json"},
              {"body_base64", Base64Encode("{\"description\":\"M\xFCll\"}")}};
  CHECK_FALSE(DecodeEnvelope(j.dump()).ok());
}

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds") {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1741600000123));
  CHECK(FormatTimestamp(t) == "2025-03-10T09:46:40.123Z");
}

TEST_CASE("timestamps agree with gmtime_r across days, leap years and centuries") {
  // The calendar arithmetic against the C library, at instants spread over 1970 to 2200 (the
  // leap day of 2000, 2100 without one) and at the edges of a day. system_clock counts
  // nanoseconds in 64 bits: it ends in 2262.
  std::vector<int64_t> instants{
      0, 951782399999, 951782400000, 951868799999, 4107542399999, 4107542400000, 7258118399999};
  for (int64_t ms = 0; ms < 7258118400000; ms += 98765432101)
    instants.push_back(ms);
  for (int64_t ms : instants) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    INFO(ms);
    CHECK(FormatTimestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))) ==
          want);
  }
}

TEST_CASE(
    "the queue's form leaves out the members at their default and reads back as the same "
    "report") {
  std::vector<Report> samples;
  samples.push_back(Sample());
  Report anonymous;  // the app API's report without contact, photo or address
  anonymous.id = "72d5b994-ad24-4c76-8d3d-e150b4ca4e01";
  anonymous.reference = "M-2026-000042";
  anonymous.channel = "app";
  anonymous.channel_message_id = anonymous.id;
  anonymous.received_at = "2026-12-06T10:00:00.000Z";
  anonymous.text = "Schlagloch";
  anonymous.category = "STR-01";
  anonymous.location.lat = 50.94;
  anonymous.location.lon = 6.96;
  anonymous.location.source = LocationSource::kDevice;
  samples.push_back(anonymous);
  Report bare = anonymous;  // no place, no category
  bare.location = {};
  bare.category.clear();
  samples.push_back(bare);
  Report partial = anonymous;  // each member of reporter and location alone
  partial.location = {};
  partial.location.address = "Mühlenweg 12";
  partial.location.source = LocationSource::kAddress;
  partial.reporter.ack_channel = "none";
  partial.reporter.language = "en";
  partial.attributes.push_back({"tiefe", "Wie tief?", {"10 cm"}});
  partial.same_as = "2SAJASNAS2EE";
  samples.push_back(partial);
  Report empty_language = bare;  // "" is not the default "de": kept
  empty_language.reporter.language.clear();
  empty_language.reporter.ack_address = "+4915112345678";
  empty_language.location.accuracy_m = 30;
  samples.push_back(empty_language);
  for (const Report& r : samples) {
    std::string queue, stored;
    AppendReportJson(queue, r, ReportJsonForm::kQueue);
    AppendReportJson(stored, r);
    INFO(queue);
    json j = json::parse(queue);
    auto back = ReportFromJson(j);
    REQUIRE(back.ok());
    std::string again;
    AppendReportJson(again, *back);
    CHECK(again == stored);  // every member as it was
    CHECK(queue.size() <= stored.size());
    // The envelope carries the queue's form, with the text in the raw payload or not.
    for (std::string_view pointer : {"", "/description"}) {
      RawPayload raw{"application/json", json{{"description", r.text}}.dump(), true};
      auto decoded = DecodeEnvelope(EncodeEnvelope(r, raw, "", pointer));
      REQUIRE(decoded.ok());
      decoded->report.raw_ref = r.raw_ref;  // named by the decoder when the gateway did not
      std::string from_envelope;
      AppendReportJson(from_envelope, decoded->report);
      CHECK(from_envelope == stored);
    }
  }
  // What is left out: the anonymous report has no reporter, attachments, raw_ref, no empty
  // address and no unknown accuracy.
  std::string queue;
  AppendReportJson(queue, anonymous, ReportJsonForm::kQueue);
  CHECK(queue ==
        "{\"category\":\"STR-01\",\"channel\":\"app\",\"channel_message_id\":"
        "\"72d5b994-ad24-4c76-8d3d-e150b4ca4e01\",\"id\":\"72d5b994-ad24-4c76-8d3d-e150b4ca4e01\","
        "\"location\":{\"lat\":50.94,\"lon\":6.96,\"source\":\"device\"},\"received_at\":"
        "\"2026-12-06T10:00:00.000Z\",\"reference\":\"M-2026-000042\",\"schema_version\":1,"
        "\"text\":\"Schlagloch\"}");
  // The stored form keeps every member (SQL reads them: tickets.report).
  std::string stored;
  AppendReportJson(stored, bare);
  json all = json::parse(stored);
  CHECK(all["location"]["lat"].is_null());
  CHECK(all["reporter"]["ack"]["channel"] == "");
  CHECK(all["attachments"].is_array());
  CHECK(all["category"].is_null());
}

TEST_CASE("a report from the gateway without raw_ref is named by its raw payload's digest") {
  // The gateway hashes the raw payload only when a dedup key needs it; the decoded envelope
  // always names it, and one that came named keeps its name.
  Report r = Sample();
  r.raw_ref.clear();
  RawPayload raw{"application/json", "{\"description\":\"Schlagloch\"}"};
  auto decoded = DecodeEnvelope(EncodeEnvelope(r, raw, ""));
  REQUIRE(decoded.ok());
  CHECK(decoded->report.raw_ref == "sha256:" + Sha256Hex(raw.body));
  CHECK(decoded->report.raw_ref.size() == 7 + 64);
  r.raw_ref = "sha256:" + std::string(64, 'c');
  decoded = DecodeEnvelope(EncodeEnvelope(r, raw, ""));
  REQUIRE(decoded.ok());
  CHECK(decoded->report.raw_ref == r.raw_ref);
}

TEST_CASE("the report writer escapes text and survives a round trip") {
  std::vector<Report> samples;
  samples.push_back(Sample());
  Report odd = Sample();
  odd.text = std::string("Quote \" backslash \\ tab \t newline \n ctrl \x01\x1f end ü 🚧");
  odd.category.clear();
  odd.location.lat = -0.000001234;
  odd.location.lon = 179.99999999999997;
  odd.location.accuracy_m.reset();
  odd.attachments.push_back({std::string(64, 'c'), "image/png", 0, "a\"b.png"});
  samples.push_back(odd);
  for (const auto& r : samples) {
    std::string text;
    AppendReportJson(text, r);
    json j = json::parse(text);  // valid JSON
    CHECK(j["text"] == r.text);
    auto back = ReportFromJson(j);
    REQUIRE(back.ok());
    CHECK(back->location.lat == r.location.lat);  // exact, not approximately
    CHECK(back->location.lon == r.location.lon);
    CHECK(back->attachments.size() == r.attachments.size());
    std::string again;
    AppendReportJson(again, *back);
    CHECK(again == text);
  }
  std::string empty;
  AppendReportJson(empty, Report{});
  CHECK(json::parse(empty)["location"]["lat"].is_null());
}

}  // namespace report_test
