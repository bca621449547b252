// The citizens' status page (GET /meldung/{reference}, docs/api.md "Status page") against the
// real gateway, worker, dispatcher, broker and database.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "channels/email/mail.hpp"
#include "core/crypto.hpp"
#include "core/reference.hpp"
#include "fake_providers.hpp"
#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace status_page_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

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
  const std::string citizen =
      "status-seite-" + std::to_string(s.port()) + "-" + RandomHex(4) + "@example.net";
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

  std::string token = s.DepartmentToken("tiefbauamt");
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
  // The place: the map's data, the library from the gateway itself, and a link for no script;
  // to about 100 m, as the public list of reports shows it (the report came by the app).
  CHECK(p.body.find("data-lat=\"50.938000\"") != std::string::npos);
  CHECK(p.body.find("data-lon=\"6.960000\"") != std::string::npos);
  CHECK(p.body.find("50.937531") == std::string::npos);
  CHECK(p.body.find("src=\"/assets/leaflet-1.9.4/leaflet.js\"") != std::string::npos);
  CHECK(p.body.find("https://www.openstreetmap.org/?mlat=50.938000&amp;mlon=6.960000") !=
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

TEST_CASE("status page: look-ups by reference and of places are rate-limited per client",
          "[integration][status_page]") {
  StackOptions o;
  o.edit_config = [](std::string& cfg) {
    Replace(cfg, "  lookups_burst: 30\n", "  lookups_burst: 3\n");
  };
  o.extra_env = {"MELDESTELLE_LOOKUPS_PER_MINUTE=1"};
  Stack s(o);
  std::string ref = UnknownReference();
  for (int i = 0; i < 3; ++i)
    CHECK(Get(s, "/meldung/" + ref).status == 404);
  // The fourth within the minute: 429 with Retry-After, as a page, as JSON, for places.
  auto page = s.Client().Get(("/meldung/" + ref).c_str());
  REQUIRE(page);
  CHECK(page->status == 429);
  CHECK(std::stoi(page->get_header_value("Retry-After")) >= 1);
  CHECK(page->body.find("zu viele Abfragen") != std::string::npos);
  auto api = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(api);
  CHECK(api->status == 429);
  CHECK(json::parse(api->body)["error"]["code"] == "rate_limited");
  auto places = s.Client().Get("/api/v1/places?q=Lindenstra%C3%9Fe%2013");
  REQUIRE(places);
  CHECK(places->status == 429);
  auto answer = s.Client().Post(("/meldung/" + ref + "/behoben").c_str(), "antwort=nein",
                                "application/x-www-form-urlencoded");
  REQUIRE(answer);
  CHECK(answer->status == 429);
  // Other pages are not counted: the form and the notice still open.
  CHECK(s.Client().Get("/")->status == 200);
  CHECK(s.Client().Get("/datenschutz")->status == 200);
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
    // The accessibility statement: the configured address to report barriers, the date, the
    // enforcement procedure; English on request.
    auto statement = s.Client().Get("/barrierefreiheit");
    REQUIRE(statement);
    CHECK(statement->status == 200);
    CHECK(statement->body.find("<h1>Erklärung zur Barrierefreiheit</h1>") != std::string::npos);
    CHECK(statement->body.find("E-Mail: barrierefreiheit@musterstadt.example") !=
          std::string::npos);
    CHECK(statement->body.find("am 04.12.2026 erstellt") != std::string::npos);
    CHECK(statement->body.find("schlichtungsstelle-bgg.de") != std::string::npos);
    auto english = s.Client().Get("/barrierefreiheit?lang=en");
    REQUIRE(english);
    CHECK(english->body.find("Accessibility statement") != std::string::npos);
    // Every citizens' page links it.
    CHECK(s.Client().Get("/")->body.find("href=\"/barrierefreiheit\"") != std::string::npos);
  }
  SECTION("webform.map.enabled: false — no map, no library, the place as a link") {
    StackOptions o;
    o.edit_config = [](std::string& cfg) {
      Replace(cfg, "  map:\n    enabled: true\n", "  map:\n    enabled: false\n");
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

TEST_CASE("Ist es behoben?: yes on the status page, no in the chat reopens, both counted",
          "[integration][status_page]") {
  FakeProviders fake;
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=1");
  Stack s(o);
  std::string token = s.DepartmentToken("tiefbauamt");
  auto done = [&](const std::string& ref) {
    REQUIRE(Post(s, "/api/v1/tickets/" + ref + "/status", token,
                 R"({"status":"done","public_note":"Repariert."})") == 200);
  };
  // The reporter's link carries the key (core/links.hpp); the page's form sends it back.
  auto answer = [&](const std::string& ref, const std::string& fields) {
    auto res = s.Client().Post(("/meldung/" + ref + "/behoben").c_str(),
                               fields + "&schluessel=" + s.FixAnswerKey(ref),
                               "application/x-www-form-urlencoded");
    REQUIRE(res);
    return Page{res->status, res->body, res->get_header_value("Location"),
                res->get_header_value("Content-Type"), res->get_header_value("Content-Language")};
  };

  // The status page: asked only once the ticket is done.
  std::string a = PostApp(s, json{{"description", "Schlagloch"},
                                  {"category", "STR-01"},
                                  {"lat", 50.9375},
                                  {"lon", 6.9603}});
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(a), 1));
  CHECK(Get(s, "/meldung/" + a).body.find("Ist der Mangel behoben?") == std::string::npos);
  CHECK(answer(a, "antwort=ja").location == "/meldung/" + a);  // not done: nothing to answer
  done(a);
  // Strangers (the reference is on the public list) are not asked and cannot answer.
  CHECK(Get(s, "/meldung/" + a).body.find("<legend>Ist der Mangel behoben?") == std::string::npos);
  for (const std::string& key : {std::string(), std::string(32, '0'), s.FixAnswerKey(a + "X")}) {
    auto stranger = s.Client().Post(("/meldung/" + a + "/behoben").c_str(),
                                    "antwort=nein&notiz=Unsinn&schluessel=" + key,
                                    "application/x-www-form-urlencoded");
    REQUIRE(stranger);
    CHECK(stranger->status == 403);
    CHECK(stranger->body.find("Antworten können nur die Meldenden") != std::string::npos);
  }
  CHECK(s.Count("SELECT count(*) FROM fix_answers") == 0);
  Page asked = Get(s, "/meldung/" + a + "?schluessel=" + s.FixAnswerKey(a));
  CHECK(asked.body.find("<legend>Ist der Mangel behoben?</legend>") != std::string::npos);
  CHECK(asked.body.find("name=\"schluessel\" value=\"" + s.FixAnswerKey(a) + "\"") !=
        std::string::npos);
  // Broken answers are refused and change nothing.
  Page wrong = answer(a, "antwort=vielleicht&notiz=hm");
  CHECK(wrong.status == 400);
  CHECK(wrong.body.find("Bitte wählen Sie „Ja“ oder „Nein“.") != std::string::npos);
  CHECK(wrong.body.find(">hm</textarea>") != std::string::npos);
  Page long_note = answer(a, "antwort=nein&notiz=" + std::string(2001, 'x'));
  CHECK(long_note.status == 400);
  CHECK(long_note.body.find("höchstens 2000 Zeichen") != std::string::npos);
  Page bad_bytes = answer(a, "antwort=nein&notiz=%FF%FE");
  CHECK(bad_bytes.status == 400);
  CHECK(s.Count("SELECT count(*) FROM fix_answers") == 0);
  CHECK(One(s, "SELECT status FROM tickets WHERE reference = " + Q(a)) == "done");
  // Yes: kept once, thanked; the question is gone; a second answer changes nothing.
  Page yes = answer(a, "antwort=ja");
  CHECK(yes.status == 303);
  CHECK(yes.location == "/meldung/" + a + "?antwort=danke");
  Page thanked = Get(s, yes.location);
  CHECK(thanked.body.find("Danke für Ihre Rückmeldung.") != std::string::npos);
  CHECK(thanked.body.find("<legend>Ist der Mangel behoben?") == std::string::npos);
  CHECK(answer(a, "antwort=nein").location == "/meldung/" + a + "?antwort=schon");
  CHECK(One(s, "SELECT status FROM tickets WHERE reference = " + Q(a)) == "done");
  CHECK(s.Count("SELECT count(*) FROM fix_answers WHERE fixed AND channel = 'status_page'") == 1);

  // WhatsApp: the done notice asks; "Nein, …" reopens the ticket for its department.
  const std::string from = "493023125066";
  auto whatsapp = [&](const std::string& id, const json& message) {
    json m = message;
    m["from"] = from;
    m["id"] = id;
    m["timestamp"] = "1764250000";
    std::string body = WhatsAppNotification(from, json::array({m}));
    httplib::Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kAppSecret, body)}};
    auto res = s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  };
  whatsapp("wamid.F1", {{"type", "text"}, {"text", {{"body", "Schlagloch vor Hausnummer 4"}}}});
  whatsapp("wamid.F2",
           {{"type", "location"}, {"location", {{"latitude", 50.9380}, {"longitude", 6.9528}}}});
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 1,
                         std::chrono::seconds(30)));
  std::string b = One(s, "SELECT reference FROM tickets WHERE channel = 'whatsapp'");
  REQUIRE(fake.WaitForSent(1));
  done(b);
  REQUIRE(fake.WaitForSent(2));
  std::string notice = fake.sent()[1].body["text"]["body"];
  CHECK(notice.find("Ist der Mangel behoben? Antworten Sie mit JA oder NEIN") != std::string::npos);
  CHECK(notice.find("/meldung/" + b) != std::string::npos);
  // A new report that starts like an answer is a new report, not the answer.
  whatsapp("wamid.F4",
           {{"type", "text"}, {"text", {{"body", "No street light on Main Street tonight"}}}});
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_drafts WHERE state <> 'published'", 1));
  CHECK(s.Count("SELECT count(*) FROM fix_answers") == 1);  // the status page's only
  whatsapp("wamid.F3", {{"type", "text"}, {"text", {{"body", "Nein, das Loch ist noch da"}}}});
  REQUIRE(s.WaitForCount("SELECT count(*) FROM fix_answers WHERE NOT fixed", 1));
  CHECK(One(s, "SELECT note FROM fix_answers WHERE NOT fixed") == "das Loch ist noch da");
  CHECK(One(s, "SELECT channel FROM fix_answers WHERE NOT fixed") == "whatsapp");
  CHECK(One(s, "SELECT status FROM tickets WHERE reference = " + Q(b)) == "accepted");
  CHECK(One(s,
            "SELECT h.note FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
            " WHERE t.reference = " +
                Q(b) + " AND h.action = 'reopened'") == "das Loch ist noch da");
  // The department is told (its delivery, reason "reopened"); the citizen is thanked.
  CHECK(
      s.WaitForCount("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                     " WHERE t.reference = " +
                         Q(b) + " AND o.payload->>'reason' = 'reopened'",
                     1));
  auto thanked_in_chat = [&] {
    for (const auto& m : fake.sent()) {
      if (m.body.contains("text") &&
          m.body["text"]["body"].get<std::string>().find("ist wieder offen") != std::string::npos)
        return true;
    }
    return false;
  };
  CHECK(WaitFor(thanked_in_chat));
  // The answer opened no report; the status page shows the ticket open again.
  CHECK(s.Count("SELECT count(*) FROM chat_draft_items WHERE text LIKE 'Nein%'") == 0);
  Page reopened = Get(s, "/meldung/" + b);
  CHECK(reopened.body.find("Wieder geöffnet: Der Mangel ist noch nicht behoben") !=
        std::string::npos);
  CHECK(reopened.body.find("das Loch ist noch da") == std::string::npos);  // staff's eyes only

  // The figures per department.
  int st = -1;
  std::string out = s.RunCommand({"stats", "--format", "json"}, &st);
  INFO(out);
  REQUIRE(st == 0);
  json stats = ParseJsonOutput(out);
  bool found = false;
  for (const auto& d : stats["departments"]) {
    if (d["department"] == "tiefbauamt") {
      found = true;
      CHECK(d["fix_answers"]["fixed"] == 1);
      CHECK(d["fix_answers"]["not_fixed"] == 1);
    }
  }
  CHECK(found);
}

}  // namespace status_page_test

namespace status_page_test {

TEST_CASE(
    "a browser that goes astray finds a page in its language with the way back to the "
    "form, not JSON; a client of the API still gets JSON",
    "[status_page]") {
  StackOptions o;
  o.workers = 0;
  Stack s(o);
  auto c = s.Client();
  const httplib::Headers browser{{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"},
                                 {"Accept-Language", "de-DE,de;q=0.9"}};
  auto missing = c.Get("/gibt-es-nicht", browser);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(missing->get_header_value("Cache-Control") == "no-store");
  CHECK_THAT(missing->body, Catch::Contains("Diese Seite gibt es nicht."));
  CHECK_THAT(missing->body, Catch::Contains("Zurück zum Meldeformular"));
  auto english = c.Get("/favicon.ico?lang=en", browser);
  REQUIRE(english);
  CHECK(english->status == 404);
  CHECK_THAT(english->body, Catch::Contains("This page does not exist."));
  auto api = c.Get("/gibt-es-nicht", {{"Accept", "application/json"}});
  REQUIRE(api);
  CHECK(api->status == 404);
  CHECK_THAT(api->body, Catch::Contains("\"code\":\"not_found\""));

  // Photos over the form's limit, posted without script: the 413 as a page, before the body.
  std::string answer = RawHttp(
      s.port(),
      "POST /formular/meldung HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 70000000\r\n\r\n--b\r\n");
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
  CHECK_THAT(answer, Catch::Contains("Content-Type: text/html; charset=utf-8"));
  CHECK_THAT(answer, Catch::Contains("Bitte senden Sie weniger oder kleinere Fotos."));
  CHECK(s.QueueDepth(s.queue()) == 0);

  // The addresses a form without script leaves in the address bar: back where it came from.
  auto reloaded = c.Get("/formular/meldung?lang=tr", browser);
  REQUIRE(reloaded);
  CHECK(reloaded->status == 303);
  CHECK(reloaded->get_header_value("Location") == "/?lang=tr");
  const std::string reference = PostText(s, "Laterne dunkel in der Hauptstraße");
  auto fixed = c.Get("/meldung/" + reference + "/behoben", browser);
  REQUIRE(fixed);
  CHECK(fixed->status == 303);
  CHECK(fixed->get_header_value("Location") == "/meldung/" + reference);
  auto me_too = c.Get("/meldung/" + reference + "/ich-auch", browser);
  REQUIRE(me_too);
  CHECK(me_too->status == 303);
  CHECK(me_too->get_header_value("Location") == "/meldung/" + reference);
  // An API path answers JSON whatever the client accepts (Java's default Accept names HTML).
  auto java = c.Get("/api/v1/gibt-es-nicht",
                    {{"Accept", "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"}});
  REQUIRE(java);
  CHECK(java->status == 404);
  CHECK_THAT(java->body, Catch::Contains("\"code\":\"not_found\""));
  auto typo = c.Get("/meldung/%0d%0aX:1/behoben", browser);
  REQUIRE(typo);
  CHECK(typo->status == 404);
  CHECK(typo->get_header_value("Location").empty());
}

TEST_CASE(
    "pages are not framed by other sites (the staff's never, the citizens' by the town's own "
    "site if it says so), and no answer is sniffed",
    "[status_page]") {
  // A page's policy runs only the gateway's scripts (its files, and its inline ones by hash);
  // what follows is who may frame it.
  const std::string scripts = "script-src 'self' 'sha256-";
  const std::string then = "; object-src 'none'; base-uri 'none'; ";
  auto framing = [&](const httplib::Result& res) {
    REQUIRE(res);
    CHECK(res->get_header_value("X-Content-Type-Options") == "nosniff");
    std::string policy = res->get_header_value("Content-Security-Policy");
    if (!policy.empty()) {
      CHECK(policy.rfind(scripts, 0) == 0);
      const size_t at = policy.find(then);
      REQUIRE(at != std::string::npos);
      policy = policy.substr(at + then.size());
    }
    return policy + " | " + res->get_header_value("X-Frame-Options");
  };
  const std::string none = "frame-ancestors 'none' | DENY";
  {
    StackOptions o;
    o.workers = 0;
    Stack s(o);
    auto c = s.Client();
    CHECK(framing(c.Get("/")) == none);
    CHECK(framing(c.Get("/meldung")) == none);
    CHECK(framing(c.Get("/staff/login")) == none);
    CHECK(framing(c.Get("/gibt-es-nicht", {{"Accept", "text/html"}})) == none);
    // Not a page: nothing to frame, but not sniffed either.
    CHECK(framing(c.Get("/healthz")) == " | ");
  }
  StackOptions o;
  o.workers = 0;
  o.edit_config = [](std::string& cfg) {
    Replace(cfg, "  embed_origins: []\n",
            "  embed_origins: [\"https://www.musterstadt.example\"]\n");
  };
  Stack s(o);
  auto c = s.Client();
  const std::string town = "frame-ancestors 'self' https://www.musterstadt.example | ";
  CHECK(framing(c.Get("/")) == town);
  CHECK(framing(c.Get("/meldung")) == town);
  CHECK(framing(c.Get("/staff/login")) == none);
  // A refusal (a page for a browser) and a target in absolute-form get them too; the staff's
  // page by its path, not by the target as sent.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /meldung HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       "frame-ancestors 'self' https://www.musterstadt.example\r\n"},
      {"GET http://x/staff/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
       "frame-ancestors 'none'\r\n"}};
  for (const auto& [request, policy] : cases) {
    std::string answer = RawHttp(s.port(), request);
    INFO(request << "\n---\n" << answer);
    CHECK(answer.find("\r\nContent-Security-Policy: " + scripts) != std::string::npos);
    CHECK(answer.find(then + policy) != std::string::npos);
    CHECK((answer.find("\r\nX-Frame-Options: DENY\r\n") != std::string::npos) ==
          (policy == "frame-ancestors 'none'\r\n"));
    CHECK_THAT(answer, Catch::Contains("\r\nX-Content-Type-Options: nosniff\r\n"));
  }
}

}  // namespace status_page_test
