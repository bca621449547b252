// The citizens' opt-out link of status e-mails (docs/departments.md, "Citizens"): GET shows a
// confirmation page with a button, so that mail scanners fetching links unsubscribe nobody; POST
// (the button, or a mail program's RFC 8058 one-click request) records the opt-out. A link with a
// wrong signature gets a German 400 page and changes nothing.
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

std::string Page(const std::string& town, const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
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

void Gateway::HandleOptOutPage(const httplib::Request& req, httplib::Response& res) {
  std::string c = req.get_param_value("c"), m = req.get_param_value("m"),
              a = req.get_param_value("a"), s = req.get_param_value("s");
  auto link = CheckOptOutLink(config_, c, m, a, s);
  if (!link) {
    return SendPage(res, 400,
                    Page(config_.town.name, "Link ungültig",
                         "<p>" + HtmlEscape(link.error().message) + "</p>"));
  }
  // The page names no address: the link carries none, and whoever holds it needs none.
  std::string hidden = "<input type=\"hidden\" name=\"c\" value=\"" + HtmlEscape(c) + "\">";
  if (!m.empty())
    hidden += "<input type=\"hidden\" name=\"m\" value=\"" + HtmlEscape(m) + "\">";
  if (!a.empty())
    hidden += "<input type=\"hidden\" name=\"a\" value=\"" + HtmlEscape(a) + "\">";
  hidden += "<input type=\"hidden\" name=\"s\" value=\"" + HtmlEscape(s) + "\">";
  SendPage(res, 200,
           Page(config_.town.name, "Statusmeldungen abbestellen",
                "<p>Sie erhalten Nachrichten, wenn sich der Stand Ihrer Meldungen ändert, an die "
                "E-Mail-Adresse, an die wir diesen Link geschickt haben. Möchten Sie diese "
                "E-Mails nicht mehr erhalten?</p><form method=\"post\" action=\"/abmelden\">" +
                    hidden +
                    "<button type=\"submit\">Ja, abmelden</button></form>"
                    "<p>Ihre Meldungen selbst bleiben davon unberührt.</p>"));
}

void Gateway::HandleOptOutPost(const httplib::Request& req, httplib::Response& res) {
  // The form's fields, or for a one-click request (RFC 8058) the link's query.
  auto link = CheckOptOutLink(config_, req.get_param_value("c"), req.get_param_value("m"),
                              req.get_param_value("a"), req.get_param_value("s"));
  if (!link) {
    return SendPage(res, 400,
                    Page(config_.town.name, "Link ungültig",
                         "<p>" + HtmlEscape(link.error().message) + "</p>"));
  }
  auto unavailable = [&](const Error& e) {
    log::Warn("opt-out not recorded", {{"error", e.message + ": " + e.detail}});
    res.set_header("Retry-After", "5");
    return SendPage(res, 503,
                    Page(config_.town.name, "Bitte später noch einmal",
                         "<p>Die Abmeldung ist gerade nicht möglich. Bitte versuchen Sie es in "
                         "einigen Minuten noch einmal.</p>"));
  };
  std::string address = link->address;
  if (link->message_id != 0) {
    auto found = store_.MessageAddress(link->channel, link->message_id);
    if (!found)
      return unavailable(found.error());
    if (!*found) {
      // The message's address is no longer kept (docs/datenschutz.md): nothing to decline.
      return SendPage(res, 410,
                      Page(config_.town.name, "Link abgelaufen",
                           "<p>Dieser Abmeldelink gehört zu einer älteren Nachricht, deren "
                           "Empfangsadresse wir nicht mehr speichern. Bitte verwenden Sie den "
                           "Link aus einer neueren E-Mail von uns.</p>"));
    }
    address = **found;
  }
  if (auto st = store_.RecordOptOut(link->channel, address, "link"); !st)
    return unavailable(st.error());
  log::Info("citizen opted out of status e-mails", {{"channel", link->channel}});
  SendPage(res, 200,
           Page(config_.town.name, "Sie sind abgemeldet",
                "<p>Sie sind abgemeldet: An Ihre E-Mail-Adresse senden wir keine "
                "Statusmeldungen mehr.</p>"));
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
