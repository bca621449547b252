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

std::string StatusClass(const std::string& status) {
  if (status == "done")
    return "stand stand-erledigt";
  if (status == "work")
    return "stand stand-arbeit";
  return "stand";
}

std::string ListUrl(const PublicReportsPage& p, const std::string& filter, int page) {
  return PublicReportsUrl(filter, page, p.t);
}

void RenderFilters(std::string& out, const PublicReportsPage& p) {
  const texts::Lang& t = p.t;
  out += "<nav class=\"filter\"";
  Attr(out, "aria-label", t("liste.filter"));
  out += ">\n<ul>\n";
  const std::pair<const char*, std::string> kFilters[] = {{"", t("liste.alle")},
                                                          {"open", PublicStatusLabel("open", t)},
                                                          {"work", PublicStatusLabel("work", t)},
                                                          {"done", PublicStatusLabel("done", t)}};
  for (const auto& [key, label] : kFilters) {
    out += "<li><a";
    Attr(out, "href", ListUrl(p, key, 1));
    if (p.filter == key)
      out += " aria-current=\"page\"";
    out += ">";
    AppendEscaped(out, label);
    out += "</a></li>\n";
  }
  out += "</ul>\n</nav>\n";
}

void RenderMap(std::string& out, const PublicReportsPage& p) {
  if (!p.map.enabled)
    return;
  const texts::Lang& t = p.t;
  bool any = false;
  for (const auto& i : p.items)
    any = any || (i.lat && i.lon);
  if (!any && !p.map.center_lat)
    return;
  // Hidden until its script shows it; the list below says everything the map shows.
  out += "<div id=\"meldungen-karte\" class=\"karte karte-liste\" hidden role=\"region\"";
  Attr(out, "aria-label", t("liste.karte_label"));
  Attr(out, "data-tiles", SafeUrl(p.map.tile_url));
  Attr(out, "data-max-zoom", std::to_string(p.map.max_zoom));
  if (p.map.center_lat && p.map.center_lon) {
    Attr(out, "data-lat", Coordinate(*p.map.center_lat));
    Attr(out, "data-lon", Coordinate(*p.map.center_lon));
  }
  Attr(out, "data-zoom", std::to_string(p.map.zoom));
  out += "></div>\n";
  html::RenderMapSource(out, p.map, t);
}

void RenderItem(std::string& out, const PublicReportsPage& p, const PublicReportsPage::Item& i) {
  const texts::Lang& t = p.t;
  std::string page_url = "/meldung/" + i.reference + t.Query();
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
  AppendEscaped(out, PublicStatusLabel(i.status, t));
  out += "</span></p>\n";
  if (!i.public_text.empty()) {
    out += "<p class=\"oeffentlich\">";
    AppendEscaped(out, i.public_text);
    out += "</p>\n";
  }
  out += "<p class=\"hinweis\">";
  if (!i.street.empty()) {
    AppendEscaped(out, t("liste.nahe", {{"street", i.street}}));
    out += " · ";
  }
  AppendEscaped(out, t("liste.gemeldet_am", {{"date", i.received}}));
  out += " · <span translate=\"no\" dir=\"ltr\">";
  AppendEscaped(out, GroupForReading(i.reference));
  out += "</span></p>\n";
  if (i.me_too) {
    out += "<p><a class=\"ich-auch\"";
    Attr(out, "href", SafeUrl(page_url + "#ich-auch"));
    out += ">";
    AppendEscaped(out, t("status.ich_auch.knopf"));
    out += "<span class=\"sr-only\">: ";
    AppendEscaped(out, i.category_name + ", " + GroupForReading(i.reference));
    out += "</span></a></p>\n";
  }
  out += "</li>\n";
}

void RenderPaging(std::string& out, const PublicReportsPage& p) {
  if (p.pages <= 1)
    return;
  const texts::Lang& t = p.t;
  out += "<nav class=\"seiten\"";
  Attr(out, "aria-label", t("liste.seiten"));
  out += ">\n<p>";
  if (p.page > 1) {
    out += "<a rel=\"prev\"";
    Attr(out, "href", ListUrl(p, p.filter, p.page - 1));
    out += ">";
    AppendEscaped(out, t("liste.vorherige"));
    out += "</a> · ";
  }
  AppendEscaped(out, t("liste.seite_von",
                       {{"page", std::to_string(p.page)}, {"pages", std::to_string(p.pages)}}));
  if (p.page < p.pages) {
    out += " · <a rel=\"next\"";
    Attr(out, "href", ListUrl(p, p.filter, p.page + 1));
    out += ">";
    AppendEscaped(out, t("liste.naechste"));
    out += "</a>";
  }
  out += "</p>\n</nav>\n";
}

}  // namespace

std::string PublicReportsUrl(const std::string& filter, int page, const texts::Lang& t) {
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
  return url + t.Query(sep[0]);
}

std::string PublicStatusLabel(const std::string& status, const texts::Lang& t) {
  if (status == "done")
    return t("liste.erledigt");
  if (status == "work")
    return t("liste.in_arbeit");
  return t("liste.offen");
}

std::string RenderPublicReportsPage(const PublicReportsPage& p) {
  const texts::Lang& t = p.t;
  std::string out;
  out.reserve(16 * 1024);
  std::string head;
  if (p.map.enabled)
    head = html::MapHead(p.map);
  RenderHead(out, t("liste.titel") + " – " + p.town_name, /*with_script_flag=*/false, t, head);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, p.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, t("liste.titel"));
  out += "</h1>\n";
  html::RenderLanguageSwitch(out, t, p.self);
  out += "<p class=\"intro\">";
  AppendEscaped(out, t("liste.intro"));
  out += "</p>\n<p><a class=\"knopf knopf-primaer\"";
  Attr(out, "href", "/" + t.Query());
  out += ">";
  AppendEscaped(out, t("liste.neu_melden"));
  out += "</a></p>\n</header>\n<main>\n";
  RenderFilters(out, p);
  out += "<p class=\"legende\">";
  AppendEscaped(out, t("liste.farben"));
  out += " ";
  for (const char* s : {"open", "work", "done"}) {
    out += "<span";
    Attr(out, "class", StatusClass(s));
    out += ">";
    AppendEscaped(out, PublicStatusLabel(s, t));
    out += "</span> ";
  }
  out += "</p>\n";
  RenderMap(out, p);
  out += "<p role=\"status\">";
  if (p.total == 0) {
    AppendEscaped(out, t("liste.keine"));
  } else {
    AppendEscaped(out, p.total == 1 ? t("liste.anzahl_eins")
                                    : t("liste.anzahl", {{"count", std::to_string(p.total)}}));
    if (p.pages > 1) {
      out += " ";
      AppendEscaped(out, t("liste.seite_von",
                           {{"page", std::to_string(p.page)}, {"pages", std::to_string(p.pages)}}));
    }
  }
  out += "</p>\n";
  if (!p.items.empty()) {
    out += "<ol class=\"meldungen\">\n";
    for (const auto& i : p.items)
      RenderItem(out, p, i);
    out += "</ol>\n";
  }
  RenderPaging(out, p);
  html::RenderNoticeLinks(out, t);
  out += "</main>\n</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace meldestelle::webform
