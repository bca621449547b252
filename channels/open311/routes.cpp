// Open311 GeoReport v2 at /open311/v2/ (docs/open311.md): discovery, services, POST requests
// through the same intake as every other channel, GET requests and tokens. The parsing,
// validation and rendering are the pure adapter channels/open311.
#include "channels/open311/routes.hpp"

#include <httplib.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "channels/email/settings.hpp"
#include "channels/http.hpp"
#include "channels/open311/open311.hpp"
#include "channels/open311/settings.hpp"
#include "channels/webform/intake.hpp"
#include "channels/webform/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/reference.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "tickets/intake.hpp"
#include "tickets/notices.hpp"

namespace meldestelle::open311 {

namespace {

constexpr const char* kChannel = "open311";
// When this endpoint's behaviour last changed (discovery's changeset).
constexpr const char* kChangeset = "2026-11-27T00:00:00Z";
constexpr int kMaxRequests = 1000;
// At most this many updates in one answer (FixMyStreet asks for two hours at a time).
constexpr int kMaxUpdates = 10000;
// The client+field pairs whose ignoring is logged (once each); more are only counted.
constexpr size_t kMaxLoggedIgnored = 1000;

using channels::Accepted;
constexpr const char* kIsoLocal = "YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM";

void Send(httplib::Response& res, int status, std::string body, Format f) {
  res.status = status;
  res.set_content(std::move(body), ContentType(f));
}

void SendFailure(httplib::Response& res, const Failure& failure, Format f) {
  Send(res, failure.http_status, RenderErrors(failure.errors, f), f);
}

Failure One(int status, std::string description) {
  return {status, {{std::to_string(status), std::move(description)}}};
}

// The parameter from the query string ("" if absent: the specification treats an empty value
// like a missing one).
std::string Param(const httplib::Request& req, const char* name) {
  return std::string(TrimAscii(req.get_param_value(name)));
}

// A parameter given more than once (service_code=A&service_code=B) as one comma list.
std::string ParamList(const httplib::Request& req, const char* name) {
  std::string joined;
  auto [first, last] = req.params.equal_range(name);
  for (auto it = first; it != last; ++it) {
    std::string_view value = TrimAscii(it->second);
    if (!value.empty())
      joined += (joined.empty() ? "" : ",") + std::string(value);
  }
  return joined;
}

// One row of the requests query → what GET requests shows. Descriptions and media of reports
// that did not come through Open311 are not published (docs/open311.md, "Privacy").
ServiceRequest ToServiceRequest(const pqxx::row& row, const Config& config) {
  ServiceRequest r;
  r.service_request_id = row[0].as<std::string>();
  // A report merged into another as a duplicate has that ticket's status, note and department
  // (docs/open311.md): "closed" would tell FixMyStreet's citizen it is fixed.
  r.status = StatusOf(row[1].as<std::string>());
  r.status_notes = row[2].as<std::string>();
  r.service_code = row[3].as<std::string>();
  if (const Category* c = config.FindCategory(r.service_code))
    r.service_name = c->name;
  bool from_open311 = row[11].as<std::string>() == kChannel;
  if (from_open311)
    r.description = row[4].as<std::string>();
  r.agency_responsible = row[5].as<std::string>();
  r.service_notice = config.Get<Settings>().service_notice;
  r.requested_datetime = row[6].as<std::string>();
  r.updated_datetime = row[7].as<std::string>();
  // The address text and the exact place only for requests filed through Open311 (the citizen
  // chose to publish them); another channel's place to about 100 m (publish: all).
  if (from_open311) {
    r.address = row[8].as<std::string>();
    r.zipcode = ZipcodeIn(r.address);
  }
  auto place = [&](int col) -> std::optional<double> {
    if (row[col].is_null())
      return std::nullopt;
    double v = row[col].as<double>();
    return from_open311 ? v : std::round(v * 1000.0) / 1000.0;
  };
  r.lat = place(9);
  r.lon = place(10);
  if (from_open311 && !row[12].is_null()) {
    pqxx::binarystring body(row[13]);
    auto urls = MediaUrlsFromRaw({row[12].as<std::string>(), body.str()});
    if (!urls.empty())
      r.media_url = urls.front();  // the specification has one
  }
  return r;
}

// The condition on a ticket (`alias`) for being published at all (open311.publish; categories
// with `public: false`; docs/open311.md, "Publication").
std::string PublishedWhere(const Config& config, db::ReadTx& tx, const std::string& alias) {
  const std::string& policy = config.Get<Settings>().publish;
  if (policy == "none")
    return " AND FALSE";
  std::string sql = policy == "all" ? "" : " AND " + alias + ".channel = 'open311'";
  std::string hidden = "{";
  for (const auto& c : config.categories) {
    if (c.published)
      continue;
    hidden += (hidden.size() > 1 ? "," : "") + c.code;  // codes are [A-Z]{2,4}-[0-9]{2}
  }
  if (hidden.size() > 1) {
    sql += " AND COALESCE(" + alias + ".category, " + alias + ".routed_category, '') <> ALL(" +
           tx.quote(hidden + "}") + "::text[])";
  }
  return sql;
}

// The SELECT list ToServiceRequest reads; dates in the town's time zone with its offset.
std::string RequestColumns() {
  // `s` is the ticket whose state is shown: the joined one for a duplicate.
  return std::string(
             "SELECT t.reference, s.status, s.public_note, COALESCE(t.category, ''), t.text,"
             " s.department_name, to_char(t.received_at, '") +
         kIsoLocal + "'), to_char(GREATEST(t.updated_at, s.updated_at), '" + kIsoLocal +
         "'), t.address, t.lat, t.lon, t.channel, rp.content_type, rp.body"
         " FROM tickets t LEFT JOIN tickets o ON o.id = t.duplicate_of"
         " CROSS JOIN LATERAL (SELECT COALESCE(o.status, t.status) AS status,"
         "  CASE WHEN o.id IS NULL THEN t.public_note ELSE o.public_note END AS public_note,"
         "  COALESCE(o.department_name, t.department_name) AS department_name,"
         "  COALESCE(o.updated_at, t.updated_at) AS updated_at) s"
         " LEFT JOIN raw_payloads rp"
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

// The Open311 endpoints of one gateway. Shared by the server's threads: the Intake is
// thread-safe, the log of ignored fields locked, the rest read-only.
class Routes {
 public:
  explicit Routes(channels::Intake& intake)
      : intake_(intake),
        received_(intake.metrics().GetCounter("meldestelle_reports_received_total",
                                              "Submissions received, by channel.",
                                              {{"channel", kChannel}})),
        accepted_(intake.metrics().GetCounter("meldestelle_reports_accepted_total",
                                              "Reports accepted (broker-confirmed), by channel.",
                                              {{"channel", kChannel}})) {}
  void Post(const httplib::Request& req, httplib::Response& res,
            const httplib::ContentReader& reader);
  void PostUpdate(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  void Get(const httplib::Request& req, httplib::Response& res);

 private:
  const Config& config() const { return intake_.config(); }
  // A POST's body, read and parsed, from a client whose api_key is valid; nullopt after the
  // error answer was sent.
  struct Body {
    Form form;
    std::string client;
    std::string raw, content_type;
    std::vector<webform::UploadedFile> photos;  // a multipart request's "media" files
  };
  Result<Body> ReadMultipart(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader);
  std::optional<Body> ReadBody(const httplib::Request& req, httplib::Response& res, Format f,
                               const httplib::ContentReader& reader);
  void Reject(httplib::Response& res, Format f, const Failure& failure, const std::string& reason);
  void RejectKey(const httplib::Request& req, httplib::Response& res, Format f);
  void Unavailable(httplib::Response& res, Format f);
  void Ignored(const std::string& client, const std::vector<std::string>& fields);
  bool Token(const std::string& path, httplib::Response& res, Format f);
  void Requests(const httplib::Request& req, httplib::Response& res, Format f,
                const std::string& path);
  Result<std::vector<ServiceRequest>> Find(const Query& q);
  std::optional<ServiceRequest> NotYetRouted(const std::string& id, httplib::Response& res,
                                             Format f);
  void Updates(const httplib::Request& req, httplib::Response& res, Format f);
  Result<bool> FiledThroughOpen311(const std::string& reference, const std::string& client = {});
  Result<std::vector<RequestUpdate>> FindUpdates(const UpdatesQuery& q);

  channels::Intake& intake_;
  metrics::Counter& received_;
  metrics::Counter& accepted_;
  std::mutex ignored_mutex_;
  std::set<std::string> ignored_logged_;  // "client\nfield"
};

void Routes::Reject(httplib::Response& res, Format f, const Failure& failure,
                    const std::string& reason) {
  intake_.CountRejected(kChannel, reason);
  SendFailure(res, failure, f);
}

void Routes::Unavailable(httplib::Response& res, Format f) {
  res.set_header("Retry-After", "5");
  SendFailure(res, One(503, "the database is temporarily unavailable"), f);
}

// Fields a client sent that we do not use: counted per client, logged once per client and field
// (the first kMaxLoggedIgnored pairs).
void Routes::Ignored(const std::string& client, const std::vector<std::string>& fields) {
  if (fields.empty())
    return;
  intake_.metrics()
      .GetCounter("meldestelle_open311_ignored_fields_total",
                  "Fields of Open311 requests and updates that were ignored, by client.",
                  {{"client", client}})
      .Inc(static_cast<double>(fields.size()));
  std::lock_guard lock(ignored_mutex_);
  for (const auto& field : fields) {
    if (ignored_logged_.size() >= kMaxLoggedIgnored)
      return;
    if (ignored_logged_.insert(client + "\n" + field).second) {
      log::Info("open311 field ignored (logged once per client and field)",
                {{"client", client}, {"field", field}});
    }
  }
}

// A multipart request (the GeoReporter apps send one with a photo, its part named "media"): the
// text parts are the fields, kept as the form-encoded body they amount to; the "media" files are
// the report's photos, checked as the web form's. Another file part is ignored.
Result<Routes::Body> Routes::ReadMultipart(const httplib::Request& /*req*/, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
  constexpr size_t kMaxParts = 64;
  const auto& form_settings = config().Get<webform::Settings>();
  const size_t file_cap = static_cast<size_t>(form_settings.max_photo_bytes) + 1;
  const size_t text_cap = static_cast<size_t>(config().gateway.max_body_bytes);
  std::vector<webform::UploadedFile> parts;
  size_t text_bytes = 0;
  bool text_too_large = false;
  bool ok = reader(
      [&](const httplib::MultipartFormData& header) {
        parts.push_back({header.name, header.filename, header.content_type, {}});
        return parts.size() <= kMaxParts;
      },
      [&](const char* data, size_t n) {
        webform::UploadedFile& part = parts.back();
        if (!part.filename.empty()) {
          // At most one byte beyond the limit: enough to know a photo is too large.
          part.content.append(data,
                              std::min(n, file_cap - std::min(file_cap, part.content.size())));
          return true;
        }
        text_bytes += n;
        if (text_bytes > text_cap) {
          text_too_large = true;
          return false;
        }
        part.content.append(data, n);
        return true;
      });
  if (text_too_large || (!ok && res.status == 413)) {
    return MakeError(errors::kPayloadTooLarge,
                     "the request's fields are larger than " + std::to_string(text_cap) + " bytes");
  }
  if (!ok) {
    return MakeError(errors::kMultipartInvalid,
                     parts.size() > kMaxParts
                         ? "the request has more than " + std::to_string(kMaxParts) + " parts"
                         : "the multipart body could not be read");
  }
  Body body;
  body.content_type = "application/x-www-form-urlencoded";
  std::vector<std::string> other_files;
  for (auto& p : parts) {
    if (p.filename.empty()) {
      // A text part that is not UTF-8: in the charset its part names, or an older client's
      // Latin-1 (RecodeForm's rules, for form-encoded bodies).
      p.field = TextAsUtf8(p.field, "");
      p.content = TextAsUtf8(p.content, p.declared_type);
      if (!body.raw.empty())
        body.raw += '&';
      body.raw += PercentEncode(p.field) + "=" + PercentEncode(p.content);
      body.form.emplace_back(p.field, std::move(p.content));
    } else if (p.field == "media" || p.field == "media[]") {
      // Kept as its digest: the record says a photo came, and a client's retry with the same
      // Idempotency-Key and another photo is told apart from a replay.
      if (!body.raw.empty())
        body.raw += '&';
      body.raw += "media=sha256%3A" + Sha256Hex(p.content);
      body.photos.push_back(std::move(p));
    } else {
      other_files.push_back(p.field);
    }
  }
  if (!other_files.empty())
    log::Info("open311 file parts ignored (only \"media\" is a photo)",
              {{"parts", std::to_string(other_files.size())}, {"first", other_files[0]}});
  return body;
}

std::optional<Routes::Body> Routes::ReadBody(const httplib::Request& req, httplib::Response& res,
                                             Format f, const httplib::ContentReader& reader) {
  std::string content_type = req.get_header_value("Content-Type");
  // A key in the query string is checked before the body is read; one in the body before the
  // request is parsed (the body is small: the gateway's limit for text bodies).
  std::string key(TrimAscii(Param(req, "api_key")));
  if (!key.empty() && !ClientForKey(config(), key)) {
    RejectKey(req, res, f);
    return std::nullopt;
  }
  Result<Form> form = Form{};
  std::vector<webform::UploadedFile> photos;
  Result<std::string> raw = std::string();
  if (req.is_multipart_form_data()) {
    auto multipart = ReadMultipart(req, res, reader);
    if (!multipart) {
      bool large = multipart.error().code == errors::kPayloadTooLarge;
      Reject(res, f, One(large ? 413 : 400, multipart.error().message),
             multipart.error().code.str());
      return std::nullopt;
    }
    content_type = multipart->content_type;
    form = std::move(multipart->form);
    photos = std::move(multipart->photos);
    raw = std::move(multipart->raw);
  } else {
    const size_t cap = static_cast<size_t>(config().gateway.max_body_bytes);
    raw = channels::ReadAll(req, res, reader, cap);
    if (!raw) {
      bool large = raw.error().code == errors::kPayloadTooLarge;
      Reject(res, f,
             One(large ? 413 : 400,
                 large ? "the request is larger than " + std::to_string(cap) + " bytes"
                       : "the request body could not be read"),
             raw.error().code.str());
      return std::nullopt;
    }
    form = ParseBody(content_type, *raw);
    if (form) {
      if (auto recoded = RecodeForm(content_type, *form)) {
        form = std::move(recoded->form);
        raw = std::move(recoded->raw);
        content_type = std::move(recoded->content_type);
      }
    }
  }
  if (!form) {
    Reject(res, f, One(400, form.error().message), form.error().code.str());
    return std::nullopt;
  }
  // The key comes as a form field (the specification) or in the query string; the field wins.
  for (const auto& [name, value] : *form) {
    if (name == "api_key" && value != kNotText)
      key = std::string(TrimAscii(value));
  }
  auto client = ClientForKey(config(), key);
  if (!client) {
    RejectKey(req, res, f);
    return std::nullopt;
  }
  return Body{std::move(form).value(), *client, std::move(raw).value(), content_type,
              std::move(photos)};
}

// A missing or wrong api_key: 403, or 429 once an address has tried more than its allowance of
// reports (key guessing). Clients with a valid key are not limited per address: one
// FixMyStreet server sends a whole council's reports (docs/security.md, "Rate limits").
void Routes::RejectKey(const httplib::Request& req, httplib::Response& res, Format f) {
  if (int wait = intake_.ReportRateLimited(req, "open311"); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    return Reject(res, f,
                  One(429, "too many requests from this address; retry after " +
                               std::to_string(wait) + " seconds"),
                  "rate_limited");
  }
  Reject(res, f, InvalidApiKey(), "api_key_invalid");
}

void Routes::Post(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) {
  auto resource = SplitFormat(req.matches[1].str(), req.get_header_value("Accept"));
  const Format f = resource.format;
  received_.Inc();
  // A client's retry with the same Idempotency-Key gets the same service_request_id.
  std::string idem = req.get_header_value("Idempotency-Key");
  auto body = ReadBody(req, res, f, reader);
  if (!body)
    return;
  auto parsed = ParseRequest(body->form, config(), body->photos);
  if (!parsed.request) {
    return Reject(res, f, parsed.failure,
                  parsed.failure.http_status == 404 ? "not_found" : "invalid");
  }
  PostRequest& request = *parsed.request;
  Ignored(body->client, request.ignored_fields);
  if (idem.size() > 200 || (!idem.empty() && !IsValidUtf8(idem))) {
    return Reject(res, f, One(400, "Idempotency-Key must be valid UTF-8 of at most 200 bytes"),
                  "idempotency_key_invalid");
  }
  // The worker fetches the media_url before routing (docs/open311.md): they travel with the
  // report.
  nlohmann::json data = nlohmann::json::object();
  if (!request.media_urls.empty())
    data["media_urls"] = request.media_urls;
  // Every request is recorded with its reference before it is published (intake_keys), so that
  // GET tokens/{id} and requests/{id} know it as soon as this answer is sent; a request without
  // an Idempotency-Key gets a key of its own that no retry can repeat.
  std::string key = body->client + ":" + (idem.empty() ? "auto:" + NewUuid() : idem);
  // Kept, and addressed by its digest, without the client's secret (docs/open311.md, "Keys").
  std::string kept = WithoutApiKey(body->content_type, body->raw);
  std::string digest = Sha256Hex(kept);
  channels::ReportIntake intake{std::string(kChannel),
                                std::string(kMessageType),
                                key,
                                std::move(digest),
                                RawPayload{body->content_type, std::move(kept)},
                                data.empty() ? "" : data.dump(),
                                /*keep_envelope=*/!idem.empty()};
  Accepted a = intake_.AcceptReport(std::move(intake), std::move(request.intake));
  if (a.status != 202) {
    if (a.status == 503) {
      res.set_header("Retry-After", "5");
      return Reject(res, f,
                    One(503,
                        "the service is temporarily unavailable; send the request again "
                        "later"),
                    a.error.code.str());
    }
    if (a.error_field == "photos") {
      // A photo whose metadata could not be removed (broken, too many pixels, a type we cannot
      // clean): said for an integrator, not in the citizen's German.
      return Reject(
          res, f,
          {400,
           {{"MEDIA_INVALID", "media: a photo could not be read or cleaned of its metadata (" +
                                  a.error.code.str() + "); send it as JPEG or PNG"}}},
          a.error.code.str());
    }
    return Reject(res, f,
                  One(a.status == 422 ? 400 : a.status,
                      a.error.code == errors::kIdempotencyKeyReused
                          ? "this Idempotency-Key was used for a different request"
                          : a.error.message),
                  a.error.code.str());
  }
  if (a.replay) {
    res.set_header("Idempotent-Replayed", "true");
  } else {
    accepted_.Inc();
  }
  log::Info("open311 request accepted", {{"reference", a.reference}, {"client", body->client}});
  Send(res, 200, RenderCreated({a.reference, "", config().Get<Settings>().service_notice, ""}, f),
       f);
}

// POST servicerequestupdates (mySociety's extension): the client's update goes on the work
// queue; the worker adds it to the ticket as a follow-up, and a "still broken" one reopens a
// ticket that was done (channels/open311/channel.cpp). Answered with our update_id once the
// broker has confirmed it.
void Routes::PostUpdate(const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
  auto resource = SplitFormat(req.matches[1].str(), req.get_header_value("Accept"));
  const Format f = resource.format;
  auto body = ReadBody(req, res, f, reader);
  if (!body)
    return;
  if (!body->photos.empty()) {
    return Reject(res, f,
                  One(400, "an update's photo cannot be uploaded; send its media_url instead"),
                  "unsupported_media_type");
  }
  auto parsed = ParseUpdate(body->form, config());
  if (!parsed.update) {
    return Reject(res, f, parsed.failure,
                  parsed.failure.http_status == 404 ? "not_found" : "invalid");
  }
  UpdatePost& u = *parsed.update;
  Ignored(body->client, u.ignored_fields);
  auto ref = ParseReference(u.service_request_id);
  auto owned = ref ? FiledThroughOpen311(*ref, body->client) : Result<bool>(false);
  if (!owned)
    return Unavailable(res, f);
  if (!*owned) {
    return Reject(res, f, One(404, "service_request_id " + u.service_request_id + " not found"),
                  "not_found");
  }
  // The same update sent again (the client did not see our answer) gets the same update_id:
  // FixMyStreet keeps it and skips the entry with that id in the updates it fetches.
  std::string update_id =
      u.client_update_id.empty()
          ? intake_.NewReference()
          : "U" + Sha256Hex(body->client + "\n" + *ref + "\n" + u.client_update_id).substr(0, 19);
  nlohmann::json message{{"update_id", update_id},
                         {"client", body->client},
                         {"client_update_id", u.client_update_id},
                         {"reference", *ref},
                         {"status", u.status},
                         {"description", u.description},
                         {"updated_datetime", u.updated_datetime},
                         {"media_urls", u.media_urls},
                         {"received_at", NowTimestamp()}};
  auto published = intake_.Publish(
      {std::string(kUpdateMessageType),
       message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), update_id},
      channels::NowMillis());
  if (!published) {
    log::Warn("open311 update not accepted: broker", {{"error", published.error().message}});
    res.set_header("Retry-After", "5");
    return Reject(res, f,
                  One(503, "the service is temporarily unavailable; send the update again later"),
                  published.error().code.str());
  }
  log::Info(
      "open311 update accepted",
      {{"reference", *ref}, {"update_id", update_id}, {"client", body->client}});
  Send(res, 200, RenderUpdateCreated(update_id, f), f);
}

void Routes::Get(const httplib::Request& req, httplib::Response& res) {
  auto resource = SplitFormat(req.matches[1].str(), req.get_header_value("Accept"));
  const Format f = resource.format;
  const std::string& path = resource.name;
  const Config& cfg = config();
  std::string jurisdiction = Param(req, "jurisdiction_id");
  if (!cfg.Get<Settings>().Serves(jurisdiction)) {
    return SendFailure(res, One(404, "jurisdiction_id " + jurisdiction + " not found"), f);
  }
  if (path == "discovery") {
    const std::string& contact = cfg.Get<email::Settings>().from;
    Discovery d{kChangeset, contact,
                "API keys are issued by the operators of the Meldestelle " + cfg.town.name + " (" +
                    contact + ")",
                cfg.gateway.public_base_url + "/open311/v2"};
    return Send(res, 200, RenderDiscovery(d, f), f);
  }
  if (path == "services")
    return Send(res, 200, RenderServices(ServicesFromConfig(cfg), f), f);
  if (path.rfind("services/", 0) == 0) {
    std::string code = path.substr(9);
    const Category* category = cfg.FindCategory(code);
    if (category == nullptr) {
      return SendFailure(res, One(404, "service_code " + code + " not found"), f);
    }
    return Send(res, 200, RenderServiceDefinition(DefinitionFromCategory(*category), f), f);
  }
  if (path.rfind("tokens/", 0) == 0) {
    Token(path.substr(7), res, f);
    return;
  }
  if (path == "servicerequestupdates")
    return Updates(req, res, f);
  Requests(req, res, f, path);
}

// Our tokens are the service_request_ids themselves (assigned at intake).
bool Routes::Token(const std::string& token, httplib::Response& res, Format f) {
  auto ref = ParseReference(token);
  if (!ref) {
    SendFailure(res, One(404, "token " + token + " not found"), f);
    return false;
  }
  auto found = FiledThroughOpen311(*ref);
  if (!found) {
    Unavailable(res, f);
    return false;
  }
  if (!*found) {
    SendFailure(res, One(404, "token " + token + " not found"), f);
    return false;
  }
  Send(res, 200, RenderToken({*ref, token}, f), f);
  return true;
}

Result<std::vector<ServiceRequest>> Routes::Find(const Query& q) {
  std::vector<ServiceRequest> found;
  auto st = intake_.store().Read([&](db::Connection& c) {
    db::ReadTx tx(c);
    tx.exec_params("SELECT set_config('TimeZone', $1, true)", config().town.timezone);
    std::string sql = RequestColumns() + " WHERE TRUE" + PublishedWhere(config(), tx, "t");
    if (!q.ids.empty()) {
      // The specification: service_request_id "overrides all other arguments".
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
      if (!q.service_codes.empty()) {
        sql += " AND t.category IN (";
        for (size_t i = 0; i < q.service_codes.size(); ++i)
          sql += (i == 0 ? "" : ", ") + tx.quote(q.service_codes[i]);
        sql += ")";
      }
      if (q.status == "closed") {
        sql += " AND s.status IN ('done', 'rejected')";
      } else if (q.status == "open") {
        sql += " AND s.status NOT IN ('done', 'rejected')";
      }
    }
    sql += " ORDER BY t.received_at DESC LIMIT " + std::to_string(kMaxRequests);
    for (const auto& row : tx.exec(sql))
      found.push_back(ToServiceRequest(row, config()));
  });
  if (!st)
    return st.error();
  return found;
}

// A request accepted at intake that the worker has not written yet: open, without details.
std::optional<ServiceRequest> Routes::NotYetRouted(const std::string& id, httplib::Response& res,
                                                   Format f) {
  auto ref = ParseReference(id);
  auto open311 = ref && config().Get<Settings>().publish != "none" ? FiledThroughOpen311(*ref)
                                                                  : Result<bool>(false);
  auto known = open311 && *open311
                   ? intake_.store().Lookup(*ref)
                   : Result<std::optional<tickets::IntakeStore::PublicStatus>>(std::nullopt);
  if (!open311 || !known) {
    Unavailable(res, f);
    return std::nullopt;
  }
  // Unknown, or written already but not published (a hidden category): not found.
  if (!known->has_value() || (*known)->status != "received") {
    SendFailure(res, One(404, "service_request_id " + id + " not found"), f);
    return std::nullopt;
  }
  ServiceRequest r;
  r.service_request_id = (*known)->reference;
  r.status = "open";
  r.service_notice = config().Get<Settings>().service_notice;
  r.requested_datetime = (*known)->received_at;
  r.updated_datetime = (*known)->updated_at;
  return r;
}

void Routes::Requests(const httplib::Request& req, httplib::Response& res, Format f,
                      const std::string& path) {
  Query q;
  if (path == "requests") {
    // The lists (GeoReport v2) may be repeated; a date is one value, the first as before.
    auto parsed = ParseQuery([&](const char* name) {
      const std::string_view n = name;
      return n == "service_request_id" || n == "service_code" || n == "status"
                 ? ParamList(req, name)
                 : Param(req, name);
    });
    if (!parsed.query)
      return SendFailure(res, parsed.failure, f);
    q = std::move(*parsed.query);
  } else if (path.rfind("requests/", 0) == 0) {
    q.ids = {path.substr(9)};
  } else {
    return SendFailure(res, One(404, "no such resource: /open311/v2/" + path), f);
  }
  auto found = Find(q);
  if (!found) {
    log::Warn("open311 requests query failed", {{"error", found.error().detail}});
    return Unavailable(res, f);
  }
  if (path != "requests" && found->empty()) {
    auto pending = NotYetRouted(q.ids.front(), res, f);
    if (!pending)
      return;
    found->push_back(std::move(*pending));
  }
  res.set_header("Cache-Control", "no-store");
  Send(res, 200, RenderRequests(*found, f), f);
}

// Whether `reference` is a request filed through Open311, written as a ticket or accepted and
// not yet written; with a `client`, one that client filed (its key starts with the client's name;
// a request filed before keys were kept for every request counts as any client's). A client may
// update only its own requests.
Result<bool> Routes::FiledThroughOpen311(const std::string& reference, const std::string& client) {
  bool found = false;
  auto st = intake_.store().Read([&](db::Connection& c) {
    db::ReadTx tx(c);
    // starts_with(x, '') holds: without a client, any client's.
    found = !tx.exec_params("SELECT 1 FROM tickets WHERE reference = $1 AND channel = 'open311'"
                            " AND (starts_with(channel_message_id, $2)"
                            "  OR position(':' in channel_message_id) = 0)"
                            " UNION ALL SELECT 1 FROM intake_keys WHERE reference = $1"
                            " AND channel = 'open311' AND state = 'confirmed'"
                            " AND starts_with(key, $2) LIMIT 1",
                            reference, client.empty() ? std::string() : client + ":")
                 .empty();
  });
  if (!st)
    return st.error();
  return found;
}

// The public history of the requests in the window: status changes, public notes, forwarding,
// merging and reopening, with the texts the closed loop sends to citizens. A duplicate lists its
// own entries and, from its linking on, those of the ticket it joined (its citizens are told of
// them too).
Result<std::vector<RequestUpdate>> Routes::FindUpdates(const UpdatesQuery& q) {
  std::vector<RequestUpdate> found;
  auto st = intake_.store().Read([&](db::Connection& c) {
    db::ReadTx tx(c);
    tx.exec_params("SELECT set_config('TimeZone', $1, true)", config().town.timezone);
    std::string end = q.end_date.empty() ? "now()" : tx.quote(q.end_date) + "::timestamptz";
    std::string start = q.start_date.empty()
                            ? end + " - interval '1 day'"
                            : "GREATEST(" + tx.quote(q.start_date) + "::timestamptz, " + end +
                                  " - interval '90 days')";
    std::string sql =
        "WITH h AS (SELECT h.id, h.ticket_id, h.action, h.to_status, h.to_department,"
        "  h.public_note, h.details, h.at FROM ticket_history h WHERE h.at >= " +
        start + " AND h.at <= " + end +
        "  AND (h.action IN ('accepted', 'status', 'duplicate', 'reopened')"
        "   OR (h.action IN ('rerouted', 'escalated', 'forwarded')"
        "       AND h.from_department IS DISTINCT FROM h.to_department))),"
        " listed AS (SELECT h.*, t.id AS listed_id, t.reference AS listed_ref"
        "  FROM h JOIN tickets t ON t.id = h.ticket_id"
        // A duplicate from its linking to the ticket it joins now (ticket_reporters: also when
        // its first original was merged into this one later).
        " UNION ALL SELECT h.*, d.id, d.reference FROM h JOIN tickets d"
        "  ON d.duplicate_of = h.ticket_id AND h.at > COALESCE((SELECT r.linked_at"
        "   FROM ticket_reporters r WHERE r.ticket_id = h.ticket_id"
        "   AND r.reporter_ticket_id = d.id), d.created_at))"
        " SELECT l.id, l.listed_ref, l.action, COALESCE(l.to_status, ''), l.public_note,"
        "  COALESCE(l.details->>'duplicate_of', ''), COALESCE(l.details->>'update_id', ''),"
        "  to_char(l.at, '" +
        std::string(kIsoLocal) +
        // For a merge: the state of the ticket it joined at that moment.
        "'), src.reference, src.department_name, COALESCE(l.to_department, ''),"
        " COALESCE((SELECT x.to_status FROM ticket_history x WHERE x.ticket_id = o.id"
        "  AND x.at <= l.at AND COALESCE(x.to_status, '') <> ''"
        "  ORDER BY x.at DESC, x.id DESC LIMIT 1), o.status, '')"
        " FROM listed l JOIN tickets src ON src.id = l.ticket_id"
        " JOIN tickets t ON t.id = l.listed_id"
        " LEFT JOIN tickets o ON o.reference = l.details->>'duplicate_of'"
        " WHERE TRUE" +
        PublishedWhere(config(), tx, "t") + " ORDER BY l.at, l.id, l.listed_ref LIMIT " +
        std::to_string(kMaxUpdates);
    for (const auto& row : tx.exec(sql)) {
      RequestUpdate u;
      std::string action = row[2].as<std::string>();
      std::string to_status = row[3].as<std::string>();
      u.service_request_id = row[1].as<std::string>();
      // Stable and unique per request, as FixMyStreet needs it; a reopening by a client's
      // update is listed under the update_id that client was given.
      u.update_id = row[6].is_null() || row[6].as<std::string>().empty() ? row[0].as<std::string>()
                                                                         : row[6].as<std::string>();
      u.updated_datetime = row[7].as<std::string>();
      tickets::StatusNotice n;
      n.language = "de";
      n.reference = u.service_request_id;
      n.ticket_reference = row[8].as<std::string>();
      n.department = row[9].as<std::string>();
      n.note = row[4].as<std::string>();
      if (action == "accepted") {
        n.event = "accepted";
      } else if (action == "status") {
        n.event = to_status;
      } else if (action == "duplicate") {
        n.event = "duplicate";
        n.merged_into = row[5].as<std::string>();
        to_status = row[11].as<std::string>();  // the state of the ticket it joined
      } else if (action == "reopened") {
        to_status = "accepted";
      } else {
        n.event = "forwarded";  // to the department named then, not the one in charge now
        if (const Department* d = config().FindDepartment(row[10].as<std::string>()))
          n.department = d->name;
      }
      u.status = action == "reopened" ? "open" : UpdateStatusOf(to_status);
      if (!n.event.empty())
        u.description = tickets::StatusText(config(), n, tickets::NoticeStyle::kChat);
      found.push_back(std::move(u));
    }
  });
  if (!st)
    return st.error();
  return found;
}

void Routes::Updates(const httplib::Request& req, httplib::Response& res, Format f) {
  // FixMyStreet sends its api_key here too; reading needs none (as GET requests).
  auto parsed = ParseUpdatesQuery(Param(req, "start_date"), Param(req, "end_date"));
  if (!parsed.query)
    return SendFailure(res, parsed.failure, f);
  auto found = FindUpdates(*parsed.query);
  if (!found) {
    log::Warn("open311 updates query failed", {{"error", found.error().detail}});
    return Unavailable(res, f);
  }
  res.set_header("Cache-Control", "no-store");
  Send(res, 200, RenderUpdates(*found, f), f);
}

}  // namespace

void RegisterRoutes(httplib::Server& server, channels::Intake& intake) {
  auto routes = std::make_shared<Routes>(intake);
  server.Get(R"(/open311/v2/(.+))", [routes](const auto& req, auto& res) {
    // What GET answers is public (docs/open311.md, "What is published"): a client running in a
    // browser on another origin may read it (no cookies are involved).
    res.set_header("Access-Control-Allow-Origin", "*");
    routes->Get(req, res);
  });
  server.Post(R"(/open311/v2/(requests(\.json|\.xml)?))",
              [routes](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) { routes->Post(req, res, reader); });
  server.Post(
      R"(/open311/v2/(servicerequestupdates(\.json|\.xml)?))",
      [routes](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) { routes->PostUpdate(req, res, reader); });
}

}  // namespace meldestelle::open311
