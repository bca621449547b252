// The citizens' status page and the field to type a reference (channels/webform/status_page).
#include "channels/webform/status_page.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "channels/webform/html.hpp"
#include "channels/webform/page.hpp"
#include "channels/webform/public_reports.hpp"
#include "core/crypto.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace status_page_render_test {

using namespace meldestelle::webform;

namespace {

bool Has(const std::string& html, const std::string& part) {
  return html.find(part) != std::string::npos;
}

StatusPage Sample() {
  StatusPage p;
  p.town_name = "Musterstadt";
  p.reference = "4KQ7XRT2WNPA";
  p.status = "in_progress";
  p.category_name = "Schlagloch";
  p.department_name = "Tiefbauamt";
  p.received_at = "03.12.2026, 17:05";
  p.history = {{"03.12.2026, 17:05", "routed", "assigned", "Tiefbauamt", ""},
               {"04.12.2026, 08:10", "accepted", "accepted", "Tiefbauamt", "Wir kommen."},
               {"04.12.2026, 09:00", "status", "in_progress", "Tiefbauamt", ""}};
  p.lat = 50.9375312;
  p.lon = 6.9602786;
  p.map_link = "https://www.openstreetmap.org/?mlat=50.937531&mlon=6.960279";
  p.map.enabled = true;
  p.map.tile_url = "https://tile.example/{z}/{x}/{y}.png";
  p.map.attribution = "© Karten-Mitwirkende";
  p.map.attribution_url = "https://tile.example/copyright";
  p.map.max_zoom = 18;
  p.map.library_css = "/a.css";
  p.map.library_js = "/a.js";
  p.map.script_js = "/b.js";
  p.self = "/meldung/4KQ7XRT2WNPA";
  return p;
}

}  // namespace

TEST_CASE("the status page shows the status, the history and the place", "[webform]") {
  std::string html = RenderStatusPage(Sample());
  CHECK(Has(html, "<html lang=\"de\" dir=\"ltr\">"));
  CHECK(Has(html, "<title>Meldung 4KQ7 XRT2 WNPA – Musterstadt</title>"));
  CHECK(Has(html, ">4KQ7 XRT2 WNPA</div>"));
  CHECK(Has(html, "aria-label=\"Vorgangsnummer: 4 K Q 7, X R T 2, W N P A\""));
  CHECK(Has(html, "<span class=\"stand stand-arbeit\">In Bearbeitung</span>"));
  CHECK(Has(html, "<dd>Schlagloch</dd>"));
  CHECK(Has(html, "<dd>Tiefbauamt</dd>"));
  CHECK(Has(html, "Eingegangen und weitergegeben an: Tiefbauamt"));
  CHECK(Has(html, "<p class=\"notiz\" lang=\"de\">Wir kommen.</p>"));
  // The history in order.
  CHECK(html.find("17:05</span>") < html.find("08:10</span>"));
  CHECK(html.find("08:10</span>") < html.find("09:00</span>"));
  // The map: hidden until the script shows it, the library and the script in the head, the
  // tiles' source named with its link.
  CHECK(Has(html, "<div id=\"karte\" class=\"karte\" hidden role=\"img\""));
  CHECK(Has(html, "data-tiles=\"https://tile.example/{z}/{x}/{y}.png\""));
  CHECK(Has(html, "data-max-zoom=\"18\""));
  CHECK(Has(html, "<link rel=\"stylesheet\" href=\"/a.css\">"));
  CHECK(Has(html, "<script defer src=\"/a.js\"></script>"));
  CHECK(Has(html, "<a href=\"https://tile.example/copyright\">© Karten-Mitwirkende</a>"));
  CHECK(Has(html, "href=\"https://www.openstreetmap.org/?mlat=50.937531&amp;mlon=6.960279\""));
  CHECK(Has(html, "hreflang=\"en\""));
  // No inline script: everything the map needs is in data-* attributes.
  CHECK_FALSE(Has(html, "<script>"));
}

TEST_CASE("the status page's traffic light and its words for every status", "[webform]") {
  StatusPage p = Sample();
  for (auto [status, css, words] :
       {std::tuple{"received", "stand", "Eingegangen"},
        std::tuple{"assigned", "stand", "Bei der zuständigen Stelle"},
        std::tuple{"accepted", "stand stand-arbeit", "Angenommen"},
        std::tuple{"done", "stand stand-erledigt", "Erledigt"},
        std::tuple{"rejected", "stand stand-erledigt", "Abgeschlossen ohne Maßnahme"}}) {
    p.status = status;
    INFO(status);
    CHECK(
        Has(RenderStatusPage(p), std::string("<span class=\"") + css + "\">" + words + "</span>"));
  }
  CHECK(StatusLabel("done", meldestelle::texts::Lang(nullptr, "en")) == "Done");
}

TEST_CASE("the status page without a position, without the map, linked, new and in English",
          "[webform]") {
  StatusPage p = Sample();
  SECTION("no position: no map, no library, a sentence") {
    p.lat.reset();
    p.lon.reset();
    p.map_link.clear();
    std::string html = RenderStatusPage(p);
    CHECK_FALSE(Has(html, "id=\"karte\""));
    CHECK_FALSE(Has(html, "/a.js"));
    CHECK(Has(html, "kein Punkt auf der Karte"));
  }
  SECTION("the map off: the link only") {
    p.map.enabled = false;
    std::string html = RenderStatusPage(p);
    CHECK_FALSE(Has(html, "id=\"karte\""));
    CHECK_FALSE(Has(html, "/a.css"));
    CHECK(Has(html, "Ort auf OpenStreetMap ansehen"));
  }
  SECTION("handled with another report: its reference, linked") {
    p.linked_reference = "7TQKRM3ZVH2C";
    std::string html = RenderStatusPage(p);
    CHECK(Has(html, "<a href=\"/meldung/7TQKRM3ZVH2C\" translate=\"no\">7TQK RM3Z VH2C</a>"));
  }
  SECTION("not routed yet: no department, the history explains") {
    p.status = "received";
    p.department_name.clear();
    p.category_name.clear();
    p.history.clear();
    std::string html = RenderStatusPage(p);
    CHECK(Has(html, "wird gerade bestimmt"));
    CHECK(Has(html, "wird in Kürze an die zuständige Stelle"));
    CHECK_FALSE(Has(html, "Art des Mangels"));
  }
  SECTION("English") {
    p.t = meldestelle::texts::Lang(nullptr, "en");
    std::string html = RenderStatusPage(p);
    CHECK(Has(html, "<html lang=\"en\" dir=\"ltr\">"));
    CHECK(Has(html, "Status of your report"));
    CHECK(Has(html, ">In progress</span>"));
    CHECK(Has(html, "Received and passed to: Tiefbauamt"));
    CHECK(Has(html, "href=\"/meldung?lang=en\""));
  }
}

TEST_CASE("the status page asks whether it is fixed, and thanks for the answer", "[webform]") {
  StatusPage p = Sample();
  p.status = "done";
  CHECK_FALSE(Has(RenderStatusPage(p), "behoben"));
  p.ask_fixed = true;
  std::string html = RenderStatusPage(p);
  CHECK(
      Has(html, "<form class=\"frage\" method=\"post\" action=\"/meldung/4KQ7XRT2WNPA/behoben\">"));
  CHECK(Has(html, "<legend>Ist der Mangel behoben?</legend>"));
  CHECK(Has(html, "name=\"antwort\" value=\"ja\" required>"));
  CHECK(Has(html, "name=\"antwort\" value=\"nein\">"));
  CHECK(Has(html, "<label for=\"notiz\">"));
  CHECK_FALSE(Has(html, "role=\"alert\""));
  p.fixed_error = "Bitte wählen Sie „Ja“ oder „Nein“.";
  p.fixed_note = "</textarea><script>";
  html = RenderStatusPage(p);
  CHECK(Has(html, "id=\"antwort-fehler\" role=\"alert\">Bitte wählen Sie „Ja“ oder „Nein“."));
  CHECK(Has(html, "<fieldset aria-describedby=\"antwort-fehler\">"));
  CHECK(Has(html, "&lt;/textarea&gt;&lt;script&gt;</textarea>"));
  p.ask_fixed = false;
  p.answered = "reopened";
  html = RenderStatusPage(p);
  CHECK(Has(html, "role=\"status\"><p>Danke. Die Meldung ist wieder offen"));
  CHECK_FALSE(Has(html, "<form class=\"frage\""));
  p.t = meldestelle::texts::Lang(nullptr, "en");
  p.answered = "fixed";
  CHECK(Has(RenderStatusPage(p), "Thank you for letting us know."));
}

TEST_CASE("the status page escapes what came from staff and the configuration", "[webform]") {
  StatusPage p = Sample();
  p.town_name = "<b>Stadt</b>";
  p.history[1].public_note = "\"><script>alert(1)</script>";
  p.department_name = "Amt & Co";
  p.map.tile_url = "javascript:alert(1)//{z}{x}{y}";
  p.map.attribution_url = "javascript:alert(2)";
  std::string html = RenderStatusPage(p);
  CHECK_FALSE(Has(html, "<script>alert"));
  CHECK_FALSE(Has(html, "<b>Stadt"));
  CHECK(Has(html, "&lt;b&gt;Stadt&lt;/b&gt;"));
  CHECK(Has(html, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(Has(html, "Amt &amp; Co"));
  CHECK_FALSE(Has(html, "javascript:"));
}

TEST_CASE("the field to type a reference says what was wrong and keeps what was typed",
          "[webform]") {
  LookupPage p;
  p.town_name = "Musterstadt";
  std::string fresh = RenderLookupPage(p);
  CHECK(Has(fresh, "<label for=\"nummer\">Vorgangsnummer</label>"));
  CHECK(Has(fresh, "aria-describedby=\"nummer-hinweis\""));
  CHECK_FALSE(Has(fresh, "role=\"alert\""));
  CHECK_FALSE(Has(fresh, "aria-invalid=\"true\""));
  CHECK(Has(fresh, "<title>Stand einer Meldung abrufen – Musterstadt</title>"));

  p.typed = "4KQ7 XRT2 WNAP\"><x";
  for (auto [problem, words] :
       {std::pair{LookupPage::Problem::kMalformed, "keine vollständige Vorgangsnummer"},
        std::pair{LookupPage::Problem::kCheckFailed, "Tippfehler"},
        std::pair{LookupPage::Problem::kUnknown, "kennen wir keine Meldung"}}) {
    p.problem = problem;
    std::string html = RenderLookupPage(p);
    INFO(words);
    CHECK(Has(html, words));
    CHECK(Has(html, "<title>Fehler: Stand einer Meldung abrufen"));
    CHECK(Has(html, "role=\"alert\""));
    CHECK(Has(html, "aria-invalid=\"true\""));
    CHECK(Has(html, "aria-describedby=\"nummer-fehler nummer-hinweis\""));
    CHECK(Has(html, "value=\"4KQ7 XRT2 WNAP&quot;&gt;&lt;x\""));
  }
  // Not the citizen's fault: said, but the field is not marked wrong.
  p.problem = LookupPage::Problem::kUnavailable;
  std::string down = RenderLookupPage(p);
  CHECK(Has(down, "gerade nicht angezeigt"));
  CHECK_FALSE(Has(down, "aria-invalid=\"true\""));
  p.t = meldestelle::texts::Lang(nullptr, "en");
  p.problem = LookupPage::Problem::kCheckFailed;
  std::string en = RenderLookupPage(p);
  CHECK(Has(en, "typing error"));
  CHECK(Has(en, "<input type=\"hidden\" name=\"lang\" value=\"en\">"));
}

TEST_CASE("\"Ich auch\": the form while open, the error kept, the thanks after", "[webform]") {
  StatusPage p = Sample();
  CHECK_FALSE(Has(RenderStatusPage(p), "id=\"ich-auch\""));
  p.me_too = true;
  std::string html = RenderStatusPage(p);
  CHECK(Has(html, "action=\"/meldung/4KQ7XRT2WNPA/ich-auch\""));
  CHECK(Has(html, "<input type=\"email\" id=\"ich-auch-email\" name=\"email\""));
  CHECK(Has(html, "name=\"website\""));  // the honeypot
  p.me_too_error = "Bitte prüfen Sie die E-Mail-Adresse.";
  p.me_too_email = "\"><script>x</script>";
  html = RenderStatusPage(p);
  CHECK(Has(html, "role=\"alert\">Bitte prüfen Sie die E-Mail-Adresse.</p>"));
  CHECK(Has(html, "value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
  CHECK(Has(html, "aria-invalid=\"true\""));
  CHECK_FALSE(Has(html, "<script>x"));
  p.me_too = false;
  p.me_too_error.clear();
  p.me_too_done = true;
  CHECK(Has(RenderStatusPage(p), "class=\"rueckmeldung\" role=\"status\">Danke!"));
}

TEST_CASE("the list of reports: status colours, escaped texts, filters and pages", "[webform]") {
  PublicReportsPage p;
  p.town_name = "Musterstadt";
  p.total = 7;
  p.page = 2;
  p.pages = 3;
  p.filter = "open";
  p.items = {{"4KQ7XRT2WNPA", "open", "Schlagloch", "<b>frei</b>gegeben", "03.12.2026",
              "Lindenstraße", 50.938, 6.96, true},
             {"2SAJASNAS2EE", "done", "Laterne \"aus\"", "", "01.12.2026", "", std::nullopt,
              std::nullopt, false}};
  std::string html = RenderPublicReportsPage(p);
  CHECK(Has(html, "<span class=\"stand\">Offen</span>"));
  CHECK(Has(html, "<span class=\"stand stand-erledigt\">Erledigt</span>"));
  CHECK(Has(html, "&lt;b&gt;frei&lt;/b&gt;gegeben"));
  CHECK_FALSE(Has(html, "<b>frei"));
  CHECK(Has(html, "data-titel=\"Laterne &quot;aus&quot;\""));
  CHECK(Has(html, "nahe Lindenstraße · gemeldet am 03.12.2026"));
  CHECK(Has(html, "data-lat=\"50.938000\""));
  CHECK(Has(html, "href=\"/meldung/4KQ7XRT2WNPA#ich-auch\""));
  CHECK_FALSE(Has(html, "href=\"/meldung/2SAJASNAS2EE#ich-auch\""));
  CHECK(Has(html, "href=\"/meldungen?stand=offen\" aria-current=\"page\">Offen</a>"));
  CHECK(Has(html, "rel=\"prev\" href=\"/meldungen?stand=offen\""));
  CHECK(Has(html, "rel=\"next\" href=\"/meldungen?stand=offen&amp;seite=3\""));
  CHECK(Has(html, "7 Meldungen. Seite 2 von 3"));
  // Without the map nothing of it is on the page.
  CHECK_FALSE(Has(html, "meldungen-karte"));
  p.t = meldestelle::texts::Lang(nullptr, "en");
  CHECK(Has(RenderPublicReportsPage(p), "<h1>Reported problems</h1>"));
}

// The pages' Content-Security-Policy (docs/security.md, "Scripts") lets a browser run the inline
// scripts by their SHA-256 only: every inline script a page writes must be among the hashes, and
// no hash may be left of a script no page writes any more.
TEST_CASE("every inline script the citizens' pages write is allowed by its hash, and no other",
          "[webform]") {
  std::set<std::string> written;
  auto collect = [&](const std::string& html) {
    static const std::regex kScript("<script([^>]*)>([\\s\\S]*?)</script>");
    for (std::sregex_iterator it(html.begin(), html.end(), kScript), end; it != end; ++it) {
      const std::string attrs = (*it)[1];
      if (attrs.find("src=") != std::string::npos ||
          attrs.find("type=\"application/json\"") != std::string::npos)
        continue;  // a file of the gateway's ('self'), or data that is not run
      written.insert("'sha256-" + meldestelle::Base64Encode(meldestelle::Sha256((*it)[2].str())) +
                     "'");
    }
  };
  FormPage form;
  form.town_name = "Musterstadt";
  form.form_token = "tok.123";
  collect(RenderFormPage(form));
  collect(RenderStatusPage(Sample()));
  ConfirmationPage confirmation;
  confirmation.town_name = "Musterstadt";
  confirmation.reference = "4KQ7XRT2WNPA";
  collect(RenderConfirmationPage(confirmation));
  PublicReportsPage reports;
  reports.town_name = "Musterstadt";
  collect(RenderPublicReportsPage(reports));
  InfoPage info;  // the privacy notice, the accessibility statement, the error pages
  info.town_name = "Musterstadt";
  info.title = "Datenschutz";
  collect(RenderInfoPage(info));
  REQUIRE(written.size() == 2);  // the no-js switch and the form's script

  const std::string sources = html::ScriptSources();
  CHECK(sources.rfind("'self' ", 0) == 0);
  std::set<std::string> allowed;
  static const std::regex kHash("'sha256-[A-Za-z0-9+/=]+'");
  for (std::sregex_iterator it(sources.begin(), sources.end(), kHash), end; it != end; ++it)
    allowed.insert(it->str());
  CHECK(allowed == written);
}

}  // namespace status_page_render_test
