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

// Open (red), worked on (brown), closed (green): the traffic light citizens know from the
// towns' portals; the word is always there, the colour only adds to it.
std::string_view StatusClass(const std::string& status) {
  if (status == "done" || status == "rejected")
    return "stand stand-erledigt";
  if (status == "accepted" || status == "in_progress")
    return "stand stand-arbeit";
  return "stand";
}

std::string EventLabel(const StatusPage::Event& e, const texts::Lang& t) {
  if (e.action == "routed") {
    if (e.department_name.empty())
      return t("status.ereignis.eingegangen");
    return t("status.ereignis.weitergegeben_an_erst", {{"department", e.department_name}});
  }
  if (e.action == "rerouted" || e.action == "forwarded")
    return t("status.ereignis.weitergegeben_an", {{"department", e.department_name}});
  if (e.action == "accepted")
    return t("status.ereignis.angenommen");
  if (e.action == "duplicate")
    return t("status.ereignis.gemeinsam");
  if (e.action == "reopened")
    return t("status.ereignis.wieder_offen");
  return StatusLabel(e.status, t);
}

void RenderPlace(std::string& out, const StatusPage& page) {
  const texts::Lang& t = page.t;
  out += "<section aria-labelledby=\"ort\">\n<h2 id=\"ort\">";
  AppendEscaped(out, t("status.ort"));
  out += "</h2>\n";
  if (!page.lat || !page.lon) {
    out += "<p>";
    AppendEscaped(out, t("status.ort_unbekannt"));
    out += "</p>\n</section>\n";
    return;
  }
  if (page.map.enabled) {
    // Shown by the script (hidden without it): a picture of the place, its words below.
    out += "<div id=\"karte\" class=\"karte\" hidden role=\"img\"";
    Attr(out, "aria-label", t("status.karte_label"));
    Attr(out, "data-lat", Coordinate(*page.lat));
    Attr(out, "data-lon", Coordinate(*page.lon));
    Attr(out, "data-tiles", SafeUrl(page.map.tile_url));
    Attr(out, "data-max-zoom", std::to_string(page.map.max_zoom));
    out += "></div>\n";
    html::RenderMapSource(out, page.map, t);
  }
  if (!page.map_link.empty()) {
    out += "<p><a";
    Attr(out, "href", SafeUrl(page.map_link));
    out += ">";
    AppendEscaped(out, t("status.ort_osm"));
    out += "</a></p>\n";
  }
  out += "</section>\n";
}

std::string MapHead(const StatusPage& page) {
  if (!page.map.enabled || !page.lat || !page.lon)
    return "";
  return html::MapHead(page.map);
}

// The page's language for the forms that post back: sent along, so that the answer comes in it.
void RenderLanguageField(std::string& out, const texts::Lang& t) {
  if (t.code() == "de")
    return;
  out += "<input type=\"hidden\" name=\"lang\"";
  Attr(out, "value", t.code());
  out += ">\n";
}

// "Ist es behoben?" and what became of the last answer.
void RenderFixQuestion(std::string& out, const StatusPage& page) {
  const texts::Lang& t = page.t;
  if (!page.answered.empty()) {
    out += "<div class=\"rueckmeldung\" role=\"status\"><p>";
    AppendEscaped(out, t(page.answered == "reopened"   ? "status.behoben.wieder_offen"
                         : page.answered == "answered" ? "status.behoben.schon_beantwortet"
                                                       : "status.behoben.danke"));
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
  AppendEscaped(out, t("status.behoben.frage"));
  out +=
      "</legend>\n<label class=\"wahl\"><input type=\"radio\" name=\"antwort\" value=\"ja\""
      " required>";
  AppendEscaped(out, t("status.behoben.ja"));
  out +=
      "</label>\n<label class=\"wahl\"><input type=\"radio\" name=\"antwort\""
      " value=\"nein\">";
  AppendEscaped(out, t("status.behoben.nein"));
  out += "</label>\n</fieldset>\n<div class=\"feld\">\n<label for=\"notiz\">";
  AppendEscaped(out, t("status.behoben.notiz"));
  out += "</label>\n<p class=\"hinweis\" id=\"notiz-hinweis\">";
  AppendEscaped(out, t("status.behoben.notiz_hinweis"));
  out +=
      "</p>\n<textarea id=\"notiz\" name=\"notiz\" maxlength=\"2000\" rows=\"3\""
      " aria-describedby=\"notiz-hinweis\">";
  AppendEscaped(out, page.fixed_note);
  out += "</textarea>\n</div>\n";
  RenderLanguageField(out, t);
  out += "<input type=\"hidden\" name=\"schluessel\"";
  Attr(out, "value", page.fixed_key);
  out += ">\n<button type=\"submit\" class=\"knopf knopf-primaer\">";
  AppendEscaped(out, t("status.behoben.senden"));
  out += "</button>\n</form>\n";
}

// "Ich auch": a field for the e-mail address, or the thanks after it was sent.
void RenderMeToo(std::string& out, const StatusPage& page) {
  const texts::Lang& t = page.t;
  if (page.me_too_done) {
    out += "<p class=\"rueckmeldung\" role=\"status\">";
    AppendEscaped(out, t("status.ich_auch.danke"));
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
  AppendEscaped(out, t("status.ich_auch.titel"));
  out += "</h2>\n<p id=\"ich-auch-hinweis\">";
  AppendEscaped(out, t("status.ich_auch.hinweis"));
  out += "</p>\n";
  if (error) {
    out += "<p class=\"feld-fehler\" id=\"ich-auch-fehler\" role=\"alert\">";
    AppendEscaped(out, page.me_too_error);
    out += "</p>\n";
  }
  out += "<form method=\"post\"";
  Attr(out, "action", SafeUrl("/meldung/" + page.reference + "/ich-auch"));
  out += ">\n<div class=\"feld\"><label for=\"ich-auch-email\">";
  AppendEscaped(out, t("status.ich_auch.email"));
  out +=
      "</label>\n<input type=\"email\" id=\"ich-auch-email\" name=\"email\" "
      "autocomplete=\"email\" required";
  Attr(out, "value", page.me_too_email);
  Attr(out, "aria-describedby", error ? "ich-auch-hinweis ich-auch-fehler" : "ich-auch-hinweis");
  if (error)
    out += " aria-invalid=\"true\"";
  out += "></div>\n";
  html::RenderHoneypot(out, "ich-auch-website", t);
  RenderLanguageField(out, t);
  out += "<button type=\"submit\" class=\"knopf knopf-primaer\">";
  AppendEscaped(out, t("status.ich_auch.knopf"));
  out += "</button>\n</form>\n</section>\n";
}

void RenderFooterLinks(std::string& out, const texts::Lang& t) {
  out += "<div class=\"aktionen\">\n<a class=\"knopf knopf-zweit\"";
  Attr(out, "href", "/meldung" + t.Query());
  out += ">";
  AppendEscaped(out, t("status.andere_nummer"));
  out += "</a>\n<a class=\"knopf knopf-zweit\"";
  Attr(out, "href", "/" + t.Query());
  out += ">";
  AppendEscaped(out, t("seite.neue_meldung"));
  out += "</a>\n</div>\n";
  html::RenderNoticeLinks(out, t);
}

std::string ProblemText(LookupPage::Problem p, const texts::Lang& t) {
  switch (p) {
    case LookupPage::Problem::kMalformed:
      return t("status.suche.unvollstaendig");
    case LookupPage::Problem::kCheckFailed:
      return t("status.suche.tippfehler");
    case LookupPage::Problem::kUnknown:
      return t("status.suche.unbekannt");
    case LookupPage::Problem::kUnavailable:
      return t("status.suche.nicht_verfuegbar");
    case LookupPage::Problem::kTooMany:
      return t("status.suche.zu_viele");
    case LookupPage::Problem::kNone:
      break;
  }
  return "";
}

}  // namespace

std::string StatusLabel(const std::string& status, const texts::Lang& t) {
  for (const char* known :
       {"received", "assigned", "accepted", "in_progress", "done", "rejected", "duplicate"}) {
    if (status == known)
      return t(std::string("status.stand.") + known);
  }
  return status;
}

std::string RenderStatusPage(const StatusPage& page) {
  const texts::Lang& t = page.t;
  std::string out;
  out.reserve(8 * 1024);
  std::string grouped = GroupForReading(page.reference);
  RenderHead(out, t("status.titel", {{"reference", grouped}}) + " – " + page.town_name,
             /*with_script_flag=*/false, t, MapHead(page));
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, t("status.ueberschrift"));
  out += "</h1>\n";
  html::RenderLanguageSwitch(out, t, page.self);
  out += "</header>\n<main>\n<p>";
  AppendEscaped(out, t("status.nummer"));
  out += "</p>\n<div class=\"referenz\" role=\"group\" translate=\"no\" dir=\"ltr\"";
  Attr(out, "aria-label", t("status.nummer") + " " + SpellOut(grouped));
  out += ">";
  AppendEscaped(out, grouped);
  out += "</div>\n<dl class=\"angaben\">\n<dt>";
  AppendEscaped(out, t("status.stand_titel"));
  out += "</dt>\n<dd><span";
  Attr(out, "class", StatusClass(page.status));
  out += ">";
  AppendEscaped(out, StatusLabel(page.status, t));
  out += "</span></dd>\n";
  if (!page.category_name.empty()) {
    out += "<dt>";
    AppendEscaped(out, t("status.art"));
    out += "</dt>\n<dd>";
    AppendEscaped(out, page.category_name);
    out += "</dd>\n";
  }
  out += "<dt>";
  AppendEscaped(out, t("status.zustaendig"));
  out += "</dt>\n<dd>";
  AppendEscaped(out,
                page.department_name.empty() ? t("status.zustaendig_offen") : page.department_name);
  out += "</dd>\n";
  if (!page.received_at.empty()) {
    out += "<dt>";
    AppendEscaped(out, t("status.eingegangen"));
    out += "</dt>\n<dd>";
    AppendEscaped(out, page.received_at);
    out += "</dd>\n";
  }
  out += "</dl>\n";
  if (!page.linked_reference.empty()) {
    // "… gemeinsam mit Meldung {link} bearbeitet …": the text around the link from the catalogue.
    std::string other = GroupForReading(page.linked_reference);
    std::string a = "<a";
    Attr(a, "href", SafeUrl("/meldung/" + page.linked_reference + t.Query()));
    a += " translate=\"no\">";
    AppendEscaped(a, other);
    a += "</a>";
    std::string text = html::Escaped(t("status.gemeinsam_mit"));
    out += "<p>" + texts::Fill(text, {{"reference", a}}) + "</p>\n";
  }
  RenderFixQuestion(out, page);
  RenderMeToo(out, page);
  out += "<section aria-labelledby=\"verlauf\">\n<h2 id=\"verlauf\">";
  AppendEscaped(out, t("status.verlauf"));
  out += "</h2>\n";
  if (page.history.empty()) {
    out += "<p>";
    AppendEscaped(out, t("status.verlauf_leer"));
    out += "</p>\n";
  } else {
    out += "<ol class=\"verlauf\">\n";
    for (const auto& e : page.history) {
      out += "<li><span class=\"zeit\">";
      AppendEscaped(out, e.at);
      out += "</span>";
      AppendEscaped(out, EventLabel(e, t));
      if (!e.public_note.empty()) {
        // Staff write in German: the note says so for a reader of another language.
        out += "<p class=\"notiz\" lang=\"de\">";
        AppendEscaped(out, e.public_note);
        out += "</p>";
      }
      out += "</li>\n";
    }
    out += "</ol>\n";
  }
  out += "</section>\n";
  RenderPlace(out, page);
  RenderFooterLinks(out, t);
  out += "</main>\n</div>\n</body>\n</html>\n";
  return out;
}

std::string RenderLookupPage(const LookupPage& page) {
  const texts::Lang& t = page.t;
  std::string out;
  out.reserve(6 * 1024);
  std::string title = t("status.suche.titel");
  if (page.problem != LookupPage::Problem::kNone)
    title = t("seite.fehler_titel", {{"title", title}});
  RenderHead(out, title + " – " + page.town_name, /*with_script_flag=*/false, t);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, t("status.suche.titel"));
  out += "</h1>\n";
  html::RenderLanguageSwitch(out, t, page.self);
  out += "</header>\n<main>\n";
  std::string problem = ProblemText(page.problem, t);
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
  AppendEscaped(out, t("status.suche.feld"));
  out += "</label>\n<p class=\"hinweis\" id=\"nummer-hinweis\">";
  AppendEscaped(out, t("status.suche.hinweis"));
  out +=
      "</p>\n<input type=\"text\" id=\"nummer\" name=\"nummer\" autocomplete=\"off\""
      " autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"40\" dir=\"ltr\"";
  Attr(out, "value", page.typed);
  Attr(out, "aria-describedby", field_problem ? "nummer-fehler nummer-hinweis" : "nummer-hinweis");
  if (field_problem)
    out += " aria-invalid=\"true\"";
  out += ">\n</div>\n";
  RenderLanguageField(out, t);
  out += "<button type=\"submit\" class=\"knopf knopf-primaer\">";
  AppendEscaped(out, t("status.suche.knopf"));
  out += "</button>\n</form>\n<div class=\"aktionen\">\n<a class=\"knopf knopf-zweit\"";
  Attr(out, "href", "/" + t.Query());
  out += ">";
  AppendEscaped(out, t("seite.neue_meldung"));
  out += "</a>\n</div>\n</main>\n</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace meldestelle::webform
