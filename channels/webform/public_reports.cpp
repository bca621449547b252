// The public map and list of reports (channels/webform/public_reports.hpp).
#include "channels/webform/public_reports.hpp"

#include "channels/webform/html.hpp"

namespace meldestelle::webform {
namespace {

using html::AppendEscaped;
using html::Attr;
using html::Coordinate;
using html::GroupForReading;
using html::RenderHead;
using html::SafeUrl;

bool En(const std::string& language) { return language == "en"; }

std::string StatusClass(const std::string& status) {
  if (status == "done")
    return "stand stand-erledigt";
  if (status == "work")
    return "stand stand-arbeit";
  return "stand";
}

std::string ListUrl(const PublicReportsPage& p, const std::string& filter, int page) {
  return PublicReportsUrl(filter, page, En(p.language));
}

void RenderFilters(std::string& out, const PublicReportsPage& p) {
  bool en = En(p.language);
  out += "<nav class=\"filter\"";
  Attr(out, "aria-label", en ? "Show" : "Anzeigen");
  out += ">\n<ul>\n";
  const std::pair<const char*, const char*> kFilters[] = {
      {"", en ? "All" : "Alle"},
      {"open", en ? "Open" : "Offen"},
      {"work", en ? "In progress" : "In Arbeit"},
      {"done", en ? "Done" : "Erledigt"}};
  for (const auto& [key, label] : kFilters) {
    out += "<li><a";
    Attr(out, "href", ListUrl(p, key, 1));
    if (p.filter == key)
      out += " aria-current=\"page\"";
    out += ">";
    out += label;
    out += "</a></li>\n";
  }
  out += "</ul>\n</nav>\n";
}

void RenderMap(std::string& out, const PublicReportsPage& p) {
  if (!p.map.enabled)
    return;
  bool en = En(p.language);
  bool any = false;
  for (const auto& i : p.items)
    any = any || (i.lat && i.lon);
  if (!any && !p.map.center_lat)
    return;
  // Hidden until its script shows it; the list below says everything the map shows.
  out += "<div id=\"meldungen-karte\" class=\"karte karte-liste\" hidden role=\"region\"";
  Attr(out, "aria-label",
       en ? "Map of the reports on this page (the list below has them all)"
          : "Karte der Meldungen dieser Seite (die Liste darunter nennt alle)");
  Attr(out, "data-tiles", SafeUrl(p.map.tile_url));
  Attr(out, "data-max-zoom", std::to_string(p.map.max_zoom));
  if (p.map.center_lat && p.map.center_lon) {
    Attr(out, "data-lat", Coordinate(*p.map.center_lat));
    Attr(out, "data-lon", Coordinate(*p.map.center_lon));
  }
  Attr(out, "data-zoom", std::to_string(p.map.zoom));
  out += "></div>\n";
  html::RenderMapSource(out, p.map, en);
}

void RenderItem(std::string& out, const PublicReportsPage& p, const PublicReportsPage::Item& i) {
  bool en = En(p.language);
  std::string page_url = "/meldung/" + i.reference + (en ? "?lang=en" : "");
  out += "<li class=\"meldung\"";
  if (i.lat && i.lon) {
    Attr(out, "data-lat", Coordinate(*i.lat));
    Attr(out, "data-lon", Coordinate(*i.lon));
  }
  Attr(out, "data-stand", i.status);
  Attr(out, "data-titel", i.category_name);
  Attr(out, "data-link", SafeUrl(page_url));
  out += ">\n<h2><a";
  Attr(out, "href", SafeUrl(page_url));
  out += ">";
  AppendEscaped(out, i.category_name);
  out += "</a></h2>\n<p><span";
  Attr(out, "class", StatusClass(i.status));
  out += ">";
  AppendEscaped(out, PublicStatusLabel(i.status, p.language));
  out += "</span></p>\n";
  if (!i.public_text.empty()) {
    out += "<p class=\"oeffentlich\">";
    AppendEscaped(out, i.public_text);
    out += "</p>\n";
  }
  out += "<p class=\"hinweis\">";
  if (!i.street.empty()) {
    out += en ? "near " : "nahe ";
    AppendEscaped(out, i.street);
    out += " · ";
  }
  out += en ? "reported on " : "gemeldet am ";
  AppendEscaped(out, i.received);
  out += " · <span translate=\"no\">";
  AppendEscaped(out, GroupForReading(i.reference));
  out += "</span></p>\n";
  if (i.me_too) {
    out += "<p><a class=\"ich-auch\"";
    Attr(out, "href", SafeUrl(page_url + "#ich-auch"));
    out += ">";
    out += en ? "Me too – tell me when it is fixed" : "Ich auch – Bescheid geben, wenn behoben";
    out += "<span class=\"sr-only\">: ";
    AppendEscaped(out, i.category_name + ", " + GroupForReading(i.reference));
    out += "</span></a></p>\n";
  }
  out += "</li>\n";
}

void RenderPaging(std::string& out, const PublicReportsPage& p) {
  if (p.pages <= 1)
    return;
  bool en = En(p.language);
  out += "<nav class=\"seiten\"";
  Attr(out, "aria-label", en ? "Pages" : "Seiten");
  out += ">\n<p>";
  if (p.page > 1) {
    out += "<a rel=\"prev\"";
    Attr(out, "href", ListUrl(p, p.filter, p.page - 1));
    out += ">";
    out += en ? "Previous page" : "Vorherige Seite";
    out += "</a> · ";
  }
  out += en ? "Page " : "Seite ";
  out += std::to_string(p.page);
  out += en ? " of " : " von ";
  out += std::to_string(p.pages);
  if (p.page < p.pages) {
    out += " · <a rel=\"next\"";
    Attr(out, "href", ListUrl(p, p.filter, p.page + 1));
    out += ">";
    out += en ? "Next page" : "Nächste Seite";
    out += "</a>";
  }
  out += "</p>\n</nav>\n";
}

}  // namespace

std::string PublicReportsUrl(const std::string& filter, int page, bool english) {
  std::string url = "/meldungen";
  std::string sep = "?";
  if (!filter.empty()) {
    // The filter's word in the address: offen, in-arbeit, erledigt.
    url += sep + "stand=" +
           (filter == "open"   ? "offen"
            : filter == "work" ? "in-arbeit"
                               : "erledigt");
    sep = "&";
  }
  if (page > 1) {
    url += sep + "seite=" + std::to_string(page);
    sep = "&";
  }
  if (english)
    url += sep + "lang=en";
  return url;
}

std::string PublicStatusLabel(const std::string& status, const std::string& language) {
  bool en = En(language);
  if (status == "done")
    return en ? "Done" : "Erledigt";
  if (status == "work")
    return en ? "In progress" : "In Arbeit";
  return en ? "Open" : "Offen";
}

std::string RenderPublicReportsPage(const PublicReportsPage& p) {
  bool en = En(p.language);
  std::string out;
  out.reserve(16 * 1024);
  std::string head;
  if (p.map.enabled)
    head = html::MapHead(p.map);
  RenderHead(out, (en ? "Reported problems – " : "Gemeldete Mängel – ") + p.town_name,
             /*with_script_flag=*/false, p.language, head);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, p.town_name);
  out += "</p>\n<h1>";
  out += en ? "Reported problems" : "Gemeldete Mängel";
  out += "</h1>\n";
  html::RenderLanguageLinks(out, p.languages);
  out += "<p class=\"intro\">";
  out += en ? "What is already known to the town. Is your problem among them? Then you need not "
              "report it again: with “Me too” we tell you when it is fixed."
            : "Das ist der Stadt schon bekannt. Ist Ihr Mangel dabei? Dann müssen Sie ihn nicht "
              "noch einmal melden: Mit „Ich auch“ sagen wir Ihnen Bescheid, wenn er behoben ist.";
  out += "</p>\n<p><a class=\"knopf knopf-primaer\"";
  Attr(out, "href", en ? "/?lang=en" : "/");
  out += ">";
  out += en ? "Report a new problem" : "Neuen Mangel melden";
  out += "</a></p>\n</header>\n<main>\n";
  RenderFilters(out, p);
  out += "<p class=\"legende\">";
  out += en ? "Colours: " : "Farben: ";
  for (const char* s : {"open", "work", "done"}) {
    out += "<span";
    Attr(out, "class", StatusClass(s));
    out += ">";
    AppendEscaped(out, PublicStatusLabel(s, p.language));
    out += "</span> ";
  }
  out += "</p>\n";
  RenderMap(out, p);
  out += "<p role=\"status\">";
  if (p.total == 0) {
    out += en ? "No reports in this selection." : "Keine Meldungen in dieser Auswahl.";
  } else {
    out += std::to_string(p.total);
    out +=
        en ? (p.total == 1 ? " report" : " reports") : (p.total == 1 ? " Meldung" : " Meldungen");
    if (p.pages > 1) {
      out += en ? ", page " : ", Seite ";
      out += std::to_string(p.page);
      out += en ? " of " : " von ";
      out += std::to_string(p.pages);
    }
    out += ".";
  }
  out += "</p>\n";
  if (!p.items.empty()) {
    out += "<ol class=\"meldungen\">\n";
    for (const auto& i : p.items)
      RenderItem(out, p, i);
    out += "</ol>\n";
  }
  RenderPaging(out, p);
  html::RenderNoticeLinks(out, en);
  out += "</main>\n</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace meldestelle::webform
