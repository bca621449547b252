#include "channels/open311/open311.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "channels/builtin.hpp"
#include "channels/open311/settings.hpp"
#include "vector_files.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace open311_test {

using namespace meldestelle;
using namespace meldestelle::open311;
using ojson = nlohmann::ordered_json;

namespace {

// The example configuration with the vectors' api key and jurisdiction.
const Config& TestConfig() {
  static const Config cfg = [] {
    auto c = LoadConfig(
        std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml",
        channels::BuiltinChannels().ConfigSections(), /*ignore_other_keys=*/true);
    REQUIRE(c.ok());
    Config out = std::move(c).value();
    out.Set<open311::Settings>().api_keys = {{"default", "test-api-key-123"}};
    out.Set<open311::Settings>().jurisdiction_id = "musterstadt.example";
    return out;
  }();
  return cfg;
}

std::string V(const std::string& name) { return vector_files::Read("open311/" + name); }

// The body of an HTTP answer transcript (after the blank line).
std::string HttpBody(const std::string& text) {
  size_t at = text.find("\n\n");
  if (at == std::string::npos)
    at = text.find("\r\n\r\n");
  REQUIRE(at != std::string::npos);
  return text.substr(at + 2);
}

int HttpStatus(const std::string& text) { return std::stoi(text.substr(9, 3)); }

std::string Decoded(const Form& form, const std::string& name) {
  for (const auto& [k, v] : form)
    if (k == name)
      return v;
  return "(absent)";
}

PostParse Parse(const std::string& body) {
  auto form = ParseForm(body);
  REQUIRE(form.ok());
  return ParseRequest(*form, TestConfig());
}

std::set<std::string> Codes(const Failure& f) {
  std::set<std::string> out;
  for (const auto& e : f.errors)
    out.insert(e.code);
  return out;
}

}  // namespace

TEST_CASE("open311 vectors: the POST body (01) decodes to the expected fields") {
  auto http = vector_files::ReadHeaders("open311/01-post-request.headers");
  std::string body = V("01-post-request.txt");
  CHECK(std::to_string(body.size()) == http.Header("content-length"));
  auto form = ParseBody(http.Header("content-type"), body);
  REQUIRE(form.ok());
  auto expected = vector_files::Expected("open311", "01-post-request").at("decoded");
  for (const auto& [name, value] : expected.items()) {
    if (value.is_array()) {
      std::vector<std::string> got;
      for (const auto& [k, v] : *form)
        if (k == name)
          got.push_back(v);
      CHECK(got == value.get<std::vector<std::string>>());
    } else {
      CHECK(Decoded(*form, name) == value.get<std::string>());
    }
  }
  // The request line's path selects JSON.
  CHECK(http.request_line.find("/open311/v2/requests.json") != std::string::npos);
  CHECK(SplitFormat("requests.json").format == Format::kJson);
}

TEST_CASE("open311 vectors: the POST (01) validates into the report and answers as 02") {
  auto p = Parse(V("01-post-request.txt"));
  REQUIRE(p.request);
  const auto& r = *p.request;
  CHECK(ClientForKey(TestConfig(), r.api_key) == std::optional<std::string>("default"));
  CHECK(r.jurisdiction_id == "musterstadt.example");
  CHECK(r.media_urls ==
        std::vector<std::string>{"https://meldungen.stadt.example/media/7c1e2b3d/gehweg.jpg"});
  const Report& rep = r.intake.report;
  CHECK(rep.category == "STR-01");
  CHECK(rep.text ==
        "Gehwegplatte angehoben (ca. 5 cm Kante), Stolpergefahr für Fußgänger.\r\nGegenüber der "
        "Bäckerei.");
  REQUIRE(rep.location.lat);
  CHECK(*rep.location.lat == Approx(50.937531));
  CHECK(*rep.location.lon == Approx(6.960279));
  CHECK(rep.location.source == LocationSource::kDevice);
  CHECK(rep.location.address == "Mühlenweg 12, 12345 Musterstadt");
  CHECK(rep.reporter.name == "Jürgen Müller");
  CHECK(rep.reporter.ack_channel == "email");
  CHECK(rep.reporter.ack_address == "j.mueller@example.net");
  CHECK(r.intake.photos.empty());

  auto expected = vector_files::Expected("open311", "01-post-request");
  auto want = ojson::parse(V(expected.at("expected_response").get<std::string>()));
  Created c{want[0]["service_request_id"], "", want[0]["service_notice"], ""};
  CHECK(ojson::parse(RenderCreated(c, Format::kJson)) == want);
}

TEST_CASE("open311 vectors: batch token (03) and its lookup (03b)") {
  CHECK(ojson::parse(RenderCreated({"", "12345", "", ""}, Format::kJson)) ==
        ojson::parse(V("03-post-response-batch-token.json")));
  CHECK(ojson::parse(RenderToken({"M-2025-004715", "12345"}, Format::kJson)) ==
        ojson::parse(V("03b-get-token-response.json")));
}

TEST_CASE("open311 vectors: a wrong api key (04) is 403 in the spec's error format") {
  std::string text = V("04-error-403-invalid-api-key.txt");
  CHECK(HttpStatus(text) == vector_files::Expected("open311", "04-error-403-invalid-api-key")
                                .at("http_status")
                                .get<int>());
  CHECK_FALSE(ClientForKey(TestConfig(), "wrong-key"));
  CHECK_FALSE(ClientForKey(TestConfig(), ""));
  CHECK_FALSE(ClientForKey(TestConfig(), "test-api-key-12"));
  Failure f = InvalidApiKey();
  CHECK(f.http_status == 403);
  CHECK(nlohmann::json::parse(RenderErrors(f.errors, Format::kJson)) ==
        nlohmann::json::parse(HttpBody(text)));
  CHECK(text.find(ContentType(Format::kJson)) != std::string::npos);
}

TEST_CASE("open311 vectors: missing service_code and place (05) give both errors at once") {
  std::string text = V("05-error-400-multiple.txt");
  auto p = Parse("api_key=test-api-key-123&description=Loch");
  REQUIRE_FALSE(p.request);
  CHECK(p.failure.http_status ==
        vector_files::Expected("open311", "05-error-400-multiple").at("http_status").get<int>());
  CHECK(HttpStatus(text) == p.failure.http_status);
  CHECK(nlohmann::json::parse(RenderErrors(p.failure.errors, Format::kJson)) ==
        nlohmann::json::parse(HttpBody(text)));
}

TEST_CASE("open311 vectors: services (06) and a service definition (07) render as given") {
  auto want = ojson::parse(V("06-get-services-response.json"));
  std::vector<Service> services;
  for (const auto& s : want) {
    services.push_back({s["service_code"], s["service_name"], s["description"], s["metadata"],
                        s["type"], s["keywords"], s["group"]});
  }
  CHECK(ojson::parse(RenderServices(services, Format::kJson)) == want);

  auto def = ojson::parse(V("07-get-service-definition-STR-01.json"));
  ServiceDefinition d{def["service_code"], {}};
  for (const auto& a : def["attributes"]) {
    Attribute at{a["variable"],    a["code"], a["datatype"], a["required"], "", a["order"],
                 a["description"], {}};
    for (const auto& v : a["values"])
      at.values.push_back({v["key"], v["name"]});
    d.attributes.push_back(at);
  }
  CHECK(ojson::parse(RenderServiceDefinition(d, Format::kJson)) == def);
}

TEST_CASE("open311 vectors: a service request (08) renders field for field") {
  auto want = ojson::parse(V("08-get-request-by-id-response.json"));
  const auto& w = want[0];
  ServiceRequest r;
  r.service_request_id = w["service_request_id"].get<std::string>();
  r.status = w["status"].get<std::string>();
  r.service_name = w["service_name"].get<std::string>();
  r.service_code = w["service_code"].get<std::string>();
  r.description = w["description"].get<std::string>();
  r.agency_responsible = w["agency_responsible"].get<std::string>();
  r.service_notice = w["service_notice"].get<std::string>();
  r.requested_datetime = w["requested_datetime"].get<std::string>();
  r.updated_datetime = w["updated_datetime"].get<std::string>();
  r.expected_datetime = w["expected_datetime"].get<std::string>();
  r.address = w["address"].get<std::string>();
  r.zipcode = ZipcodeIn(r.address);
  r.lat = w["lat"].get<double>();
  r.lon = w["long"].get<double>();
  r.media_url = w["media_url"].get<std::string>();
  CHECK(ojson::parse(RenderRequests({r}, Format::kJson)) == want);
  CHECK(StatusOf("assigned") == "open");
  CHECK(StatusOf("in_progress") == "open");
  CHECK(StatusOf("handed_back") == "open");
  CHECK(StatusOf("done") == "closed");
  CHECK(StatusOf("rejected") == "closed");
}

TEST_CASE("open311 vectors: every file in the folder is used by a test above") {
  std::set<std::string> used = {"01-post-request.headers",
                                "01-post-request.txt",
                                "02-post-response-realtime.json",
                                "03-post-response-batch-token.json",
                                "03b-get-token-response.json",
                                "04-error-403-invalid-api-key.txt",
                                "05-error-400-multiple.txt",
                                "06-get-services-response.json",
                                "07-get-service-definition-STR-01.json",
                                "08-get-request-by-id-response.json",
                                "_expected.json"};
  CHECK(vector_files::List("open311") == used);
  std::set<std::string> cases;
  for (const auto& name : vector_files::ExpectedCases("open311"))
    cases.insert(name);
  CHECK(cases == std::set<std::string>{"01-post-request", "04-error-403-invalid-api-key",
                                       "05-error-400-multiple"});
}

TEST_CASE("open311: XML answers are escaped, with the declaration and item elements") {
  ServiceRequest r;
  r.service_request_id = "ABC";
  r.status = "open";
  r.description = "Müll <b>&</b> \"mehr\"";
  r.lat = 50.5;
  std::string xml = RenderRequests({r}, Format::kXml);
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>", 0) ==
        0);
  CHECK(xml.find("<description>Müll &lt;b&gt;&amp;&lt;/b&gt; &quot;mehr&quot;</description>") !=
        std::string::npos);
  CHECK(xml.find("<lat>50.5</lat><long></long>") != std::string::npos);
  CHECK(xml.find("<status_notes></status_notes>") != std::string::npos);
  std::string errors = RenderErrors({{"400", "a < b"}, {"LOCATION_MISSING", "x"}}, Format::kXml);
  CHECK(errors.find("<errors><error><code>400</code><description>a &lt; b</description></error>"
                    "<error><code>LOCATION_MISSING</code>") != std::string::npos);
  std::string services = RenderServices(ServicesFromConfig(TestConfig()), Format::kXml);
  CHECK(services.find("<services><service><service_code>STR-01</service_code>") !=
        std::string::npos);
  CHECK(services.find("<metadata>false</metadata>") != std::string::npos);
  std::string def = RenderServiceDefinition({"STR-01", {}}, Format::kXml);
  CHECK(def.find("<service_definition><service_code>STR-01</service_code><attributes></"
                 "attributes></service_definition>") != std::string::npos);
  std::string disc =
      RenderDiscovery({"2026-01-01T00:00:00Z", "c", "k", "http://x/open311/v2"}, Format::kXml);
  CHECK(disc.find("<formats><format>text/xml</format><format>application/json</format>") !=
        std::string::npos);
}

TEST_CASE("open311: services come from the configured categories") {
  auto services = ServicesFromConfig(TestConfig());
  REQUIRE(services.size() == TestConfig().categories.size());
  CHECK(services[0].code == "STR-01");
  CHECK(services[0].name == "Schlagloch");
  CHECK(services[0].group == "Straße und Verkehr");
  CHECK(services[0].keywords.rfind("schlagloch, loch in der straße", 0) == 0);
  CHECK_FALSE(services[0].metadata);
  CHECK(services[0].type == "realtime");
}

TEST_CASE("open311: the format comes from the suffix, else from Accept, else JSON") {
  CHECK(SplitFormat("services.xml").name == "services");
  CHECK(SplitFormat("services.xml").format == Format::kXml);
  CHECK(SplitFormat("services").format == Format::kJson);
  CHECK(SplitFormat("services", "text/xml").format == Format::kXml);
  CHECK(SplitFormat("services", "application/json, text/xml").format == Format::kJson);
  CHECK(SplitFormat("STR-01.json").name == "STR-01");
  CHECK(SplitFormat(".json").name == ".json");
}

TEST_CASE("open311: address string without coordinates is kept as the address") {
  auto p = Parse("service_code=BEL-01&address_string=Lindenstra%C3%9Fe+3");
  REQUIRE(p.request);
  const auto& loc = p.request->intake.report.location;
  CHECK_FALSE(loc.lat);
  CHECK(loc.source == LocationSource::kAddress);
  CHECK(loc.address == "Lindenstraße 3");
  CHECK(p.request->intake.report.text.empty());  // description is optional in Open311
  CHECK(p.request->intake.report.reporter.ack_channel == "none");
  auto id = Parse("service_code=BEL-01&address_id=4711");
  REQUIRE(id.request);
  CHECK(id.request->intake.report.location.address == "4711");
}

TEST_CASE("open311: broken POST input gets precise errors") {
  SECTION("unknown service code is 404") {
    auto p = Parse("service_code=XXX-99&lat=50.9&long=6.9");
    REQUIRE_FALSE(p.request);
    CHECK(p.failure.http_status == 404);
    CHECK(p.failure.errors.at(0).description == "service_code XXX-99 not found");
  }
  SECTION("another jurisdiction is 404") {
    auto p = Parse("service_code=STR-01&lat=50.9&long=6.9&jurisdiction_id=sfgov.org");
    REQUIRE_FALSE(p.request);
    CHECK(p.failure.http_status == 404);
  }
  SECTION("lat without long") {
    auto p = Parse("service_code=STR-01&lat=50.9");
    REQUIRE_FALSE(p.request);
    CHECK(Codes(p.failure) == std::set<std::string>{"LOCATION_INVALID"});
  }
  SECTION("coordinates out of range or not numbers, a bad e-mail, several at once") {
    auto p = Parse("service_code=STR-01&lat=95&long=6.9&email=nope&phone=abc");
    REQUIRE_FALSE(p.request);
    CHECK(p.failure.http_status == 400);
    CHECK(Codes(p.failure) == std::set<std::string>{"LOCATION_INVALID", "EMAIL_INVALID"});
    auto q = Parse("service_code=STR-01&lat=abc&long=6.9");
    CHECK(Codes(q.failure) == std::set<std::string>{"LOCATION_INVALID"});
  }
  SECTION("a phone number of another form is dropped, the report taken without it") {
    auto odd = Parse("service_code=STR-01&lat=50.9&long=6.9&phone=555-CALL-NOW");
    REQUIRE(odd.request);
    CHECK(odd.request->intake.report.reporter.address.empty());
    CHECK(odd.request->ignored_fields == std::vector<std::string>{"phone (not a phone number)"});
    // Dots between the groups are a phone number's.
    auto dotted = Parse("service_code=STR-01&lat=50.9&long=6.9&phone=555.123.4567");
    REQUIRE(dotted.request);
    CHECK(dotted.request->intake.report.reporter.address == "555.123.4567");
    CHECK(dotted.request->ignored_fields.empty());
  }
  SECTION("description over 4000 characters") {
    auto p = Parse("service_code=STR-01&lat=50.9&long=6.9&description=" + std::string(4001, 'a'));
    REQUIRE_FALSE(p.request);
    CHECK(Codes(p.failure) == std::set<std::string>{"DESCRIPTION_TOO_LONG"});
  }
  SECTION("a media_url that is not http(s) is dropped, the report taken without it") {
    for (const char* url :
         {"file%3A%2F%2F%2Fetc%2Fpasswd", "ftp%3A%2F%2Fx%2Fa.jpg", "http%3A%2F%2Fa+b%2Fc",
          "javascript%3Aalert(1)", "content%3A%2F%2Fmedia%2Fexternal%2Fimages%2F1"}) {
      INFO(url);
      auto p = Parse(std::string("service_code=STR-01&lat=50.9&long=6.9&media_url=") + url +
                     "&media_url=https%3A%2F%2Fx.example%2Fa.jpg");
      REQUIRE(p.request);
      CHECK(p.request->media_urls == std::vector<std::string>{"https://x.example/a.jpg"});
      CHECK(p.request->ignored_fields ==
            std::vector<std::string>{"media_url (not an http or https URL)"});
    }
  }
  SECTION("a field given twice with different values") {
    auto p = Parse("service_code=STR-01&lat=50.9&long=6.9&lat=51&colour=red");
    REQUIRE_FALSE(p.request);
    REQUIRE(p.failure.errors.size() == 1);
    CHECK(p.failure.errors[0].description == "lat was given more than once, with different values");
    CHECK(Parse("service_code=STR-01&lat=50.9&long=6.9&lat=50.9").request);
  }
  SECTION("more than ten media_url") {
    std::string body = "service_code=STR-01&lat=50.9&long=6.9";
    for (int i = 0; i < 11; ++i)
      body += "&media_url=https%3A%2F%2Fx.example%2F" + std::to_string(i) + ".jpg";
    auto p = Parse(body);
    REQUIRE(p.request);
    REQUIRE(p.request->media_urls.size() == 10);
    CHECK(p.request->media_urls.back() == "https://x.example/9.jpg");
    CHECK(p.request->ignored_fields == std::vector<std::string>{"media_url (more than 10)"});
  }
  SECTION("broken attribute fields") {
    for (const char* field : {"attribute%5B%5D=x", "attribute%5Bdepth%5Dx=1", "attribute%5Bdepth=1",
                              "attribute%5Bd%00%5D=1"}) {
      auto p = Parse(std::string("service_code=STR-01&lat=50.9&long=6.9&") + field);
      REQUIRE_FALSE(p.request);
      CHECK(p.failure.errors.at(0).description.rfind("malformed attribute field", 0) == 0);
    }
  }
  SECTION("invalid UTF-8 and control characters") {
    auto p = Parse("service_code=STR-01&lat=50.9&long=6.9&description=%FF%FE");
    REQUIRE_FALSE(p.request);
    auto q = Parse("service_code=STR-01&lat=50.9&long=6.9&first_name=%C3");
    REQUIRE_FALSE(q.request);
    auto n = Parse("service_code=STR-01&lat=50.9&long=6.9&description=a%00b");
    REQUIRE_FALSE(n.request);
    // The fields the form's checks do not see: a NUL was answered 200 and then never stored.
    for (const char* field : {"first_name=A%00B", "last_name=B%1b", "device_id=d%00",
                              "account_id=%07", "media_url=https%3A%2F%2Fexample.org%2Fa%00.jpg"}) {
      INFO(field);
      auto c = Parse(std::string("service_code=STR-01&lat=50.9&long=6.9&") + field);
      REQUIRE_FALSE(c.request);
      CHECK(c.failure.errors.at(0).code == "400");
      CHECK_THAT(c.failure.errors.at(0).description, Catch::Contains("control characters"));
    }
    CHECK(Parse("service_code=STR-01&lat=50.9&long=6.9&first_name=Anna%20Maria").request);
  }
  SECTION("broken encodings") {
    CHECK_FALSE(ParseForm("service_code=STR-01&lat=%4").ok());
    CHECK_FALSE(ParseForm("a=%zz").ok());
    CHECK_FALSE(ParseJsonBody("{\"service_code\": ").ok());
    CHECK_FALSE(ParseJsonBody("[1,2]").ok());
    CHECK(ParseJsonBody("{\"attribute\": {\"GEFAHR\": {\"a\": 1}}}").error().message ==
          "attribute.GEFAHR must be a string, a number or an array of them");
    CHECK_FALSE(ParseJsonBody("\xff").ok());
    CHECK(ParseBody("text/plain", "a=b").error().code.name() == "unsupported_media_type");
  }
}

TEST_CASE("open311: a form body in Latin-1 or another charset is made UTF-8") {
  const std::string latin1 = "description=Stra%DFe+gesperrt+%80+5&first_name=J%FCrgen";
  auto form = ParseForm(latin1);
  REQUIRE(form.ok());
  for (const char* type : {"application/x-www-form-urlencoded; charset=ISO-8859-1",
                           "application/x-www-form-urlencoded;charset=\"latin1\"",
                           "application/x-www-form-urlencoded; charset=windows-1252",
                           "Application/X-WWW-Form-Urlencoded"}) {
    INFO(type);
    auto recoded = RecodeForm(type, *form);
    REQUIRE(recoded);
    // Read as windows-1252, as browsers read Latin-1: 0x80 is the euro sign.
    CHECK(recoded->form == Form{{"description", "Straße gesperrt € 5"}, {"first_name", "Jürgen"}});
    CHECK(recoded->raw ==
          "description=Stra%C3%9Fe%20gesperrt%20%E2%82%AC%205&first_name=J%C3%BCrgen");
    CHECK(recoded->content_type == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(ParseForm(recoded->raw).value() == recoded->form);
  }
  // Another charset iconv knows: ISO-8859-15 has the euro sign at 0xA4.
  auto euro = RecodeForm("application/x-www-form-urlencoded; charset=iso-8859-15",
                         ParseForm("description=5+%A4").value());
  REQUIRE(euro);
  CHECK(euro->form == Form{{"description", "5 €"}});
  // A field that is UTF-8 already stays so beside one in Latin-1.
  auto mixed = RecodeForm("application/x-www-form-urlencoded",
                          ParseForm("first_name=J%C3%BCrgen&description=Stra%DFe").value());
  REQUIRE(mixed);
  CHECK(mixed->form == Form{{"first_name", "Jürgen"}, {"description", "Straße"}});
  // UTF-8 labelled Latin-1 (Apache HttpClient's default label): UTF-8.
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded; charset=ISO-8859-1",
                         ParseForm("description=Stra%C3%9Fe").value()));
  // Nothing to do: ASCII, UTF-8 unlabelled, labelled UTF-8 (checked as such: refused later), a
  // charset iconv does not know or a label that is none, JSON.
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded; charset=iso-8859-1",
                         ParseForm("description=Loch").value()));
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded",
                         ParseForm("description=Stra%C3%9Fe").value()));
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded; charset=utf-8", *form));
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded; charset=x-nonsense-17", *form));
  CHECK_FALSE(RecodeForm("application/x-www-form-urlencoded; charset=\"a b/c\"", *form));
  CHECK_FALSE(RecodeForm("application/json; charset=iso-8859-1", *form));
}

TEST_CASE("open311: a JSON body is read like the form") {
  auto form = ParseBody("application/json",
                        R"({"service_code":"STR-01","lat":50.9,"long":6.9,"account_id":null,)"
                        R"("attribute[GEFAHR][]":["kfz","radfahrer"]})");
  REQUIRE(form.ok());
  auto p = ParseRequest(*form, TestConfig());
  REQUIRE(p.request);
  CHECK(*p.request->intake.report.location.lat == Approx(50.9));
}

TEST_CASE("open311: a JSON field the request or update reads, in another shape, is refused") {
  const std::string base = R"({"service_code":"STR-01","lat":50.9,"long":6.9,)";
  for (const char* field : {R"("lat":{"x":1},"long":6.9)", R"("media_url":[["https://x/a.jpg"]])",
                            R"("attribute[GEFAHR]":{"a":1})", R"("email":{"a":"b@c.de"})"}) {
    INFO(field);
    std::string body =
        std::string(R"({"service_code":"STR-01","address_string":"Markt 1",)") + field + "}";
    auto form = ParseJsonBody(body);
    REQUIRE(form.ok());
    auto p = ParseRequest(*form, TestConfig());
    REQUIRE_FALSE(p.request);
    CHECK_THAT(p.failure.errors.at(0).description,
               Catch::EndsWith("must be a string, a number or an array of them"));
  }
  // "status" is an update's field, not a request's: a client's own in a request, ignored.
  auto status = ParseRequest(ParseJsonBody(base + R"("status":{"a":1}})").value(), TestConfig());
  REQUIRE(status.request);
  CHECK(status.request->ignored_fields == std::vector<std::string>{"status"});
  // And an update refuses it.
  auto update = ParseUpdate(
      ParseJsonBody(R"({"service_request_id":"2SAJASNAS2EE","status":{"a":1}})").value(),
      TestConfig());
  REQUIRE_FALSE(update.update);
  CHECK(update.failure.errors.at(0).description ==
        "status must be a string, a number or an array of them");
}

TEST_CASE(
    "open311: a JSON body's extras of other shapes are ignored, its answers may be one object") {
  // A client's own fields (an object, a nested array) are ignored as any unknown field; true
  // and false are read as words; the answers may come as one object.
  auto form = ParseBody(
      "application/json",
      R"({"service_code":"STR-01","lat":50.9,"long":6.9,"device":{"os":"Android","v":14},)"
      R"("tags":[["a"]],"public_anonymity_required":true,)"
      R"("attribute":{"GEFAHR":["kfz","radfahrer"],"TIEFE":12,"LEER":null}})");
  REQUIRE(form.ok());
  CHECK(std::count(form->begin(), form->end(),
                   std::pair<std::string, std::string>("attribute[GEFAHR][]", "radfahrer")) == 1);
  CHECK(std::count(form->begin(), form->end(),
                   std::pair<std::string, std::string>("attribute[TIEFE]", "12")) == 1);
  CHECK(std::count(form->begin(), form->end(),
                   std::pair<std::string, std::string>("public_anonymity_required", "true")) == 1);
  auto p = ParseRequest(*form, TestConfig());
  REQUIRE(p.request);
  CHECK(std::find(p.request->ignored_fields.begin(), p.request->ignored_fields.end(), "device") !=
        p.request->ignored_fields.end());
  CHECK(std::find(p.request->ignored_fields.begin(), p.request->ignored_fields.end(), "tags") !=
        p.request->ignored_fields.end());
}

TEST_CASE("open311: media_url is read back from the raw payload of the envelope") {
  using Urls = std::vector<std::string>;
  RawPayload raw{"application/x-www-form-urlencoded; charset=utf-8", V("01-post-request.txt")};
  CHECK(MediaUrlsFromRaw(raw) == Urls{"https://meldungen.stadt.example/media/7c1e2b3d/gehweg.jpg"});
  CHECK(MediaUrlsFromRaw({"application/json", R"({"media_url":"http://127.0.0.1:9/a.jpg"})"}) ==
        Urls{"http://127.0.0.1:9/a.jpg"});
  CHECK(MediaUrlsFromRaw({"application/x-www-form-urlencoded",
                          "media_url=http%3A%2F%2Fa.example%2F1.jpg&media_url=file%3A%2F%2Fx&"
                          "media_url=http%3A%2F%2Fa.example%2F2.jpg"}) ==
        Urls{"http://a.example/1.jpg", "http://a.example/2.jpg"});
  CHECK(MediaUrlsFromRaw({"application/json", R"({"media_url":"file:///etc/passwd"})"}).empty());
  CHECK(MediaUrlsFromRaw({"multipart/form-data", "x"}).empty());
  CHECK(MediaUrlsFromRaw({"application/x-www-form-urlencoded", "a=%"}).empty());
}

// The test configuration with extra questions for STR-01 (potholes).
const Config& QuestionsConfig() {
  static const Config cfg = [] {
    Config c = TestConfig();
    for (auto& cat : c.categories) {
      if (cat.code != "STR-01")
        continue;
      cat.questions.push_back({"depth",
                               "Wie tief ist das Loch?",
                               "singlevaluelist",
                               true,
                               {{"flat", "unter 5 cm"}, {"deep", "über 5 cm"}}});
      cat.questions.push_back({"lanes",
                               "Welche Fahrstreifen?",
                               "multivaluelist",
                               false,
                               {{"left", "links"}, {"right", "rechts"}}});
      cat.questions.push_back({"width_cm", "Breite in cm", "number", false, {}});
      cat.questions.push_back({"seen", "Seit wann?", "datetime", false, {}});
    }
    return c;
  }();
  return cfg;
}

PostParse ParseWithQuestions(const std::string& body) {
  auto form = ParseForm(body);
  REQUIRE(form.ok());
  return ParseRequest(*form, QuestionsConfig());
}

TEST_CASE("open311: fields we do not use are ignored and named, several media_url all kept") {
  auto p = Parse(
      "service_code=STR-01&lat=50.9&long=6.9&deviceid=iOS&colour=red&colour=blue&"
      "media_url=https%3A%2F%2Fa.example%2F1.jpg&media_url=https%3A%2F%2Fa.example%2F2.jpg"
      "&nsg_ref=%FF");
  REQUIRE(p.request);
  CHECK(p.request->ignored_fields == std::vector<std::string>{"deviceid", "colour", "nsg_ref"});
  CHECK(p.request->media_urls ==
        std::vector<std::string>{"https://a.example/1.jpg", "https://a.example/2.jpg"});
  // FixMyStreet's marker for a report placed without the map is no address.
  auto n = Parse("service_code=STR-01&address_id=%23NOTPINPOINTED%23");
  REQUIRE_FALSE(n.request);
  CHECK(Codes(n.failure) == std::set<std::string>{"LOCATION_MISSING"});
  auto a = Parse("service_code=STR-01&lat=50.9&long=6.9&address_id=%23NOTPINPOINTED%23");
  REQUIRE(a.request);
  CHECK(a.request->intake.report.location.address.empty());
}

TEST_CASE("open311: attribute values are checked against the category's questions and kept") {
  SECTION("answers are stored with the question, choices by their names; other codes ignored") {
    auto p = ParseWithQuestions(
        "service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=deep&"
        "attribute%5Blanes%5D%5B%5D=left&attribute%5Blanes%5D%5B%5D=right&"
        "attribute%5Bwidth_cm%5D=40%2C5&attribute%5Bseen%5D=&"
        "attribute%5Bfixmystreet_id%5D=1001&attribute%5Bemail%5D=x%40example.net");
    REQUIRE(p.request);
    const auto& atts = p.request->intake.report.attributes;
    REQUIRE(atts.size() == 3);
    CHECK(atts[0].code == "depth");
    CHECK(atts[0].name == "Wie tief ist das Loch?");
    CHECK(atts[0].values == std::vector<std::string>{"über 5 cm"});
    CHECK(atts[1].values == std::vector<std::string>{"links", "rechts"});
    CHECK(atts[2].values == std::vector<std::string>{"40,5"});
    CHECK(p.request->ignored_fields ==
          std::vector<std::string>{"attribute[fixmystreet_id]", "attribute[email]"});
  }
  SECTION("an answer with a control character or broken UTF-8 is refused; a tab is text") {
    for (const char* value : {"1%7F", "1%00", "%C3", "%ED%A0%80"}) {
      auto p = ParseWithQuestions(
          std::string("service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=deep&"
                      "attribute%5Bwidth_cm%5D=") +
          value);
      INFO(value);
      REQUIRE_FALSE(p.request);
      CHECK(p.failure.errors.at(0).description.rfind("attribute[width_cm] must be UTF-8 text", 0) ==
            0);
    }
    auto tab = ParseWithQuestions(
        "service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=deep&"
        "attribute%5Bwidth_cm%5D=40%09cm");
    REQUIRE(tab.request);
  }
  SECTION("a required question unanswered or answered with a key not offered is refused") {
    auto p = ParseWithQuestions("service_code=STR-01&lat=50.9&long=6.9&attribute%5Blanes%5D=left");
    REQUIRE_FALSE(p.request);
    CHECK(p.failure.http_status == 400);
    REQUIRE(p.failure.errors.size() == 1);
    CHECK(p.failure.errors[0].description ==
          "attribute[depth] is required: Wie tief ist das Loch?");
    auto q = ParseWithQuestions("service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=hole");
    REQUIRE_FALSE(q.request);
    CHECK(q.failure.errors.at(0).description ==
          "attribute[depth]: \"hole\" is none of the keys of service STR-01's definition");
    auto r = ParseWithQuestions(
        "service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D%5B%5D=deep&"
        "attribute%5Bdepth%5D%5B%5D=flat");
    REQUIRE_FALSE(r.request);
    CHECK(r.failure.errors.at(0).description == "attribute[depth] takes one value");
  }
  SECTION("an optional answer that is not well-formed is kept as sent") {
    auto p = ParseWithQuestions(
        "service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=flat&"
        "attribute%5Blanes%5D=middle&attribute%5Bwidth_cm%5D=nan&attribute%5Bseen%5D=gestern");
    REQUIRE(p.request);
    const auto& atts = p.request->intake.report.attributes;
    REQUIRE(atts.size() == 4);
    CHECK(atts[0].values == std::vector<std::string>{"unter 5 cm"});
    CHECK(atts[1].values == std::vector<std::string>{"middle"});
    CHECK(atts[2].values == std::vector<std::string>{"nan"});
    CHECK(atts[3].values == std::vector<std::string>{"gestern"});
  }
  SECTION("an answer longer than 2000 characters is refused") {
    auto p = ParseWithQuestions("service_code=STR-01&lat=50.9&long=6.9&attribute%5Bdepth%5D=flat&"
                                "attribute%5Bseen%5D=" + std::string(2001, 'a'));
    REQUIRE_FALSE(p.request);
  }
}

TEST_CASE("open311: a category with questions is a service with metadata and a definition") {
  auto services = ServicesFromConfig(QuestionsConfig());
  // STR-01 here, BEL-01 (the lamp's number) in the example configuration.
  for (const auto& s : services)
    CHECK(s.metadata == (s.code == "STR-01" || s.code == "BEL-01"));
  const Category* c = QuestionsConfig().FindCategory("STR-01");
  REQUIRE(c != nullptr);
  std::string xml = RenderServiceDefinition(DefinitionFromCategory(*c), Format::kXml);
  CHECK(xml.find("<service_definition><service_code>STR-01</service_code><attributes>"
                 "<attribute><variable>true</variable><code>depth</code>"
                 "<datatype>singlevaluelist</datatype><required>true</required>"
                 "<datatype_description></datatype_description><order>1</order>"
                 "<description>Wie tief ist das Loch?</description><values><value><key>flat"
                 "</key><name>unter 5 cm</name></value>") != std::string::npos);
  auto json =
      nlohmann::json::parse(RenderServiceDefinition(DefinitionFromCategory(*c), Format::kJson));
  CHECK(json["attributes"].size() == 4);
  CHECK(json["attributes"][3]["order"] == 4);
  CHECK(json["attributes"][2]["values"].empty());
}

TEST_CASE("open311: GET requests filters are checked") {
  auto ok = ParseQueryValues("A1, B2,,C3", "STR-01", "2025-03-01T00:00:00Z",
                             "2025-03-10T10:21:38+01:00", "open");
  REQUIRE(ok.query);
  CHECK(ok.query->ids == std::vector<std::string>{"A1", "B2", "C3"});
  CHECK(ok.query->service_codes == std::vector<std::string>{"STR-01"});
  CHECK(ok.query->status == "open");
  // GeoReport v2: service_code and status may be comma lists (a repeated parameter is joined).
  auto lists = ParseQueryValues("", "SON-01, STR-01", "", "", "closed,open");
  REQUIRE(lists.query);
  CHECK(lists.query->service_codes == std::vector<std::string>{"SON-01", "STR-01"});
  CHECK(lists.query->status.empty());  // both: no filter
  CHECK(ParseQueryValues("", "", "", "", "closed,closed").query->status == "closed");
  auto unknown = ParseQueryValues("", "", "", "", "open,pending");
  REQUIRE_FALSE(unknown.query);
  CHECK_THAT(unknown.failure.errors.at(0).description, Catch::Contains("open or closed"));
  CHECK_FALSE(ParseQueryValues("", std::string(5000, 'A'), "", "", "").query);
  CHECK(ParseQueryValues("", "", "2025-03-01", "", "").query);
  // Our own timestamps pasted into a URL unencoded: the '+' of the offset arrives as a space.
  auto pasted = ParseQueryValues("", "", "2025-03-01T08:00:00 01:00", "2025-03-02T08:00 0100", "");
  REQUIRE(pasted.query);
  CHECK(pasted.query->start_date == "2025-03-01T08:00:00+01:00");
  CHECK(pasted.query->end_date == "2025-03-02T08:00+0100");
  CHECK(ParseUpdatesQuery("2025-03-01T08:00:00 01:00", "").query->start_date ==
        "2025-03-01T08:00:00+01:00");
  CHECK(QueryDateTime(" 2025-03-01T08:00:00Z ") == "2025-03-01T08:00:00Z");
  CHECK_FALSE(ParseQueryValues("", "", "2025-03-01 01:00", "", "").query);  // no time: no offset
  CHECK_FALSE(ParseQueryValues("", "", "2025-03-01T08:00:00 25:00", "", "").query);
  CHECK(ParseQueryValues("", "", "", "", "").query);
  auto bad = ParseQueryValues("", "", "gestern", "2025-13-01", "pending");
  REQUIRE_FALSE(bad.query);
  CHECK(bad.failure.http_status == 400);
  CHECK(bad.failure.errors.size() == 3);
  for (const char* s : {"2025-03-10T10:21Z", "2025-03-10T10:21:38.5Z", "2025-03-10T10:21:38-0500"})
    CHECK(IsW3cDateTime(s));
  CHECK(IsW3cDateTime("2024-02-29"));
  CHECK_FALSE(IsW3cDateTime("0000-01-01T00:00:00Z"));
  for (const char* s : {"2025-3-10", "2025-03-10 10:21:38", "2025-03-10T25:00Z", "'; DROP",
                        "2025-02-29", "2025-04-31T00:00Z", "2025-03-10T10:21:38+01:00x"})
    CHECK_FALSE(IsW3cDateTime(s));
  // No cap of our own: as many ids as the request line holds (docs/open311.md).
  std::string many;
  for (int i = 0; i < 3000; ++i)
    many += "A" + std::to_string(i) + ",";
  auto all = ParseQueryValues(many, "", "", "", "");
  REQUIRE(all.query);
  CHECK(all.query->ids.size() == 3000);
}

TEST_CASE("open311: the updates extension's window, answers and posted updates") {
  CHECK(ParseUpdatesQuery("2024-05-01T08:00:00Z", "2024-05-01T10:00:00+01:00").query);
  CHECK(ParseUpdatesQuery("", "").query);
  auto bad = ParseUpdatesQuery("gestern", "2024-05-01T25:00:00Z");
  REQUIRE_FALSE(bad.query);
  CHECK(bad.failure.errors.size() == 2);

  std::string xml = RenderUpdates(
      {{"412", "2SAJASNAS2EE", "fixed", "Erledigt.", "2024-05-01T10:00:00+02:00", ""}},
      Format::kXml);
  CHECK(xml ==
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_request_updates><request_update>"
        "<update_id>412</update_id><service_request_id>2SAJASNAS2EE</service_request_id>"
        "<status>fixed</status><updated_datetime>2024-05-01T10:00:00+02:00</updated_datetime>"
        "<description>Erledigt.</description><media_url></media_url></request_update>"
        "</service_request_updates>\n");
  CHECK(RenderUpdates({}, Format::kXml) ==
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_request_updates>"
        "</service_request_updates>\n");
  CHECK(RenderUpdateCreated("7Q2WEXNKA4EE", Format::kJson) == R"([{"update_id":"7Q2WEXNKA4EE"}])");

  for (const char* s : {"accepted", "in_progress", "done", "rejected", "assigned"})
    CHECK(UpdateStatusOf(s) != "closed");
  CHECK(UpdateStatusOf("done") == "fixed");

  auto form = ParseForm(
      "api_key=k&service_request_id=2SAJASNAS2EE&update_id=77&status=open&description=Immer+noch"
      "+kaputt&updated_datetime=2024-05-01T10%3A00%3A00%2B01%3A00&first_name=Jo&last_name=-&"
      "email=jo%40example.net&media_url=https%3A%2F%2Ffms.example%2Fp%2F1.jpeg&nonsense=1");
  REQUIRE(form.ok());
  auto u = ParseUpdate(*form, TestConfig());
  REQUIRE(u.update);
  CHECK(u.update->status == "OPEN");
  CHECK(u.update->client_update_id == "77");
  CHECK(u.update->description == "Immer noch kaputt");
  CHECK(u.update->ignored_fields == std::vector<std::string>{"nonsense"});
  CHECK(UpdateSaysOpen(u.update->status));
  CHECK_FALSE(UpdateSaysOpen("CLOSED"));
  CHECK_FALSE(UpdateSaysOpen("FIXED"));

  auto bad_form =
      ParseForm("description=%01&updated_datetime=morgen&status=%3Cb%3E&media_url=ftp%3A%2F%2Fx");
  REQUIRE(bad_form.ok());
  auto b = ParseUpdate(*bad_form, TestConfig());
  REQUIRE_FALSE(b.update);
  CHECK(b.failure.http_status == 400);
  // The control character, the date, the status, no service_request_id; the ftp:// media_url is
  // dropped (named as ignored), not refused.
  CHECK(b.failure.errors.size() == 4);
  auto odd_url_only = ParseUpdate(
      ParseForm("service_request_id=2SAJASNAS2EE&media_url=ftp%3A%2F%2Fx").value(), TestConfig());
  REQUIRE_FALSE(odd_url_only.update);
  CHECK(odd_url_only.failure.errors.at(0).description ==
        "an update needs a description, a media_url (http or https) or a status");
  auto empty = ParseForm("service_request_id=2SAJASNAS2EE");
  REQUIRE(empty.ok());
  CHECK_FALSE(ParseUpdate(*empty, TestConfig()).update);
}

TEST_CASE("open311: the body is kept without its api_key, everything else byte for byte") {
  const char* form = "application/x-www-form-urlencoded; charset=utf-8";
  CHECK(WithoutApiKey(form, "api_key=geheim&service_code=STR-01&lat=50.9") ==
        "service_code=STR-01&lat=50.9");
  CHECK(WithoutApiKey(form, "service_code=STR-01&api%5Fkey=geheim&api_key=&description=a+b%26c") ==
        "service_code=STR-01&description=a+b%26c");
  CHECK(WithoutApiKey(form, "description=api_key%3Dx&api_keys=1") ==
        "description=api_key%3Dx&api_keys=1");
  CHECK(WithoutApiKey(form, "a=%zz&api_key=k") == "a=%zz");
  CHECK(WithoutApiKey(form, "") == "");
  CHECK(WithoutApiKey("application/json", R"({"service_code":"STR-01","api_key":"geheim"})") ==
        R"({"service_code":"STR-01"})");
  CHECK(WithoutApiKey("application/json", "{broken") == "{broken");
  RawPayload raw{form, WithoutApiKey(form, V("01-post-request.txt"))};
  CHECK(raw.body.find("api_key") == std::string::npos);
  CHECK(MediaUrlsFromRaw(raw).size() == 1);
}

TEST_CASE("open311: zipcode from the address") {
  CHECK(ZipcodeIn("Mühlenweg 12, 12345 Musterstadt") == "12345");
  CHECK(ZipcodeIn("Mühlenweg 12") == "");
  CHECK(ZipcodeIn("Tel 0123456789") == "");
}

}  // namespace open311_test
