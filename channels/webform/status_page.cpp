#include "channels/webform/status_page.hpp"

#include <string>
#include <string_view>

#include "channels/webform/html.hpp"

namespace meldestelle::webform {
namespace {

using html::AppendEscaped;
using html::Attr;
using html::Coordinate;
using html::GroupForReading;
using html::RenderHead;
using html::SafeUrl;
using html::SpellOut;

bool En(const std::string& language) { return language == "en"; }

// Open (red), worked on (brown), closed (green): the traffic light citizens know from the
// towns' portals; the word is always there, the colour only adds to it.
std::string_view StatusClass(const std::string& status) {
  if (status == "done" || status == "rejected")
    return "stand stand-erledigt";
  if (status == "accepted" || status == "in_progress")
    return "stand stand-arbeit";
  return "stand";
}

std::string EventLabel(const StatusPage::Event& e, const std::string& language) {
  bool en = En(language);
  if (e.action == "routed") {
    if (e.department_name.empty())
      return en ? "Received" : "Eingegangen";
    return (en ? "Received and passed to: " : "Eingegangen und weitergegeben an: ") +
           e.department_name;
  }
  if (e.action == "rerouted")
    return (en ? "Passed to: " : "Weitergegeben an: ") + e.department_name;
  if (e.action == "accepted")
    return en ? "Accepted by the department" : "Von der zuständigen Stelle angenommen";
  if (e.action == "duplicate")
    return en ? "Handled together with another report"
              : "Wird gemeinsam mit einer anderen Meldung bearbeitet";
  if (e.action == "reopened")
    return en ? "Opened again: the problem is not fixed yet"
              : "Wieder geöffnet: Der Mangel ist noch nicht behoben";
  return StatusLabel(e.status, language);
}

void RenderLanguages(std::string& out, const std::vector<LanguageLink>& languages) {
  html::RenderLanguageLinks(out, languages);
}

void RenderPlace(std::string& out, const StatusPage& page) {
  bool en = En(page.language);
  out += "<section aria-labelledby=\"ort\">\n<h2 id=\"ort\">";
  out += en ? "Place" : "Ort";
  out += "</h2>\n";
  if (!page.lat || !page.lon) {
    out += en ? "<p>The report has no position on the map.</p>\n"
              : "<p>Zu dieser Meldung ist kein Punkt auf der Karte bekannt.</p>\n";
    out += "</section>\n";
    return;
  }
  if (page.map.enabled) {
    // Shown by the script (hidden without it): a picture of the place, its words below.
    out += "<div id=\"karte\" class=\"karte\" hidden role=\"img\"";
    Attr(out, "aria-label",
         en ? "Map with the place of the report" : "Karte mit dem Ort der Meldung");
    Attr(out, "data-lat", Coordinate(*page.lat));
    Attr(out, "data-lon", Coordinate(*page.lon));
    Attr(out, "data-tiles", SafeUrl(page.map.tile_url));
    Attr(out, "data-max-zoom", std::to_string(page.map.max_zoom));
    out += "></div>\n";
    html::RenderMapSource(out, page.map, en);
  }
  if (!page.map_link.empty()) {
    out += "<p><a";
    Attr(out, "href", SafeUrl(page.map_link));
    out += ">";
    out += en ? "Show the place on OpenStreetMap" : "Ort auf OpenStreetMap ansehen";
    out += "</a></p>\n";
  }
  out += "</section>\n";
}

std::string MapHead(const StatusPage& page) {
  if (!page.map.enabled || !page.lat || !page.lon)
    return "";
  return html::MapHead(page.map);
}

// "Ist es behoben?" and what became of the last answer.
void RenderFixQuestion(std::string& out, const StatusPage& page) {
  bool en = En(page.language);
  if (!page.answered.empty()) {
    out += "<div class=\"rueckmeldung\" role=\"status\"><p>";
    if (page.answered == "reopened") {
      out += en ? "Thank you. The report is open again and back with the department in charge."
                : "Danke. Die Meldung ist wieder offen und zurück bei der zuständigen Stelle.";
    } else if (page.answered == "answered") {
      out += en ? "This question has been answered already. Thank you."
                : "Diese Frage ist schon beantwortet. Vielen Dank.";
    } else {
      out += en ? "Thank you for letting us know." : "Danke für Ihre Rückmeldung.";
    }
    out += "</p></div>\n";
  }
  if (!page.ask_fixed) {
    if (!page.fixed_error.empty()) {
      out += "<p class=\"feld-fehler\" role=\"alert\">";
      AppendEscaped(out, page.fixed_error);
      out += "</p>\n";
    }
    return;
  }
  out += "<form class=\"frage\" method=\"post\"";
  Attr(out, "action", "/meldung/" + page.reference + "/behoben");
  out += ">\n";
  if (!page.fixed_error.empty()) {
    out += "<p class=\"feld-fehler\" id=\"antwort-fehler\" role=\"alert\">";
    AppendEscaped(out, page.fixed_error);
    out += "</p>\n";
  }
  out += "<fieldset";
  if (!page.fixed_error.empty())
    out += " aria-describedby=\"antwort-fehler\"";
  out += ">\n<legend>";
  out += en ? "Is the problem fixed?" : "Ist der Mangel behoben?";
  out +=
      "</legend>\n<label class=\"wahl\"><input type=\"radio\" name=\"antwort\" value=\"ja\""
      " required>";
  out += en ? "Yes, it is fixed" : "Ja, er ist behoben";
  out +=
      "</label>\n<label class=\"wahl\"><input type=\"radio\" name=\"antwort\""
      " value=\"nein\">";
  out += en ? "No, not yet" : "Nein, noch nicht";
  out += "</label>\n</fieldset>\n<div class=\"feld\">\n<label for=\"notiz\">";
  out += en ? "What is still wrong? (optional)" : "Was ist noch nicht in Ordnung? (freiwillig)";
  out += "</label>\n<p class=\"hinweis\" id=\"notiz-hinweis\">";
  out += en ? "Please no names or phone numbers: the department reads this."
            : "Bitte keine Namen oder Telefonnummern: Die zuständige Stelle liest diesen Text.";
  out +=
      "</p>\n<textarea id=\"notiz\" name=\"notiz\" maxlength=\"2000\" rows=\"3\""
      " aria-describedby=\"notiz-hinweis\">";
  AppendEscaped(out, page.fixed_note);
  out += "</textarea>\n</div>\n";
  if (en)
    out += "<input type=\"hidden\" name=\"lang\" value=\"en\">\n";
  out += "<input type=\"hidden\" name=\"schluessel\"";
  Attr(out, "value", page.fixed_key);
  out += ">\n<button type=\"submit\" class=\"knopf knopf-primaer\">";
  out += en ? "Send answer" : "Antwort senden";
  out += "</button>\n</form>\n";
}

// "Ich auch": a field for the e-mail address, or the thanks after it was sent.
void RenderMeToo(std::string& out, const StatusPage& page) {
  bool en = En(page.language);
  if (page.me_too_done) {
    out += "<p class=\"rueckmeldung\" role=\"status\">";
    out += en ? "Thank you! We have sent you a confirmation by e-mail and will write again when "
                "the problem is fixed."
              : "Danke! Sie bekommen gleich eine Bestätigung per E-Mail und eine Nachricht, "
                "wenn der Mangel behoben ist.";
    out += "</p>\n";
    return;
  }
  const bool error = !page.me_too_error.empty();
  if (!page.me_too) {
    // Refused because the report is no longer open: said, without the form.
    if (error) {
      out += "<p class=\"feld-fehler\" role=\"alert\">";
      AppendEscaped(out, page.me_too_error);
      out += "</p>\n";
    }
    return;
  }
  out +=
      "<section class=\"frage\" id=\"ich-auch\" aria-labelledby=\"ich-auch-titel\">\n"
      "<h2 id=\"ich-auch-titel\">";
  out += en ? "Me too" : "Ich auch";
  out += "</h2>\n<p id=\"ich-auch-hinweis\">";
  out += en ? "Have you noticed this problem too? Leave your e-mail address and we will tell you "
              "when it is fixed. You need not report it again. We use the address only for this "
              "report."
            : "Ist Ihnen dieser Mangel auch aufgefallen? Geben Sie Ihre E-Mail-Adresse an, dann "
              "sagen wir Ihnen Bescheid, wenn er behoben ist. Sie müssen ihn nicht noch einmal "
              "melden. Wir verwenden die Adresse nur für diese Meldung.";
  out += "</p>\n";
  if (error) {
    out += "<p class=\"feld-fehler\" id=\"ich-auch-fehler\" role=\"alert\">";
    AppendEscaped(out, page.me_too_error);
    out += "</p>\n";
  }
  out += "<form method=\"post\"";
  Attr(out, "action", SafeUrl("/meldung/" + page.reference + "/ich-auch"));
  out += ">\n<div class=\"feld\"><label for=\"ich-auch-email\">";
  out += en ? "Your e-mail address" : "Ihre E-Mail-Adresse";
  out +=
      "</label>\n<input type=\"email\" id=\"ich-auch-email\" name=\"email\" "
      "autocomplete=\"email\" required";
  Attr(out, "value", page.me_too_email);
  Attr(out, "aria-describedby", error ? "ich-auch-hinweis ich-auch-fehler" : "ich-auch-hinweis");
  if (error)
    out += " aria-invalid=\"true\"";
  out += "></div>\n";
  html::RenderHoneypot(out, "ich-auch-website");
  if (en)
    out += "<input type=\"hidden\" name=\"lang\" value=\"en\">\n";
  out += "<button type=\"submit\" class=\"knopf knopf-primaer\">";
  out += en ? "Me too – tell me when it is fixed" : "Ich auch – Bescheid geben, wenn behoben";
  out += "</button>\n</form>\n</section>\n";
}

void RenderFooterLinks(std::string& out, const std::string& language) {
  bool en = En(language);
  out += "<div class=\"aktionen\">\n<a class=\"knopf knopf-zweit\"";
  Attr(out, "href", en ? "/meldung?lang=en" : "/meldung");
  out += ">";
  out += en ? "Look up another reference" : "Andere Vorgangsnummer eingeben";
  out += "</a>\n<a class=\"knopf knopf-zweit\" href=\"/\">";
  out += en ? "Report a problem" : "Neue Meldung";
  out += "</a>\n</div>\n";
  html::RenderNoticeLinks(out, en);
}

std::string ProblemText(LookupPage::Problem p, const std::string& language) {
  bool en = En(language);
  switch (p) {
    case LookupPage::Problem::kMalformed:
      return en ? "This is not a complete reference. A reference has 12 characters, letters and "
                  "digits, for example K7QX 4RT2 WNPA."
                : "Das ist keine vollständige Vorgangsnummer. Eine Vorgangsnummer hat 12 Zeichen "
                  "(Buchstaben und Ziffern), zum Beispiel K7QX 4RT2 WNPA.";
    case LookupPage::Problem::kCheckFailed:
      return en ? "This reference contains a typing error: one character is wrong or two are "
                  "swapped. Please compare it character by character with your confirmation."
                : "In dieser Vorgangsnummer steckt ein Tippfehler: Ein Zeichen ist falsch oder "
                  "zwei sind vertauscht. Bitte vergleichen Sie Zeichen für Zeichen mit Ihrer "
                  "Bestätigung.";
    case LookupPage::Problem::kUnknown:
      return en ? "We know no report with this reference. Please check the number. A report "
                  "sent a moment ago may take a few seconds to appear."
                : "Zu dieser Vorgangsnummer kennen wir keine Meldung. Bitte prüfen Sie die "
                  "Nummer. Eine gerade gesendete Meldung kann einige Sekunden brauchen, bis sie "
                  "hier erscheint.";
    case LookupPage::Problem::kUnavailable:
      return en ? "The status cannot be shown at the moment. Please try again in a few minutes."
                : "Der Stand kann gerade nicht angezeigt werden. Bitte versuchen Sie es in "
                  "einigen Minuten noch einmal.";
    case LookupPage::Problem::kTooMany:
      return en ? "Too many look-ups from your connection in a short time. Please wait a minute "
                  "and try again."
                : "Von Ihrem Anschluss kamen in kurzer Zeit zu viele Abfragen. Bitte warten Sie "
                  "eine Minute und versuchen Sie es dann noch einmal.";
    case LookupPage::Problem::kNone:
      break;
  }
  return "";
}

}  // namespace

std::string StatusLabel(const std::string& status, const std::string& language) {
  bool en = En(language);
  if (status == "received")
    return en ? "Received" : "Eingegangen";
  if (status == "assigned")
    return en ? "With the department in charge" : "Bei der zuständigen Stelle";
  if (status == "accepted")
    return en ? "Accepted" : "Angenommen";
  if (status == "in_progress")
    return en ? "In progress" : "In Bearbeitung";
  if (status == "done")
    return en ? "Done" : "Erledigt";
  if (status == "rejected")
    return en ? "Closed without action" : "Abgeschlossen ohne Maßnahme";
  if (status == "duplicate")
    return en ? "Handled together with another report"
              : "Gemeinsam mit einer anderen Meldung bearbeitet";
  return status;
}

std::string RenderStatusPage(const StatusPage& page) {
  bool en = En(page.language);
  std::string out;
  out.reserve(8 * 1024);
  std::string grouped = GroupForReading(page.reference);
  RenderHead(out, (en ? "Report " : "Meldung ") + grouped + " – " + page.town_name,
             /*with_script_flag=*/false, page.language, MapHead(page));
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  out += en ? "Status of your report" : "Stand Ihrer Meldung";
  out += "</h1>\n";
  RenderLanguages(out, page.languages);
  out += "</header>\n<main>\n<p>";
  out += en ? "Reference:" : "Vorgangsnummer:";
  out += "</p>\n<div class=\"referenz\" role=\"group\" translate=\"no\"";
  Attr(out, "aria-label", (en ? "Reference: " : "Vorgangsnummer: ") + SpellOut(grouped));
  out += ">";
  AppendEscaped(out, grouped);
  out += "</div>\n<dl class=\"angaben\">\n<dt>";
  out += en ? "Status" : "Stand";
  out += "</dt>\n<dd><span";
  Attr(out, "class", StatusClass(page.status));
  out += ">";
  AppendEscaped(out, StatusLabel(page.status, page.language));
  out += "</span></dd>\n";
  if (!page.category_name.empty()) {
    out += en ? "<dt>Kind of problem</dt>\n<dd>" : "<dt>Art des Mangels</dt>\n<dd>";
    AppendEscaped(out, page.category_name);
    out += "</dd>\n";
  }
  out += en ? "<dt>In charge</dt>\n<dd>" : "<dt>Zuständig</dt>\n<dd>";
  if (page.department_name.empty()) {
    out += en ? "not yet decided" : "wird gerade bestimmt";
  } else {
    AppendEscaped(out, page.department_name);
  }
  out += "</dd>\n";
  if (!page.received_at.empty()) {
    out += en ? "<dt>Received</dt>\n<dd>" : "<dt>Eingegangen</dt>\n<dd>";
    AppendEscaped(out, page.received_at);
    out += "</dd>\n";
  }
  out += "</dl>\n";
  if (!page.linked_reference.empty()) {
    std::string other = GroupForReading(page.linked_reference);
    out += "<p>";
    out += en ? "This problem had been reported before. Your report is handled together with "
                "report "
              : "Dieser Mangel war schon gemeldet. Ihre Meldung wird gemeinsam mit Meldung ";
    out += "<a";
    Attr(out, "href", SafeUrl("/meldung/" + page.linked_reference + (en ? "?lang=en" : "")));
    out += " translate=\"no\">";
    AppendEscaped(out, other);
    out += "</a>";
    out += en ? "; the status shown is that report's.</p>\n"
              : " bearbeitet; der Stand hier ist der dieser Meldung.</p>\n";
  }
  RenderFixQuestion(out, page);
  RenderMeToo(out, page);
  out += "<section aria-labelledby=\"verlauf\">\n<h2 id=\"verlauf\">";
  out += en ? "History" : "Verlauf";
  out += "</h2>\n";
  if (page.history.empty()) {
    out += en ? "<p>The report has been received and will be passed to the department in "
                "charge shortly.</p>\n"
              : "<p>Die Meldung ist eingegangen und wird in Kürze an die zuständige Stelle "
                "weitergegeben.</p>\n";
  } else {
    out += "<ol class=\"verlauf\">\n";
    for (const auto& e : page.history) {
      out += "<li><span class=\"zeit\">";
      AppendEscaped(out, e.at);
      out += "</span>";
      AppendEscaped(out, EventLabel(e, page.language));
      if (!e.public_note.empty()) {
        out += "<p class=\"notiz\">";
        AppendEscaped(out, e.public_note);
        out += "</p>";
      }
      out += "</li>\n";
    }
    out += "</ol>\n";
  }
  out += "</section>\n";
  RenderPlace(out, page);
  RenderFooterLinks(out, page.language);
  out += "</main>\n</div>\n</body>\n</html>\n";
  return out;
}

std::string RenderLookupPage(const LookupPage& page) {
  bool en = En(page.language);
  std::string out;
  out.reserve(6 * 1024);
  std::string title = en ? "Look up a report" : "Stand einer Meldung abrufen";
  if (page.problem != LookupPage::Problem::kNone)
    title = (en ? "Error: " : "Fehler: ") + title;
  RenderHead(out, title + " – " + page.town_name, /*with_script_flag=*/false, page.language);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  out += en ? "Look up a report" : "Stand einer Meldung abrufen";
  out += "</h1>\n";
  RenderLanguages(out, page.languages);
  out += "</header>\n<main>\n";
  std::string problem = ProblemText(page.problem, page.language);
  bool field_problem = page.problem == LookupPage::Problem::kMalformed ||
                       page.problem == LookupPage::Problem::kCheckFailed ||
                       page.problem == LookupPage::Problem::kUnknown;
  if (!problem.empty()) {
    out += "<div class=\"fehler-box\" role=\"alert\">\n<p id=\"nummer-fehler\">";
    AppendEscaped(out, problem);
    out += "</p>\n</div>\n";
  }
  out +=
      "<form method=\"get\" action=\"/meldung\">\n<div class=\"feld\">\n"
      "<label for=\"nummer\">";
  out += en ? "Reference" : "Vorgangsnummer";
  out += "</label>\n<p class=\"hinweis\" id=\"nummer-hinweis\">";
  out += en ? "12 characters, as in your confirmation. Spaces and dashes do not matter."
            : "12 Zeichen, wie in Ihrer Bestätigung. Leerzeichen und Bindestriche sind egal.";
  out +=
      "</p>\n<input type=\"text\" id=\"nummer\" name=\"nummer\" autocomplete=\"off\""
      " autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"40\"";
  Attr(out, "value", page.typed);
  Attr(out, "aria-describedby", field_problem ? "nummer-fehler nummer-hinweis" : "nummer-hinweis");
  if (field_problem)
    out += " aria-invalid=\"true\"";
  out += ">\n</div>\n";
  if (en)
    out += "<input type=\"hidden\" name=\"lang\" value=\"en\">\n";
  out += "<button type=\"submit\" class=\"knopf knopf-primaer\">";
  out += en ? "Show status" : "Stand anzeigen";
  out +=
      "</button>\n</form>\n<div class=\"aktionen\">\n<a class=\"knopf knopf-zweit\" "
      "href=\"/\">";
  out += en ? "Report a problem" : "Neue Meldung";
  out += "</a>\n</div>\n</main>\n</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace meldestelle::webform
