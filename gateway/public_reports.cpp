// What is already reported, for everyone (docs/intake-api.md, "What is already reported"): the
// public map and list GET /meldungen and "Ich auch", POST /meldung/{reference}/ich-auch, which
// makes the sender a further reporter of the ticket (a report linked to it, docs/duplicates.md)
// who gets its notices.
#include "channels/webform/public_reports.hpp"

#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "channels/open311/settings.hpp"
#include "channels/webform/html.hpp"
#include "channels/webform/intake.hpp"
#include "channels/webform/settings.hpp"
#include "channels/webform/status_page.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/text.hpp"
#include "gateway/server.hpp"

namespace meldestelle::gateway {
namespace {

// The list's filter in its address (German words) and in the query (open, work, done).
std::optional<std::string> FilterOf(const std::string& word) {
  if (word.empty())
    return std::string();
  if (word == "offen")
    return std::string("open");
  if (word == "in-arbeit")
    return std::string("work");
  if (word == "erledigt")
    return std::string("done");
  return std::nullopt;
}

void Redirect(httplib::Response& res, const std::string& location) {
  res.status = 303;
  res.set_header("Location", location);
  res.set_header("Cache-Control", "no-store");
}

}  // namespace

bool Gateway::Published(const std::string& routed_category, const std::string& citizen_category,
                        const std::string& channel) const {
  const std::string& policy = config_.Get<open311::Settings>().publish;
  if (!config_.Get<webform::Settings>().public_reports.enabled || policy == "none" ||
      (policy != "all" && channel != "open311"))
    return false;
  auto published = [&](const std::string& code) {
    const Category* c = config_.FindCategory(code);
    return c != nullptr && c->published;
  };
  return published(routed_category) && (citizen_category.empty() || published(citizen_category));
}

void Gateway::HandlePublicReports(const httplib::Request& req, httplib::Response& res) {
  const auto& settings = config_.Get<webform::Settings>();
  const texts::Lang t = PageLang(req);
  const std::string& language = t.code();
  const std::string& policy = config_.Get<open311::Settings>().publish;
  if (!settings.public_reports.enabled || policy == "none") {
    webform::InfoPage off;
    off.language = language;
    off.t = t;
    off.town_name = config_.town.name;
    off.title = t("liste.titel");
    off.sections.push_back({t("liste.titel"), {t("liste.aus")}, {}});
    SendInfoPage(res, off);
    res.status = 404;
    return;
  }
  if (RefuseTooMany(req, res, "public_reports"))
    return;
  auto filter = FilterOf(req.get_param_value("stand"));
  int page = 1;
  const std::string seite = req.get_param_value("seite");
  bool page_ok = seite.empty() ||
                 (seite.size() <= 5 && seite.find_first_not_of("0123456789") == std::string::npos &&
                  std::stoi(seite) >= 1);
  if (!filter || !page_ok) {
    // An address nobody links to: the list itself.
    return Redirect(res, webform::PublicReportsUrl(filter.value_or(""), 1, t));
  }
  if (!seite.empty())
    page = std::stoi(seite);
  tickets::IntakeStore::PublicQuery q;
  for (const auto& c : config_.categories) {
    if (c.published)
      q.published_categories.push_back(c.code);
  }
  // The publication policy of docs/datenschutz.md, "Publication": the same as Open311's.
  q.open311_only = policy != "all";
  q.status = *filter;
  q.done_days = settings.public_reports.done_days;
  q.page = page;
  q.page_size = settings.public_reports.page_size;
  q.timezone = config_.town.timezone.empty() ? "UTC" : config_.town.timezone;
  auto listed = store_.ListPublic(q);
  if (!listed) {
    log::Warn("public list unavailable", {{"error", listed.error().detail}});
    webform::LookupPage lookup;
    lookup.t = t;
    lookup.town_name = config_.town.name;
    lookup.problem = webform::LookupPage::Problem::kUnavailable;
    res.set_header("Retry-After", "30");
    return SendCitizenPage(res, 503, language, webform::RenderLookupPage(lookup));
  }
  webform::PublicReportsPage p;
  p.t = t;
  p.self = webform::PublicReportsUrl(*filter, page, texts::Lang());
  p.town_name = config_.town.name;
  p.filter = *filter;
  p.page = page;
  p.total = listed->total;
  p.pages = static_cast<int>(std::max<int64_t>(1, (listed->total + q.page_size - 1) / q.page_size));
  if (page > p.pages)
    return Redirect(res, webform::PublicReportsUrl(*filter, p.pages, t));
  for (const auto& r : listed->reports) {
    webform::PublicReportsPage::Item i;
    i.reference = r.reference;
    i.status = r.status;
    const Category* c = config_.FindCategory(r.category);
    i.category_name = c != nullptr ? c->name : r.category;
    i.public_text = r.public_text;
    i.received = r.received_local;
    if (r.lat && r.lon) {
      // A report filed through Open311 is public as its citizen chose; any other's place is
      // rounded to about 100 m (docs/datenschutz.md, "Publication").
      bool exact = r.channel == "open311";
      i.lat = exact ? *r.lat : std::round(*r.lat * 1000.0) / 1000.0;
      i.lon = exact ? *r.lon : std::round(*r.lon * 1000.0) / 1000.0;
      i.street = places_.Describe(*i.lat, *i.lon).street;
    }
    i.me_too = r.awaits_fixing && MeTooOffered();
    p.items.push_back(std::move(i));
  }
  p.map = webform::html::PageMapOf(settings.map, webform::html::kReportsMapJs);
  if (auto centre = TownCentre()) {
    p.map.center_lat = centre->first;
    p.map.center_lon = centre->second;
  }
  SendCitizenPage(res, 200, language, webform::RenderPublicReportsPage(p));
}

void Gateway::HandleMeToo(const httplib::Request& req, httplib::Response& res) {
  if (RefuseTooMany(req, res, "me_too"))
    return;
  const texts::Lang t = PageLang(req);
  const std::string& language = t.code();
  // A report like any other: the same allowance per client as the form's.
  if (int wait = ReportRateLimited(req, "webform"); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    return ShowStatusPage(req, res, 429, "", "", t("formular.fehler.zu_viele"), "");
  }
  auto ref = ParseReference(req.matches[1].str());
  if (!ref || *ref != req.matches[1].str() || !MeTooOffered())
    return ShowStatusPage(req, res, 404, "", "");
  const std::string back = "/meldung/" + *ref;
  // The honeypot: a bot is answered like a person, and nothing happens.
  if (!TrimAscii(req.get_param_value("website")).empty()) {
    log::Info("ich-auch discarded", {{"reason", "honeypot"}});
    return Redirect(res, back + "?ich-auch=danke" + t.Query('&'));
  }
  const std::string typed = req.get_param_value("email");
  const std::string email(TrimAscii(typed));
  if (!IsValidUtf8(email) || !webform::LooksLikeEmail(email)) {
    return ShowStatusPage(req, res, 400, "", "", t("formular.fehler.email_beispiel"),
                          IsValidUtf8(email) ? email : "");
  }
  auto found = store_.Lookup(*ref, config_.town.timezone);
  if (!found || !found->has_value()) {
    return ShowStatusPage(req, res, found ? 404 : 503, "", "");
  }
  const auto& s = **found;
  const bool open = s.status == "assigned" || s.status == "accepted" || s.status == "in_progress";
  if (!Published(s.routed_category, s.shown_category, s.channel))
    return ShowStatusPage(req, res, 404, "", "");
  if (!open) {
    return ShowStatusPage(req, res, 409, "", "", t("status.ich_auch.abgeschlossen"), email);
  }
  // A report of its own, linked to this ticket (Report::same_as): the citizen gets its
  // acknowledgement and the ticket's notices, and the data protection rules of a report.
  webform::Intake intake;
  Report& r = intake.report;
  // For the department, who read German.
  r.text = "Ich auch: Dieser Mangel ist mir auch aufgefallen.";
  r.category = s.routed_category;
  r.reporter.address = email;
  r.reporter.ack_channel = "email";
  r.reporter.ack_address = email;
  r.reporter.language = language;
  r.same_as = s.duplicate_of.empty() ? *ref : s.duplicate_of;
  nlohmann::json raw{{"ich_auch", *ref}, {"email", email}, {"language", language}};
  channels::ReportIntake request;
  request.channel = "webform";
  // One "Ich auch" per address and report: pressing twice makes one.
  request.dedup_key = "ich-auch:" + r.same_as + ":" + Sha256Hex(AsciiLower(email));
  request.raw = {"application/json", raw.dump()};
  request.request_hash = Sha256Hex(request.raw.body);
  channels::Accepted a = AcceptReport(std::move(request), std::move(intake));
  if (a.status != 202) {
    log::Warn("ich-auch not accepted", {{"reference", *ref}, {"error", a.error.message}});
    res.set_header("Retry-After", "30");
    return ShowStatusPage(req, res, a.status == 503 ? 503 : 500, "", "",
                          t("formular.fehler.nicht_geklappt"), email);
  }
  log::Info("ich-auch", {{"reference", *ref}, {"report", a.reference}});
  Redirect(res, back + "?ich-auch=danke" + t.Query('&'));
}

}  // namespace meldestelle::gateway
