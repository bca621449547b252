// Addresses understood on every channel (docs/routing.md, "Places from the street list"): a
// report with an address or a street and number in its text and no position is placed by the
// town's street list in the admit step — web form, app API, Open311 and WhatsApp here; e-mail and
// the phone in their own tests. Against the real gateway, worker, broker and database.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "fake_providers.hpp"
#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace places_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

constexpr const char* kOpen311Key = "places-test-open311-key-0123456789";

struct Placed {
  std::string source, address, lat, lon, flags, place;
};

Placed TicketPlace(Stack& s, const std::string& where) {
  auto r = s.Query(
      "SELECT location_source, COALESCE(address, ''), COALESCE(round(lat::numeric, 4)::text, ''),"
      " COALESCE(round(lon::numeric, 4)::text, ''), (routing_explanation->'flags')::text,"
      " COALESCE((routing_explanation->'place')::text, 'null') FROM tickets WHERE " +
      where);
  REQUIRE(r.size() == 1);
  return {r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
          r[0][3].as<std::string>(), r[0][4].as<std::string>(), r[0][5].as<std::string>()};
}

}  // namespace

TEST_CASE("places: an address without a position is placed by the street list on every channel",
          "[integration][places]") {
  FakeProviders fake;
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=1");
  o.extra_env.push_back(std::string("MELDESTELLE_OPEN311_API_KEY=") + kOpen311Key);
  Stack s(o);

  // The web form: the address field only.
  httplib::MultipartFormDataItems form = {{"kategorie", "STR-01", "", ""},
                                          {"beschreibung", "Schlagloch auf der Fahrbahn", "", ""},
                                          {"adresse", "Lindenstr. 13", "", ""},
                                          {"website", "", "", ""},
                                          {"form_token", s.MintFormToken(10), "", ""}};
  auto f = s.Client().Post("/formular/meldung", form);
  REQUIRE(f);
  INFO(f->body);
  REQUIRE(f->status == 200);
  std::string form_ref = ReferenceOnPage(f->body);
  form_ref.erase(std::remove(form_ref.begin(), form_ref.end(), ' '), form_ref.end());
  REQUIRE(form_ref.size() == 12);

  // The app API: an address with a typo in the street's name.
  std::string app_ref = PostApp(
      s, json{{"description", "Laterne dunkel"}, {"address", "Hauptstrase 5, Musterstadt"}});
  // Open311: address_string only.
  auto o311 =
      s.Client().Post("/open311/v2/requests.json",
                      FormUrlEncode({{"api_key", kOpen311Key},
                                     {"service_code", "STR-01"},
                                     {"address_string", "Lindenstraße 13, 12345 Musterstadt"},
                                     {"description", "Gullydeckel klappert"}}),
                      "application/x-www-form-urlencoded; charset=utf-8");
  REQUIRE(o311);
  INFO(o311->body);
  REQUIRE(o311->status == 200);
  std::string open311_ref = json::parse(o311->body)[0]["service_request_id"];
  // An address the street list does not know: kept as text, flagged.
  std::string unknown_ref =
      PostApp(s, json{{"description", "Müll abgeladen"}, {"address", "Am Irgendwo 3"}});
  // WhatsApp: a text naming street and number, no pin.
  const std::string from = "493023125044";
  const std::string body = WhatsAppNotification(
      from, json::array({WaText(from, "wamid.P1",
                                "Schlagloch in der Lindenstraße dreizehn, bitte reparieren")}));
  httplib::Headers signature{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kAppSecret, body)}};
  auto wa = s.Client().Post("/webhooks/whatsapp", signature, body, "application/json");
  REQUIRE(wa);
  REQUIRE(wa->status == 200);

  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 5, std::chrono::seconds(30)));

  Placed p = TicketPlace(s, "reference = " + Q(form_ref));
  CHECK(p.source == "address");
  CHECK(p.address == "Lindenstr. 13");  // the citizen's words stay
  CHECK(p.lat == "50.9380");
  CHECK(p.lon == "6.9528");
  CHECK(p.flags.find("Ort aus Adresse: Lindenstraße 13") != std::string::npos);
  auto place = json::parse(p.place);
  CHECK(place["from"] == "address");
  CHECK(place["street"] == "Lindenstraße");
  CHECK(place["house_number"] == "13");
  CHECK(place["used"] == true);

  p = TicketPlace(s, "reference = " + Q(app_ref));
  CHECK(p.source == "address");
  CHECK(!p.lat.empty());
  CHECK(json::parse(p.place)["street"] == "Hauptstraße");

  p = TicketPlace(s, "reference = " + Q(open311_ref));
  CHECK(p.source == "address");
  CHECK(p.lat == "50.9380");

  p = TicketPlace(s, "reference = " + Q(unknown_ref));
  CHECK(p.lat.empty());
  CHECK(p.address == "Am Irgendwo 3");
  CHECK(p.flags.find("Adresse nicht im Straßenverzeichnis") != std::string::npos);
  CHECK(p.place == "null");

  p = TicketPlace(s, "channel = 'whatsapp'");
  CHECK(p.source == "address");
  CHECK(p.address == "Lindenstraße 13");
  CHECK(p.lat == "50.9380");
  CHECK(p.flags.find("Ort aus Text: Lindenstraße 13") != std::string::npos);
  CHECK(p.flags.find("Ort fehlt") == std::string::npos);
  // The place was in the text: the citizen was not asked for it.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'ask_location:%'") == 0);

  // Routing saw the place: the town boundary was checked, as for a report with a position.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE location_source = 'address'"
                " AND routing_explanation->'location'->>'town_area' = 'stadtgebiet'"
                " AND routing_explanation->'location'->>'outside' = 'false'") == 4);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE location_source <> 'address'"
                " AND routing_explanation->'location' <> 'null'::jsonb") == 0);
}

}  // namespace places_test

namespace places_test {

TEST_CASE("places: the form's map finds a typed address and names the place near a point",
          "[integration][places]") {
  Stack s;
  auto get = [&](const std::string& path) {
    auto res = s.Client().Get(path.c_str());
    REQUIRE(res);
    INFO(res->body);
    return std::make_pair(res->status, json::parse(res->body, nullptr, false));
  };
  auto [status, found] = get("/api/v1/places?q=Lindenstr.%2013");
  CHECK(status == 200);
  CHECK(found["place"]["label"] == "Lindenstraße 13");
  CHECK(found["place"]["lat"] == Approx(50.938));
  CHECK(found["place"]["lon"] == Approx(6.9528));
  CHECK(found["place"]["inside_town"] == true);
  auto [missing_status, missing] = get("/api/v1/places?q=Irgendwoweg%203");
  CHECK(missing_status == 404);
  CHECK(missing["error"]["code"] == "not_found");
  for (const char* bad : {"/api/v1/places", "/api/v1/places?q=%20%20", "/api/v1/places?q=%FF%FE"}) {
    INFO(bad);
    auto [bad_status, body] = get(bad);
    CHECK(bad_status == 400);
    CHECK(body["error"]["code"] == "invalid_parameter");
  }
  CHECK(get("/api/v1/places?q=" + std::string(201, 'a')).first == 400);

  auto [near_status, near] = get("/api/v1/places/near?lat=50.93801&lon=6.95281");
  CHECK(near_status == 200);
  CHECK(near["label"] == "Lindenstraße 13");
  CHECK(near["distance_m"] == 1);
  CHECK(near["inside_town"] == true);
  // A plus sign and blanks, as strtod read them before.
  CHECK(get("/api/v1/places/near?lat=%2B50.93801&lon=%206.95281").second == near);
  auto [far_status, far] = get("/api/v1/places/near?lat=50.90&lon=6.90");
  CHECK(far_status == 200);
  CHECK(far["label"].is_null());
  CHECK(far["inside_town"] == false);
  for (const char* bad :
       {"/api/v1/places/near?lat=50.9", "/api/v1/places/near?lat=91&lon=6",
        "/api/v1/places/near?lat=abc&lon=6.9", "/api/v1/places/near?lat=50.9x&lon=6.9",
        "/api/v1/places/near?lat=nan&lon=6.9", "/api/v1/places/near?lat=0x10&lon=6.9"}) {
    INFO(bad);
    CHECK(get(bad).first == 400);
  }
  // The form carries the map, centred on the street list; without the street list and a centre
  // it has none (the address field is all).
  auto form = s.Client().Get("/");
  REQUIRE(form);
  CHECK(form->body.find("id=\"formular-karte\"") != std::string::npos);
  CHECK(form->body.find("src=\"/assets/formular-karte-2.js\"") != std::string::npos);
}

}  // namespace places_test

namespace places_test {

TEST_CASE("places: an address the street list does not know goes to the geocoder, once",
          "[integration][places]") {
  // The stand-in for a Nominatim server: one place, two far apart, none, or an error.
  std::atomic<int> requests{0};
  std::mutex mu;
  std::vector<std::string> queries, agents;
  LocalServer nominatim;
  nominatim.server().Get("/search", [&](const httplib::Request& req, httplib::Response& res) {
    ++requests;
    std::string q = req.get_param_value("q");
    {
      std::lock_guard<std::mutex> lock(mu);
      queries.push_back(q);
      agents.push_back(req.get_header_value("User-Agent"));
    }
    if (req.get_param_value("format") != "jsonv2") {
      res.status = 400;
      return;
    }
    if (q.rfind("Am Bahndamm 4", 0) == 0) {
      res.set_content(R"([{"lat":"50.9420","lon":"6.9700","display_name":"4, Am Bahndamm"}])",
                      "application/json");
    } else if (q.rfind("Kirchweg", 0) == 0) {
      res.set_content(R"([{"lat":"50.9420","lon":"6.9700"},{"lat":"50.9310","lon":"6.9450"}])",
                      "application/json");
    } else if (q.rfind("Kaputtweg", 0) == 0) {
      res.status = 500;
    } else {
      res.set_content("[]", "application/json");
    }
  });
  nominatim.Start();
  StackOptions o;
  o.extra_env = {"MELDESTELLE_GEOCODER_URL=" + nominatim.Url("")};
  Stack s(o);
  std::string found =
      PostApp(s, json{{"description", "Laterne dunkel"}, {"address", "Am Bahndamm 4"}});
  std::string listed =
      PostApp(s, json{{"description", "Laterne dunkel"}, {"address", "Lindenstr. 13"}});
  std::string ambiguous = PostApp(s, json{{"description", "Müll"}, {"address", "Kirchweg"}});
  std::string unknown = PostApp(s, json{{"description", "Müll"}, {"address", "Nirgendwo 1"}});
  std::string failing = PostApp(s, json{{"description", "Müll"}, {"address", "Kaputtweg 2"}});
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 5, std::chrono::seconds(30)));

  Placed p = TicketPlace(s, "reference = " + Q(found));
  CHECK(p.source == "address");
  CHECK(p.lat == "50.9420");
  CHECK(p.address == "Am Bahndamm 4");
  CHECK(p.flags.find("Ort aus Geocoder: 4, Am Bahndamm") != std::string::npos);
  CHECK(json::parse(p.place)["from"] == "geocoder");
  // In the street list: the geocoder is not asked.
  CHECK(TicketPlace(s, "reference = " + Q(listed)).lat == "50.9380");
  p = TicketPlace(s, "reference = " + Q(ambiguous));
  CHECK(p.lat.empty());
  CHECK(p.flags.find("Adresse mehrdeutig") != std::string::npos);
  p = TicketPlace(s, "reference = " + Q(unknown));
  CHECK(p.lat.empty());
  CHECK(p.flags.find("Adresse nicht gefunden") != std::string::npos);
  p = TicketPlace(s, "reference = " + Q(failing));
  CHECK(p.lat.empty());
  CHECK(p.flags.find("Geocoder nicht erreichbar") != std::string::npos);
  // Asked once per unknown address, with the typed address alone and a User-Agent naming us.
  std::lock_guard<std::mutex> lock(mu);
  CHECK(queries.size() == 4);
  for (const auto& q : queries) {
    CHECK(q.find("Laterne") == std::string::npos);
    CHECK(q.find("Müll") == std::string::npos);
  }
  for (const auto& a : agents)
    CHECK(a.rfind("Meldestelle", 0) == 0);
}

}  // namespace places_test
