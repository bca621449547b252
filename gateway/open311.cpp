// Open311 GeoReport v2 at /open311/v2/ (docs/open311.md): discovery, services, POST requests
// through the same intake as every other channel, GET requests and tokens. The parsing,
// validation and rendering are the pure adapter channels/open311.
#include "channels/open311/open311.hpp"

#include <pqxx/pqxx>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "gateway/respond.hpp"
#include "gateway/server.hpp"

namespace meldestelle::gateway {

namespace {

constexpr const char* kChannel = "open311";
// When this endpoint's behaviour last changed (discovery's changeset).
constexpr const char* kChangeset = "2026-11-27T00:00:00Z";
constexpr int kMaxRequests = 1000;
constexpr const char* kIsoLocal = "YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM";

void Send(httplib::Response& res, int status, std::string body, open311::Format f) {
  res.status = status;
  res.set_content(std::move(body), open311::ContentType(f));
}

void SendFailure(httplib::Response& res, const open311::Failure& failure, open311::Format f) {
  Send(res, failure.http_status, open311::RenderErrors(failure.errors, f), f);
}

open311::Failure One(int status, std::string description) {
  return {status, {{std::to_string(status), std::move(description)}}};
}

// The parameter from the query string ("" if absent: the specification treats an empty value
// like a missing one).
std::string Param(const httplib::Request& req, const char* name) {
  return std::string(TrimAscii(req.get_param_value(name)));
}

// One row of the requests query → what GET requests shows. Descriptions and media of reports
// that did not come through Open311 are not published (docs/open311.md, "Privacy").
open311::ServiceRequest ToServiceRequest(const pqxx::row& row, const Config& config) {
  open311::ServiceRequest r;
  r.service_request_id = row[0].as<std::string>();
  std::string status = row[1].as<std::string>();
  r.status = open311::StatusOf(status);
  r.status_notes = row[2].as<std::string>();
  r.service_code = row[3].as<std::string>();
  if (const Category* c = config.FindCategory(r.service_code))
    r.service_name = c->name;
  bool from_open311 = row[11].as<std::string>() == kChannel;
  if (from_open311)
    r.description = row[4].as<std::string>();
  r.agency_responsible = row[5].as<std::string>();
  r.service_notice = config.open311.service_notice;
  r.requested_datetime = row[6].as<std::string>();
  r.updated_datetime = row[7].as<std::string>();
  r.address = row[8].as<std::string>();
  r.zipcode = open311::ZipcodeIn(r.address);
  if (!row[9].is_null())
    r.lat = row[9].as<double>();
  if (!row[10].is_null())
    r.lon = row[10].as<double>();
  if (from_open311 && !row[12].is_null()) {
    pqxx::binarystring body(row[13]);
    r.media_url = open311::MediaUrlFromRaw({row[12].as<std::string>(), body.str()});
  }
  return r;
}

// The SELECT list ToServiceRequest reads; dates in the town's time zone with its offset.
std::string RequestColumns() {
  return std::string(
             "SELECT t.reference, t.status, t.public_note, COALESCE(t.category, ''), t.text,"
             " t.department_name, to_char(t.received_at, '") +
         kIsoLocal + "'), to_char(t.updated_at, '" + kIsoLocal +
         "'), t.address, t.lat, t.lon, t.channel, rp.content_type, rp.body"
         " FROM tickets t LEFT JOIN raw_payloads rp"
         " ON t.channel = 'open311' AND rp.sha256 = substr(t.raw_ref, 8)";
}

// "{A,B}" for the references that are valid; the invalid ones cannot match anything.
std::string ReferenceArray(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (const auto& id : ids) {
    auto ref = ParseReference(id);
    if (!ref)
      continue;
    if (out.size() > 1)
      out += ",";
    out += *ref;  // letters and digits only
  }
  return out + "}";
}

}  // namespace

void Gateway::HandleOpen311Post(const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
  auto resource = open311::SplitFormat(req.matches[1].str(), req.get_header_value("Accept"));
  open311::Format f = resource.format;
  registry_
      .GetCounter("meldestelle_reports_received_total", "Submissions received, by channel.",
                  {{"channel", kChannel}})
      .Inc();
  auto reject = [&](const open311::Failure& failure, const std::string& reason) {
    CountRejected(kChannel, reason);
    SendFailure(res, failure, f);
  };
  std::string content_type = req.get_header_value("Content-Type");
  if (req.is_multipart_form_data()) {
    return reject(One(400,
                      "multipart uploads are not supported; send "
                      "application/x-www-form-urlencoded and a media_url"),
                  "unsupported_media_type");
  }
  auto raw = ReadRaw(res, reader);
  if (!raw) {
    bool large = raw.error().code == errors::kPayloadTooLarge;
    return reject(One(large ? 413 : 400,
                      large ? "the request is larger than " +
                                  std::to_string(config_.gateway.max_request_bytes) + " bytes"
                            : "the request body could not be read"),
                  raw.error().code.str());
  }
  auto form = open311::ParseBody(content_type, *raw);
  if (!form)
    return reject(One(400, form.error().message), form.error().code.str());
  // The key comes as a form field (the specification) or in the query string.
  std::string key;
  for (const auto& [name, value] : *form) {
    if (name == "api_key")
      key = std::string(TrimAscii(value));
  }
  if (key.empty())
    key = Param(req, "api_key");
  auto client = open311::ClientForKey(config_, key);
  if (!client)
    return reject(open311::InvalidApiKey(), "api_key_invalid");
  auto parsed = open311::ParseRequest(*form, config_);
  if (!parsed.request) {
    return reject(parsed.failure, parsed.failure.http_status == 404 ? "not_found" : "invalid");
  }
  // A client's retry with the same Idempotency-Key gets the same service_request_id.
  std::string idem = req.get_header_value("Idempotency-Key");
  if (idem.size() > 200 || (!idem.empty() && !IsValidUtf8(idem))) {
    return reject(One(400, "Idempotency-Key must be valid UTF-8 of at most 200 bytes"),
                  "idempotency_key_invalid");
  }
  std::string dedup = idem.empty() ? "" : *client + ":" + idem;
  std::string hash = Sha256Hex(*raw);
  Accepted a = Accept(kChannel, std::move(parsed.request->intake), dedup, hash,
                      RawPayload{content_type, std::move(raw).value()});
  if (a.status != 202) {
    if (a.status == 503) {
      res.set_header("Retry-After", "5");
      return reject(One(503,
                        "the service is temporarily unavailable; send the request again "
                        "later"),
                    a.error.code.str());
    }
    return reject(
        One(a.status == 422 ? 400 : a.status, a.error.code == errors::kIdempotencyKeyReused
                                                  ? "this Idempotency-Key was used for "
                                                    "a different request"
                                                  : a.error.message),
        a.error.code.str());
  }
  if (a.replay)
    res.set_header("Idempotent-Replayed", "true");
  log::Info("open311 request accepted", {{"reference", a.reference}, {"client", *client}});
  Send(res, 200, open311::RenderCreated({a.reference, "", config_.open311.service_notice, ""}, f),
       f);
}

void Gateway::HandleOpen311Get(const httplib::Request& req, httplib::Response& res) {
  auto resource = open311::SplitFormat(req.matches[1].str(), req.get_header_value("Accept"));
  open311::Format f = resource.format;
  const std::string& path = resource.name;
  std::string jurisdiction = Param(req, "jurisdiction_id");
  if (!jurisdiction.empty() && !config_.open311.jurisdiction_id.empty() &&
      jurisdiction != config_.open311.jurisdiction_id) {
    return SendFailure(res, One(404, "jurisdiction_id " + jurisdiction + " not found"), f);
  }
  auto unavailable = [&] {
    res.set_header("Retry-After", "5");
    SendFailure(res, One(503, "the database is temporarily unavailable"), f);
  };
  if (path == "discovery") {
    open311::Discovery d{kChangeset, config_.email.from,
                         "API keys are issued by the operators of the Meldestelle " +
                             config_.town.name + " (" + config_.email.from + ")",
                         config_.gateway.public_base_url + "/open311/v2"};
    return Send(res, 200, open311::RenderDiscovery(d, f), f);
  }
  if (path == "services") {
    return Send(res, 200, open311::RenderServices(open311::ServicesFromConfig(config_), f), f);
  }
  if (path.rfind("services/", 0) == 0) {
    std::string code = path.substr(9);
    if (config_.FindCategory(code) == nullptr) {
      return SendFailure(res, One(404, "service_code " + code + " not found"), f);
    }
    return Send(res, 200, open311::RenderServiceDefinition({code, {}}, f), f);
  }
  if (path.rfind("tokens/", 0) == 0) {
    // Our tokens are the service_request_ids themselves (assigned at intake).
    std::string token = path.substr(7);
    auto ref = ParseReference(token);
    if (!ref)
      return SendFailure(res, One(404, "token " + token + " not found"), f);
    auto found = store_.Lookup(*ref);
    if (!found)
      return unavailable();
    if (!found->has_value()) {
      return SendFailure(res, One(404, "token " + token + " not found"), f);
    }
    return Send(res, 200, open311::RenderToken({(*found)->reference, token}, f), f);
  }
  open311::Query q;
  if (path == "requests") {
    auto parsed = open311::ParseQuery([&](const char* name) { return Param(req, name); });
    if (!parsed.query)
      return SendFailure(res, parsed.failure, f);
    q = std::move(*parsed.query);
  } else if (path.rfind("requests/", 0) == 0) {
    q.ids = {path.substr(9)};
  } else {
    return SendFailure(res, One(404, "no such resource: /open311/v2/" + path), f);
  }
  std::vector<open311::ServiceRequest> found;
  auto st = store_.Read([&](pqxx::connection& c) {
    db::ReadTx tx(c);
    tx.exec_params("SELECT set_config('TimeZone', $1, true)", config_.town.timezone);
    std::string sql = RequestColumns() + " WHERE TRUE";
    if (!q.ids.empty()) {
      sql += " AND t.reference = ANY(" + tx.quote(ReferenceArray(q.ids)) + "::text[])";
    } else {
      // The specification's default window: 90 days (before end_date, if given).
      std::string end = q.end_date.empty() ? "now()" : tx.quote(q.end_date) + "::timestamptz";
      sql += " AND t.received_at >= " +
             (q.start_date.empty() ? end + " - interval '90 days'"
                                   : "GREATEST(" + tx.quote(q.start_date) + "::timestamptz, " +
                                         end + " - interval '90 days')");
      if (!q.end_date.empty())
        sql += " AND t.received_at <= " + end;
    }
    if (!q.service_code.empty())
      sql += " AND t.category = " + tx.quote(q.service_code);
    if (q.status == "closed") {
      sql += " AND t.status IN ('done', 'rejected', 'duplicate')";
    } else if (q.status == "open") {
      sql += " AND t.status NOT IN ('done', 'rejected', 'duplicate')";
    }
    sql += " ORDER BY t.received_at DESC LIMIT " + std::to_string(kMaxRequests);
    for (const auto& row : tx.exec(sql))
      found.push_back(ToServiceRequest(row, config_));
  });
  if (!st) {
    log::Warn("open311 requests query failed", {{"error", st.error().detail}});
    return unavailable();
  }
  if (path != "requests" && found.empty()) {
    // Accepted, but the worker has not written the ticket yet: open, without details.
    auto ref = ParseReference(q.ids.front());
    auto known = ref ? store_.Lookup(*ref)
                     : Result<std::optional<IntakeStore::PublicStatus>>(
                           std::optional<IntakeStore::PublicStatus>());
    if (!known)
      return unavailable();
    if (!known->has_value()) {
      return SendFailure(res, One(404, "service_request_id " + q.ids.front() + " not found"), f);
    }
    open311::ServiceRequest r;
    r.service_request_id = (*known)->reference;
    r.status = "open";
    r.service_notice = config_.open311.service_notice;
    r.requested_datetime = (*known)->received_at;
    r.updated_datetime = (*known)->updated_at;
    found.push_back(std::move(r));
  }
  res.set_header("Cache-Control", "no-store");
  Send(res, 200, open311::RenderRequests(found, f), f);
}

}  // namespace meldestelle::gateway
