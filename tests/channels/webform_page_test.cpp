#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "channels/webform/page.hpp"
#include "core/config.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace webform_page_test {

using meldestelle::webform::CategoryOption;
using meldestelle::webform::ConfirmationPage;
using meldestelle::webform::FormPage;
using meldestelle::webform::HtmlEscape;
using meldestelle::webform::RenderConfirmationPage;
using meldestelle::webform::RenderFormPage;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The opening tag of the first element whose attributes contain `marker`, e.g. name="email".
std::string TagWith(const std::string& html, const std::string& marker) {
  size_t at = html.find(marker);
  if (at == std::string::npos) {
    return "";
  }
  size_t start = html.rfind('<', at);
  size_t end = html.find('>', at);
  return html.substr(start, end - start + 1);
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

FormPage SamplePage() {
  FormPage page;
  page.town_name = "Musterstadt";
  page.categories = {
      {"STR-01", "Schlagloch", "Straße und Verkehr"},
      {"BEL-01", "Straßenlaterne defekt", "Beleuchtung"},
      {"STR-02", "Gehweg beschädigt", "Straße und Verkehr"},
  };
  page.form_token = "tok.123";
  return page;
}

const char* const kHostile = "\"><script>alert('x')</script>&";
const char* const kHostileEscaped =
    "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";

}  // namespace

TEST_CASE("HtmlEscape escapes the five special characters", "[webform]") {
  CHECK(HtmlEscape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  CHECK(HtmlEscape("Straße – ok") == "Straße – ok");
  CHECK(HtmlEscape("") == "");
  CHECK(HtmlEscape("&amp;") == "&amp;amp;");
}

TEST_CASE("Form contains every field name and the form attributes", "[webform]") {
  std::string html = RenderFormPage(SamplePage());
  for (const char* name : {"fotos[]", "beschreibung", "kategorie", "adresse", "lat", "lon", "email",
                           "telefon", "sprache", "form_token", "website"}) {
    INFO(name);
    CHECK(Contains(html, std::string("name=\"") + name + "\""));
  }
  std::string form = TagWith(html, "<form ");
  CHECK(Contains(form, "method=\"post\""));
  CHECK(Contains(form, "enctype=\"multipart/form-data\""));
  CHECK(Contains(form, "action=\"/formular/meldung\""));
  CHECK(Contains(html, "<html lang=\"de\""));
  CHECK(Contains(html, "name=\"viewport\""));
  CHECK_FALSE(Contains(html, "http://"));
  CHECK_FALSE(Contains(html, "https://"));
}

TEST_CASE("Field types and attributes", "[webform]") {
  std::string html = RenderFormPage(SamplePage());

  std::string fotos = TagWith(html, "name=\"fotos[]\"");
  CHECK(Contains(fotos, "type=\"file\""));
  CHECK(Contains(fotos, "accept=\"image/*\""));
  CHECK(Contains(fotos, " multiple"));
  CHECK_FALSE(Contains(fotos, "capture"));
  CHECK(Contains(html, "Foto aufnehmen oder auswählen"));
  CHECK(Contains(html, "bis zu 5 Fotos, je höchstens 10 MB"));

  std::string text = TagWith(html, "name=\"beschreibung\"");
  CHECK(Contains(text, "<textarea"));
  CHECK(Contains(text, " required"));
  CHECK(Contains(text, "maxlength=\"4000\""));

  CHECK(Contains(html, "<option value=\"\" selected>— bitte wählen (optional) —</option>"));
  CHECK(Contains(TagWith(html, "name=\"adresse\""), "type=\"text\""));
  CHECK(Contains(html, ">Straße und Hausnummer</label>"));
  CHECK(Contains(TagWith(html, "name=\"lat\""), "type=\"hidden\""));
  CHECK(Contains(TagWith(html, "name=\"lon\""), "type=\"hidden\""));
  CHECK(Contains(TagWith(html, "name=\"email\""), "type=\"email\""));
  CHECK(Contains(TagWith(html, "name=\"telefon\""), "type=\"tel\""));
  CHECK(Contains(TagWith(html, "name=\"sprache\""), "value=\"de\""));
  CHECK(Contains(TagWith(html, "name=\"form_token\""), "value=\"tok.123\""));

  // The location button is a plain button, hidden until the script unhides its block.
  std::string button = TagWith(html, "id=\"standort-knopf\"");
  CHECK(Contains(button, "type=\"button\""));
  CHECK(Contains(html, "<div id=\"standort-js\" hidden>"));
  CHECK(Contains(html, "Meinen Standort verwenden</button>"));
  CHECK(Contains(html, "getCurrentPosition"));
  CHECK(Contains(html, "URL.createObjectURL"));

  std::string submit = TagWith(html, "type=\"submit\"");
  CHECK(Contains(html, "Meldung absenden</button>"));
  CHECK(Contains(submit, "<button"));

  // Order on the page: photo, description, location, submit.
  size_t photo = html.find("name=\"fotos[]\"");
  size_t description = html.find("name=\"beschreibung\"");
  size_t location = html.find("id=\"standort-knopf\"");
  size_t address = html.find("name=\"adresse\"");
  size_t send = html.find("type=\"submit\"");
  CHECK(photo < description);
  CHECK(description < location);
  CHECK(location < address);
  CHECK(address < send);
}

TEST_CASE("Every visible input has a label", "[webform]") {
  std::string html = RenderFormPage(SamplePage());
  for (const char* id :
       {"fotos", "beschreibung", "kategorie", "adresse", "email", "telefon", "website"}) {
    INFO(id);
    CHECK(Contains(html, std::string("<label for=\"") + id + "\""));
    CHECK(Contains(html, std::string("id=\"") + id + "\""));
  }
}

TEST_CASE("Honeypot is an off-screen text input, not a hidden one", "[webform]") {
  std::string html = RenderFormPage(SamplePage());
  std::string honeypot = TagWith(html, "name=\"website\"");
  CHECK(Contains(honeypot, "type=\"text\""));
  CHECK_FALSE(Contains(honeypot, "type=\"hidden\""));
  CHECK(Contains(honeypot, "tabindex=\"-1\""));
  CHECK(Contains(honeypot, "autocomplete=\"off\""));
  CHECK(Contains(honeypot, "value=\"\""));
  CHECK(Contains(html, "<div class=\"hp\""));
  // Clipped, not pushed off to the left: in a right-to-left page that would scroll sideways.
  CHECK(Contains(html,
                 ".hp{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;"
                 "clip:rect(0 0 0 0);"));
  CHECK(Contains(html, "Dieses Feld bitte leer lassen"));
}

TEST_CASE("Fresh form has no error summary and no invalid fields", "[webform]") {
  std::string html = RenderFormPage(SamplePage());
  CHECK_FALSE(Contains(html, "role=\"alert\""));
  CHECK_FALSE(Contains(html, "aria-invalid=\"true\""));
  CHECK(Contains(html, "<title>Mangel melden – Musterstadt</title>"));
}

TEST_CASE("Kept values appear again, escaped", "[webform]") {
  FormPage page = SamplePage();
  page.values.description = std::string("Loch ") + kHostile;
  page.values.address = kHostile;
  page.values.lat = "52.520008";
  page.values.lon = "13.404954";
  page.values.email = "a@example.org";
  page.values.phone = "+49 30 1234";
  page.values.language = "de";
  page.form_token = kHostile;
  page.errors = {"Bitte prüfen"};
  std::string html = RenderFormPage(page);

  CHECK_FALSE(Contains(html, "<script>alert"));
  CHECK(Contains(html, std::string(">\nLoch ") + kHostileEscaped + "</textarea>"));
  CHECK(Contains(TagWith(html, "name=\"adresse\""), std::string("value=\"") + kHostileEscaped));
  CHECK(Contains(TagWith(html, "name=\"lat\""), "value=\"52.520008\""));
  CHECK(Contains(TagWith(html, "name=\"lon\""), "value=\"13.404954\""));
  CHECK(Contains(TagWith(html, "name=\"email\""), "value=\"a@example.org\""));
  CHECK(Contains(TagWith(html, "name=\"telefon\""), "value=\"+49 30 1234\""));
  CHECK(Contains(TagWith(html, "name=\"form_token\""), std::string("value=\"") + kHostileEscaped));
  CHECK(Contains(html, "Ihr Standort wurde übernommen."));
  // Optional section opens because it holds values; photos must be chosen again.
  CHECK(Contains(html, "<details class=\"optional\" open>"));
  CHECK(Contains(html, "Bitte wählen Sie Ihre Fotos erneut aus"));
}

TEST_CASE("Leading newline of the description survives", "[webform]") {
  FormPage page = SamplePage();
  page.values.description = "\nzweite Zeile";
  CHECK(Contains(RenderFormPage(page), "-hinweis\">\n\nzweite Zeile</textarea>"));
}

TEST_CASE("Categories are grouped, escaped and the chosen one is selected", "[webform]") {
  FormPage page = SamplePage();
  page.categories.push_back({"XSS-01", kHostile, kHostile});
  page.categories.push_back({"SON-01", "Sonstiges", ""});
  page.values.category = "STR-02";
  std::string html = RenderFormPage(page);

  CHECK(Contains(html, "<option value=\"STR-02\" selected>Gehweg beschädigt</option>"));
  CHECK(Contains(html, "<option value=\"STR-01\">Schlagloch</option>"));
  CHECK(Count(html, " selected>") == 1);
  CHECK(Contains(html, "<option value=\"\">— bitte wählen (optional) —</option>"));
  CHECK(Count(html, "<optgroup") == 3);

  // One optgroup per group, in order of first appearance, holding its options in given order.
  std::regex grouped(
      "<optgroup label=\"Straße und Verkehr\">\\n<option value=\"STR-01\">[^\\n]*\\n"
      "<option value=\"STR-02\"[^\\n]*\\n</optgroup>\\n<optgroup label=\"Beleuchtung\">");
  CHECK(std::regex_search(html, grouped));
  CHECK(Contains(html, std::string("<optgroup label=\"") + kHostileEscaped + "\">"));
  CHECK(Contains(html, std::string(">") + kHostileEscaped + "</option>"));
  CHECK_FALSE(Contains(html, "<script>alert"));
  // Ungrouped options are not inside an optgroup.
  CHECK(Contains(html, "</optgroup>\n<option value=\"SON-01\">Sonstiges</option>\n</select>"));
}

TEST_CASE("Unknown category code leaves the placeholder selected", "[webform]") {
  FormPage page = SamplePage();
  page.values.category = "NOPE-99";
  std::string html = RenderFormPage(page);
  CHECK(Contains(html, "<option value=\"\" selected>"));
  CHECK(Count(html, " selected>") == 1);
}

TEST_CASE("Error summary and field errors", "[webform]") {
  FormPage page = SamplePage();
  page.errors = {"Bitte beschreiben Sie das Problem.", "Das Formular ist abgelaufen <neu laden>."};
  page.field_errors = {
      {"beschreibung", "Bitte beschreiben Sie das Problem."},
      {"email", "Bitte geben Sie eine gültige E-Mail-Adresse ein."},
      {"fotos[]", "Höchstens 5 Fotos."},
      {"standort", "Bitte Standort oder Adresse angeben."},
  };
  std::string html = RenderFormPage(page);

  CHECK(Contains(html, "<title>Fehler: Mangel melden – Musterstadt</title>"));
  size_t summary = html.find("role=\"alert\"");
  REQUIRE(summary != std::string::npos);
  CHECK(summary < html.find("<form "));
  // Errors first, linked when they belong to a field; then the remaining field errors.
  CHECK(Contains(html, "<a href=\"#beschreibung\">Bitte beschreiben Sie das Problem.</a>"));
  CHECK(Count(html, "Bitte beschreiben Sie das Problem.") == 2);  // summary + field
  CHECK(Contains(html, "<li>Das Formular ist abgelaufen &lt;neu laden&gt;.</li>"));
  CHECK(Contains(html, "<a href=\"#email\">Bitte geben Sie eine gültige E-Mail-Adresse ein.</a>"));
  CHECK(Contains(html, "<a href=\"#fotos\">Höchstens 5 Fotos.</a>"));
  CHECK(Contains(html, "<a href=\"#adresse\">Bitte Standort oder Adresse angeben.</a>"));

  std::string text = TagWith(html, "name=\"beschreibung\"");
  CHECK(Contains(text, "aria-invalid=\"true\""));
  CHECK(Contains(text, "aria-describedby=\"beschreibung-hinweis beschreibung-fehler\""));
  CHECK(Contains(html, "<p class=\"feld-fehler\" id=\"beschreibung-fehler\">"));

  std::string email = TagWith(html, "name=\"email\"");
  CHECK(Contains(email, "aria-invalid=\"true\""));
  CHECK(Contains(email, "email-fehler"));
  CHECK(Contains(html, "<details class=\"optional\" open>"));

  std::string fotos = TagWith(html, "name=\"fotos[]\"");
  CHECK(Contains(fotos, "aria-invalid=\"true\""));
  CHECK(Contains(fotos, "fotos-fehler"));

  std::string address = TagWith(html, "name=\"adresse\"");
  CHECK(Contains(address, "aria-invalid=\"true\""));
  CHECK(Contains(address, "standort-fehler"));

  // Fields without errors stay valid.
  CHECK_FALSE(Contains(TagWith(html, "name=\"telefon\""), "aria-invalid"));
  CHECK_FALSE(Contains(TagWith(html, "name=\"kategorie\""), "aria-invalid"));
}

TEST_CASE("Field errors alone still produce a summary, and messages are escaped", "[webform]") {
  FormPage page = SamplePage();
  page.field_errors = {{"telefon", kHostile}};
  std::string html = RenderFormPage(page);
  CHECK(Contains(html, "role=\"alert\""));
  CHECK(Contains(html, std::string("<a href=\"#telefon\">") + kHostileEscaped + "</a>"));
  CHECK(Contains(TagWith(html, "name=\"telefon\""), "aria-invalid=\"true\""));
  CHECK_FALSE(Contains(html, "<script>alert"));
}

TEST_CASE("Limits are shown and handed to the script", "[webform]") {
  FormPage page = SamplePage();
  page.max_photos = 3;
  page.max_photo_bytes = 5 * 1024 * 1024 + 512 * 1024;
  std::string html = RenderFormPage(page);
  CHECK(Contains(html, "bis zu 3 Fotos, je höchstens 5,5 MB"));
  std::string form = TagWith(html, "<form ");
  CHECK(Contains(form, "data-max-fotos=\"3\""));
  CHECK(Contains(form, "data-max-bytes=\"5767168\""));

  page.max_photos = 1;
  page.max_photo_bytes = 500 * 1024;
  html = RenderFormPage(page);
  CHECK(Contains(html, "ein Foto, höchstens 500 KB"));
  CHECK_FALSE(Contains(TagWith(html, "name=\"fotos[]\""), "multiple"));
}

TEST_CASE("Photos are scaled by the script only where the page asks for it", "[webform]") {
  FormPage page = SamplePage();
  std::string html = RenderFormPage(page);
  CHECK_FALSE(Contains(TagWith(html, "<form "), "data-foto-kante"));
  CHECK_FALSE(Contains(html, "src=\"/assets/fotos-2.js\""));
  // The progress bar is there, hidden, for the script to show.
  CHECK(Contains(TagWith(html, "id=\"senden-fortschritt\""), "hidden"));

  page.photo_scale_edge = 2048;
  page.photos_script = "/assets/fotos-2.js";
  html = RenderFormPage(page);
  CHECK(Contains(TagWith(html, "<form "), "data-foto-kante=\"2048\""));
  CHECK(Contains(html, "<script defer src=\"/assets/fotos-2.js\"></script>"));
  CHECK(html.find("fotos-2.js") < html.find("</head>"));
}

TEST_CASE("Town name, action and hostile URLs are escaped or neutralised", "[webform]") {
  FormPage page = SamplePage();
  page.town_name = kHostile;
  page.action = "/formular/meldung?x=\"&y";
  std::string html = RenderFormPage(page);
  CHECK_FALSE(Contains(html, "<script>alert"));
  CHECK(Contains(html, std::string("<p class=\"stadt\">") + kHostileEscaped + "</p>"));
  CHECK(Contains(TagWith(html, "<form "), "action=\"/formular/meldung?x=&quot;&amp;y\""));

  page.action = " javascript:alert(1)";
  CHECK(Contains(TagWith(RenderFormPage(page), "<form "), "action=\"#\""));
}

TEST_CASE("the contact fields promise an acknowledgement only where one can be sent", "[webform]") {
  FormPage page = SamplePage();
  // A town with a relay and no SMS account (the default).
  std::string html = RenderFormPage(page);
  CHECK(Contains(html, "Für eine Eingangsbestätigung und mögliche Rückfragen."));
  CHECK(Contains(html, "Nur für Rückfragen."));
  // With both.
  page.acknowledges_sms = true;
  html = RenderFormPage(page);
  CHECK(Contains(html, "Für eine Eingangsbestätigung und mögliche Rückfragen."));
  CHECK(Contains(html,
                 "Ohne E-Mail-Adresse erhalten Sie die Eingangsbestätigung per SMS, wenn Sie eine "
                 "Handynummer angeben."));
  CHECK_FALSE(Contains(html, "Nur für Rückfragen."));
  // With neither: no field promises one.
  page.acknowledges_email = false;
  page.acknowledges_sms = false;
  html = RenderFormPage(page);
  CHECK(Contains(html, "Nur für mögliche Rückfragen."));
  CHECK(Contains(html, "Nur für Rückfragen."));
  CHECK_FALSE(Contains(html, "Eingangsbestätigung"));
  // In another language too.
  page.t = meldestelle::texts::For(meldestelle::Config{}, "en");
  page.acknowledges_sms = true;
  html = RenderFormPage(page);
  CHECK(Contains(html, "Only for any questions we may have."));
  CHECK(Contains(html, "you will receive the confirmation by text message"));
}

TEST_CASE("Confirmation page", "[webform]") {
  ConfirmationPage page;
  page.town_name = "Musterstadt";
  page.reference = "K7QX4RT2WNPA";
  page.status_url = "https://example.org/status/K7QX4RT2WNPA?t=a&b=\"c\"";
  page.acknowledgement = "email";
  page.contact_given = true;
  std::string html = RenderConfirmationPage(page);

  CHECK(Contains(html, "Vielen Dank! Ihre Meldung ist eingegangen."));
  CHECK(Contains(html, ">K7QX 4RT2 WNPA</div>"));
  CHECK(Contains(html, "aria-label=\"Vorgangsnummer: K 7 Q X, 4 R T 2, W N P A\""));
  CHECK(Contains(html, "Bitte notieren Sie diese Nummer"));
  CHECK(Contains(html, "href=\"https://example.org/status/K7QX4RT2WNPA?t=a&amp;b=&quot;c&quot;\""));
  CHECK(Contains(html, "Bestätigung per E-Mail"));
  CHECK_FALSE(Contains(html, "keine Bestätigung"));
  CHECK(Contains(html, "href=\"/\">Weitere Meldung</a>"));
  CHECK(Contains(html, "<html lang=\"de\""));

  // The page promises only what will be sent: an SMS, or nothing where this town has no
  // sender for the contact given (the web form chose "none" then), or nothing without a contact.
  page.acknowledgement = "sms";
  html = RenderConfirmationPage(page);
  CHECK(Contains(html, "Bestätigung per SMS"));
  CHECK_FALSE(Contains(html, "E-Mail"));
  page.acknowledgement = "none";
  html = RenderConfirmationPage(page);
  CHECK(Contains(html, "Eine Bestätigung können wir Ihnen leider nicht schicken."));
  CHECK_FALSE(Contains(html, "in Kürze"));
  page.contact_given = false;
  html = RenderConfirmationPage(page);
  CHECK(Contains(html, "keine Bestätigung per E-Mail"));
  CHECK_FALSE(Contains(html, "leider nicht schicken"));
}

TEST_CASE("Confirmation escapes a hostile reference and status URL", "[webform]") {
  ConfirmationPage page;
  page.town_name = "Musterstadt";
  page.reference = kHostile;
  page.status_url = std::string("/status/") + kHostile;
  std::string html = RenderConfirmationPage(page);
  CHECK_FALSE(Contains(html, "<script>alert"));
  CHECK(Contains(html, std::string(">") + kHostileEscaped + "</div>"));
  CHECK(Contains(html, std::string("href=\"/status/") + kHostileEscaped + "\""));

  page.status_url = "javascript:alert(1)";
  CHECK(Contains(RenderConfirmationPage(page), "href=\"#\""));
}

TEST_CASE("the form's map: only with a centre, hidden until its script runs, escaped",
          "[webform]") {
  FormPage page;
  page.town_name = "Muster<stadt>";
  page.map.enabled = true;
  page.map.tile_url = "https://tile.example/{z}/{x}/{y}.png";
  page.map.attribution = "© Karte";
  page.map.library_css = "/l.css";
  page.map.library_js = "/l.js";
  page.map.script_js = "/f.js";
  // No centre: no map, no library.
  CHECK_FALSE(Contains(RenderFormPage(page), "id=\"formular-karte\""));
  CHECK_FALSE(Contains(RenderFormPage(page), "/l.js"));
  page.map.center_lat = 50.9375;
  page.map.center_lon = 6.96;
  std::string html = RenderFormPage(page);
  CHECK(Contains(html, "<div id=\"karte-block\" hidden>"));
  CHECK(Contains(html, "aria-label=\"Karte: Ort des Mangels wählen\""));
  CHECK(Contains(html, "data-lat=\"50.937500\" data-lon=\"6.960000\""));
  CHECK(Contains(html, "data-town=\"Muster&lt;stadt&gt;\""));
  CHECK(Contains(html, "<script defer src=\"/f.js\"></script>"));
  CHECK(Contains(html, "id=\"karte-status\" role=\"status\""));
  // The map comes before the address field; the address field stays for everyone.
  CHECK(html.find("formular-karte") < html.find("id=\"adresse\""));
  page.map.enabled = false;
  CHECK_FALSE(Contains(RenderFormPage(page), "id=\"formular-karte\""));
}

}  // namespace webform_page_test
