// The citizens' status page (GET /meldung/{reference}), the field to type a reference
// (GET /meldung), the answer to "Ist es behoben?", the accessibility statement and the files of
// the maps under /assets/ (docs/intake-api.md, "The status page").
#include "channels/webform/status_page.hpp"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "channels/webform/accessibility.hpp"
#include "channels/webform/html.hpp"
#include "channels/webform/settings.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"
#include "gateway/assets.hpp"
#include "gateway/server.hpp"
#include "tickets/fix_answers.hpp"
#include "tickets/view.hpp"

namespace meldestelle::gateway {
namespace {

std::string DepartmentName(const Config& config, const std::string& id) {
  for (const auto& d : config.departments) {
    if (d.id == id)
      return d.name;
  }
  return id;
}

webform::LookupPage::Problem ProblemOf(const Error& e) {
  return e.code.str() == "reference_check_failed" ? webform::LookupPage::Problem::kCheckFailed
                                                  : webform::LookupPage::Problem::kMalformed;
}

}  // namespace

std::string PageLanguage(const httplib::Request& req) {
  return texts::Choose(req.get_param_value("lang"), req.get_header_value("Accept-Language"));
}

std::string SelfUrl(const httplib::Request& req, std::initializer_list<std::string_view> drop) {
  std::string url = req.path;
  char sep = '?';
  for (const auto& [name, value] : req.params) {
    if (name == "lang" || std::find(drop.begin(), drop.end(), name) != drop.end())
      continue;
    url += sep + PercentEncode(name) + "=" + PercentEncode(value);
    sep = '&';
  }
  return url;
}

texts::Lang Gateway::PageLang(const httplib::Request& req) const {
  return texts::For(config_, PageLanguage(req));
}

// 429 with a page that says so (gateway.lookups_per_minute); false if the client may go on.
bool Gateway::RefuseTooMany(const httplib::Request& req, httplib::Response& res, const char* what) {
  int wait = LookupRateLimited(req, what);
  if (wait == 0)
    return false;
  webform::LookupPage page;
  page.t = PageLang(req);
  page.town_name = config_.town.name;
  page.problem = webform::LookupPage::Problem::kTooMany;
  res.set_header("Retry-After", std::to_string(wait));
  SendCitizenPage(res, 429, page.t.code(), webform::RenderLookupPage(page));
  return true;
}

void Gateway::HandleLookupPage(const httplib::Request& req, httplib::Response& res) {
  webform::LookupPage page;
  page.t = PageLang(req);
  const std::string language = page.t.code();
  page.town_name = config_.town.name;
  page.self = SelfUrl(req);
  if (req.has_param("nummer")) {
    if (RefuseTooMany(req, res, "status_page"))
      return;
    page.typed = req.get_param_value("nummer");
    auto ref = ParseReference(page.typed);
    if (ref) {
      // The page of the reference has one address, whatever was typed.
      res.status = 303;
      res.set_header("Location", "/meldung/" + *ref + page.t.Query());
      res.set_header("Cache-Control", "no-store");
      return;
    }
    page.problem = ProblemOf(ref.error());
    return SendCitizenPage(res, 400, language, webform::RenderLookupPage(page));
  }
  SendCitizenPage(res, 200, language, webform::RenderLookupPage(page));
}

void Gateway::HandleStatusPage(const httplib::Request& req, httplib::Response& res) {
  if (RefuseTooMany(req, res, "status_page"))
    return;
  ShowStatusPage(req, res, 200, "", "");
}

void Gateway::ShowStatusPage(const httplib::Request& req, httplib::Response& res, int status,
                             const std::string& fixed_error, const std::string& fixed_note,
                             const std::string& me_too_error, const std::string& me_too_email) {
  const texts::Lang t = PageLang(req);
  const std::string language = t.code();
  std::string typed = req.matches[1].str();
  webform::LookupPage lookup;
  lookup.t = t;
  lookup.town_name = config_.town.name;
  lookup.typed = typed;
  lookup.self = "/meldung";
  auto ref = ParseReference(typed);
  if (!ref) {
    lookup.problem = ProblemOf(ref.error());
    return SendCitizenPage(res, 404, language, webform::RenderLookupPage(lookup));
  }
  if (*ref != typed) {
    res.status = 301;
    res.set_header("Location", "/meldung/" + *ref + t.Query());
    return;
  }
  auto found = store_.Lookup(*ref, config_.town.timezone);
  if (!found) {
    log::Warn("status page unavailable", {{"error", found.error().detail}});
    lookup.problem = webform::LookupPage::Problem::kUnavailable;
    res.set_header("Retry-After", "30");
    return SendCitizenPage(res, 503, language, webform::RenderLookupPage(lookup));
  }
  if (!found->has_value()) {
    lookup.problem = webform::LookupPage::Problem::kUnknown;
    return SendCitizenPage(res, 404, language, webform::RenderLookupPage(lookup));
  }
  const auto& s = **found;
  webform::StatusPage page;
  page.t = t;
  page.town_name = config_.town.name;
  page.reference = s.reference;
  page.status = s.status;
  if (const Category* c = config_.FindCategory(s.category))
    page.category_name = c->name;
  page.department_name = s.department;
  page.received_at = s.received_local;
  page.linked_reference = s.duplicate_of;
  for (const auto& e : s.history) {
    page.history.push_back({e.at_local, e.action, e.status,
                            e.department.empty() ? "" : DepartmentName(config_, e.department),
                            e.public_note});
  }
  // The reference of a published report is on the public list: its place is shown as there,
  // rounded to about 100 m, unless it came through Open311 (docs/datenschutz.md, "Publication").
  if (s.lat && s.lon) {
    const bool exact = s.channel == "open311";
    page.lat = exact ? *s.lat : std::round(*s.lat * 1000.0) / 1000.0;
    page.lon = exact ? *s.lon : std::round(*s.lon * 1000.0) / 1000.0;
    page.map_link = tickets::MapLink(*page.lat, *page.lon);
  }
  page.map = webform::html::PageMapOf(config_.Get<webform::Settings>().map,
                                      webform::html::kStatusMapJs);
  // The switch links this page (a GET, also after a refused POST), with the reporter's key.
  page.self = "/meldung/" + s.reference;
  // Only a reporter may answer: the page asks with the key of the link in their notice.
  const std::string key = req.get_param_value("schluessel");
  page.ask_fixed = s.awaits_fix_answer && VerifyFixAnswerKey(config_, s.reference, key);
  if (page.ask_fixed) {
    page.fixed_key = key;
    page.self += "?schluessel=" + PercentEncode(key);
  }
  page.fixed_error = fixed_error;
  page.fixed_note = fixed_note;
  // What became of the answer just sent (the redirect after POST …/behoben).
  std::string answered = req.get_param_value("antwort");
  page.answered = answered == "danke"          ? "fixed"
                  : answered == "wieder-offen" ? "reopened"
                  : answered == "schon"        ? "answered"
                                               : "";
  // "Ich auch" while the report is open and may be shown to everyone, where e-mail can be sent
  // (it promises one).
  page.me_too = (s.status == "assigned" || s.status == "accepted" || s.status == "in_progress") &&
                Published(s.routed_category, s.shown_category, s.channel) && MeTooOffered();
  page.me_too_error = me_too_error;
  page.me_too_email = me_too_email;
  page.me_too_done = req.get_param_value("ich-auch") == "danke";
  SendCitizenPage(res, status, language, webform::RenderStatusPage(page));
}

void Gateway::HandleFixAnswer(const httplib::Request& req, httplib::Response& res) {
  if (RefuseTooMany(req, res, "fix_answer"))
    return;
  const texts::Lang t = PageLang(req);
  auto ref = ParseReference(req.matches[1].str());
  if (!ref || *ref != req.matches[1].str())
    return ShowStatusPage(req, res, 404, "", "");
  if (!VerifyFixAnswerKey(config_, *ref, req.get_param_value("schluessel"))) {
    return ShowStatusPage(req, res, 403, t("status.behoben.kein_schluessel"), "");
  }
  std::string answer = req.get_param_value("antwort");
  // Browsers count a line break as one character for maxlength but send CR LF.
  const std::string typed_note = req.get_param_value("notiz");
  std::string note;
  for (char c : TrimAscii(typed_note)) {
    if (c != '\r')
      note += c;
  }
  if (answer != "ja" && answer != "nein") {
    return ShowStatusPage(req, res, 400, t("status.behoben.antwort_fehlt"),
                          IsValidUtf8(note) ? note : "");
  }
  if (!IsValidUtf8(note) || Utf8Length(note) > 2000) {
    return ShowStatusPage(req, res, 400, t("status.behoben.notiz_zu_lang"), "");
  }
  tickets::FixAnswer outcome = tickets::FixAnswer::kUnknown;
  auto written = store_.Write([&](db::Tx& tx) {
    auto r = tickets::AnswerFixed(tx, config_, *ref, answer == "ja", note, "status_page");
    if (!r)
      throw std::runtime_error(r.error().message);
    outcome = *r;
    tx.commit();
  });
  if (!written) {
    log::Warn("answer to \"Ist es behoben?\" not recorded", {{"error", written.error().detail}});
    webform::LookupPage lookup;
    lookup.t = t;
    lookup.town_name = config_.town.name;
    lookup.typed = *ref;
    lookup.problem = webform::LookupPage::Problem::kUnavailable;
    res.set_header("Retry-After", "30");
    return SendCitizenPage(res, 503, t.code(), webform::RenderLookupPage(lookup));
  }
  if (outcome == tickets::FixAnswer::kUnknown)
    return ShowStatusPage(req, res, 404, "", "");
  if (outcome == tickets::FixAnswer::kReopened || outcome == tickets::FixAnswer::kRecorded) {
    log::Info("citizen answered \"Ist es behoben?\"",
              {{"reference", *ref},
               {"answer", outcome == tickets::FixAnswer::kReopened ? "not_fixed" : "fixed"},
               {"channel", "status_page"}});
  }
  // Post/redirect/get: a reload does not send the answer again.
  std::string query = outcome == tickets::FixAnswer::kRecorded          ? "?antwort=danke"
                      : outcome == tickets::FixAnswer::kReopened        ? "?antwort=wieder-offen"
                      : outcome == tickets::FixAnswer::kAlreadyAnswered ? "?antwort=schon"
                                                                        : "";
  query += t.Query(query.empty() ? '?' : '&');
  res.status = 303;
  res.set_header("Location", "/meldung/" + *ref + query);
  res.set_header("Cache-Control", "no-store");
}

void Gateway::HandleAccessibility(const httplib::Request& req, httplib::Response& res) {
  webform::InfoPage page = webform::AccessibilityStatement(
      config_.town.name, config_.Get<webform::Settings>().accessibility, PageLang(req));
  page.self = "/barrierefreiheit";
  SendInfoPage(res, page);
}

void SendCitizenPage(httplib::Response& res, int status, const std::string& language,
                     const std::string& html) {
  res.status = status;
  // The status changes; a shared computer's next user must not get it from a cache.
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Language", language);
  res.set_header("Vary", "Accept-Language");
  res.set_header("X-Robots-Tag", "noindex");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_content(html, "text/html; charset=utf-8");
}

void SendInfoPage(httplib::Response& res, const webform::InfoPage& page) {
  res.set_header("Cache-Control", "public, max-age=300");
  res.set_header("Content-Language", page.language);
  res.set_header("Vary", "Accept-Language");
  res.set_content(webform::RenderInfoPage(page), "text/html; charset=utf-8");
}

void Gateway::HandleAsset(const httplib::Request& req, httplib::Response& res) {
  const Asset* a = FindAsset(req.path);
  if (!a) {
    res.status = 404;
    return;
  }
  // The version is in every name (gateway/assets.hpp).
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(a->body.data(), a->body.size(), std::string(a->media_type));
}

}  // namespace meldestelle::gateway
