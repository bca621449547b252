// The citizens' opt-out link of status e-mails (docs/departments.md, "Citizens"): GET shows a
// confirmation page with a button, so that mail scanners fetching links unsubscribe nobody; POST
// (the button, or a mail program's RFC 8058 one-click request) records the opt-out. A link with a
// wrong signature gets a 400 page and changes nothing. The pages speak the citizen's language
// (the link's ?lang=, "abmelden.*" in core/texts.hpp).
#include "core/optout.hpp"

#include <httplib.h>

#include "channels/chat/settings.hpp"
#include "channels/phone/settings.hpp"
#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"
#include "core/log.hpp"
#include "gateway/server.hpp"
#include "privacy/notice.hpp"

namespace meldestelle::gateway {

namespace {

using webform::HtmlEscape;

std::string Page(const texts::Lang& t, const std::string& town, const std::string& title,
                 const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"" + t.code() + "\" dir=\"" + std::string(t.dir()) +
         "\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         HtmlEscape(title) + " – " + HtmlEscape(town) +
         "</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;"
         "padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}</style>"
         "</head><body><main><h1>" +
         HtmlEscape(title) + "</h1>" + body + "</main></body></html>\n";
}

void SendPage(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Robots-Tag", "noindex");
  res.set_content(html, "text/html; charset=utf-8");
}

}  // namespace

// The message of a refused link: the precise one in German, what it means in the others.
std::string InvalidLink(const texts::Lang& t, const Error& e) {
  return t.code() == "de" ? e.message : t("abmelden.ungueltig_text");
}

void Gateway::HandleOptOutPage(const httplib::Request& req, httplib::Response& res) {
  const texts::Lang t = PageLang(req);
  std::string c = req.get_param_value("c"), m = req.get_param_value("m"),
              a = req.get_param_value("a"), s = req.get_param_value("s");
  auto link = CheckOptOutLink(config_, c, m, a, s);
  if (!link) {
    return SendPage(res, 400,
                    Page(t, config_.town.name, t("abmelden.ungueltig"),
                         "<p>" + HtmlEscape(InvalidLink(t, link.error())) + "</p>"));
  }
  // The page names no address: the link carries none, and whoever holds it needs none.
  std::string hidden = "<input type=\"hidden\" name=\"c\" value=\"" + HtmlEscape(c) + "\">";
  if (!m.empty())
    hidden += "<input type=\"hidden\" name=\"m\" value=\"" + HtmlEscape(m) + "\">";
  if (!a.empty())
    hidden += "<input type=\"hidden\" name=\"a\" value=\"" + HtmlEscape(a) + "\">";
  hidden += "<input type=\"hidden\" name=\"s\" value=\"" + HtmlEscape(s) + "\">";
  if (t.code() != "de")
    hidden += "<input type=\"hidden\" name=\"lang\" value=\"" + HtmlEscape(t.code()) + "\">";
  SendPage(res, 200,
           Page(t, config_.town.name, t("abmelden.titel"),
                "<p>" + HtmlEscape(t("abmelden.frage")) +
                    "</p><form method=\"post\" action=\"/abmelden\">" + hidden +
                    "<button type=\"submit\">" + HtmlEscape(t("abmelden.knopf")) +
                    "</button></form><p>" + HtmlEscape(t("abmelden.unberuehrt")) + "</p>"));
}

void Gateway::HandleOptOutPost(const httplib::Request& req, httplib::Response& res) {
  const texts::Lang t = PageLang(req);
  // The form's fields, or for a one-click request (RFC 8058) the link's query.
  auto link = CheckOptOutLink(config_, req.get_param_value("c"), req.get_param_value("m"),
                              req.get_param_value("a"), req.get_param_value("s"));
  if (!link) {
    return SendPage(res, 400,
                    Page(t, config_.town.name, t("abmelden.ungueltig"),
                         "<p>" + HtmlEscape(InvalidLink(t, link.error())) + "</p>"));
  }
  auto unavailable = [&](const Error& e) {
    log::Warn("opt-out not recorded", {{"error", e.message + ": " + e.detail}});
    res.set_header("Retry-After", "5");
    return SendPage(res, 503,
                    Page(t, config_.town.name, t("abmelden.spaeter_titel"),
                         "<p>" + HtmlEscape(t("abmelden.spaeter")) + "</p>"));
  };
  std::string address = link->address;
  if (link->message_id != 0) {
    auto found = store_.MessageAddress(link->channel, link->message_id);
    if (!found)
      return unavailable(found.error());
    if (!*found) {
      // The message's address is no longer kept (docs/datenschutz.md): nothing to decline.
      return SendPage(res, 410,
                      Page(t, config_.town.name, t("abmelden.abgelaufen_titel"),
                           "<p>" + HtmlEscape(t("abmelden.abgelaufen")) + "</p>"));
    }
    address = **found;
  }
  if (auto st = store_.RecordOptOut(link->channel, address, "link"); !st)
    return unavailable(st.error());
  log::Info("citizen opted out of status e-mails", {{"channel", link->channel}});
  SendPage(res, 200,
           Page(t, config_.town.name, t("abmelden.erledigt_titel"),
                "<p>" + HtmlEscape(t("abmelden.erledigt")) + "</p>"));
}

void Gateway::HandlePrivacyNotice(const httplib::Request& req, httplib::Response& res) {
  const texts::Lang t = PageLang(req);
  // A legal text: German, or English for every language but German and Leichte Sprache.
  const std::string lang = t.code() == "de" || t.code() == "de-x-ls" ? "de" : "en";
  std::vector<std::string> enabled;
  for (const auto& channel : channels_.channels()) {
    if (!channel.enabled || channel.enabled(config_))
      enabled.push_back(channel.name);
  }
  // The host of the status page's map tiles ("https://tile.openstreetmap.org/{z}/…" →
  // "tile.openstreetmap.org"), when the map is on.
  std::string tiles_host;
  if (const auto& map = config_.Get<webform::Settings>().map; map.enabled) {
    size_t start = map.tile_url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    tiles_host = map.tile_url.substr(start, map.tile_url.find('/', start) - start);
  }
  privacy::Notice n = privacy::BuildNotice(
      config_, enabled, config_.Get<phone::Settings>().recording_retention_days, lang, tiles_host,
      !config_.Get<chat::Settings>().stt_url.empty());
  webform::InfoPage page;
  page.language = n.language;
  page.town_name = config_.town.name;
  page.title = n.title;
  for (auto& s : n.sections)
    page.sections.push_back({std::move(s.heading), std::move(s.paragraphs), std::move(s.items)});
  page.t = t;
  page.self = "/datenschutz";
  SendInfoPage(res, page);
}

}  // namespace meldestelle::gateway
