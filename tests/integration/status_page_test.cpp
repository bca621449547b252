// The citizens' status page (GET /meldung/{reference}, docs/api.md "Status page") against the
// real gateway, worker, dispatcher, broker and database.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "channels/email/mail.hpp"
#include "core/reference.hpp"
#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace status_page_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

std::string CreateToken(Stack& s, const std::string& department) {
  int status = -1;
  std::string out = s.RunCommand({"token", "create", "--department", department}, &status);
  INFO(out);
  REQUIRE(status == 0);
  auto p = out.find("mst_");
  REQUIRE(p != std::string::npos);
  return out.substr(p, out.find('\n', p) - p);
}

int Post(Stack& s, const std::string& path, const std::string& token, const std::string& body) {
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  auto res = s.Client().Post(path.c_str(), h, body, "application/json");
  REQUIRE(res);
  INFO(res->body);
  return res->status;
}

struct Page {
  int status = 0;
  std::string body, location, type, language;
};

Page Get(Stack& s, const std::string& path, const httplib::Headers& headers = {}) {
  auto res = s.Client().Get(path.c_str(), headers);
  REQUIRE(res);
  return {res->status, res->body, res->get_header_value("Location"),
          res->get_header_value("Content-Type"), res->get_header_value("Content-Language")};
}

std::string Grouped(const std::string& ref) {
  return ref.substr(0, 4) + " " + ref.substr(4, 4) + " " + ref.substr(8, 4);
}

// A well-formed reference that no report has: a fresh one from a generator of its own.
std::string UnknownReference() {
  std::mt19937 rng(std::random_device{}());
  ReferenceGenerator g(static_cast<int>(rng() % 1000) + 1);
  return g.Next();
}

// `ref` with its second and third character swapped: the check character tells.
std::string Swapped(std::string ref) {
  for (size_t i = 1; i + 1 < ref.size(); ++i) {
    if (ref[i] != ref[i + 1]) {
      std::swap(ref[i], ref[i + 1]);
      return ref;
    }
  }
  FAIL("no two different neighbours in " << ref);
  return ref;
}

}  // namespace

TEST_CASE(
    "status page: the status, the public history in the town's time and the place, and "
    "nothing of the citizen",
    "[integration][status_page]") {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = {"MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"),
                 "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example"};
  Stack s(o);
  const std::string citizen = "status-seite-" + std::to_string(s.port()) + "@example.net";
  json report{{"description", "Tiefes Schlagloch vor dem Haus von Erika Mustermann"},
              {"category", "STR-01"},
              {"lat", 50.9375312},
              {"lon", 6.9602786},
              {"email", citizen},
              {"address", "Mühlenweg 12, bei Familie Mustermann"},
              {"language", "de"}};
  auto posted = s.Client().Post("/api/v1/reports", report.dump(), "application/json");
  REQUIRE(posted);
  INFO(posted->body);
  REQUIRE(posted->status == 202);
  json answer = json::parse(posted->body);
  const std::string ref = answer["reference"];
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  // The app's answer names the page for people beside the JSON status.
  CHECK(answer["status_page"] == base + "/meldung/" + ref);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));

  // The JSON status for apps stays, with the page's URL.
  auto status = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(status);
  REQUIRE(status->status == 200);
  CHECK(json::parse(status->body)["status_page"] == base + "/meldung/" + ref);

  std::string token = CreateToken(s, "tiefbauamt");
  REQUIRE(Post(s, "/api/v1/tickets/" + ref + "/accept", token,
               R"({"public_note":"Wir sehen uns das an."})") == 200);
  REQUIRE(Post(s, "/api/v1/tickets/" + ref + "/notes", token,
               R"({"note":"Intern: Herr Kranz prüft die Haftung"})") == 200);
  REQUIRE(Post(s, "/api/v1/tickets/" + ref + "/status", token,
               R"({"status":"done","public_note":"Das Loch ist verfüllt <b>heute</b>."})") == 200);

  Page p = Get(s, "/meldung/" + ref);
  INFO(p.body);
  REQUIRE(p.status == 200);
  CHECK(p.type == "text/html; charset=utf-8");
  CHECK(p.language == "de");
  CHECK(p.body.find("<html lang=\"de\"") != std::string::npos);
  CHECK(p.body.find(Grouped(ref)) != std::string::npos);
  CHECK(p.body.find("Schlagloch") != std::string::npos);
  CHECK(p.body.find("Tiefbauamt") != std::string::npos);
  CHECK(p.body.find("stand stand-erledigt\">Erledigt<") != std::string::npos);
  // The history: routed, accepted and done with their public notes, escaped; the internal
  // note never.
  CHECK(p.body.find("Eingegangen und weitergegeben an: Tiefbauamt") != std::string::npos);
  CHECK(p.body.find("Von der zuständigen Stelle angenommen") != std::string::npos);
  CHECK(p.body.find("Wir sehen uns das an.") != std::string::npos);
  CHECK(p.body.find("Das Loch ist verfüllt &lt;b&gt;heute&lt;/b&gt;.") != std::string::npos);
  CHECK(p.body.find("Haftung") == std::string::npos);
  CHECK(p.body.find("Kranz") == std::string::npos);
  // Times in the town's zone (Europe/Berlin), not in UTC.
  std::string local = One(s,
                          "SELECT to_char(at AT TIME ZONE 'Europe/Berlin', 'DD.MM.YYYY, HH24:MI')"
                          " FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id WHERE"
                          " t.reference = " +
                              Q(ref) + " AND h.to_status = 'done'");
  std::string utc = One(s,
                        "SELECT to_char(at AT TIME ZONE 'UTC', 'DD.MM.YYYY, HH24:MI')"
                        " FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id WHERE"
                        " t.reference = " +
                            Q(ref) + " AND h.to_status = 'done'");
  REQUIRE(local != utc);
  CHECK(p.body.find(local) != std::string::npos);
  CHECK(p.body.find(utc) == std::string::npos);
  // The place: the map's data, the library from the gateway itself, and a link for no script.
  CHECK(p.body.find("data-lat=\"50.937531\"") != std::string::npos);
  CHECK(p.body.find("data-lon=\"6.960279\"") != std::string::npos);
  CHECK(p.body.find("src=\"/assets/leaflet-1.9.4/leaflet.js\"") != std::string::npos);
  CHECK(p.body.find("https://www.openstreetmap.org/?mlat=50.937531&amp;mlon=6.960279") !=
        std::string::npos);
  // Nothing of the citizen: no text, no name, no address.
  CHECK(p.body.find("Erika") == std::string::npos);
  CHECK(p.body.find("Mustermann") == std::string::npos);
  CHECK(p.body.find("vor dem Haus") == std::string::npos);
  CHECK(p.body.find("Mühlenweg") == std::string::npos);
  CHECK(p.body.find(citizen) == std::string::npos);

  // English on request, and for a browser that prefers it.
  Page en = Get(s, "/meldung/" + ref + "?lang=en");
  CHECK(en.language == "en");
  CHECK(en.body.find("Status of your report") != std::string::npos);
  CHECK(en.body.find(">Done<") != std::string::npos);
  Page browser = Get(s, "/meldung/" + ref, {{"Accept-Language", "fr-FR, en;q=0.8, de;q=0.5"}});
  CHECK(browser.language == "en");
  Page german = Get(s, "/meldung/" + ref, {{"Accept-Language", "en;q=0.4, de-DE"}});
  CHECK(german.language == "de");

  // A reference typed in small letters with dashes has one address.
  std::string typed = ref.substr(0, 4) + "-" + ref.substr(4, 4) + "-" + ref.substr(8);
  for (auto& c : typed)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Page moved = Get(s, "/meldung/" + typed);
  CHECK(moved.status == 301);
  CHECK(moved.location == "/meldung/" + ref);

  // The acknowledgement and the status notice by e-mail link to the page.
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(citizen).size() >= 3; }, std::chrono::seconds(30)));
  for (const auto& raw : SinkMessagesTo(citizen)) {
    auto mail = email::ParseMail(raw);
    REQUIRE(mail);
    INFO(mail->text);
    CHECK(mail->text.find(base + "/meldung/" + ref) != std::string::npos);
    CHECK(mail->text.find("/api/v1/reports/") == std::string::npos);
  }
}

TEST_CASE("status page: a typo, an unknown reference and the field to type one",
          "[integration][status_page]") {
  Stack s;
  std::string ref = PostText(s, "Die Laterne in der Parkstraße ist dunkel");

  Page field = Get(s, "/meldung");
  REQUIRE(field.status == 200);
  CHECK(field.body.find("<form method=\"get\" action=\"/meldung\">") != std::string::npos);
  CHECK(field.body.find("name=\"nummer\"") != std::string::npos);
  CHECK(field.body.find("role=\"alert\"") == std::string::npos);

  // Typed in the field, any way: to the reference's page.
  Page found = Get(s, "/meldung?nummer=" + ref.substr(0, 6) + "%20-%20" + ref.substr(6));
  CHECK(found.status == 303);
  CHECK(found.location == "/meldung/" + ref);
  // As a browser sends the field: spaces as '+'.
  std::string raw = RawHttp(s.port(), "GET /meldung?nummer=" + ref.substr(0, 4) + "+" +
                                          ref.substr(4, 4) + "+" + ref.substr(8) +
                                          " HTTP/1.1\r\nHost: localhost\r\n"
                                          "Connection: close\r\n\r\n");
  CHECK(raw.rfind("HTTP/1.1 303", 0) == 0);
  CHECK(raw.find("Location: /meldung/" + ref + "\r\n") != std::string::npos);
  Page found_en = Get(s, "/meldung?lang=en&nummer=" + ref);
  CHECK(found_en.location == "/meldung/" + ref + "?lang=en");

  // Before the worker has routed it, the report is known as received; afterwards with its
  // department. Either way the page answers 200.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
  CHECK(Get(s, "/meldung/" + ref).status == 200);

  // Two neighbours swapped: the check character tells a typo, and the field shows it again.
  std::string typo = Swapped(ref);
  Page wrong = Get(s, "/meldung/" + typo);
  INFO(wrong.body);
  CHECK(wrong.status == 404);
  CHECK(wrong.body.find("Tippfehler") != std::string::npos);
  CHECK(wrong.body.find("value=\"" + typo + "\"") != std::string::npos);
  CHECK(wrong.body.find("aria-invalid=\"true\"") != std::string::npos);
  CHECK(wrong.body.find("role=\"alert\"") != std::string::npos);

  // Well-formed but unknown.
  Page unknown = Get(s, "/meldung/" + UnknownReference());
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("kennen wir keine Meldung") != std::string::npos);
  CHECK(unknown.body.find("Tippfehler") == std::string::npos);

  // Too short, and something that is no reference at all, escaped where it is shown again.
  Page short_one = Get(s, "/meldung/ABC");
  CHECK(short_one.status == 404);
  CHECK(short_one.body.find("keine vollständige Vorgangsnummer") != std::string::npos);
  Page script = Get(s, "/meldung?nummer=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  CHECK(script.status == 400);
  CHECK(script.body.find("<script>alert") == std::string::npos);
  CHECK(script.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  Page english = Get(s, "/meldung/" + typo + "?lang=en");
  CHECK(english.body.find("typing error") != std::string::npos);

  // The form's confirmation and the app's answer point here (the rest: the test above).
  CHECK(Get(s, "/meldung/" + ref).body.find(Grouped(ref)) != std::string::npos);
}

TEST_CASE("status page: the map library is served by the gateway, and the map can be off",
          "[integration][status_page]") {
  SECTION("served from the binary, byte for byte the vendored file, cached for a year") {
    Stack s;
    auto js = s.Client().Get("/assets/leaflet-1.9.4/leaflet.js");
    REQUIRE(js);
    CHECK(js->status == 200);
    CHECK(js->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(js->get_header_value("Cache-Control").find("immutable") != std::string::npos);
    CHECK(js->body == ReadFile(std::string(MELDESTELLE_SOURCE_DIR) +
                               "/gateway/assets/leaflet-1.9.4/leaflet.js"));
    auto css = s.Client().Get("/assets/leaflet-1.9.4/leaflet.css");
    REQUIRE(css);
    CHECK(css->get_header_value("Content-Type") == "text/css; charset=utf-8");
    auto ours = s.Client().Get("/assets/karte-1.js");
    REQUIRE(ours);
    CHECK(ours->status == 200);
    auto missing = s.Client().Get("/assets/leaflet-1.9.4/nothing.js");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    auto escape = s.Client().Get("/assets/../../etc/passwd");
    REQUIRE(escape);
    CHECK(escape->status == 404);
    // The privacy notice names the tile server among those who see the citizen's browser.
    auto notice = s.Client().Get("/datenschutz");
    REQUIRE(notice);
    CHECK(notice->body.find("Kartenausschnitte von tile.openstreetmap.org") != std::string::npos);
  }
  SECTION("webform.map.enabled: false — no map, no library, the place as a link") {
    StackOptions o;
    o.edit_config = [](std::string& cfg) {
      Replace(cfg, "  token_max_age_seconds: 7200\n",
              "  token_max_age_seconds: 7200\n  map:\n    enabled: false\n");
    };
    Stack s(o);
    json report{
        {"description", "Schlagloch"}, {"category", "STR-01"}, {"lat", 50.94}, {"lon", 6.96}};
    std::string ref = PostApp(s, report);
    REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
    Page p = Get(s, "/meldung/" + ref);
    INFO(p.body);
    REQUIRE(p.status == 200);
    CHECK(p.body.find("leaflet") == std::string::npos);
    CHECK(p.body.find("id=\"karte\"") == std::string::npos);
    CHECK(p.body.find("https://www.openstreetmap.org/?mlat=50.94") != std::string::npos);
    auto notice = s.Client().Get("/datenschutz");
    REQUIRE(notice);
    CHECK(notice->status == 200);
    CHECK(notice->body.find("Kartenausschnitte") == std::string::npos);
  }
}

}  // namespace status_page_test
