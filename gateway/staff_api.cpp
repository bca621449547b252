// The staff API (docs/api.md, OpenAPI in docs/openapi.yaml): departments list, read and work
// their tickets with a bearer token.
#include <httplib.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "channels/http.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "gateway/staff.hpp"
#include "privacy/access_log.hpp"
#include "routing/settings.hpp"
#include "tickets/settings.hpp"
#include "tickets/view.hpp"

namespace meldestelle::gateway {

using channels::NowMillis;
using channels::SendError;

using nlohmann::json;
using tickets::ApiToken;
using tickets::StaffAction;

Staff::Staff(const Config& config, metrics::Registry& registry)
    : config_(config),
      registry_(registry),
      db_(config.database.url),
      blobs_(config.storage.media_dir) {
  auto zone = routing::TimeZone::Load(config.town.timezone);
  zone_ = zone ? std::move(zone).value() : routing::TimeZone::Utc();
}

Status Staff::Register(httplib::Server& server) {
  for (const auto& a : config_.Get<routing::Settings>().areas) {
    auto g = routing::LoadGeoJson(a.file, a.name);
    if (!g)
      return g.error();
    if (g->IsArea())
      areas_.emplace(a.name, std::move(*g));
  }
  server.Get("/api/v1/tickets", [this](const auto& req, auto& res) { HandleList(req, res); });
  server.Get(R"(/api/v1/tickets/([^/]+))",
             [this](const auto& req, auto& res) { HandleGet(req, res); });
  server.Get(R"(/api/v1/tickets/([^/]+)/attachments/(\d+))",
             [this](const auto& req, auto& res) { HandleAttachment(req, res); });
  for (const auto& [name, kind] : tickets::StaffActionNames()) {
    server.Post(R"(/api/v1/tickets/([^/]+)/)" + name,
                [this, kind = kind](const auto& req, auto& res) { HandleAction(req, res, kind); });
  }
  server.Get("/api/v1/openapi.yaml",
             [this](const auto& req, auto& res) { HandleOpenApi(req, res); });
  RegisterInbox(server);
  return Ok{};
}

Result<std::optional<ApiToken>> Staff::Authenticate(const std::string& bearer) {
  auto r = db_.Run<std::optional<ApiToken>>([&](pqxx::connection& c) {
    db::Tx tx(c);
    auto t = tickets::Authenticate(tx, bearer);
    tx.commit();
    return t;
  });
  if (!r)
    log::Warn("staff token check failed", {{"error", r.error().detail}});
  return r;
}

std::optional<ApiToken> Staff::ApiAuth(const httplib::Request& req, httplib::Response& res) {
  std::string h = req.get_header_value("Authorization");
  static const std::string kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"meldestelle\"");
    SendError(res, 401, errors::kUnauthorized,
              "send the department's token as Authorization: Bearer <token>");
    return std::nullopt;
  }
  auto checked = Authenticate(h.substr(kBearer.size()));
  if (!checked) {
    // The database is away: that says nothing about the token.
    res.set_header("Retry-After", "5");
    SendError(res, 503, errors::kUnavailable, "the database is unavailable; try again shortly");
    return std::nullopt;
  }
  std::optional<ApiToken> t = *checked;
  if (!t) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"meldestelle\", error=\"invalid_token\"");
    SendError(res, 401, errors::kUnauthorized, "the token is unknown or revoked");
    registry_
        .GetCounter("meldestelle_staff_auth_failures_total",
                    "Staff API/inbox requests with a bad token.")
        .Inc();
  }
  return t;
}

bool Staff::MayRead(const ApiToken& token, const std::string& department) const {
  return token.role == "operator" || token.department_id == department;
}

bool Staff::ShowsContact(const ApiToken& token, const std::string& department) const {
  const Department* d = config_.FindDepartment(department);
  // Operators see the contact; a department only if it may (departments[].show_reporter_contact).
  return token.role == "operator" || (d != nullptr && d->show_reporter_contact);
}

namespace {

bool ParseInt(const std::string& s, int min, int max, int* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int v = std::stoi(s);
  if (v < min || v > max)
    return false;
  *out = v;
  return true;
}

bool IsTime(const std::string& s) {
  static const std::regex kTime(
      R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$)");
  return std::regex_match(s, kTime);
}

const std::set<std::string>& KnownStatuses() {
  static const std::set<std::string> k = {
      "assigned", "handed_back", "accepted", "in_progress", "waiting_for_citizen",
      "done",     "rejected",    "duplicate"};
  return k;
}

}  // namespace

namespace {

// status=open,done,…: "open" and "closed" stand for their statuses. Returns the problem, or "".
std::string ParseStatuses(const std::string& text, std::vector<std::string>& out) {
  std::stringstream ss(text);
  for (std::string s; std::getline(ss, s, ',');) {
    if (s == "open") {
      for (const char* o :
           {"assigned", "handed_back", "accepted", "in_progress", "waiting_for_citizen"})
        out.push_back(o);
    } else if (s == "closed") {
      out.push_back("done");
      out.push_back("rejected");
    } else if (KnownStatuses().count(s)) {
      out.push_back(s);
    } else {
      return "status: unknown \"" + s +
             "\" (open, closed, or one of assigned, handed_back,"
             " accepted, in_progress, done, rejected, duplicate)";
    }
  }
  return "";
}

// bbox=min_lon,min_lat,max_lon,max_lat (the GeoJSON order). Returns the problem, or "".
std::string ParseBBox(const std::string& text, std::optional<routing::BBox>& out) {
  std::stringstream ss(text);
  std::vector<double> v;
  for (std::string s; std::getline(ss, s, ',');) {
    // Blanks around a number and a plus sign, as strtod took them; no hexadecimal, no NaN.
    std::string_view n = TrimAscii(s);
    if (n.size() > 1 && n[0] == '+' && n[1] != '-')
      n.remove_prefix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), d);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || !std::isfinite(d))
      return "bbox: not a number: \"" + s + "\"";
    v.push_back(d);
  }
  if (v.size() != 4 || v[0] > v[2] || v[1] > v[3] || v[0] < -180 || v[2] > 180 || v[1] < -90 ||
      v[3] > 90) {
    return "bbox: expected min_lon,min_lat,max_lon,max_lat";
  }
  out = routing::BBox{v[0], v[1], v[2], v[3]};
  return "";
}

}  // namespace

std::string Staff::ParseFilter(const httplib::Request& req, const ApiToken& token,
                               Filter* f) const {
  static const std::set<std::string> kParams = {"status",     "category", "area",    "bbox",
                                                "since",      "until",    "limit",   "offset",
                                                "department", "q",        "overdue", "sort"};
  for (const auto& [k, v] : req.params) {
    if (!kParams.count(k))
      return "unknown parameter \"" + k + "\"";
  }
  f->department = token.department_id;
  if (req.has_param("department")) {
    std::string d = req.get_param_value("department");
    if (token.role != "operator" && d != token.department_id) {
      return "department: a department token lists only its own tickets";
    }
    if (config_.FindDepartment(d) == nullptr)
      return "department: unknown \"" + d + "\"";
    f->department = d;
  }
  if (req.has_param("status")) {
    if (auto e = ParseStatuses(req.get_param_value("status"), f->statuses); !e.empty())
      return e;
  }
  if (req.has_param("category")) {
    f->category = req.get_param_value("category");
    if (config_.FindCategory(f->category) == nullptr) {
      return "category: unknown \"" + f->category + "\"";
    }
  }
  if (req.has_param("area")) {
    f->area = req.get_param_value("area");
    if (!areas_.count(f->area))
      return "area: unknown \"" + f->area + "\"";
  }
  if (req.has_param("bbox")) {
    if (auto e = ParseBBox(req.get_param_value("bbox"), f->bbox); !e.empty())
      return e;
  }
  for (auto [name, out] :
       {std::pair<const char*, std::string*>{"since", &f->since}, {"until", &f->until}}) {
    if (!req.has_param(name))
      continue;
    *out = req.get_param_value(name);
    if (!IsTime(*out)) {
      return std::string(name) + ": expected a date (2026-11-27) or time (2026-11-27T10:00:00Z)";
    }
  }
  if (req.has_param("q")) {
    f->q = req.get_param_value("q");
    if (!IsValidUtf8(f->q) || Utf8Length(f->q) > 200)
      return "q: at most 200 characters of UTF-8";
  }
  if (req.has_param("overdue")) {
    const std::string o = req.get_param_value("overdue");
    if (o != "true" && o != "false")
      return "overdue: true or false";
    f->overdue = o == "true";
  }
  if (req.has_param("sort")) {
    const std::string o = req.get_param_value("sort");
    if (o != "newest" && o != "oldest")
      return "sort: newest or oldest";
    f->oldest_first = o == "oldest";
  }
  if (req.has_param("limit") && !ParseInt(req.get_param_value("limit"), 1, 200, &f->limit)) {
    return "limit: a number from 1 to 200";
  }
  if (req.has_param("offset") &&
      !ParseInt(req.get_param_value("offset"), 0, 100000000, &f->offset)) {
    return "offset: a number from 0";
  }
  return "";
}

namespace {

// The staff list's filter ($1 department, $2 statuses, $3 category, $4 since, $5 until, $6 with a
// box, $7..$10 the box, $11 the search's words as LIKE patterns, $12 overdue only).
constexpr const char* kListWhere =
    " WHERE ($1 = '' OR department_id = $1)"
    " AND (cardinality($2::text[]) = 0 OR status = ANY($2::text[]))"
    " AND ($3 = '' OR coalesce(category, routed_category) = $3)"
    " AND ($4 = '' OR received_at >= $4::timestamptz)"
    " AND ($5 = '' OR received_at < CASE WHEN length($5) = 10"
    "      THEN $5::date + 1 ELSE $5::timestamptz END)"
    " AND (NOT $6 OR (lat BETWEEN $7 AND $8 AND lon BETWEEN $9 AND $10))"
    " AND (SELECT bool_and(reference ILIKE replace(w, '-', '') OR text ILIKE w OR address ILIKE w)"
    "      FROM unnest($11::text[]) AS w) IS NOT FALSE"
    " AND (NOT $12 OR (status = 'assigned' AND escalation_level >= 1))";

// The search's words as ILIKE patterns (%word%, with % _ and backslash escaped), as a text[]
// literal; the reference is compared without the dashes of its display form.
std::string SearchPatterns(const std::string& q) {
  std::string out = "{";
  std::istringstream words(q);
  bool first = true;
  for (std::string w; words >> w;) {
    std::string p = "%";
    for (char c : w) {
      if (c == '%' || c == '_' || c == '\\')
        p += '\\';
      p += c;
    }
    p += "%";
    // An array literal: each element quoted, " and \ escaped.
    std::string quoted = "\"";
    for (char c : p) {
      if (c == '"' || c == '\\')
        quoted += '\\';
      quoted += c;
    }
    out += (first ? "" : ",") + quoted + "\"";
    first = false;
  }
  return out + "}";
}

}  // namespace

Result<Staff::Page> Staff::List(const Filter& f, const ApiToken& token, const char* surface) {
  return db_.Run<Page>([&](pqxx::connection& c) {
    db::Tx tx(c);
    std::string statuses = "{";
    for (size_t i = 0; i < f.statuses.size(); ++i)
      statuses += (i ? "," : "") + f.statuses[i];
    statuses += "}";
    const routing::Geometry* area = f.area.empty() ? nullptr : &areas_.at(f.area);
    std::optional<routing::BBox> box = f.bbox;
    if (area != nullptr)
      box = area->bbox;  // narrowed further below
    const double b[4] = {box ? box->min_lat : 0.0, box ? box->max_lat : 0.0,
                         box ? box->min_lon : 0.0, box ? box->max_lon : 0.0};
    const std::string words = SearchPatterns(f.q);
    const char* order = f.oldest_first ? " ORDER BY received_at, reference"
                                       : " ORDER BY received_at DESC, reference";
    std::vector<std::string> ids;
    Page page;
    if (area == nullptr) {
      // The page is cut in SQL; only its tickets are loaded.
      auto rows = tx.exec_params(std::string("SELECT id::text FROM tickets") + kListWhere + order +
                                     " LIMIT $13 OFFSET $14",
                                 f.department, statuses, f.category, f.since, f.until,
                                 box.has_value(), b[0], b[1], b[2], b[3], words, f.overdue,
                                 static_cast<long long>(f.limit), static_cast<long long>(f.offset));
      for (const auto& row : rows)
        ids.push_back(row[0].as<std::string>());
      page.total = tx.exec_params(std::string("SELECT count(*) FROM tickets") + kListWhere,
                                  f.department, statuses, f.category, f.since, f.until,
                                  box.has_value(), b[0], b[1], b[2], b[3], words, f.overdue)[0][0]
                       .as<long long>();
    } else {
      // An area's polygon is tested here, on the ids and positions of its box's rows.
      auto rows =
          tx.exec_params(std::string("SELECT id::text, lat, lon FROM tickets") + kListWhere + order,
                         f.department, statuses, f.category, f.since, f.until, box.has_value(),
                         b[0], b[1], b[2], b[3], words, f.overdue);
      std::vector<std::string> inside;
      for (const auto& row : rows) {
        if (routing::Contains(*area, {row[2].as<double>(), row[1].as<double>()}))
          inside.push_back(row[0].as<std::string>());
      }
      page.total = static_cast<long long>(inside.size());
      for (size_t i = static_cast<size_t>(f.offset);
           i < inside.size() && i < static_cast<size_t>(f.offset + f.limit); ++i)
        ids.push_back(inside[i]);
    }
    for (const auto& id : ids) {
      auto t = tickets::LoadTicketById(tx, id, false);
      if (!t)
        continue;
      bool contact = surface != nullptr && ShowsContact(token, t->department_id);
      if (contact && t->reporter)
        privacy::RecordContactView(tx, t->id, token.Actor(), token.role, surface);
      page.items.push_back(
          tickets::TicketToJson(*t, config_, contact, config_.gateway.public_base_url));
    }
    tx.commit();
    return page;
  });
}

void Staff::HandleList(const httplib::Request& req, httplib::Response& res) {
  auto token = ApiAuth(req, res);
  if (!token)
    return;
  Filter f;
  if (std::string err = ParseFilter(req, *token, &f); !err.empty()) {
    SendError(res, 400, errors::kInvalidParameter, err);
    return;
  }
  auto page = List(f, *token, "api");
  if (!page && page.error().detail.rfind("22", 0) == 0) {
    // A date of the right shape that does not exist (2026-13-45): PostgreSQL's data exception.
    SendError(res, 400, errors::kInvalidParameter, "since/until: not a valid date or time");
    return;
  }
  if (!page) {
    SendError(res, 503, errors::kUnavailable, "the database is unavailable; try again shortly");
    return;
  }
  json body{
      {"items", page->items}, {"total", page->total}, {"limit", f.limit}, {"offset", f.offset}};
  body["next_offset"] = f.offset + f.limit < page->total ? json(f.offset + f.limit) : json(nullptr);
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

Result<std::optional<json>> Staff::Get(const ApiToken& token, const std::string& reference,
                                       const char* surface) {
  return db_.Run<std::optional<json>>([&](pqxx::connection& c) -> std::optional<json> {
    db::Tx tx(c);
    auto t = tickets::LoadTicketByReference(tx, reference, true);
    if (!t || !MayRead(token, t->department_id))
      return std::nullopt;
    bool contact = ShowsContact(token, t->department_id);
    if (contact && t->reporter)
      privacy::RecordContactView(tx, t->id, token.Actor(), token.role, surface);
    tx.commit();
    return tickets::TicketToJson(*t, config_, contact, config_.gateway.public_base_url);
  });
}

namespace {

// The reference from the path, normalised; answers 404 itself when it cannot be one.
std::optional<std::string> PathReference(const httplib::Request& req, httplib::Response& res) {
  auto ref = ParseReference(req.matches[1].str());
  if (!ref) {
    SendError(res, 404, errors::kNotFound,
              ref.error().code == errors::kReferenceCheckFailed
                  ? "no such ticket: the reference's check character does not match (mistyped?)"
                  : "no such ticket: a reference has 12 characters");
    return std::nullopt;
  }
  return *ref;
}

}  // namespace

void Staff::HandleGet(const httplib::Request& req, httplib::Response& res) {
  auto token = ApiAuth(req, res);
  if (!token)
    return;
  auto ref = PathReference(req, res);
  if (!ref)
    return;
  auto t = Get(*token, *ref, "api");
  if (!t) {
    SendError(res, 503, errors::kUnavailable, "the database is unavailable; try again shortly");
  } else if (!*t) {
    SendError(res, 404, errors::kNotFound, "no ticket " + *ref + " for this department");
  } else {
    res.set_content((*t)->dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json; charset=utf-8");
  }
}

Result<std::optional<std::pair<std::string, std::string>>> Staff::FindPhoto(
    const ApiToken& token, const std::string& reference, int position) {
  return db_.Run<std::optional<std::pair<std::string, std::string>>>(
      [&](pqxx::connection& c) -> std::optional<std::pair<std::string, std::string>> {
        db::ReadTx tx(c);
        auto r = tx.exec_params(
            "SELECT a.sha256, a.media_type, t.department_id FROM attachments a"
            " JOIN tickets t ON t.id = a.ticket_id WHERE t.reference = $1 AND a.position = $2",
            reference, position);
        if (r.empty() || !MayRead(token, r[0][2].as<std::string>()))
          return std::nullopt;
        return std::make_pair(r[0][0].as<std::string>(), r[0][1].as<std::string>());
      });
}

void Staff::HandleAttachment(const httplib::Request& req, httplib::Response& res) {
  auto token = ApiAuth(req, res);
  if (!token)
    return;
  auto ref = PathReference(req, res);
  if (!ref)
    return;
  const std::string digits = req.matches[2].str();
  int position = -1;  // more digits than an int holds: no such photo
  std::from_chars(digits.data(), digits.data() + digits.size(), position);
  auto found = FindPhoto(*token, *ref, position);
  if (!found) {
    SendError(res, 503, errors::kUnavailable, "the database is unavailable; try again shortly");
    return;
  }
  if (!*found) {
    SendError(res, 404, errors::kNotFound, "no such attachment");
    return;
  }
  auto bytes = blobs_.Get((*found)->first);
  if (!bytes) {
    SendError(res, 404, errors::kNotFound, "the attachment's file is missing from the media store");
    return;
  }
  // A citizen's photo: not kept after the session (a shared office computer).
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(*bytes, (*found)->second);
}

bool Staff::MayForward(const ApiToken& token) const {
  const std::string& triage = config_.Get<tickets::Settings>().triage_department;
  return token.role == "operator" || (!triage.empty() && token.department_id == triage);
}

Result<bool> Staff::Act(const ApiToken& token, const std::string& reference,
                        const StaffAction& action) {
  tickets::StaffActor actor{token.Actor(), token.department_id, token.role == "operator"};
  auto once = [&] {
    return db_.Run<Result<bool>>([&](pqxx::connection& c) -> Result<bool> {
      db::Tx tx(c);
      auto applied = tickets::ApplyStaffAction(tx, config_, actor, reference, action);
      if (applied)
        tx.commit();  // a refused action changes nothing
      return applied;
    });
  };
  auto r = once();
  // Two opposite merges at once deadlock; PostgreSQL aborts one, which is simply done again.
  for (int retry = 0; retry < 2 && !r && r.error().detail.rfind("40", 0) == 0; ++retry)
    r = once();
  if (!r) {
    if (db::IsTransient(r.error())) {
      return MakeError(errors::kUnavailable, "the database is unavailable; try again shortly",
                       r.error().detail);
    }
    // Not the database's absence: trying again would fail again.
    log::Error("a staff action could not be stored",
               {{"reference", reference}, {"error", r.error().message + ": " + r.error().detail}});
    return MakeError(errors::kInternal, "the action could not be stored", r.error().detail);
  }
  return *r;
}

namespace {

// An action's body: the fields of its kind, strings of at most 5,000 characters; a duplicate's
// reference in its canonical form.
Result<StaffAction> ParseAction(const json& body, StaffAction::Kind kind) {
  StaffAction action;
  action.kind = kind;
  std::map<std::string, std::string*> fields;
  switch (kind) {
    case StaffAction::Kind::kAccept:
      fields = {{"public_note", &action.public_note}};
      break;
    case StaffAction::Kind::kHandBack:
      fields = {{"reason", &action.text}};
      break;
    case StaffAction::Kind::kStatus:
      fields = {{"status", &action.status}, {"public_note", &action.public_note}};
      break;
    case StaffAction::Kind::kNote:
      fields = {{"note", &action.text}};
      break;
    case StaffAction::Kind::kDuplicate:
      fields = {{"duplicate_of", &action.duplicate_of}};
      break;
    case StaffAction::Kind::kPublicText:
      fields = {{"public_text", &action.text}};
      break;
    case StaffAction::Kind::kCategory:
      fields = {{"category", &action.category}, {"note", &action.text}};
      break;
    case StaffAction::Kind::kForward:
      fields = {{"department", &action.department}, {"reason", &action.text}};
      break;
    case StaffAction::Kind::kQuestion:
      fields = {{"question", &action.text}};
      break;
  }
  for (const auto& [k, v] : body.items()) {
    if (kind == StaffAction::Kind::kCategory && k == "reroute") {
      if (!v.is_boolean())
        return MakeError(errors::kInvalidRequest, "\"reroute\" must be true or false");
      action.reroute = v.get<bool>();
      continue;
    }
    auto it = fields.find(k);
    if (it == fields.end())
      return MakeError(errors::kInvalidRequest, "unknown field \"" + k + "\"");
    if (!v.is_string())
      return MakeError(errors::kInvalidRequest, "\"" + k + "\" must be a string");
    *it->second = v.get<std::string>();
    if (Utf8Length(*it->second) > 5000) {
      return MakeError(errors::kInvalidRequest, "\"" + k + "\" is longer than 5000 characters");
    }
  }
  if (kind == StaffAction::Kind::kDuplicate && !action.duplicate_of.empty()) {
    auto other = ParseReference(action.duplicate_of);
    if (!other)
      return MakeError(errors::kInvalidRequest, "duplicate_of is not a valid reference");
    action.duplicate_of = *other;
  }
  return action;
}

}  // namespace

void Staff::HandleAction(const httplib::Request& req, httplib::Response& res,
                         StaffAction::Kind kind) {
  auto token = ApiAuth(req, res);
  if (!token)
    return;
  auto ref = PathReference(req, res);
  if (!ref)
    return;
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    SendError(res, 400, errors::kInvalidJson, "the body must be a JSON object");
    return;
  }
  auto action = ParseAction(body, kind);
  if (!action) {
    SendError(res, 400, action.error().code, action.error().message);
    return;
  }
  auto r = Act(*token, *ref, *action);
  if (!r) {
    int status =
        r.error().code == errors::kUnavailable ? 503 : tickets::StaffErrorStatus(r.error().code);
    SendError(res, status, r.error().code, r.error().message);
    return;
  }
  registry_
      .GetCounter("meldestelle_staff_actions_total", "Staff actions on tickets, by kind.",
                  {{"kind", req.matches[0].str().substr(req.matches[0].str().rfind('/') + 1)},
                   {"changed", *r ? "true" : "false"}})
      .Inc();
  auto t = Get(*token, *ref, "api");
  if (t && !*t) {
    // Re-routed by a worker in the moment since the hand-back: the ticket as it is, without the
    // new department's contact view or history.
    auto plain = db_.Run<std::optional<json>>([&](pqxx::connection& c) -> std::optional<json> {
      db::ReadTx tx(c);
      auto v = tickets::LoadTicketByReference(tx, *ref, false);
      if (!v)
        return std::nullopt;
      return tickets::TicketToJson(*v, config_, false, config_.gateway.public_base_url);
    });
    if (plain && *plain)
      t = plain;
  }
  if (!t || !*t) {
    // The change is committed; only reading it back failed.
    SendError(res, 503, errors::kUnavailable,
              "the change was saved, but the ticket could not be read back; GET it again");
    return;
  }
  (**t)["changed"] = *r;
  res.set_content((*t)->dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void Staff::HandleOpenApi(const httplib::Request&, httplib::Response& res) {
  std::ifstream in(std::filesystem::path(MELDESTELLE_DOCS_DIR) / "openapi.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) {
    SendError(res, 404, errors::kNotFound, "the OpenAPI description is not installed");
    return;
  }
  res.set_content(ss.str(), "application/yaml; charset=utf-8");
}

}  // namespace meldestelle::gateway
