// Open311 GeoReport v2 end to end (docs/open311.md): the real gateway, broker, worker and
// database; a local HTTP server stands in for the client's media host.
#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "core/media.hpp"
#include "core/photo.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace open311_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

const char* kKey = "it-open311-key";

StackOptions Open311Options() {
  StackOptions o;
  o.extra_env = {std::string("MELDESTELLE_OPEN311_API_KEY=") + kKey};
  o.edit_config = [](std::string& text) {
    // The stand-in for the client's photo server listens on loopback.
    Replace(text, "  media_timeout_seconds: 20\n",
            "  media_timeout_seconds: 5\n  media_private_networks: true\n  service_notice: Die "
            "Meldung wird innerhalb von 3 "
            "Werktagen geprüft.\n");
  };
  return o;
}

// Serves /photo.jpg, /missing.jpg (404), /big.jpg (larger than the limit), /text.jpg (not an
// image) and /flaky.jpg (500 once, then the photo) on 127.0.0.1.
class MediaHost {
 public:
  MediaHost() {
    http_.server().Get("/photo.jpg",
                [](const auto&, auto& res) { res.set_content(Jpeg(), "image/jpeg"); });
    http_.server().Get("/missing.jpg", [](const auto&, auto& res) { res.status = 404; });
    http_.server().Get("/big.jpg", [](const auto&, auto& res) {
      res.set_content(Jpeg() + std::string(11 * 1024 * 1024, 'x'), "image/jpeg");
    });
    http_.server().Get("/text.jpg",
                [](const auto&, auto& res) { res.set_content("<html>no</html>", "image/jpeg"); });
    http_.server().Get("/flaky.jpg", [this](const auto&, auto& res) {
      if (flaky_calls_++ == 0) {
        res.status = 500;
        return;
      }
      res.set_content(Jpeg(), "image/jpeg");
    });
    http_.Start();
  }
  std::string Url(const std::string& path) const { return http_.Url(path); }
  int flaky_calls() const { return flaky_calls_.load(); }

 private:
  std::atomic<int> flaky_calls_{0};
  LocalServer http_;  // last: stops first
};

std::vector<std::pair<std::string, std::string>> Fields(const std::string& description) {
  return {{"api_key", kKey},
          {"jurisdiction_id", "musterstadt.example"},
          {"service_code", "STR-01"},
          {"lat", "50.937531"},
          {"long", "6.960279"},
          {"address_string", "Mühlenweg 12, 12345 Musterstadt"},
          {"email", "j.mueller@example.net"},
          {"first_name", "Jürgen"},
          {"last_name", "Müller"},
          {"description", description},
          {"attribute[SCHADENSART]", "stolperfalle"}};
}

httplib::Result Post311(Stack& s, const std::vector<std::pair<std::string, std::string>>& fields,
                     const std::string& path = "/open311/v2/requests.json",
                     const httplib::Headers& headers = {}) {
  return s.Client().Post(path.c_str(), headers, FormUrlEncode(fields),
                         "application/x-www-form-urlencoded; charset=utf-8");
}

// POSTs and returns the service_request_id of the JSON answer.
std::string Create(Stack& s, std::vector<std::pair<std::string, std::string>> fields) {
  auto res = Post311(s, fields);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  auto j = json::parse(res->body);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  return j[0].at("service_request_id").get<std::string>();
}

json GetJson(Stack& s, const std::string& path, int expected_status = 200) {
  auto res = s.Client().Get(path.c_str());
  REQUIRE(res);
  INFO(path << ": " << res->body);
  REQUIRE(res->status == expected_status);
  CHECK(res->get_header_value("Content-Type") == "application/json; charset=utf-8");
  return json::parse(res->body);
}

std::string TicketCount(const std::string& ref) {
  return "SELECT count(*) FROM tickets WHERE reference = '" + ref + "'";
}

}  // namespace

TEST_CASE("Open311 POST and GET round-trip", "[open311]") {
  Stack s(Open311Options());
  std::string id = Create(s, Fields("Gehwegplatte angehoben, Stolpergefahr."));
  REQUIRE(s.WaitForCount(TicketCount(id), 1));
  auto t = s.Query(
      "SELECT channel, category, department_name, reporter->>'name', address,"
      " location_source FROM tickets WHERE reference = '" +
      id + "'");
  CHECK(t[0][0].as<std::string>() == "open311");
  CHECK(t[0][1].as<std::string>() == "STR-01");
  std::string department = t[0][2].as<std::string>();
  CHECK(t[0][3].as<std::string>() == "Jürgen Müller");
  CHECK(t[0][4].as<std::string>() == "Mühlenweg 12, 12345 Musterstadt");
  CHECK(t[0][5].as<std::string>() == "device");
  // The client's key is kept nowhere: not in the raw payload, the intake key's envelope, or the
  // report.
  CHECK(s.Count("SELECT count(*) FROM raw_payloads") == 1);
  CHECK(s.Count(std::string("SELECT count(*) FROM raw_payloads WHERE position('") + kKey +
                "' in convert_from(body, 'UTF8')) > 0") == 0);
  CHECK(s.Count(std::string("SELECT count(*) FROM intake_keys WHERE position('") + kKey +
                "' in envelope) > 0") == 0);
  CHECK(s.Count(std::string("SELECT count(*) FROM tickets WHERE position('") + kKey +
                "' in report::text) > 0") == 0);

  auto one = GetJson(s, "/open311/v2/requests/" + id + ".json");
  REQUIRE(one.is_array());
  REQUIRE(one.size() == 1);
  CHECK(one[0]["service_request_id"] == id);
  CHECK(one[0]["status"] == "open");
  CHECK(one[0]["service_code"] == "STR-01");
  CHECK(one[0]["service_name"] == "Schlagloch");
  CHECK(one[0]["agency_responsible"] == department);
  CHECK(one[0]["description"] == "Gehwegplatte angehoben, Stolpergefahr.");
  CHECK(one[0]["address"] == "Mühlenweg 12, 12345 Musterstadt");
  CHECK(one[0]["zipcode"] == "12345");
  CHECK(one[0]["lat"].get<double>() == Approx(50.937531));
  CHECK(one[0]["long"].get<double>() == Approx(6.960279));
  CHECK(one[0]["status_notes"].is_null());
  CHECK(one[0]["service_notice"] == "Die Meldung wird innerhalb von 3 Werktagen geprüft.");
  // Local time of the town with its offset (Europe/Berlin: +01:00 or +02:00).
  std::string requested = one[0]["requested_datetime"];
  CHECK(std::regex_match(requested, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00)")));

  auto xml = s.Client().Get(("/open311/v2/requests/" + id + ".xml").c_str());
  REQUIRE(xml);
  CHECK(xml->status == 200);
  CHECK(xml->get_header_value("Content-Type") == "text/xml; charset=utf-8");
  CHECK(xml->body.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>"
                        "<service_request_id>" +
                            id + "</service_request_id><status>open</status>",
                        0) == 0);
  CHECK(xml->body.find("<agency_responsible>" + department + "</agency_responsible>") !=
        std::string::npos);

  // Closed by the department: closed, with its public note.
  s.Query(
      "UPDATE tickets SET status = 'done', public_note = 'Platte neu verlegt.',"
      " closed_at = now() WHERE reference = '" +
      id + "'");
  auto closed = GetJson(s, "/open311/v2/requests/" + id + ".json");
  CHECK(closed[0]["status"] == "closed");
  CHECK(closed[0]["status_notes"] == "Platte neu verlegt.");

  // The token is the service_request_id.
  auto token = GetJson(s, "/open311/v2/tokens/" + id + ".json");
  CHECK(token ==
        json::parse(R"([{"service_request_id":")" + id + R"(","token":")" + id + R"("}])"));
  GetJson(s, "/open311/v2/tokens/ZZZZZZZZZZZZ.json", 404);
  GetJson(s, "/open311/v2/requests/ZZZZZZZZZZZZ.json", 404);
}

TEST_CASE("Open311 GET requests filters by status, service code and id", "[open311]") {
  Stack s(Open311Options());
  std::string a = Create(s, Fields("Erste Meldung"));
  auto lamp = Fields("Laterne aus");
  lamp[2].second = "BEL-01";
  lamp[3].second = "50.941";  // elsewhere: not a duplicate of the first
  std::string b = Create(s, lamp);
  std::string c = Create(s, [] {
    auto f = Fields("Dritte Meldung");
    f[3].second = "50.945";
    return f;
  }());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 3));
  s.Query("UPDATE tickets SET status = 'rejected', closed_at = now() WHERE reference = '" + c +
          "'");
  auto ids = [](const json& list) {
    std::set<std::string> out;
    for (const auto& r : list)
      out.insert(r["service_request_id"].get<std::string>());
    return out;
  };
  CHECK(ids(GetJson(s, "/open311/v2/requests.json")) == std::set<std::string>{a, b, c});
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?status=open&service_code=STR-01")) ==
        std::set<std::string>{a});
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?status=closed")) == std::set<std::string>{c});
  // Comma lists and repeated parameters (GeoReport v2), not a silently empty answer.
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?service_code=STR-01,BEL-01&status=open")) ==
        std::set<std::string>{a, b});
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?service_code=BEL-01&service_code=STR-01")) ==
        std::set<std::string>{a, b, c});
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?status=open,closed")) ==
        std::set<std::string>{a, b, c});
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?service_request_id=" + a + "," + b)) ==
        std::set<std::string>{a, b});
  // service_request_id overrides every other argument (GeoReport v2): a client refreshing its
  // own reports by id with status=open still sees the one that was closed.
  CHECK(ids(GetJson(s,
                    "/open311/v2/requests.json?status=open&service_code=BEL-01"
                    "&service_request_id=" +
                        a + "," + c)) == std::set<std::string>{a, c});
  // Public data a client in a browser on another origin may read.
  auto cors = s.Client().Get("/open311/v2/requests.json");
  REQUIRE(cors);
  CHECK(cors->get_header_value("Access-Control-Allow-Origin") == "*");
  CHECK(ids(GetJson(s,
                    "/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z"
                    "&end_date=2000-02-01T00:00:00Z"))
            .empty());
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?jurisdiction_id=musterstadt.example")).size() ==
        3);
  auto bad = GetJson(s, "/open311/v2/requests.json?status=pending&start_date=gestern", 400);
  CHECK(bad.size() == 2);
  CHECK(bad[0]["code"] == 400);
  GetJson(s, "/open311/v2/requests.json?jurisdiction_id=sfgov.org", 404);
  // A report from another channel is not published (open311.publish: open311_only).
  auto res = s.Client().Post("/api/v1/reports",
                             R"({"description":"Privat: bitte nicht veröffentlichen",)"
                             R"("category":"BEL-01","lat":50.95,"lon":6.95})",
                             "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  std::string api_ref = json::parse(res->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 4));
  CHECK(ids(GetJson(s, "/open311/v2/requests.json?service_code=BEL-01")) ==
        std::set<std::string>{b});
  GetJson(s, "/open311/v2/requests/" + api_ref + ".json", 404);
  GetJson(s, "/open311/v2/tokens/" + api_ref + ".json", 404);
}

TEST_CASE(
    "Open311 publication: every channel without words, address and exact place, hidden "
    "categories never, or nothing at all",
    "[open311]") {
  auto options = [](const std::string& policy) {
    StackOptions o = Open311Options();
    auto base = o.edit_config;
    o.edit_config = [base, policy](std::string& text) {
      base(text);
      Replace(text, "  publish: open311_only\n", "  publish: " + policy + "\n");
      // Reports of noise are nobody else's business.
      Replace(text, "  - code: BEL-01\n", "  - code: BEL-01\n    public: false\n");
    };
    return o;
  };
  auto api_report = [](Stack& s, const std::string& category, double lat) {
    json body{{"description", "Privat: nicht veröffentlichen"},
              {"category", category},
              {"lat", lat},
              {"lon", 6.9512345},
              {"address", "Gartenweg 3, 12345 Musterstadt"}};
    auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 202);
    return json::parse(res->body)["reference"].get<std::string>();
  };
  SECTION("all") {
    Stack s(options("all"));
    std::string pothole = api_report(s, "STR-01", 50.9412345);
    std::string lamp = api_report(s, "BEL-01", 50.9612345);
    auto lamp311 = Fields("Laterne");
    lamp311[2].second = "BEL-01";
    std::string own = Create(s, lamp311);
    REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 3));
    auto list = GetJson(s, "/open311/v2/requests.json");
    REQUIRE(list.size() == 1);  // the two lamps are in a hidden category
    CHECK(list[0]["service_request_id"] == pothole);
    CHECK(list[0]["description"].is_null());
    CHECK(list[0]["address"].is_null());
    CHECK(list[0]["zipcode"].is_null());
    CHECK(list[0]["lat"].get<double>() == Approx(50.941).margin(1e-9));
    CHECK(list[0]["long"].get<double>() == Approx(6.951).margin(1e-9));
    GetJson(s, "/open311/v2/requests/" + lamp + ".json", 404);
    GetJson(s, "/open311/v2/requests/" + own + ".json", 404);
    std::string op = [&] {
      int st = -1;
      std::string out = s.RunCommand({"token", "create", "--operator"}, &st);
      REQUIRE(st == 0);
      return out.substr(out.find("mst_"), 61);
    }();
    for (const auto& ref : {pothole, lamp}) {
      auto done = s.Client().Post(("/api/v1/tickets/" + ref + "/status").c_str(),
                                  {{"Authorization", "Bearer " + op}},
                                  R"({"status":"done"})", "application/json");
      REQUIRE(done);
      REQUIRE(done->status == 200);
    }
    std::set<std::string> in_feed;
    for (const auto& u : GetJson(s, "/open311/v2/servicerequestupdates.json"))
      in_feed.insert(u["service_request_id"].get<std::string>());
    CHECK(in_feed == std::set<std::string>{pothole});
  }
  SECTION("none") {
    Stack s(options("none"));
    std::string own = Create(s, Fields("Loch"));
    REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
    CHECK(GetJson(s, "/open311/v2/requests.json").empty());
    GetJson(s, "/open311/v2/requests/" + own + ".json", 404);
    CHECK(GetJson(s, "/open311/v2/servicerequestupdates.json").empty());
    // The token is no publication: the client learns only the id it was given.
    CHECK(GetJson(s, "/open311/v2/tokens/" + own + ".json")[0]["service_request_id"] == own);
  }
}

TEST_CASE("Open311 POST errors: wrong key 403 and missing fields 400, in the spec format",
          "[open311]") {
  Stack s(Open311Options());
  auto wrong = Fields("x");
  wrong[0].second = "falsch";
  auto res = Post311(s, wrong);
  REQUIRE(res);
  CHECK(res->status == 403);
  CHECK(
      json::parse(res->body) ==
      json::parse(VectorFile("open311/04-error-403-invalid-api-key.txt")
                      .substr(VectorFile("open311/04-error-403-invalid-api-key.txt").find("[{"))));
  // The key in the query string works as well; here with nothing else.
  res = s.Client().Post((std::string("/open311/v2/requests.json?api_key=") + kKey).c_str(),
                        "description=Loch", "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 400);
  auto errors = json::parse(res->body);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == json{{"code", 400}, {"description", "service_code was not provided"}});
  CHECK(errors[1]["code"] == "LOCATION_MISSING");
  // XML errors.
  res = Post311(s, {{"api_key", kKey}, {"service_code", "XXX-99"}, {"lat", "1"}, {"long", "2"}},
             "/open311/v2/requests.xml");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(res->body.find("<errors><error><code>404</code><description>service_code XXX-99 not "
                       "found</description></error></errors>") != std::string::npos);
  // Broken encoding and an unsupported type.
  res = s.Client().Post("/open311/v2/requests.json", "api_key=%zz",
                        "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 400);
  res = s.Client().Post("/open311/v2/requests.json", "hallo", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)[0]["code"] == 400);
  // Nothing was published or stored.
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 0);
  CHECK(s.QueueDepth(s.queue()) == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 0);
  auto metrics = s.Client().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("meldestelle_reports_rejected_total{channel=\"open311\",reason=\"api_"
                           "key_invalid\"} 1") != std::string::npos);
}

namespace {

// UTF-8 text whose characters are all in Latin-1, as Latin-1 bytes (test data only).
std::string Latin1(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c == 0xC2 || c == 0xC3) {
      out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "Open311 POST in Latin-1 (labelled or not) becomes the ticket's UTF-8 text; an odd "
    "media_url and phone are dropped, not the report",
    "[open311]") {
  Stack s(Open311Options());
  auto fields = Fields("Straßenlaterne flackert, Gehweg dunkel");
  fields.push_back({"media_url", "content://media/external/images/media/1"});
  fields.push_back({"phone", "555-CALL-NOW"});
  std::vector<std::pair<std::string, std::string>> latin1;
  for (const auto& [k, v] : fields)
    latin1.emplace_back(k, Latin1(v));
  const std::string body = FormUrlEncode(latin1);
  REQUIRE(body.find("Stra%DFen") != std::string::npos);
  std::vector<std::string> ids;
  // Latin-1 labelled so and unlabelled; and UTF-8 labelled Latin-1 (Apache HttpClient's form
  // default).
  const std::vector<std::pair<std::string, const char*>> posts = {
      {body, "application/x-www-form-urlencoded; charset=ISO-8859-1"},
      {body, "application/x-www-form-urlencoded"},
      {FormUrlEncode(fields), "application/x-www-form-urlencoded; charset=iso-8859-1"}};
  for (const auto& [sent, type] : posts) {
    INFO(type);
    auto res = s.Client().Post("/open311/v2/requests.json", sent, type);
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    ids.push_back(json::parse(res->body)[0]["service_request_id"]);
  }
  for (const auto& id : ids) {
    REQUIRE(s.WaitForCount(TicketCount(id), 1));
    auto t = s.Query(
        "SELECT report->>'text', reporter->>'name', address FROM tickets"
        " WHERE reference = '" +
        id + "'");
    CHECK(t[0][0].as<std::string>() == "Straßenlaterne flackert, Gehweg dunkel");
    CHECK(t[0][1].as<std::string>() == "Jürgen Müller");
    CHECK(t[0][2].as<std::string>() == "Mühlenweg 12, 12345 Musterstadt");
  }
  // The Latin-1 ones kept as UTF-8 (both as the same body, beside the UTF-8 one as sent), the
  // odd phone in no report; the odd URL is not among the photos the worker is to fetch.
  CHECK(s.Count("SELECT count(*) FROM raw_payloads WHERE position('Stra%C3%9Fen' in"
                " convert_from(body, 'UTF8')) > 0") == 2);
  CHECK(s.Count("SELECT count(*) FROM raw_payloads WHERE NOT position('Stra%C3%9Fen' in"
                " convert_from(body, 'UTF8')) > 0") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE report::text LIKE '%CALL-NOW%'") == 0);
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 3);
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE position('content://' in envelope) > 0") ==
        0);
  // Said to be UTF-8 and not: refused, nothing stored.
  auto wrong = s.Client().Post("/open311/v2/requests.json", body,
                               "application/x-www-form-urlencoded; charset=utf-8");
  REQUIRE(wrong);
  CHECK(wrong->status == 400);
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 3);
}

TEST_CASE("Open311 services, definitions and discovery", "[open311]") {
  Stack s(Open311Options());
  auto services = GetJson(s, "/open311/v2/services.json");
  REQUIRE(services.is_array());
  REQUIRE(services.size() >= 20);
  CHECK(services[0]["service_code"] == "STR-01");
  CHECK(services[0]["service_name"] == "Schlagloch");
  CHECK(services[0]["group"] == "Straße und Verkehr");
  CHECK(services[0]["metadata"] == false);
  CHECK(services[0]["type"] == "realtime");
  bool lamp = false;
  for (const auto& sv : services)
    lamp = lamp || sv["service_code"] == "BEL-01";
  CHECK(lamp);
  auto xml = s.Client().Get("/open311/v2/services.xml");
  REQUIRE(xml);
  CHECK(xml->body.find("<services><service><service_code>STR-01</service_code>") !=
        std::string::npos);
  // Without a suffix: JSON.
  CHECK(GetJson(s, "/open311/v2/services").size() == services.size());
  auto def = GetJson(s, "/open311/v2/services/STR-02.json");
  CHECK(def == json{{"service_code", "STR-02"}, {"attributes", json::array()}});
  // The example configuration asks for a street lamp's number.
  auto lamp_def = GetJson(s, "/open311/v2/services/BEL-01.json");
  CHECK(lamp_def["attributes"] == json::parse(R"js([{"variable": true, "code": "lamp_number",
      "datatype": "string", "required": false, "datatype_description": null, "order": 1,
      "description": "Nummer am Mast (falls lesbar)", "values": []}])js"));
  GetJson(s, "/open311/v2/services/NOPE-1.json", 404);
  auto disc = GetJson(s, "/open311/v2/discovery.json");
  CHECK(disc["endpoints"][0]["url"].get<std::string>().find("/open311/v2") != std::string::npos);
  GetJson(s, "/open311/v2/unknown.json", 404);
}

TEST_CASE("Open311 media_url is fetched by the worker and attached", "[open311]") {
  MediaHost host;
  Stack s(Open311Options());
  auto with_url = [&](const std::string& path, const std::string& lat) {
    auto f = Fields("Mit Foto " + path);
    f[3].second = lat;  // apart from each other: no duplicates
    f.emplace_back("media_url", host.Url(path));
    return Create(s, f);
  };
  std::string good = with_url("/photo.jpg", "50.930");
  std::string flaky = with_url("/flaky.jpg", "50.932");
  std::string missing = with_url("/missing.jpg", "50.934");
  std::string big = with_url("/big.jpg", "50.936");
  std::string text = with_url("/text.jpg", "50.938");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 5, std::chrono::seconds(40)));
  std::string stored = StripPhoto(Jpeg()).value().bytes;
  for (const auto& ref : {good, flaky}) {
    INFO(ref << "\n" << s.WorkerLogs());
    auto a = s.Query(
        "SELECT a.sha256, a.media_type, a.filename FROM attachments a"
        " JOIN tickets t ON t.id = a.ticket_id WHERE t.reference = '" +
        ref + "'");
    REQUIRE(a.size() == 1);
    CHECK(a[0][0].as<std::string>() == Sha256Hex(stored));
    CHECK(a[0][1].as<std::string>() == "image/jpeg");
    CHECK(BlobStore(s.media_dir()).Get(a[0][0].as<std::string>()).value() == stored);
  }
  CHECK(host.flaky_calls() == 2);
  for (const auto& ref : {missing, big, text}) {
    INFO(ref);
    CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id"
                  " WHERE t.reference = '" +
                  ref + "'") == 0);
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + ref +
                  "' AND routing_explanation->'flags' ? 'Foto nicht abrufbar'") == 1);
  }
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Foto nicht abrufbar'") == 3);
  // GET requests shows the client's media_url.
  auto one = GetJson(s, "/open311/v2/requests/" + good + ".json");
  CHECK(one[0]["media_url"] == host.Url("/photo.jpg"));
}

TEST_CASE(
    "Open311 media_url is fetched once per delivery, also when writing the ticket is retried "
    "because the database connection was lost",
    "[open311]") {
  Stack s(Open311Options());
  const std::string keep = One(s, "SELECT pg_backend_pid()::text");
  std::atomic<int> calls{0};
  LocalServer host;
  host.server().Get("/cut.jpg", [&](const auto&, auto& res) {
    // While the worker fetches the photo, its database connection is cut: the ticket's
    // transaction fails with a lost connection and is retried in place.
    if (calls++ == 0) {
      pqxx::connection admin(s.db_url());
      pqxx::nontransaction tx(admin);
      tx.exec(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
          "current_database() AND pid <> pg_backend_pid() AND pid <> " +
          keep);
    }
    res.set_content(Jpeg(), "image/jpeg");
  });
  host.Start();
  // A first report, so that the worker holds a connection to the database.
  auto first = Fields("Ohne Foto");
  first[3].second = "50.930";
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(Create(s, first)), 1));
  auto f = Fields("Foto, Verbindung weg");
  f.emplace_back("media_url", host.Url("/cut.jpg"));
  std::string reference = Create(s, f);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(reference), 1,
                         std::chrono::seconds(40)));
  CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id"
                " WHERE t.reference = " +
                Q(reference)) == 1);
  CHECK(calls.load() == 1);
  // The retry happened (else this test would show nothing).
  const std::string logs = s.WorkerLogs();
  CHECK((logs.find("\"database unavailable, retrying\"") != std::string::npos ||
         logs.find("\"database error, retrying\"") != std::string::npos));
}

TEST_CASE(
    "Open311 media_url is not fetched from loopback or the town's network by default, the ticket "
    "is written without the photo, flagged",
    "[open311]") {
  std::atomic<int> calls{0};
  LocalServer host;
  host.server().Get("/photo.jpg", [&](const auto&, auto& res) {
    ++calls;
    res.set_content(Jpeg(), "image/jpeg");
  });
  host.Start();
  StackOptions o = Open311Options();
  auto edit = o.edit_config;
  o.edit_config = [edit](std::string& text) {
    edit(text);
    Replace(text, "  media_private_networks: true\n", "");
  };
  Stack s(o);
  std::vector<std::string> refs;
  int spot = 0;
  for (const std::string& url :
       {host.Url("/photo.jpg"), "http://localhost:" + std::to_string(host.port()) + "/photo.jpg",
        "http://[::1]:" + std::to_string(host.port()) + "/photo.jpg",
        std::string("http://169.254.169.254/latest/meta-data/iam/photo.jpg")}) {
    auto f = Fields("Foto von innen " + url);
    f[3].second = std::to_string(50.930 + 0.002 * spot++);
    f.emplace_back("media_url", url);
    refs.push_back(Create(s, f));
  }
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 4));
  CHECK(calls.load() == 0);
  CHECK(s.Count("SELECT count(*) FROM attachments") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Foto nicht abrufbar'") == 4);
  CHECK_THAT(s.WorkerLogs(), Catch::Contains("refused: the host's address is not public"));
}

TEST_CASE(
    "Open311 POST as multipart with a photo in \"media\" (the GeoReporter apps): the photo is "
    "the ticket's, cleaned of its metadata; a media part that is no image is refused as such",
    "[open311]") {
  Stack s(Open311Options());
  // A photo of a phone's size, larger than the 64 KiB of a form body: two comment segments of
  // 60,000 bytes after the JPEG's start (metadata the cleaning removes).
  std::string photo = Jpeg();
  for (int i = 0; i < 2; ++i) {
    std::string comment = "\xFF\xFE";
    comment += static_cast<char>(60002 >> 8);
    comment += static_cast<char>(60002 & 0xFF);
    comment += std::string(60000, 'x');
    photo.insert(2, comment);
  }
  REQUIRE(photo.size() > 64 * 1024);
  httplib::MultipartFormDataItems items;
  for (const auto& [name, value] : Fields("Schlagloch, Foto anbei"))
    items.push_back({name, value, "", ""});
  items.push_back({"media", photo, "media.png", "image/png"});  // the iOS app's name and type
  auto res = s.Client().Post("/open311/v2/requests.json", items);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const std::string id = json::parse(res->body)[0].at("service_request_id");
  REQUIRE(s.WaitForCount(TicketCount(id), 1));
  std::string stored = StripPhoto(photo).value().bytes;
  CHECK(stored.find(std::string(1000, 'x')) == std::string::npos);
  auto a = s.Query(
      "SELECT a.sha256, a.media_type FROM attachments a JOIN tickets t ON t.id = a.ticket_id"
      " WHERE t.reference = '" +
      id + "'");
  REQUIRE(a.size() == 1);
  CHECK(a[0][0].as<std::string>() == Sha256Hex(stored));
  CHECK(a[0][1].as<std::string>() == "image/jpeg");
  CHECK(One(s, "SELECT text FROM tickets WHERE reference = '" + id + "'") ==
        "Schlagloch, Foto anbei");
  // The fields are kept as the form-encoded body they amount to, without the key, and the
  // photo by its digest.
  const std::string kept =
      One(s,
          "SELECT convert_from(p.body, 'UTF8') FROM raw_payloads p JOIN tickets t"
          " ON t.raw_ref = 'sha256:' || p.sha256 WHERE t.reference = '" +
              id + "'");
  CHECK(kept.find("service_code=STR-01") != std::string::npos);
  CHECK(kept.find("api_key") == std::string::npos);
  CHECK(kept.find("media=sha256%3A" + Sha256Hex(photo)) != std::string::npos);

  httplib::MultipartFormDataItems not_image;
  for (const auto& [name, value] : Fields("Noch eine Meldung"))
    not_image.push_back({name, value, "", ""});
  not_image.push_back({"media", "just text", "note.txt", "text/plain"});
  auto refused = s.Client().Post("/open311/v2/requests.json", not_image);
  REQUIRE(refused);
  CHECK(refused->status == 400);
  auto errors = json::parse(refused->body);
  REQUIRE(errors.is_array());
  CHECK(errors[0]["code"] == "MEDIA_INVALID");
  CHECK(errors[0]["description"].get<std::string>().find("not an image") != std::string::npos);

  // An update's photo cannot be uploaded (its media_url can be sent).
  httplib::MultipartFormDataItems update = {{"api_key", kKey, "", ""},
                                            {"service_request_id", id, "", ""},
                                            {"description", "Noch da", "", ""},
                                            {"media", Jpeg(), "media.jpg", "image/jpeg"}};
  auto no_update = s.Client().Post("/open311/v2/servicerequestupdates.json", update);
  REQUIRE(no_update);
  CHECK(no_update->status == 400);
  CHECK(no_update->body.find("media_url") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 0);
}

TEST_CASE("Open311 POST with an Idempotency-Key answers the same id again", "[open311]") {
  Stack s(Open311Options());
  auto fields = Fields("Einmal");
  auto first = Post311(s, fields, "/open311/v2/requests.json", {{"Idempotency-Key", "k-1"}});
  auto second = Post311(s, fields, "/open311/v2/requests.json", {{"Idempotency-Key", "k-1"}});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(first->status == 200);
  REQUIRE(second->status == 200);
  CHECK(json::parse(first->body)[0]["service_request_id"] ==
        json::parse(second->body)[0]["service_request_id"]);
  CHECK(second->get_header_value("Idempotent-Replayed") == "true");
  fields[9].second = "Anders";
  auto other = Post311(s, fields, "/open311/v2/requests.json", {{"Idempotency-Key", "k-1"}});
  REQUIRE(other);
  CHECK(other->status == 400);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 1);
}

TEST_CASE("Open311 POST without the broker is 503 in the spec format and stores nothing",
          "[open311][serial]") {
  Stack s(Open311Options());
  StopBroker();
  REQUIRE(WaitFor([&] { return !s.Ready(); }));
  auto res = Post311(s, Fields("Ohne Broker"), "/open311/v2/requests.xml");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->get_header_value("Retry-After") == "5");
  CHECK(res->body.find("<errors><error><code>503</code>") != std::string::npos);
  StartBroker();
  REQUIRE(WaitFor([&] { return s.Ready(); }, std::chrono::seconds(30)));
  std::string id = Create(s, Fields("Mit Broker"));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);  // the refused request left no ticket
  CHECK(s.Count(TicketCount(id)) == 1);
}

}  // namespace open311_test
