// The staff inbox (docs/departments.md, "Inbox"): server-rendered pages for departments that
// work in Meldestelle itself. People sign in as themselves (a local account or the town's
// directory; a server-side session in an HttpOnly, SameSite=Strict cookie), the open tickets on
// a list, one ticket with its photos, place and
// history, and the actions of the staff API as plain HTML forms (no JavaScript needed).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <tuple>

#include "channels/http.hpp"
#include "channels/webform/html.hpp"
#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"
#include "core/crypto.hpp"
#include "core/dead_letters.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/report.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"
#include "gateway/charts.hpp"
#include "gateway/rate_limit.hpp"
#include "gateway/staff.hpp"
#include "routing/rules.hpp"
#include "routing/settings.hpp"
#include "tickets/delivery.hpp"
#include "tickets/quality.hpp"
#include "tickets/reference.hpp"
#include "tickets/report.hpp"
#include "tickets/settings.hpp"
#include "tickets/view.hpp"

namespace meldestelle::gateway {

using nlohmann::json;
using tickets::ApiToken;
using tickets::StaffAction;
using webform::HtmlEscape;

namespace {

constexpr const char* kCookie = "ms_staff";

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4}
header{background:#0b4f6c;color:#fff;padding:.6rem 1rem;display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
header a,header button{color:#fff}header button{background:transparent;border:1px solid #fff;border-radius:.3rem}main{padding:1rem;max-width:70rem;margin:0 auto}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.status{font-size:.85rem;padding:.1rem .4rem;border-radius:.3rem;background:#e6eef2}
.msg{padding:.6rem .8rem;border-radius:.3rem;margin:.5rem 0}.ok{background:#e3f4e1}.err{background:#fde2e1}
section{background:#fff;padding:.8rem 1rem;margin:.8rem 0;border-radius:.3rem}
form.inline{display:inline}label{display:block;margin:.4rem 0 .2rem}textarea,input[type=text],input[type=password],select{width:100%;max-width:36rem;padding:.4rem;font:inherit}
button{font:inherit;padding:.45rem .9rem;margin-top:.4rem;cursor:pointer}
.photos img{max-width:18rem;max-height:14rem;margin:.3rem;border:1px solid #ccc}
.actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.8rem}
.karte{height:22rem;margin:.6rem 0;border:1px solid #ccc}.karte-quelle{font-size:.85rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
form.suche{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.4rem .8rem;align-items:end;background:#fff;padding:.6rem 1rem;border-radius:.3rem}
input[type=search],input[type=date]{width:100%;padding:.4rem;font:inherit}label.check{display:flex;gap:.4rem;align-items:center}
)css";

std::string HtmlPage(const std::string& title, const std::string& header_right,
                     const std::string& body, const std::string& head = {}) {
  return "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         HtmlEscape(title) + " – Meldestelle</title><style>" + kStyle + "</style>" + head +
         "</head><body><header><strong>Meldestelle – Eingang</strong>" + header_right +
         "</header><main>" + body + "</main></body></html>";
}

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  std::string all = req.get_header_value("Cookie");
  std::stringstream ss(all);
  for (std::string part; std::getline(ss, part, ';');) {
    size_t b = part.find_first_not_of(' ');
    if (b == std::string::npos)
      continue;
    part = part.substr(b);
    if (part.compare(0, name.size() + 1, name + "=") == 0)
      return part.substr(name.size() + 1);
  }
  return "";
}

const std::map<std::string, std::string>& StatusNames() {
  static const std::map<std::string, std::string> k = {
      {"assigned", "neu"},        {"handed_back", "zurückgegeben"},
      {"accepted", "angenommen"}, {"in_progress", "in Bearbeitung"},
      {"done", "erledigt"},       {"rejected", "abgelehnt"},
      {"duplicate", "Duplikat"},  {"waiting_for_citizen", "wartet auf Antwort"}};
  return k;
}

std::string StatusName(const std::string& s) {
  auto it = StatusNames().find(s);
  return it == StatusNames().end() ? s : it->second;
}

std::string ActionName(const std::string& a) {
  static const std::map<std::string, std::string> k = {
      {"routed", "zugewiesen"},
      {"accepted", "angenommen"},
      {"handed_back", "zurückgegeben"},
      {"rerouted", "neu zugewiesen"},
      {"forwarded", "weitergeleitet"},
      {"question", "Rückfrage gestellt"},
      {"answered", "Antwort auf die Rückfrage"},
      {"question_expired", "keine Antwort auf die Rückfrage"},
      {"recategorised", "Kategorie geändert"},
      {"status", "Status geändert"},
      {"note", "Notiz"},
      {"duplicate", "als Duplikat markiert"},
      {"reminder", "Erinnerung"},
      {"escalated", "eskaliert"},
      {"delivery_failed", "Zustellung fehlgeschlagen"},
      {"delivery_fallback", "Zustellung per E-Mail"},
      {"reopened", "wieder geöffnet"},
      {"published", "Text für die Karte der Meldungen"},
      {"followup", "Nachtrag der meldenden Person"}};
  auto it = k.find(a);
  return it == k.end() ? a : it->second;
}

std::string Msg(const httplib::Request& req) {
  static const std::map<std::string, std::string> kOk = {
      {"accept", "Die Meldung ist angenommen."},
      {"hand-back", "Die Meldung ist zurückgegeben und wird neu zugewiesen."},
      {"status", "Der Status ist gespeichert."},
      {"notes", "Die Notiz ist gespeichert."},
      {"duplicate", "Die Meldung ist als Duplikat verknüpft."},
      {"public-text", "Der Text für die öffentliche Karte ist gespeichert."},
      {"category", "Die Kategorie ist geändert."},
      {"category-reroute",
       "Die Kategorie ist geändert; die Meldung wird nach den Regeln neu "
       "zugewiesen."},
      {"forward", "Die Meldung ist weitergeleitet."},
      {"question", "Die Rückfrage ist gesendet; die Meldung wartet auf die Antwort."},
      {"unchanged", "Keine Änderung: die Meldung war schon in diesem Stand."}};
  if (req.get_param_value("ok") == "requeue") {
    const int n = std::max(0, std::atoi(req.get_param_value("n").c_str()));
    return "<p class=\"msg ok\" role=\"status\">" +
           HtmlEscape(std::to_string(n) + (n == 1 ? " Nachricht ist" : " Nachrichten sind") +
                      " zurück in der Verarbeitung.") +
           "</p>";
  }
  if (req.get_param_value("ok") == "sammel") {
    // Numbers only, read as numbers: a crafted link cannot put words of its own here.
    const int yes = std::max(0, std::atoi(req.get_param_value("angenommen").c_str()));
    const int no = std::max(0, std::atoi(req.get_param_value("nicht").c_str()));
    std::string text =
        std::to_string(yes) + (yes == 1 ? " Meldung" : " Meldungen") + " angenommen.";
    if (no > 0) {
      text += " " + std::to_string(no) +
              " nicht (schon angenommen, nicht mehr Ihre oder nicht mehr offen).";
    }
    return "<p class=\"msg ok\" role=\"status\">" + HtmlEscape(text) + "</p>";
  }
  if (req.has_param("ok")) {
    auto it = kOk.find(req.get_param_value("ok"));
    if (it != kOk.end())
      return "<p class=\"msg ok\" role=\"status\">" + HtmlEscape(it->second) + "</p>";
  }
  return "";
}

// An alert paragraph (the text is escaped).
std::string Alert(const std::string& text) {
  return "<p class=\"msg err\" role=\"alert\">" + HtmlEscape(text) + "</p>";
}

void SendPage(httplib::Response& res, int status, const std::string& title,
              const std::string& header_right, const std::string& body) {
  res.status = status;
  res.set_content(HtmlPage(title, header_right, body), "text/html; charset=utf-8");
}

// The inbox's forms are read here, not by cpp-httplib: the compiled library reads a url-encoded
// body only up to 8 KiB (CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH, fixed when Debian built
// it) and answers 413 beyond, which a note of 1,400 Cyrillic characters already is. The form's
// texts have room for 5,000 characters of any script (up to 12 bytes each, percent-encoded). The
// route's limit (gateway.max_body_bytes, 64 KiB by default: docs/security.md) is checked before.
constexpr size_t kMaxFormBytes = 256 * 1024;

httplib::Server::HandlerWithContentReader FormHandler(
    std::function<void(const httplib::Request&, httplib::Response&)> handle) {
  return [handle = std::move(handle)](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader) {
    auto body = channels::ReadAll(req, res, reader, kMaxFormBytes);
    if (!body) {
      const bool large = body.error().code == errors::kPayloadTooLarge;
      SendPage(res, large ? 413 : 400, large ? "Zu groß" : "Nicht gelesen", "",
               Alert(large ? "Das Formular ist zu groß (höchstens 5000 Zeichen je Text). Bitte "
                             "gehen Sie zurück und kürzen Sie den Text."
                           : "Das Formular kam nicht vollständig an. Bitte gehen Sie zurück und "
                             "senden Sie es noch einmal."));
      return;
    }
    httplib::Request form = req;  // its query's parameters and the path's matches stay
    if (AsciiStartsWithLower(channels::Header(req, "Content-Type"),
                             "application/x-www-form-urlencoded"))
      httplib::detail::parse_query_text(*body, form.params);
    form.body = std::move(body).value();
    handle(form, res);
  };
}

void DatabaseAway(httplib::Response& res, const std::string& header_right = {}) {
  res.set_header("Retry-After", "5");
  SendPage(res, 503, "Nicht erreichbar", header_right,
           Alert("Die Datenbank ist gerade nicht erreichbar. Bitte laden Sie die Seite gleich "
                 "neu."));
}

// The inbox's error messages by the key its redirects carry (?fehler=KEY): fixed texts only, so
// a crafted link cannot put words of its own into the page.
const std::map<std::string, std::string>& InboxErrors() {
  static const std::map<std::string, std::string> k = {
      {"grund", "Bitte geben Sie einen Grund für die Rückgabe an."},
      {"hinweis",
       "Bitte geben Sie für die Ablehnung einen Hinweis für die Bürgerin oder den Bürger an."},
      {"notiz", "Die Notiz ist leer."},
      {"selbst", "Eine Meldung kann kein Duplikat von sich selbst sein."},
      {"unbekannt", "Zu dieser Vorgangsnummer gibt es keine Meldung Ihres Fachbereichs."},
      {"vorgangsnummer", "Die Vorgangsnummer ist ungültig (12 Zeichen, Prüfzeichen am Ende)."},
      {"zu-lang", "Der Text ist zu lang (höchstens 5000 Zeichen)."},
      {"eingabe", "Die Eingabe ist ungültig."},
      {"steuerzeichen",
       "Der Text enthält Steuerzeichen (unsichtbare Zeichen, etwa aus einer kopierten Vorlage). "
       "Bitte entfernen Sie sie; erlaubt sind Tabulatoren und Zeilenumbrüche."},
      {"abgeschlossen", "Die Meldung ist bereits abgeschlossen."},
      {"duplikat",
       "Die Meldung ist als Duplikat verknüpft; bitte bearbeiten Sie die ursprüngliche Meldung."},
      {"schritt", "Dieser Schritt ist im jetzigen Stand nicht möglich."},
      {"fremd", "Diese Meldung gibt es für Ihren Fachbereich nicht."},
      {"kategorie", "Diese Kategorie gibt es nicht."},
      {"frage", "Bitte schreiben Sie eine Frage (höchstens 1000 Zeichen)."},
      {"kein-weg",
       "Die meldende Person hat keinen Weg für Rückfragen hinterlassen (keine Kontaktdaten, keine "
       "Zustimmung zu SMS) oder keine Nachrichten gewünscht. Es wurde nichts gesendet."},
      {"kein-versand",
       "Über den Kontaktweg, den die meldende Person angegeben hat, kann derzeit nichts versendet "
       "werden (dafür ist kein Versand eingerichtet; schon die Eingangsbestätigung konnte nicht "
       "versendet werden). Es wurde nichts gesendet."},
      {"nur-sms",
       "Die meldende Person ist nur per SMS erreichbar, und eine Antwort per SMS kommt hier nicht "
       "an. Bitte nehmen Sie auf anderem Weg Kontakt auf, etwa mit einem Anruf. Es wurde nichts "
       "gesendet."},
      {"fachbereich", "Diesen Fachbereich gibt es nicht."},
      {"rolle", "Weiterleiten an einen Fachbereich dürfen nur die Leitstelle und der Betrieb."},
      {"datenbank",
       "Die Datenbank ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."},
      {"intern",
       "Die Aktion konnte nicht gespeichert werden. Ein erneuter Versuch hilft nicht; bitte "
       "melden Sie es dem Betrieb (die Ursache steht im Protokoll des Gateways)."}};
  return k;
}

// The key of InboxErrors for an error of ApplyStaffAction.
std::string ErrorKey(const Error& e) {
  if (e.code == errors::kInvalidRequest) {
    if (e.message.find("control characters") != std::string::npos)
      return "steuerzeichen";
    if (e.message.find("must be UTF-8") != std::string::npos)
      return "eingabe";
    if (e.message.find("reason") != std::string::npos)
      return "grund";
    if (e.message.find("public_note") != std::string::npos)
      return "hinweis";
    if (e.message.find("note needs") != std::string::npos)
      return "notiz";
    if (e.message.find("question") != std::string::npos)
      return "frage";
    if (e.message.find("itself") != std::string::npos)
      return "selbst";
    if (e.message.find("no ticket") != std::string::npos)
      return "unbekannt";
    return "eingabe";
  }
  if (e.code == errors::kCategoryUnknown)
    return "kategorie";
  if (e.code == errors::kUnknownDepartment)
    return "fachbereich";
  if (e.code == errors::kForbidden)
    return "rolle";
  if (e.code == errors::kNoWayBack)
    return e.message.find("no sender") != std::string::npos        ? "kein-versand"
           : e.message.find("reached by SMS") != std::string::npos ? "nur-sms"
                                                                   : "kein-weg";
  if (e.code == errors::kTicketClosed)
    return "abgeschlossen";
  if (e.code == errors::kTicketIsDuplicate)
    return "duplikat";
  if (e.code == errors::kInvalidTransition)
    return "schritt";
  if (e.code == errors::kNotFound)
    return "fremd";
  if (e.code == errors::kInternal)
    return "intern";
  return "datenbank";
}

// The ticket page's parts (InboxTicket), from the staff view of the ticket (tickets/view.hpp).

// The answers to the category's extra questions (Open311 attributes).
std::string TicketAnswers(const json& j) {
  if (!j.contains("answers") || j["answers"].empty())
    return "";
  std::string body = "<h2>Zusatzangaben</h2><dl id=\"zusatzangaben\">";
  for (const auto& a : j["answers"]) {
    std::string values;
    for (const auto& v : a["values"])
      values += (values.empty() ? "" : ", ") + v.get<std::string>();
    body += "<dt>" +
            HtmlEscape(a["question"].is_string() ? a["question"].get<std::string>()
                                                 : a["code"].get<std::string>()) +
            "</dt><dd>" + HtmlEscape(values) + "</dd>";
  }
  return body + "</dl>";
}

// What the citizen sent after the report, oldest first.
std::string TicketFollowups(const json& j) {
  if (!j.contains("followups") || j["followups"].empty())
    return "";
  std::string body = "<h2>Nachträge</h2><ol id=\"nachtraege\">";
  for (const auto& f : j["followups"]) {
    int photos = f["photos"].get<int>();
    body += "<li>" + HtmlEscape(f["at"].get<std::string>()) + " (UTC) · " +
            HtmlEscape(f["channel"].get<std::string>()) + ": " +
            HtmlEscape(f["text"].get<std::string>()) +
            (photos > 0 ? " (" + std::to_string(photos) + (photos == 1 ? " Foto)" : " Fotos)")
                        : "") +
            "</li>";
  }
  return body + "</ol>";
}

// Status, department, received, channel, category, text, answers, follow-ups, place, flags,
// contact, public note.
std::string TicketFacts(const json& j) {
  std::string body =
      "<section><p>Status: <span class=\"status\" id=\"status\">" +
      HtmlEscape(StatusName(j["status"].get<std::string>())) +
      "</span> · Fachbereich: " + HtmlEscape(j["department"]["name"].get<std::string>()) +
      " · Eingang: " + HtmlEscape(j["received_at"].get<std::string>()) +
      " (UTC) · Kanal: " + HtmlEscape(j["channel"].get<std::string>()) + "</p><p>Kategorie: " +
      HtmlEscape(j["category_name"].is_string() ? j["category_name"].get<std::string>() : "–") +
      "</p><h2>Beschreibung</h2><p id=\"text\">" + HtmlEscape(j["text"].get<std::string>()) +
      "</p>" + TicketAnswers(j) + TicketFollowups(j) + "<h2>Ort</h2><p>" +
      HtmlEscape(j["location"]["address"].get<std::string>());
  if (j["location"]["lat"].is_number()) {
    body += " (" + j["location"]["lat"].dump() + ", " + j["location"]["lon"].dump() +
            ") <a id=\"karte\" href=\"" + HtmlEscape(j["location"]["map_url"].get<std::string>()) +
            "\" target=\"_blank\" rel=\"noopener\">Karte (OpenStreetMap)</a>";
  }
  body += "</p>";
  if (!j["flags"].empty()) {
    body += "<p>Hinweise: ";
    for (const auto& f : j["flags"])
      body += HtmlEscape(f.is_string() ? f.get<std::string>() : f.dump()) + " ";
    body += "</p>";
  }
  if (j["reporter"].is_object()) {
    body += "<p>Kontakt: " + HtmlEscape(j["reporter"]["name"].get<std::string>()) + " " +
            HtmlEscape(j["reporter"]["contact"].get<std::string>()) + "</p>";
  }
  if (!j["public_note"].get<std::string>().empty()) {
    body += "<p>Öffentlicher Hinweis: " + HtmlEscape(j["public_note"].get<std::string>()) + "</p>";
  }
  return body + "</section>";
}

// The photos, each linked to itself.
std::string TicketPhotos(const json& j) {
  if (j["attachments"].empty())
    return "";
  const std::string r = j["reference"];
  std::string body = "<section class=\"photos\"><h2>Fotos</h2>";
  for (const auto& a : j["attachments"]) {
    std::string n = std::to_string(a["position"].get<int>());
    body += "<a href=\"/staff/tickets/" + HtmlEscape(r) + "/fotos/" + n +
            "\"><img src=\"/staff/tickets/" + HtmlEscape(r) + "/fotos/" + n + "\" alt=\"Foto " +
            std::to_string(a["position"].get<int>() + 1) + " der Meldung\"></a>";
  }
  return body + "</section>";
}

// The ticket's category, kept with the department or routed again by the rules.
std::string CategoryForm(const json& j, const Config& config, const std::string& form) {
  const std::string current = j["category"].is_string() ? j["category"].get<std::string>() : "";
  std::string body = form +
                     "<input type=\"hidden\" name=\"aktion\" value=\"category\"><label "
                     "for=\"kategorie\">Kategorie</label><select id=\"kategorie\" "
                     "name=\"category\">";
  for (const auto& c : config.categories) {
    body += "<option value=\"" + HtmlEscape(c.code) + "\"" +
            (c.code == current ? " selected" : "") + ">" + HtmlEscape(c.name) + " (" +
            HtmlEscape(c.code) + ")</option>";
  }
  return body +
         "</select><p class=\"hint\" id=\"neu-zuordnen-hinweis\">Ohne Haken bleibt die "
         "Meldung bei Ihnen. Mit Haken ordnen die Regeln sie mit der neuen Kategorie neu zu "
         "(auch wieder Ihnen).</p><label class=\"check\"><input type=\"checkbox\" "
         "id=\"neu-zuordnen\" name=\"reroute\" value=\"1\" "
         "aria-describedby=\"neu-zuordnen-hinweis\"> Nach den Regeln neu zuordnen</label>"
         "<label for=\"kategorie-notiz\">Notiz (intern, freiwillig)</label><textarea "
         "id=\"kategorie-notiz\" name=\"note\" rows=\"1\"></textarea><button "
         "type=\"submit\" id=\"kategorie-aendern\">Kategorie ändern</button></form>";
}

// A ticket sent to a named department (operators and the triage department).
std::string ForwardForm(const json& j, const Config& config, const std::string& form) {
  const std::string current = j["department"].is_object() && j["department"]["id"].is_string()
                                  ? j["department"]["id"].get<std::string>()
                                  : "";
  std::string body = form +
                     "<input type=\"hidden\" name=\"aktion\" value=\"forward\"><label "
                     "for=\"an-fachbereich\">Weiterleiten an</label><select "
                     "id=\"an-fachbereich\" name=\"department\">";
  for (const auto& d : config.departments) {
    if (d.id != current)
      body += "<option value=\"" + HtmlEscape(d.id) + "\">" + HtmlEscape(d.name) + "</option>";
  }
  return body +
         "</select><label for=\"weiterleiten-grund\">Grund (intern)</label><textarea "
         "id=\"weiterleiten-grund\" name=\"reason\" rows=\"1\"></textarea><button "
         "type=\"submit\" id=\"weiterleiten\">Weiterleiten</button></form>";
}

// The forms of what staff may do in the ticket's status: accept; set the status, hand back, mark
// as duplicate, change the category while it is with the department; forward (operators and the
// triage department); a note always.
std::string TicketForms(const json& j, const std::string& csrf_value, const Config& config,
                        bool may_forward) {
  const std::string status = j["status"];
  const std::string csrf = "<input type=\"hidden\" name=\"csrf\" value=\"" + csrf_value + "\">";
  const std::string form = "<form method=\"post\" action=\"/staff/tickets/" +
                           HtmlEscape(j["reference"].get<std::string>()) + "/aktion\">" + csrf;
  std::string body = "<section><h2>Bearbeiten</h2><div class=\"actions\">";
  if (status == "assigned") {
    body += form +
            "<input type=\"hidden\" name=\"aktion\" value=\"accept\"><p>Die Meldung gehört zu uns."
            "</p><button type=\"submit\" id=\"annehmen\">Annehmen</button></form>";
  }
  const bool with_department = status == "assigned" || status == "accepted" ||
                               status == "in_progress" || status == "waiting_for_citizen";
  if (status == "assigned" || status == "accepted" || status == "in_progress") {
    // Asking back: sent to the citizen in their channel; the ticket waits for the answer.
    body += form +
            "<input type=\"hidden\" name=\"aktion\" value=\"question\"><label "
            "for=\"rueckfrage\">Rückfrage an die meldende Person</label><p class=\"hint\" "
            "id=\"rueckfrage-hinweis\">Geht auf dem Weg, auf dem gemeldet wurde (E-Mail, "
            "Chat; nicht per SMS, auf die keine Antwort ankäme). Die Meldung wartet dann auf die "
            "Antwort; Fristen ruhen.</p><textarea "
            "id=\"rueckfrage\" name=\"question\" rows=\"2\" maxlength=\"1000\" required "
            "aria-describedby=\"rueckfrage-hinweis\"></textarea><button type=\"submit\" "
            "id=\"rueckfrage-senden\">Rückfrage senden</button></form>";
  }
  if (with_department) {
    body +=
        form +
        "<input type=\"hidden\" name=\"aktion\" value=\"status\"><label for=\"neuer-status\">"
        "Status</label><select id=\"neuer-status\" name=\"status\"><option value=\"in_progress\">"
        "in Bearbeitung</option><option value=\"done\">erledigt</option><option "
        "value=\"rejected\">abgelehnt</option></select><label for=\"hinweis\">Hinweis für die "
        "Bürgerin / den Bürger (bei Ablehnung nötig)</label><textarea id=\"hinweis\" "
        "name=\"public_note\" rows=\"2\"></textarea><button type=\"submit\" "
        "id=\"status-setzen\">Status setzen</button></form>";
    body += form +
            "<input type=\"hidden\" name=\"aktion\" value=\"hand-back\"><label for=\"grund\">"
            "Nicht unsere Zuständigkeit – Grund</label><textarea id=\"grund\" name=\"reason\" "
            "rows=\"2\" required></textarea><button type=\"submit\" id=\"zurueckgeben\">"
            "Zurückgeben</button></form>";
    body += form +
            "<input type=\"hidden\" name=\"aktion\" value=\"duplicate\"><label for=\"duplikat\">"
            "Duplikat von Vorgang</label><input type=\"text\" id=\"duplikat\" "
            "name=\"duplicate_of\" autocomplete=\"off\"><button type=\"submit\">Als Duplikat "
            "verknüpfen</button></form>";
    body += CategoryForm(j, config, form);
  }
  if (may_forward && (with_department || status == "handed_back")) {
    body += ForwardForm(j, config, form);
  }
  body += form +
          "<input type=\"hidden\" name=\"aktion\" value=\"notes\"><label for=\"notiz\">Interne "
          "Notiz</label><textarea id=\"notiz\" name=\"note\" rows=\"2\" required></textarea>"
          "<button type=\"submit\">Notiz speichern</button></form>";
  // What everyone may read on the map of reports (GET /meldungen): written here, never the
  // citizen's words; empty shows the category alone.
  body += form +
          "<input type=\"hidden\" name=\"aktion\" value=\"public-text\"><label "
          "for=\"oeffentlich\">Text für die öffentliche Karte der Meldungen</label><p "
          "class=\"hint\" id=\"oeffentlich-hinweis\">Für alle sichtbar. Keine Namen, "
          "Kontaktdaten oder Worte der Bürgerin / des Bürgers. Leer: nur die Kategorie.</p>"
          "<textarea id=\"oeffentlich\" name=\"public_text\" rows=\"2\" maxlength=\"500\" "
          "aria-describedby=\"oeffentlich-hinweis\">" +
          HtmlEscape(j.value("public_text", std::string())) +
          "</textarea><button type=\"submit\" id=\"veroeffentlichen\">Text für die Karte "
          "speichern</button></form></div></section>";
  return body;
}

// The history, oldest first: when, what, who, where to, and the notes.
std::string TicketHistory(const json& j) {
  std::string body = "<section><h2>Verlauf</h2><ol id=\"verlauf\">";
  for (const auto& h : j.value("history", json::array())) {
    std::string line = h["at"].get<std::string>() + " – " + ActionName(h["action"]) + " – " +
                       h["actor"].get<std::string>();
    if (h["to_department"].is_string())
      line += " → " + h["to_department"].get<std::string>();
    if (h["to_status"].is_string() && h["action"] == "status")
      line += ": " + StatusName(h["to_status"]);
    if (!h["note"].get<std::string>().empty())
      line += " – " + h["note"].get<std::string>();
    if (!h["public_note"].get<std::string>().empty())
      line += " – öffentlich: " + h["public_note"].get<std::string>();
    body += "<li>" + HtmlEscape(line) + "</li>";
  }
  return body + "</ol></section>";
}

}  // namespace

void Staff::RegisterInbox(httplib::Server& server) {
  server.Get("/staff", [this](const auto& req, auto& res) { InboxList(req, res); });
  server.Get("/staff/login", [this](const auto& req, auto& res) { InboxLoginPage(req, res); });
  server.Post("/staff/login",
              FormHandler([this](const auto& req, auto& res) { InboxLogin(req, res); }));
  server.Post("/staff/logout",
              FormHandler([this](const auto& req, auto& res) { InboxLogout(req, res); }));
  server.Get(R"(/staff/tickets/([^/]+))",
             [this](const auto& req, auto& res) { InboxTicket(req, res); });
  server.Get("/staff/auswertung", [this](const auto& req, auto& res) { InboxFigures(req, res); });
  server.Get("/staff/leitstelle", [this](const auto& req, auto& res) { InboxConsole(req, res); });
  server.Post("/staff/leitstelle/requeue",
              FormHandler([this](const auto& req, auto& res) { InboxRequeue(req, res); }));
  server.Get("/staff/auswertung.csv",
             [this](const auto& req, auto& res) { InboxFiguresCsv(req, res); });
  server.Post("/staff/annehmen",
              FormHandler([this](const auto& req, auto& res) { InboxAcceptMany(req, res); }));
  server.Post(R"(/staff/tickets/([^/]+)/aktion)",
              FormHandler([this](const auto& req, auto& res) { InboxAction(req, res); }));
  server.Get(R"(/staff/tickets/([^/]+)/fotos/(\d+))",
             [this](const auto& req, auto& res) { InboxPhoto(req, res); });
}

std::string Staff::Csrf(const tickets::StaffSession& session) const {
  return SignLink(PurposeKey(config_, KeyPurpose::kInbox), "staff-csrf", session.id_sha256, 0);
}

tickets::SessionLimits Staff::SessionLimits() const {
  const auto& t = config_.Get<tickets::Settings>();
  return {t.inbox_idle_minutes, t.inbox_session_hours};
}

std::optional<tickets::StaffSession> Staff::InboxAuth(const httplib::Request& req,
                                                      httplib::Response& res) {
  std::string id = CookieValue(req, kCookie);
  std::optional<tickets::StaffSession> session;
  if (!id.empty()) {
    auto found = db_.Run<std::optional<tickets::StaffSession>>([&](pqxx::connection& c) {
      db::Tx tx(c);
      auto s = tickets::FindSession(tx, id, SessionLimits());
      tx.commit();
      return s;
    });
    if (!found) {
      log::Warn("inbox session check failed", {{"error", found.error().detail}});
      DatabaseAway(res);
      return std::nullopt;
    }
    session = *found;
  }
  if (!session) {
    // A form sent after the session ended: its text is not kept, and its address is no page to
    // come back to (the action's path answers only POST); back to the page it was sent from.
    std::string next = req.path;
    const char* why = "";
    if (req.path == "/staff/logout") {
      next = "/staff";  // signed out already
    } else if (req.method != "GET" && req.method != "HEAD") {
      why = "fehler=abgelaufen&";
      const std::string_view action = "/aktion";
      if (next.size() > action.size() && next.rfind("/staff/tickets/", 0) == 0 &&
          next.compare(next.size() - action.size(), action.size(), action) == 0)
        next.resize(next.size() - action.size());
      else
        next = next.rfind("/staff/leitstelle", 0) == 0 ? "/staff/leitstelle" : "/staff";
    }
    res.status = 303;
    res.set_header("Location", std::string("/staff/login?") + why +
                                   "weiter=" + httplib::detail::encode_query_param(next));
  }
  return session;
}

namespace {

// The login form's CSRF protection: the page sets a random value in a cookie that only this
// path receives, the form carries its signature; a login posted from another site has neither.
constexpr const char* kLoginCookie = "ms_login";

std::string CookieHeader(const Config& config, const std::string& name, const std::string& value,
                         const std::string& path, long max_age) {
  // Secure wherever the gateway is reached by https (always, but for a local trial on http).
  bool https = config.gateway.public_base_url.rfind("https://", 0) == 0;
  return name + "=" + value + "; Path=" + path +
         "; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age) +
         (https ? "; Secure" : "");
}

// OWASP's device cookies: a browser that signed in as a name before carries this cookie
// (`expiry.nonce.signature`, the signature over the name and the nonce). Its sign-ins as that
// name are counted under the cookie, not under the name or the address, so that a stranger who
// guesses a name's password from many addresses (and holds the name's allowance) does not lock
// its owner out of the browser they always use. A browser without it stays held.
constexpr const char* kDeviceCookie = "ms_geraet";
constexpr int64_t kDeviceSeconds = 180LL * 24 * 3600;

// The cookie's nonce when it is a valid device cookie of `name`, else "".
std::string KnownDevice(const Config& config, const httplib::Request& req,
                        const std::string& name) {
  const std::string v = CookieValue(req, kDeviceCookie);
  const size_t a = v.find('.');
  const size_t b = a == std::string::npos ? std::string::npos : v.find('.', a + 1);
  if (name.empty() || b == std::string::npos)
    return "";
  int64_t expires = 0;
  const char* first = v.data();
  if (std::from_chars(first, first + a, expires).ec != std::errc{} || expires <= 0)
    return "";
  const std::string nonce = v.substr(a + 1, b - a - 1);
  if (!VerifyLink(PurposeKey(config, KeyPurpose::kInbox), "staff-device", name + "|" + nonce,
                  expires, v.substr(b + 1), static_cast<int64_t>(std::time(nullptr))))
    return "";
  return nonce;
}

std::string DeviceCookie(const Config& config, const std::string& name) {
  const std::string nonce = RandomHex(16);
  const int64_t expires = static_cast<int64_t>(std::time(nullptr)) + kDeviceSeconds;
  return CookieHeader(config, kDeviceCookie,
                      std::to_string(expires) + "." + nonce + "." +
                          SignLink(PurposeKey(config, KeyPurpose::kInbox), "staff-device",
                                   name + "|" + nonce, expires),
                      "/staff/login", kDeviceSeconds);
}

}  // namespace

void Staff::SendLoginPage(httplib::Response& res, int status, const std::string& error,
                          const std::string& next, const std::string& username) {
  std::string nonce = RandomHex(16);
  res.status = status;
  res.set_header("Set-Cookie", CookieHeader(config_, kLoginCookie, nonce, "/staff/login", 3600));
  res.set_header("Cache-Control", "no-store");
  std::string alert = error.empty() ? std::string()
                                    : "<p class=\"msg err\" role=\"alert\" id=\"fehler\">" +
                                          HtmlEscape(error) + "</p>";
  std::string described = error.empty() ? "" : " aria-describedby=\"fehler\"";
  res.set_content(
      HtmlPage("Anmelden", "",
               "<h1>Anmelden</h1>" + alert +
                   "<p>Melden Sie sich mit Ihrem Benutzernamen der Stadtverwaltung an.</p>"
                   "<form method=\"post\" action=\"/staff/login\"><label for=\"benutzer\">"
                   "Benutzername</label><input type=\"text\" id=\"benutzer\" name=\"benutzer\" "
                   "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
                   "required maxlength=\"256\" value=\"" +
                   HtmlEscape(username) + "\"" + described +
                   "><label for=\"passwort\">Passwort</label><input type=\"password\" "
                   "id=\"passwort\" name=\"passwort\" autocomplete=\"current-password\" "
                   "required maxlength=\"1024\"" +
                   described + "><input type=\"hidden\" name=\"weiter\" value=\"" +
                   HtmlEscape(next) + "\"><input type=\"hidden\" name=\"csrf\" value=\"" +
                   SignLink(PurposeKey(config_, KeyPurpose::kInbox), "staff-login", nonce, 0) +
                   "\"><button type=\"submit\">Anmelden</button></form>"),
      "text/html; charset=utf-8");
}

void Staff::InboxLoginPage(const httplib::Request& req, httplib::Response& res) {
  const std::string why = req.get_param_value("fehler");
  std::string error;
  if (why == "seite") {
    error = "Die Anmeldeseite war abgelaufen. Bitte melden Sie sich noch einmal an.";
  } else if (why == "abgelaufen") {
    error =
        "Ihre Sitzung war abgelaufen: Was Sie zuletzt abgeschickt haben, wurde nicht gespeichert. "
        "Bitte melden Sie sich an und geben Sie es noch einmal ein.";
  } else if (why == "zuordnung") {
    error =
        "Ihr Konto ist keinem Fachbereich der Meldestelle zugeordnet. Bitte wenden Sie sich an "
        "die IT der Stadtverwaltung.";
  } else if (!why.empty()) {
    error = "Benutzername oder Passwort ist falsch.";
  }
  std::string next = req.has_param("weiter") ? req.get_param_value("weiter") : "/staff";
  SendLoginPage(res, 200, error, next, "");
}

void Staff::CountSignIn(const char* source, const char* outcome) {
  registry_
      .GetCounter("meldestelle_staff_sign_ins_total",
                  "Sign-ins to the staff inbox, by source (local, directory) and outcome.",
                  {{"source", source}, {"outcome", outcome}})
      .Inc();
}

void Staff::InboxLogin(const httplib::Request& req, httplib::Response& res) {
  std::string next = req.get_param_value("weiter");
  if (next.rfind("/staff", 0) != 0 || next.find("//") != std::string::npos)
    next = "/staff";
  // Without the login page's cookie and its signature (another site posting the form, or a
  // page older than an hour): the login page again, nothing checked.
  std::string nonce = CookieValue(req, kLoginCookie);
  if (nonce.empty() || !VerifyLink(PurposeKey(config_, KeyPurpose::kInbox), "staff-login", nonce, 0,
                                   req.get_param_value("csrf"), 0)) {
    res.status = 303;
    res.set_header("Location",
                   "/staff/login?fehler=seite&weiter=" + httplib::detail::encode_query_param(next));
    return;
  }
  const std::string typed = req.get_param_value("benutzer");
  const std::string password = req.get_param_value("passwort");
  const std::string name = tickets::NormalUsername(typed);
  // Guessing is slowed: per client address, per user name from one address, and per user name
  // from anywhere (higher, so that nobody locks a person out from one address, while a guess
  // spread over many stays slow). A token is taken before the attempt, so that parallel attempts
  // cannot all pass, and given back when the sign-in succeeded: only failures count.
  const std::string client = ClientAddress(req.remote_addr, req.get_header_value("X-Forwarded-For"),
                                           config_.gateway.trusted_proxies);
  const std::string name_key = name.empty() ? std::string("-") : name;
  const std::string client_key = LimitKey(client);
  // A browser that signed in as this name before has an allowance of its own (KnownDevice).
  const std::string device = KnownDevice(config_, req, name);
  std::vector<std::pair<RateLimiter*, std::string>> allowances;
  if (device.empty())
    allowances = {{&sign_in_clients_, client_key},
                  {&sign_in_name_clients_, name_key + " " + client_key},
                  {&sign_in_names_, name_key}};
  else
    allowances = {{&sign_in_name_clients_, name_key + " device " + device}};
  auto refund = [&] {
    for (const auto& [limiter, key] : allowances)
      limiter->Refund(key);
  };
  int wait = 0;
  for (const auto& [limiter, key] : allowances) {
    auto d = limiter->Take(key);
    if (!d.allowed)
      wait = std::max(wait, std::max(1, d.retry_after_seconds));
  }
  if (wait > 0) {
    CountSignIn("any", "throttled");
    res.set_header("Retry-After", std::to_string(wait));
    SendLoginPage(res, 429,
                  "Zu viele Anmeldeversuche. Bitte versuchen Sie es in " +
                      std::to_string((wait + 59) / 60) + " Minute(n) noch einmal.",
                  next, typed);
    return;
  }
  // A sign-in holds a thread for an Argon2id hash (19 MiB) or the directory's answers: only a
  // few at once, so that they never take the threads citizens' reports need.
  // Known browsers have places of their own, so that a flood of strangers' attempts does not
  // keep staff out.
  const int places = kMaxConcurrentSignIns + (device.empty() ? 0 : kSignInsForKnownDevices);
  if (sign_ins_running_.fetch_add(1) >= places) {
    sign_ins_running_.fetch_sub(1);
    refund();
    CountSignIn("any", "busy");
    res.set_header("Retry-After", "5");
    SendLoginPage(
        res, 503,
        "Gerade melden sich sehr viele gleichzeitig an. Bitte versuchen Sie es in einigen "
        "Sekunden noch einmal.",
        next, typed);
    return;
  }
  struct Running {
    std::atomic<int>& n;
    ~Running() { n.fetch_sub(1); }
  } running{sign_ins_running_};
  auto signed_in = tickets::SignIn(db_, config_, typed, password);
  if (!signed_in) {
    const Error& e = signed_in.error();
    if (e.code == errors::kNoDepartment) {
      log::Warn("staff sign-in: no configured group", {{"user", name}, {"detail", e.detail}});
      CountSignIn("directory", "no_department");
      res.status = 303;
      res.set_header("Location", "/staff/login?fehler=zuordnung");
      return;
    }
    if (e.code == errors::kLdapUnavailable || e.code == errors::kLdapError) {
      log::Error("staff sign-in: the directory failed",
                 {{"error", e.message}, {"detail", e.detail}});
      CountSignIn("directory", "directory_failed");
      res.set_header("Retry-After", "30");
      SendLoginPage(res, 503,
                    "Das Verzeichnis der Stadtverwaltung ist gerade nicht erreichbar. Bitte "
                    "versuchen Sie es in einigen Minuten noch einmal.",
                    next, typed);
      return;
    }
    DatabaseAway(res);
    return;
  }
  if (!*signed_in) {
    // Not the name typed: people type their password into the name field now and then.
    CountSignIn("any", "refused");
    log::Info("staff sign-in refused", {{"client", client}});
    res.status = 303;
    res.set_header("Location",
                   "/staff/login?fehler=1&weiter=" + httplib::detail::encode_query_param(next));
    return;
  }
  refund();
  const tickets::Person& person = **signed_in;
  auto limits = SessionLimits();
  auto id = db_.Run<std::string>([&](pqxx::connection& c) {
    db::Tx tx(c);
    auto opened = tickets::OpenSession(tx, person, limits);
    tx.commit();
    return opened;
  });
  if (!id) {
    DatabaseAway(res);
    return;
  }
  CountSignIn(person.source == "local" ? "local" : "directory", "signed_in");
  log::Info("staff signed in", {{"user", person.username}, {"source", person.source}});
  res.status = 303;
  res.set_header("Set-Cookie", CookieHeader(config_, kCookie, *id, "/staff",
                                            static_cast<long>(limits.hours) * 3600));
  res.set_header("Set-Cookie", CookieHeader(config_, kLoginCookie, "", "/staff/login", 0));
  res.set_header("Set-Cookie", DeviceCookie(config_, name));  // renewed with every sign-in
  res.set_header("Location", next);
}

void Staff::InboxLogout(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  if (!ConstantTimeEquals(req.get_param_value("csrf"), Csrf(*session))) {
    SendPage(res, 403, "Abgelehnt", "",
             Alert("Das Formular war ungültig. Bitte laden Sie die Seite neu."));
    return;
  }
  auto closed = db_.Run<bool>([&](pqxx::connection& c) {
    db::Tx tx(c);
    tickets::CloseSession(tx, CookieValue(req, kCookie));
    tx.commit();
    return true;
  });
  if (!closed) {
    DatabaseAway(res);
    return;
  }
  res.status = 303;
  res.set_header("Set-Cookie", CookieHeader(config_, kCookie, "", "/staff", 0));
  // What an older version let the browser keep (photos were cached for an hour) goes too.
  // Browsers honour it on a secure origin (https, or localhost).
  res.set_header("Clear-Site-Data", "\"cache\"");
  res.set_header("Location", "/staff/login");
}

namespace {

std::string HeaderRight(const ApiToken& t, const Config& config, const std::string& csrf) {
  const Department* d = config.FindDepartment(t.department_id);
  std::string who = t.role == "operator" ? "Leitstelle (alle Fachbereiche)"
                                         : (d != nullptr ? d->name : t.department_id);
  return "<nav aria-label=\"Bereiche\"><a href=\"/staff\">Meldungen</a> · <a "
         "href=\"/staff/auswertung\">Auswertung</a>" +
         std::string(t.role == "operator" ? " · <a href=\"/staff/leitstelle\">Regeln</a>" : "") +
         "</nav><span>" + HtmlEscape(who) + " · " + HtmlEscape(t.label) +
         " <form class=\"inline\" method=\"post\" action=\"/staff/logout\">"
         "<input type=\"hidden\" name=\"csrf\" value=\"" +
         csrf + "\"><button type=\"submit\">Abmelden</button></form></span>";
}

}  // namespace

void Staff::InboxList(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  const std::string csrf = Csrf(*session);
  Filter f;
  f.department = token->department_id;
  f.limit = 50;
  int seite = std::max(1, std::min(100000, std::atoi(req.get_param_value("seite").c_str())));
  f.offset = (seite - 1) * f.limit;
  // The search form (GET, so that a search is a link): what is not understood is left out and
  // said, never put into the page as typed.
  std::vector<std::string> ignored;
  std::string view = req.has_param("ansicht") ? req.get_param_value("ansicht") : "offen";
  if (view == "erledigt") {
    f.statuses = {"done", "rejected"};
  } else if (view == "wartet") {
    f.statuses = {"waiting_for_citizen"};
  } else if (view != "alle") {
    view = "offen";
    f.statuses = {"assigned", "accepted", "in_progress", "waiting_for_citizen"};
  }
  f.q = req.get_param_value("q");
  if (!IsValidUtf8(f.q) || Utf8Length(f.q) > 200) {
    f.q.clear();
    ignored.push_back("Suche");
  }
  const std::string kategorie = req.get_param_value("kategorie");
  if (!kategorie.empty()) {
    if (config_.FindCategory(kategorie) != nullptr)
      f.category = kategorie;
    else
      ignored.push_back("Kategorie");
  }
  const std::string bezirk = req.get_param_value("bezirk");
  if (!bezirk.empty()) {
    if (areas_.count(bezirk))
      f.area = bezirk;
    else
      ignored.push_back("Bezirk");
  }
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  for (auto [name, out, label] :
       {std::tuple<const char*, std::string*, const char*>{"von", &f.since, "Von"},
        {"bis", &f.until, "Bis"}}) {
    std::string v = req.get_param_value(name);
    if (v.empty())
      continue;
    if (std::regex_match(v, kDate))
      *out = v;
    else
      ignored.push_back(label);
  }
  f.overdue = req.get_param_value("ueberfaellig") == "1";
  f.oldest_first = req.get_param_value("sortierung") == "alt";
  auto page = List(f, *token, nullptr);
  if (!page && page.error().detail.rfind("22", 0) == 0) {
    // A date of the right shape that does not exist (2026-13-45).
    f.since.clear();
    f.until.clear();
    ignored.push_back("Datum");
    page = List(f, *token, nullptr);
  }
  if (!page) {
    DatabaseAway(res, HeaderRight(*token, config_, csrf));
    return;
  }
  // The query again, for the form's values and the page links.
  std::string query = "ansicht=" + view;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"q", f.q},
           {"kategorie", f.category},
           {"bezirk", f.area},
           {"von", f.since},
           {"bis", f.until},
           {"ueberfaellig", f.overdue ? "1" : ""},
           {"sortierung", f.oldest_first ? "alt" : ""}}) {
    if (!value.empty())
      query += "&" + name + "=" + httplib::detail::encode_query_param(value);
  }
  auto option = [](const std::string& value, const std::string& label, const std::string& now) {
    return "<option value=\"" + HtmlEscape(value) + "\"" + (value == now ? " selected" : "") + ">" +
           HtmlEscape(label) + "</option>";
  };
  std::string form =
      "<form method=\"get\" action=\"/staff\" role=\"search\" class=\"suche\"><div>"
      "<label for=\"q\">Suche (Vorgangsnummer, Text, Straße)</label><input type=\"search\" "
      "id=\"q\" name=\"q\" maxlength=\"200\" value=\"" +
      HtmlEscape(f.q) +
      "\"></div><div><label for=\"ansicht\">Status</label><select id=\"ansicht\" "
      "name=\"ansicht\">" +
      option("offen", "Offen", view) + option("wartet", "Wartet auf Antwort", view) +
      option("erledigt", "Abgeschlossen", view) + option("alle", "Alle", view) +
      "</select></div><div><label for=\"kategorie-filter\">Kategorie</label><select "
      "id=\"kategorie-filter\" name=\"kategorie\">" +
      option("", "alle", f.category);
  for (const auto& c : config_.categories)
    form += option(c.code, c.name + " (" + c.code + ")", f.category);
  form +=
      "</select></div><div><label for=\"bezirk\">Bezirk</label><select id=\"bezirk\" "
      "name=\"bezirk\">" +
      option("", "alle", f.area);
  for (const auto& [name, area] : areas_)
    form += option(name, name, f.area);
  form +=
      "</select></div><div><label for=\"von\">Eingang von</label><input type=\"date\" "
      "id=\"von\" name=\"von\" value=\"" +
      HtmlEscape(f.since) +
      "\"></div><div><label for=\"bis\">bis</label><input type=\"date\" id=\"bis\" "
      "name=\"bis\" value=\"" +
      HtmlEscape(f.until) +
      "\"></div><div><label for=\"sortierung\">Sortierung</label><select "
      "id=\"sortierung\" name=\"sortierung\">" +
      option("", "neueste zuerst", f.oldest_first ? "alt" : "") +
      option("alt", "älteste zuerst", f.oldest_first ? "alt" : "") +
      "</select></div><div><label class=\"check\"><input type=\"checkbox\" "
      "id=\"ueberfaellig\" name=\"ueberfaellig\" value=\"1\"" +
      (f.overdue ? " checked" : "") +
      "> Nur überfällige (nicht rechtzeitig angenommen)</label></div><button "
      "type=\"submit\" id=\"suchen\">Suchen</button> <a href=\"/staff\">Zurücksetzen</a>"
      "</form>";
  std::string rows;
  bool any_assigned = false;
  bool with_place = false;
  for (const auto& t : page->items) {
    std::string ref = t["reference"];
    std::string status = t["status"];
    std::string cat = t["category_name"].is_string() ? t["category_name"].get<std::string>() : "–";
    std::string place = t["location"]["address"].get<std::string>();
    if (place.empty() && t["location"]["lat"].is_number())
      place = "Standort (Karte)";
    std::string text = t["text"];
    if (text.size() > 140) {
      size_t cut = 140;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;
      text = text.substr(0, cut) + "…";
    }
    // Several new tickets are accepted at once: a box for each (labelled for screen readers).
    std::string pick = "<td></td>";
    if (status == "assigned") {
      any_assigned = true;
      pick = "<td><input type=\"checkbox\" name=\"ref\" form=\"sammel\" value=\"" +
             HtmlEscape(ref) + "\" id=\"w-" + HtmlEscape(ref) + "\"><label class=\"sr\" for=\"w-" +
             HtmlEscape(ref) + "\">" + HtmlEscape(tickets::DisplayReference(ref)) +
             " auswählen</label></td>";
    }
    // The map of the list (the public list's script, gateway/assets/meldungen-karte-1.js) reads
    // its markers from these attributes.
    std::string marker;
    if (t["location"]["lat"].is_number() && t["location"]["lon"].is_number()) {
      marker = " class=\"meldung\" data-lat=\"" + t["location"]["lat"].dump() + "\" data-lon=\"" +
               t["location"]["lon"].dump() + "\" data-stand=\"" +
               (status == "assigned"                       ? "open"
                : status == "done" || status == "rejected" ? "done"
                                                           : "work") +
               "\" data-titel=\"" + HtmlEscape(tickets::DisplayReference(ref) + " – " + cat) +
               "\" data-link=\"/staff/tickets/" + HtmlEscape(ref) + "\"";
      with_place = true;
    }
    rows += "<tr data-reference=\"" + HtmlEscape(ref) + "\"" + marker + ">" + pick +
            "<td><a href=\"/staff/tickets/" + HtmlEscape(ref) + "\">" +
            HtmlEscape(tickets::DisplayReference(ref)) + "</a></td><td>" +
            HtmlEscape(tickets::LocalTimeText(*zone_, t["received_at"].get<std::string>())) +
            "</td><td>" + HtmlEscape(cat) + "</td><td>" + HtmlEscape(place) + "</td><td>" +
            HtmlEscape(text) + "</td><td><span class=\"status stand\">" +
            HtmlEscape(StatusName(status)) + "</span></td></tr>";
  }
  const webform::PageMap map =
      webform::html::PageMapOf(config_.Get<webform::Settings>().map, webform::html::kReportsMapJs);
  std::string body = "<h1>Meldungen</h1>" + Msg(req) + form;
  if (!ignored.empty()) {
    std::string what;
    for (const auto& w : ignored)
      what += (what.empty() ? "" : ", ") + w;
    body += Alert("Nicht verstanden und deshalb nicht berücksichtigt: " + what + ".");
  }
  body += "<p id=\"anzahl\" role=\"status\">" + std::to_string(page->total) +
          (page->total == 1 ? " Meldung" : " Meldungen") + "</p>";
  if (rows.empty()) {
    body += "<p id=\"leer\">Keine Meldungen in dieser Ansicht.</p>";
  } else {
    if (any_assigned) {
      body +=
          "<form id=\"sammel\" method=\"post\" action=\"/staff/annehmen\"><input "
          "type=\"hidden\" name=\"csrf\" value=\"" +
          csrf + "\"><input type=\"hidden\" name=\"zurueck\" value=\"" + HtmlEscape(query) +
          "\"><button type=\"submit\" id=\"sammel-annehmen\">Ausgewählte annehmen</button>"
          "</form>";
    }
    // The tickets of this page on the map (webform.map's tiles); without its script, or with the
    // map switched off, the table says everything.
    if (with_place && map.enabled) {
      body +=
          "<div id=\"meldungen-karte\" class=\"karte\" hidden role=\"region\" "
          "aria-label=\"Karte der Meldungen dieser Seite\" data-tiles=\"" +
          HtmlEscape(map.tile_url) + "\" data-max-zoom=\"" + std::to_string(map.max_zoom) +
          "\"></div>";
      webform::html::RenderMapSource(body, map, texts::For(config_, "de"));
    }
    body += "<table><caption class=\"sr\">" + std::to_string(page->total) +
            " Meldungen</caption><thead><tr><th><span class=\"sr\">Auswahl</span></th>"
            "<th>Vorgang</th><th>Eingang</th><th>Kategorie</th><th>Ort</th><th>Text</th>"
            "<th>Status</th></tr></thead><tbody>" +
            rows + "</tbody></table>";
  }
  if (seite > 1 || page->total > f.offset + f.limit) {
    const std::string link = "/staff?" + HtmlEscape(query) + "&amp;seite=";
    body += "<nav aria-label=\"Seiten\"><p>";
    if (seite > 1)
      body += "<a href=\"" + link + std::to_string(seite - 1) + "\">← Vorherige</a> ";
    body += "Seite " + std::to_string(seite) + " ";
    if (page->total > f.offset + f.limit)
      body += "<a href=\"" + link + std::to_string(seite + 1) + "\">Nächste →</a>";
    body += "</p></nav>";
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(HtmlPage("Eingang", HeaderRight(*token, config_, csrf), body,
                           with_place && map.enabled ? webform::html::MapHead(map) : ""),
                  "text/html; charset=utf-8");
}

namespace {

// The period of the figures page: ?seit=YYYY-MM-DD, else the last 12 weeks from a Monday.
std::pair<int64_t, std::string> FiguresSince(const httplib::Request& req,
                                             const routing::TimeZone& zone) {
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  const std::string asked = req.get_param_value("seit");
  if (std::regex_match(asked, kDate)) {
    if (auto t = routing::ParseTownTime(asked, zone, false))
      return {*t, asked};
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t start = now - 12 * 7 * 86400;
  // Back to the Monday of that week, in UTC days (close enough for a default).
  const int64_t day = start / 86400;
  const int64_t weekday = (day + 3) % 7;  // 1970-01-01 was a Thursday: 0 = Monday
  start = (day - weekday) * 86400;
  return {start, routing::FormatUnixSeconds(start).substr(0, 10)};
}

// The figures' query for a person: their department's tickets (operators: all), the districts.
tickets::ReportQuery FiguresQuery(const Config& config,
                                  const std::map<std::string, routing::Geometry>& areas,
                                  const ApiToken& token, int64_t since) {
  tickets::ReportQuery q;
  q.since = since;
  q.timezone = config.town.timezone.empty() ? "UTC" : config.town.timezone;
  q.department = token.department_id;
  for (const auto& [name, area] : areas)
    q.districts.emplace_back(name, area);
  return q;
}

std::string FiguresTable(const std::string& caption, const std::vector<std::string>& head,
                         const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><caption>" + HtmlEscape(caption) + "</caption><thead><tr>";
  for (const auto& h : head)
    t += "<th scope=\"col\">" + HtmlEscape(h) + "</th>";
  t += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    t += "<tr>";
    for (size_t i = 0; i < r.size(); ++i)
      t += i == 0 ? "<th scope=\"row\">" + HtmlEscape(r[i]) + "</th>"
                  : "<td>" + HtmlEscape(r[i]) + "</td>";
    t += "</tr>";
  }
  return t + "</tbody></table>";
}

std::string Days(const std::optional<double>& seconds) {
  return seconds ? gateway::charts::Number(*seconds / 86400) : "–";
}

}  // namespace

// The figures for managers and the council (docs/departments.md, "Auswertung"): reports per week
// by channel, time to done per department, the top categories per district, as charts drawn
// here (SVG) with the numbers as tables, and the same as CSV. A department sees its own tickets'
// figures, operators the town's.
void Staff::InboxFigures(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  const std::string csrf = Csrf(*session);
  auto [since, since_text] = FiguresSince(req, *zone_);
  tickets::ReportQuery q = FiguresQuery(config_, areas_, *token, since);
  struct Figures {
    std::vector<tickets::ReportRow> weeks, departments, top;
  };
  auto figures = db_.Run<Figures>([&](pqxx::connection& c) {
    db::ReadTx tx(c);
    Figures f;
    tickets::ReportQuery w = q;
    w.by = "channel";
    w.period = "week";
    f.weeks = tickets::LoadReport(tx, w);
    tickets::ReportQuery d = q;
    d.by = "department";
    f.departments = tickets::LoadReport(tx, d);
    f.top = tickets::TopCategoriesPerDistrict(tx, q, 3);
    return f;
  });
  if (!figures) {
    DatabaseAway(res, HeaderRight(*token, config_, csrf));
    return;
  }
  std::string body =
      "<h1>Auswertung</h1><form method=\"get\" action=\"/staff/auswertung\" "
      "class=\"suche\"><div><label for=\"seit\">Meldungen seit</label><input "
      "type=\"date\" id=\"seit\" name=\"seit\" value=\"" +
      HtmlEscape(since_text) + "\"></div><button type=\"submit\">Anzeigen</button></form>";
  if (token->role != "operator")
    body += "<p>Die Zahlen der Meldungen, die Ihr Fachbereich jetzt hat.</p>";

  // Reports per week by channel.
  std::vector<std::string> weeks, channels;
  for (const auto& r : figures->weeks) {
    if (std::find(weeks.begin(), weeks.end(), r.period) == weeks.end())
      weeks.push_back(r.period);
    if (std::find(channels.begin(), channels.end(), r.key) == channels.end())
      channels.push_back(r.key);
  }
  std::sort(weeks.begin(), weeks.end());
  std::vector<gateway::charts::Series> series;
  for (const auto& ch : channels) {
    gateway::charts::Series s{ch.empty() ? "ohne" : ch, std::vector<double>(weeks.size(), 0)};
    for (const auto& r : figures->weeks) {
      if (r.key == ch) {
        auto at = std::find(weeks.begin(), weeks.end(), r.period) - weeks.begin();
        s.values[static_cast<size_t>(at)] = static_cast<double>(r.received);
      }
    }
    series.push_back(std::move(s));
  }
  std::vector<std::string> week_labels;
  for (const auto& w : weeks)
    week_labels.push_back(w.size() == 10 ? w.substr(8, 2) + "." + w.substr(5, 2) + "." : w);
  body +=
      "<section aria-labelledby=\"h-wochen\"><h2 id=\"h-wochen\">Meldungen je Woche nach "
      "Eingangsweg</h2>";
  if (weeks.empty()) {
    body += "<p>Keine Meldungen in diesem Zeitraum.</p>";
  } else {
    body += gateway::charts::StackedColumns("wochen",
                                            "Meldungen je Woche (ab Montag) nach "
                                            "Eingangsweg",
                                            week_labels, series);
    std::vector<std::string> head = {"Woche ab"};
    for (const auto& s : series)
      head.push_back(s.name);
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < weeks.size(); ++i) {
      std::vector<std::string> r = {week_labels[i]};
      for (const auto& s : series)
        r.push_back(gateway::charts::Number(s.values[i]));
      rows.push_back(std::move(r));
    }
    body += FiguresTable("Die Zahlen des Diagramms", head, rows);
  }
  body += "<p><a href=\"/staff/auswertung.csv?nach=channel&amp;zeitraum=week&amp;seit=" +
          HtmlEscape(since_text) + "\" download>Als CSV herunterladen</a></p></section>";

  // Time to done per department.
  std::vector<std::string> names;
  std::vector<double> median, p90;
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : figures->departments) {
    const Department* d = config_.FindDepartment(r.key);
    names.push_back(d != nullptr ? d->name : r.key);
    median.push_back(r.done_p50 ? *r.done_p50 / 86400 : -1);
    p90.push_back(r.done_p90 ? *r.done_p90 / 86400 : -1);
    rows.push_back({names.back(), std::to_string(r.received), std::to_string(r.done),
                    Days(r.done_p50), Days(r.done_p90), Days(r.accept_p50)});
  }
  body +=
      "<section aria-labelledby=\"h-dauer\"><h2 id=\"h-dauer\">Zeit bis erledigt je "
      "Fachbereich</h2>";
  if (names.empty()) {
    body += "<p>Keine Meldungen in diesem Zeitraum.</p>";
  } else {
    body += gateway::charts::RangeBars("dauer", "Tage vom Eingang bis erledigt je Fachbereich",
                                       names, median, p90, "Tage");
    body += FiguresTable("Die Zahlen des Diagramms",
                         {"Fachbereich", "Meldungen", "erledigt", "bis erledigt: Median (Tage)",
                          "90. Perzentil (Tage)", "bis angenommen: Median (Tage)"},
                         rows);
  }
  body += "<p><a href=\"/staff/auswertung.csv?nach=department&amp;seit=" + HtmlEscape(since_text) +
          "\" download>Als CSV herunterladen</a></p></section>";

  // The top categories per district.
  std::vector<std::vector<std::string>> top;
  for (const auto& r : figures->top) {
    const auto tab = r.key.find('\t');
    const std::string district = r.key.substr(0, tab), code = r.key.substr(tab + 1);
    const Category* c = config_.FindCategory(code);
    top.push_back(
        {district,
         c != nullptr ? c->name + " (" + code + ")" : (code.empty() ? "ohne Kategorie" : code),
         std::to_string(r.received)});
  }
  body +=
      "<section aria-labelledby=\"h-bezirke\"><h2 id=\"h-bezirke\">Häufigste Kategorien je "
      "Bezirk</h2>";
  body += top.empty() ? "<p>Keine Meldungen mit Ort in diesem Zeitraum.</p>"
                      : FiguresTable("Die drei häufigsten Kategorien je Bezirk",
                                     {"Bezirk", "Kategorie", "Meldungen"}, top);
  body += "<p><a href=\"/staff/auswertung.csv?nach=district&amp;seit=" + HtmlEscape(since_text) +
          "\" download>Alle Zahlen je Bezirk als CSV</a></p></section>";
  res.set_header("Cache-Control", "no-store");
  res.set_content(HtmlPage("Auswertung", HeaderRight(*token, config_, csrf), body),
                  "text/html; charset=utf-8");
}

// The routing console for operators (docs/departments.md, "The routing console"): the rule set
// in force and its swaps, a report tried against it (as `rules explain`), the shadow set's
// disagreements, routing quality per rule. It changes nothing: rules change the way the command
// line changes them (a candidate file checked, then promoted).
void Staff::InboxConsole(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  const std::string csrf = Csrf(*session);
  if (token->role != "operator") {
    SendPage(res, 403, "Nur für die Leitstelle", HeaderRight(*token, config_, csrf),
             "<h1>Nur für die Leitstelle</h1><p>Die Regeln sieht und prüft der Betrieb "
             "(Anmeldung mit einem Betriebs-Token).</p><p><a href=\"/staff\">Zur Liste</a></p>");
    return;
  }
  const auto& routing_settings = config_.Get<routing::Settings>();
  auto rules = routing::LoadRuleSet(routing_settings.rules_file, &config_);
  std::string body = "<h1>Regeln und Zuordnung</h1>" + Msg(req);
  auto dept_name = [&](const std::string& id) {
    const Department* d = config_.FindDepartment(id);
    return d != nullptr ? d->name : id;
  };
  // The rule set in force (as the file is now: the workers read the same file).
  body += "<section aria-labelledby=\"h-regeln\"><h2 id=\"h-regeln\">Regelwerk in Kraft</h2>";
  if (!rules) {
    body += Alert(
        "Die Regeldatei ist fehlerhaft; die Worker arbeiten mit dem letzten gültigen "
        "Stand weiter: " +
        rules.error().message);
  } else {
    const auto& set = **rules;
    body += "<p>Datei <code>" + HtmlEscape(set.file) + "</code>, Version <code>" +
            HtmlEscape(set.version.substr(0, 19)) + "…</code>, " +
            std::to_string(set.rules.size()) + " Regeln, sonst an " +
            HtmlEscape(dept_name(set.default_department)) + ".</p>";
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : set.rules) {
      rows.push_back({r.id,
                      r.forward ? "weiter an " + r.forward->authority : dept_name(r.department),
                      r.priority, r.description});
    }
    body += FiguresTable("Die Regeln in ihrer Reihenfolge (die erste passende gilt)",
                         {"Regel", "an", "Priorität", "Beschreibung"}, rows);
  }
  body += "</section>";

  // A report tried against the rules in force.
  const std::string text = req.get_param_value("text");
  const std::string category = req.get_param_value("kategorie");
  const std::string channel = req.has_param("kanal") ? req.get_param_value("kanal") : "webform";
  const std::string lat = req.get_param_value("lat"), lon = req.get_param_value("lon");
  body +=
      "<section aria-labelledby=\"h-probe\"><h2 id=\"h-probe\">Meldung ausprobieren</h2>"
      "<form method=\"get\" action=\"/staff/leitstelle#h-probe\"><label for=\"probe-text\">"
      "Text der Meldung</label><textarea id=\"probe-text\" name=\"text\" rows=\"3\" "
      "maxlength=\"5000\">" +
      HtmlEscape(text) +
      "</textarea><label for=\"probe-kategorie\">Kategorie</label><select "
      "id=\"probe-kategorie\" name=\"kategorie\"><option value=\"\">keine (der "
      "Klassifikator entscheidet)</option>";
  for (const auto& c : config_.categories) {
    body += "<option value=\"" + HtmlEscape(c.code) + "\"" +
            (c.code == category ? " selected" : "") + ">" +
            HtmlEscape(c.name + " (" + c.code + ")") + "</option>";
  }
  body +=
      "</select><label for=\"probe-kanal\">Eingangsweg</label><select id=\"probe-kanal\" "
      "name=\"kanal\">";
  for (const char* ch : {"webform", "app", "open311", "whatsapp", "telegram", "email", "phone"}) {
    body += "<option" + std::string(channel == ch ? " selected" : "") + ">" + ch + "</option>";
  }
  body +=
      "</select><label for=\"probe-lat\">Breite (optional)</label><input type=\"text\" "
      "id=\"probe-lat\" name=\"lat\" inputmode=\"decimal\" value=\"" +
      HtmlEscape(lat) +
      "\"><label for=\"probe-lon\">Länge (optional)</label><input type=\"text\" "
      "id=\"probe-lon\" name=\"lon\" inputmode=\"decimal\" value=\"" +
      HtmlEscape(lon) + "\"><button type=\"submit\" id=\"probe-senden\">Zuordnen</button></form>";
  if (rules && (!text.empty() || !category.empty())) {
    Report r;
    r.text = IsValidUtf8(text) ? text : std::string();
    r.category = config_.FindCategory(category) != nullptr ? category : std::string();
    r.channel = channel;
    r.received_at = NowTimestamp();
    char* end_lat = nullptr;
    char* end_lon = nullptr;
    const double la = std::strtod(lat.c_str(), &end_lat), lo = std::strtod(lon.c_str(), &end_lon);
    const bool located = !lat.empty() && !lon.empty() && *end_lat == '\0' && *end_lon == '\0' &&
                         routing::ValidLonLat(lo, la);
    if (located) {
      r.location.lat = la;
      r.location.lon = lo;
      r.location.source = LocationSource::kDevice;
    } else if (!lat.empty() || !lon.empty()) {
      body += Alert("Der Ort ist ungültig (Breite −90…90, Länge −180…180) und bleibt weg.");
    }
    routing::Explanation e = routing::Explain(**rules, r);
    body += "<h3>Ergebnis</h3><p id=\"probe-ergebnis\">An <strong>" +
            HtmlEscape(dept_name(e.decision.department)) + "</strong>" +
            (e.decision.rule_id.empty()
                 ? std::string(" (keine Regel passt: Vorgabe)")
                 : " nach Regel <code>" + HtmlEscape(e.decision.rule_id) + "</code>") +
            (e.decision.category.empty() ? std::string(", ohne Kategorie")
                                         : ", Kategorie " + HtmlEscape(e.decision.category)) +
            ".</p><pre id=\"probe-erklaerung\">" + HtmlEscape(routing::ExplanationToText(e)) +
            "</pre>";
  }
  body += "</section>";

  struct Console {
    std::vector<std::vector<std::string>> swaps, shadow;
    tickets::RoutingQuality quality;
  };
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto data = db_.Run<Console>([&](pqxx::connection& c) {
    db::ReadTx tx(c);
    Console out;
    for (const auto& r : tx.exec_params(
             "SELECT to_char(at AT TIME ZONE $1, 'DD.MM.YYYY HH24:MI'), rule_set, version,"
             " coalesce(previous_version, ''), source, worker, accepted, coalesce(error, '')"
             " FROM ruleset_swaps ORDER BY id DESC LIMIT 20",
             config_.town.timezone.empty() ? "UTC" : config_.town.timezone)) {
      out.swaps.push_back(
          {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>().substr(0, 19),
           r[3].as<std::string>().substr(0, 19), r[4].as<std::string>(), r[5].as<std::string>(),
           r[6].as<bool>() ? "ja" : "nein: " + r[7].as<std::string>()});
    }
    for (const auto& r :
         tx.exec("SELECT reference, to_char(at, 'YYYY-MM-DD'), live_department,"
                 " coalesce(live_rule, ''), candidate_department, coalesce(candidate_rule, '')"
                 " FROM shadow_disagreements ORDER BY id DESC LIMIT 50")) {
      out.shadow.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                            r[3].as<std::string>(), r[4].as<std::string>(),
                            r[5].as<std::string>()});
    }
    out.quality = tickets::LoadRoutingQuality(tx, now - 30 * 86400, std::nullopt);
    return out;
  });
  if (!data) {
    DatabaseAway(res, HeaderRight(*token, config_, csrf));
    return;
  }
  body +=
      "<section aria-labelledby=\"h-wechsel\"><h2 id=\"h-wechsel\">Wechsel des "
      "Regelwerks</h2>";
  body +=
      data->swaps.empty()
          ? "<p>Noch kein Wechsel aufgezeichnet.</p>"
          : FiguresTable("Die letzten 20 Wechsel (neueste zuerst)",
                         {"Zeit", "Satz", "Version", "vorher", "Anlass", "Worker", "angenommen"},
                         data->swaps);
  body +=
      "</section><section aria-labelledby=\"h-schatten\"><h2 id=\"h-schatten\">Abweichungen "
      "des Kandidaten (Schattenbetrieb)</h2>";
  if (data->shadow.empty()) {
    body +=
        "<p>Keine Abweichungen aufgezeichnet (oder kein Kandidat im Schattenbetrieb: "
        "<code>routing.shadow_rules_file</code>).</p>";
  } else {
    body +=
        "<table><caption>Die letzten 50 Meldungen, die der Kandidat anders zugeordnet hätte"
        "</caption><thead><tr><th scope=\"col\">Meldung</th><th scope=\"col\">am</th><th "
        "scope=\"col\">in Kraft</th><th scope=\"col\">Kandidat</th></tr></thead><tbody>";
    for (const auto& r : data->shadow) {
      body += "<tr><th scope=\"row\"><a href=\"/staff/tickets/" + HtmlEscape(r[0]) + "\">" +
              HtmlEscape(tickets::DisplayReference(r[0])) + "</a></th><td>" + HtmlEscape(r[1]) +
              "</td><td>" + HtmlEscape(dept_name(r[2])) +
              (r[3].empty() ? "" : " (" + HtmlEscape(r[3]) + ")") + "</td><td>" +
              HtmlEscape(dept_name(r[4])) + (r[5].empty() ? "" : " (" + HtmlEscape(r[5]) + ")") +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body +=
      "</section><section aria-labelledby=\"h-qualitaet\"><h2 id=\"h-qualitaet\">Qualität "
      "je Regel (30 Tage)</h2>";
  if (data->quality.rules.empty()) {
    body += "<p>Keine Meldungen in den letzten 30 Tagen.</p>";
  } else {
    std::vector<std::string> labels;
    std::vector<double> rates;
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : data->quality.rules) {
      labels.push_back(r.key.empty() ? "(Vorgabe)" : r.key);
      rates.push_back(r.MisrouteRate() * 100);
      rows.push_back({labels.back(), std::to_string(r.routed), std::to_string(r.handed_back),
                      gateway::charts::Number(rates.back()) + " %", std::to_string(r.recategorised),
                      std::to_string(r.escalated)});
    }
    body += gateway::charts::Bars("fehlzuordnung",
                                  "Anteil der Meldungen, die ihren ersten "
                                  "Fachbereich verließen, je Regel",
                                  labels, rates, "%");
    body += FiguresTable("Die Zahlen des Diagramms (schlechteste Regel zuerst)",
                         {"Regel", "zugeordnet", "weitergegeben", "Fehlzuordnung",
                          "Kategorie geändert", "eskaliert"},
                         rows);
  }
  // The dead letters: looked at (taken and handed back at once), and put back on the work queue
  // once their cause is fixed — as `meldestelle dead-letters list|requeue` does.
  body +=
      "</section><section aria-labelledby=\"h-dlq\"><h2 id=\"h-dlq\">Nicht verarbeitbare "
      "Nachrichten (Dead-Letter-Queue)</h2>";
  std::ostringstream letters;
  auto listed = ListDeadLetters(config_, 20, letters);
  if (!listed) {
    body += Alert("Der Broker ist gerade nicht erreichbar: " + listed.error().message);
  } else if (*listed == 0) {
    body += "<p id=\"dlq-leer\">Keine.</p>";
  } else {
    body += "<p>Die ersten " + std::to_string(*listed) + " mit ihrem Grund:</p><pre id=\"dlq\">" +
            HtmlEscape(letters.str()) +
            "</pre><form method=\"post\" action=\"/staff/leitstelle/requeue\"><input "
            "type=\"hidden\" name=\"csrf\" value=\"" +
            csrf +
            "\"><p class=\"hint\">Erst die Ursache beheben (Grund oben), dann zurück in die "
            "Verarbeitung geben.</p><button type=\"submit\" id=\"dlq-zurueck\">Bis zu 100 "
            "zurück in die Verarbeitung</button></form>";
  }
  body += "</section>";
  res.set_header("Cache-Control", "no-store");
  res.set_content(HtmlPage("Regeln", HeaderRight(*token, config_, csrf), body),
                  "text/html; charset=utf-8");
}

// The dead letters back onto the work queue (operators; the console's button).
void Staff::InboxRequeue(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  if (token->role != "operator" ||
      !ConstantTimeEquals(req.get_param_value("csrf"), Csrf(*session))) {
    SendPage(res, 403, "Abgelehnt", HeaderRight(*token, config_, Csrf(*session)),
             Alert("Nur die Leitstelle gibt Nachrichten zurück, mit einem gültigen Formular."));
    return;
  }
  std::ostringstream out;
  auto moved = RequeueDeadLetters(config_, 100, out);
  if (!moved) {
    SendPage(res, 503, "Nicht möglich", HeaderRight(*token, config_, Csrf(*session)),
             Alert("Nichts oder nicht alles zurückgegeben: " + moved.error().message +
                   ". Was nicht bestätigt ist, bleibt in der Dead-Letter-Queue."));
    return;
  }
  log::Info("dead letters requeued from the routing console",
            {{"count", std::to_string(*moved)}, {"by", token->Actor()}});
  res.status = 303;
  res.set_header("Location", "/staff/leitstelle?ok=requeue&n=" + std::to_string(*moved) + "#h-dlq");
}

void Staff::InboxFiguresCsv(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  tickets::ReportQuery q = FiguresQuery(config_, areas_, *token, FiguresSince(req, *zone_).first);
  q.by = req.get_param_value("nach");
  q.period = req.get_param_value("zeitraum");
  if (q.by != "category" && q.by != "district" && q.by != "department" && q.by != "channel")
    q.by = "category";
  if (q.period != "week" && q.period != "month")
    q.period.clear();
  auto rows = db_.Run<std::vector<tickets::ReportRow>>([&](pqxx::connection& c) {
    db::ReadTx tx(c);
    return tickets::LoadReport(tx, q);
  });
  if (!rows) {
    DatabaseAway(res, HeaderRight(*token, config_, Csrf(*session)));
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Disposition", "attachment; filename=\"meldestelle-" + q.by +
                                            (q.period.empty() ? "" : "-" + q.period) + ".csv\"");
  res.set_content(tickets::ReportToCsv(q, *rows), "text/csv; charset=utf-8");
}

// Several tickets accepted at once (the list's boxes): each as its own action, so one that
// cannot be accepted (taken meanwhile, another department's) leaves the others accepted.
void Staff::InboxAcceptMany(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  if (!ConstantTimeEquals(req.get_param_value("csrf"), Csrf(*session))) {
    SendPage(res, 403, "Abgelehnt", HeaderRight(*token, config_, Csrf(*session)),
             Alert("Das Formular ist ungültig oder veraltet. Bitte laden Sie die Seite neu."));
    return;
  }
  const size_t count = req.get_param_value_count("ref");
  int accepted = 0, not_accepted = 0;
  for (size_t i = 0; i < count && i < 200; ++i) {
    auto ref = ParseReference(req.get_param_value("ref", i));
    StaffAction a;
    a.kind = StaffAction::Kind::kAccept;
    auto r = ref ? Act(*token, *ref, a) : Result<bool>(MakeError(errors::kNotFound, "no ticket"));
    if (r && *r)
      ++accepted;
    else
      ++not_accepted;
  }
  // Back to the same view; only our own query's characters (a path of the list, never a host).
  std::string back = req.get_param_value("zurueck");
  for (char c : back) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string("=&%-_.+~").find(c) == std::string::npos) {
      back.clear();
      break;
    }
  }
  res.status = 303;
  res.set_header("Location", "/staff?" + (back.empty() ? std::string() : back + "&") +
                                 "ok=sammel&angenommen=" + std::to_string(accepted) +
                                 "&nicht=" + std::to_string(not_accepted));
}

void Staff::InboxTicket(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  auto ref = ParseReference(req.matches[1].str());
  std::optional<json> t;
  if (ref) {
    auto got = Get(*token, *ref, "inbox");
    if (!got) {
      DatabaseAway(res, HeaderRight(*token, config_, Csrf(*session)));
      return;
    }
    t = *got;
  }
  if (!t) {
    SendPage(res, 404, "Nicht gefunden", HeaderRight(*token, config_, Csrf(*session)),
             "<h1>Nicht gefunden</h1><p>Diese Meldung gibt es für Ihren Fachbereich nicht.</p>"
             "<p><a href=\"/staff\">Zur Liste</a></p>");
    return;
  }
  const json& j = *t;
  std::string r = j["reference"];
  std::string body = "<p><a href=\"/staff\">← Zur Liste</a></p><h1>Meldung " +
                     HtmlEscape(tickets::DisplayReference(r)) + "</h1>" + Msg(req);
  if (auto e = InboxErrors().find(req.get_param_value("fehler")); e != InboxErrors().end()) {
    body += Alert(e->second);
  }
  body += TicketFacts(j) + TicketPhotos(j) +
          TicketForms(j, Csrf(*session), config_, MayForward(*token)) + TicketHistory(j);
  res.set_header("Cache-Control", "no-store");
  res.set_content(HtmlPage("Meldung " + tickets::DisplayReference(r),
                           HeaderRight(*token, config_, Csrf(*session)), body),
                  "text/html; charset=utf-8");
}

void Staff::InboxAction(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  auto ref = ParseReference(req.matches[1].str());
  std::string page = "/staff/tickets/" + req.matches[1].str();
  if (!ref || !ConstantTimeEquals(req.get_param_value("csrf"), Csrf(*session))) {
    SendPage(res, 403, "Abgelehnt", HeaderRight(*token, config_, Csrf(*session)),
             Alert("Das Formular ist ungültig oder veraltet. Bitte laden Sie die Seite neu."));
    return;
  }
  std::string kind = req.get_param_value("aktion");
  StaffAction a;
  const auto& names = tickets::StaffActionNames();
  auto k = std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == kind; });
  if (k == names.end()) {
    SendPage(res, 400, "Fehler", HeaderRight(*token, config_, Csrf(*session)),
             Alert("Unbekannte Aktion."));
    return;
  }
  a.kind = k->second;
  a.status = req.get_param_value("status");
  a.public_note = req.get_param_value("public_note");
  a.category = req.get_param_value("category");
  a.reroute = req.has_param("reroute");
  a.department = req.get_param_value("department");
  a.text = a.kind == StaffAction::Kind::kHandBack || a.kind == StaffAction::Kind::kForward
               ? req.get_param_value("reason")
           : a.kind == StaffAction::Kind::kQuestion   ? req.get_param_value("question")
           : a.kind == StaffAction::Kind::kPublicText ? req.get_param_value("public_text")
                                                      : req.get_param_value("note");
  if (a.kind == StaffAction::Kind::kDuplicate) {
    auto other = ParseReference(req.get_param_value("duplicate_of"));
    a.duplicate_of = other ? *other : std::string();
    if (!other) {
      res.status = 303;
      res.set_header("Location", page + "?fehler=vorgangsnummer");
      return;
    }
  }
  for (const std::string* text : {&a.public_note, &a.text}) {
    if (!IsValidUtf8(*text) || Utf8Length(*text) > 5000) {
      res.status = 303;
      res.set_header("Location",
                     page + (IsValidUtf8(*text) ? "?fehler=zu-lang" : "?fehler=eingabe"));
      return;
    }
  }
  auto r = Act(*token, *ref, a);
  res.status = 303;
  if (!r) {
    res.set_header("Location", page + "?fehler=" + ErrorKey(r.error()));
    return;
  }
  // After a hand-back the ticket is no longer the department's: back to the list.
  if (a.kind == StaffAction::Kind::kHandBack && token->role != "operator") {
    res.set_header("Location", "/staff?ok=hand-back");
    return;
  }
  // After a forward or a re-routing the ticket may be another department's.
  if ((a.kind == StaffAction::Kind::kForward ||
       (a.kind == StaffAction::Kind::kCategory && a.reroute)) &&
      *r && token->role != "operator") {
    res.set_header("Location",
                   std::string("/staff?ok=") +
                       (a.kind == StaffAction::Kind::kForward ? "forward" : "category-reroute"));
    return;
  }
  res.set_header("Location", page + "?ok=" + (*r ? kind : std::string("unchanged")));
}

void Staff::InboxPhoto(const httplib::Request& req, httplib::Response& res) {
  auto session = InboxAuth(req, res);
  if (!session)
    return;
  const ApiToken* token = &session->who;
  auto ref = ParseReference(req.matches[1].str());
  if (!ref) {
    res.status = 404;
    return;
  }
  const std::string digits = req.matches[2].str();
  int position = -1;  // more digits than an int holds: no such photo
  std::from_chars(digits.data(), digits.data() + digits.size(), position);
  auto found = FindPhoto(*token, *ref, position);
  if (!found || !*found) {
    res.status = found ? 404 : 503;
    return;
  }
  auto bytes = blobs_.Get((*found)->first);
  if (!bytes) {
    res.status = 404;
    return;
  }
  // A citizen's photo: not kept after the session (a shared office computer).
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(*bytes, (*found)->second);
}

}  // namespace meldestelle::gateway
