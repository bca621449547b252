#include "gateway/server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "channels/http.hpp"
#include "channels/webform/html.hpp"
#include "channels/webform/intake.hpp"
#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/photo.hpp"
#include "core/reference.hpp"
#include "core/text.hpp"
#include "gateway/framing.hpp"
#include "gateway/guarded_server.hpp"

namespace meldestelle::gateway {

using channels::NowMillis;
using channels::SendError;
using channels::SendJson;
using nlohmann::json;

namespace {

json ErrorJson(ErrorCode code, const std::string& message) {
  return json{{"error", {{"code", code.str()}, {"message", message}}}};
}

void SetUnavailable(httplib::Response& res) { res.set_header("Retry-After", "5"); }

void CountRefused(metrics::Registry& registry, std::string_view reason) {
  registry
      .GetCounter("meldestelle_http_refused_total",
                  "Requests refused before their body was read, by reason.",
                  {{"reason", std::string(reason)}})
      .Inc();
}

std::unique_ptr<GuardedServer> MakeServer(const Config& config, metrics::Registry& registry) {
  const auto& g = config.gateway;
  ConnectionLimits limits;
  limits.threads = g.threads;
  limits.queue = g.max_queued_connections;
  limits.per_client = g.max_connections_per_client;
  limits.exempt = g.trusted_proxies;
  limits.head_seconds = g.header_timeout_seconds;
  limits.head_bytes = 2 * g.max_header_bytes + 16 * 1024;  // beyond 431's, room for the line
  limits.body_seconds = g.body_timeout_seconds;
  limits.body_min_bytes_per_second = g.min_upload_bytes_per_second;
  limits.idle_seconds = g.keep_alive_seconds;
  limits.keep_alive_requests = g.keep_alive_requests;
  return std::make_unique<GuardedServer>(
      limits, [&registry](std::string_view reason) { CountRefused(registry, reason); });
}

// The Content-Length the framing checks let through (0 without one).
int64_t BodyLength(const httplib::Request& req) {
  // CheckFraming let only digits (and blanks around them) through.
  std::string_view value = TrimAscii(channels::Header(req, "Content-Length"));
  int64_t n = 0;
  std::from_chars(value.data(), value.data() + value.size(), n);
  return n;
}

}  // namespace

Gateway::Gateway(const Config& config, const channels::Registry& channels,
                 metrics::Registry& registry)
    : config_(config),
      script_policy_("script-src " + webform::html::ScriptSources() +
                     "; object-src 'none'; base-uri 'none'"),
      channels_(channels),
      ack_senders_(channels.AcknowledgementSenders(config)),
      registry_(registry),
      blobs_(config.storage.media_dir),
      references_(config.gateway.instance_id),
      store_(config.database.url),
      publisher_(config.amqp, registry),
      staff_(config, registry),
      report_limit_(config.gateway.reports_per_minute, config.gateway.reports_burst),
      lookup_limit_(config.gateway.lookups_per_minute, config.gateway.lookups_burst),
      server_(MakeServer(config, registry)) {}

Gateway::~Gateway() { Stop(); }

std::string Gateway::NewReference() { return references_.Next(); }

Status Gateway::Publish(channels::QueueMessage message, int64_t received_ms) {
  return Publish(std::move(message), received_ms, {});
}

Status Gateway::Publish(channels::QueueMessage message, int64_t received_ms, std::string log_line) {
  return publisher_.Publish(
      std::move(message.body), std::move(message.message_id), std::move(message.type), received_ms,
      std::chrono::milliseconds(config_.gateway.publish_timeout_ms), std::move(log_line));
}

void Gateway::CountWebhook(const std::string& channel, const std::string& outcome) {
  registry_
      .GetCounter("meldestelle_webhook_requests_total",
                  "Provider webhook requests, by channel and outcome.",
                  {{"channel", channel}, {"outcome", outcome}})
      .Inc();
}

int Gateway::TakeFromAllowance(RateLimiter& limit, const httplib::Request& req, const char* label,
                               std::string_view value, const char* counter, const char* help) {
  if (!limit.limits())
    return 0;
  std::string client = ClientAddress(req.remote_addr, channels::Header(req, "X-Forwarded-For"),
                                     config_.gateway.trusted_proxies);
  auto d = limit.Take(LimitKey(client));
  if (d.allowed)
    return 0;
  registry_.GetCounter(counter, help, {{label, std::string(value)}}).Inc();
  return std::max(1, d.retry_after_seconds);
}

int Gateway::ReportRateLimited(const httplib::Request& req, const std::string& channel) {
  return TakeFromAllowance(report_limit_, req, "channel", channel, "meldestelle_rate_limited_total",
                           "Reports refused with 429: too many from one client address.");
}

int Gateway::LookupRateLimited(const httplib::Request& req, const char* what) {
  return TakeFromAllowance(lookup_limit_, req, "what", what,
                           "meldestelle_lookups_rate_limited_total",
                           "Look-ups refused with 429: too many from one client address.");
}

void Gateway::CountRejected(const std::string& channel, const std::string& reason) {
  registry_
      .GetCounter("meldestelle_reports_rejected_total", "Submissions rejected, by reason.",
                  {{"channel", channel}, {"reason", reason}})
      .Inc();
}

namespace {

FramingRules Framing(const Config& config, const channels::Registry& channels) {
  FramingRules rules;
  rules.default_body_bytes = config.gateway.max_body_bytes;
  rules.max_header_count = config.gateway.max_header_count;
  rules.max_header_bytes = config.gateway.max_header_bytes;
  for (const auto& channel : channels.channels()) {
    if (!channel.body_limits)
      continue;
    for (auto& limit : channel.body_limits(config))
      rules.routes.push_back(std::move(limit));
  }
  return rules;
}

}  // namespace

Result<int> Gateway::Start() {
  // The reference clock, kept between runs and locked to this gateway (core/reference.hpp).
  if (auto kept =
          references_.KeepIn(config_.storage.state_dir /
                             ("reference-clock-" + std::to_string(config_.gateway.instance_id)));
      !kept) {
    return kept.error();
  }
  // The street list and the town boundary for the form's map (gateway/places.hpp).
  auto places = Places::Load(config_);
  if (!places)
    return places.error();
  places_ = std::move(places).value();
  const auto& form = config_.Get<webform::Settings>();
  if (form.token_secret.empty()) {
    return MakeError(errors::kConfigInvalid,
                     "webform.token_secret: environment variable " +
                         (form.token_secret_var.empty() ? std::string("(none configured)")
                                                        : form.token_secret_var) +
                         " is not set; the gateway needs it to sign form tokens");
  }
  framing_ = Framing(config_, channels_);
  if (config_.gateway.admin_port > 0) {
    ConnectionLimits admin_limits;
    admin_limits.threads = 2;
    admin_limits.queue = 16;
    admin_ = std::make_unique<GuardedServer>(admin_limits);
  }
  Routes();
  if (auto st = staff_.Register(*server_); !st)
    return st.error();
  server_->set_tcp_nodelay(true);
  // Per read and write; a whole request has its deadline (gateway/guarded_server.hpp).
  server_->set_read_timeout(60, 0);
  server_->set_write_timeout(30, 0);
  server_->set_payload_max_length(static_cast<size_t>(config_.gateway.max_request_bytes));
  // Drop SO_REUSEPORT (a stale server must not silently share our port).
  server_->set_socket_options([](socket_t s) {
    int on = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  });
  int port = config_.gateway.port;
  if (port == 0) {
    port = server_->bind_to_any_port(config_.gateway.listen);
  } else if (!server_->bind_to_port(config_.gateway.listen, port)) {
    port = -1;
  }
  if (port <= 0) {
    return MakeError(errors::kBindFailed, "cannot listen on " + config_.gateway.listen + ":" +
                                              std::to_string(config_.gateway.port));
  }
  server_->WidenBacklog(1024);
  if (admin_) {
    admin_->set_read_timeout(5, 0);
    if (!admin_->bind_to_port(config_.gateway.admin_listen, config_.gateway.admin_port)) {
      return MakeError(errors::kBindFailed, "cannot listen on " + config_.gateway.admin_listen +
                                                ":" + std::to_string(config_.gateway.admin_port) +
                                                " (gateway.admin_port)");
    }
  }
  port_ = port;
  publisher_.Start();
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (admin_)
    admin_thread_ = std::thread([this] { admin_->listen_after_bind(); });
  return port;
}

void Gateway::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
  if (admin_thread_.joinable()) {
    admin_->stop();
    admin_thread_.join();
  }
  publisher_.Stop();
}

void Gateway::FinishResponse(const httplib::Request& req, httplib::Response& res) const {
  AcceptAbsoluteForm(req);  // an answer the library gave before the pre-routing handler
  if (!res.has_header("X-Content-Type-Options"))
    res.set_header("X-Content-Type-Options", "nosniff");
  // The staff's pages and API show personal data: nothing of them is kept by a browser or a
  // proxy (a shared office computer), unless a handler said otherwise.
  const bool staff = req.path == "/staff" || req.path.rfind("/staff/", 0) == 0;
  if ((staff || req.path.rfind("/api/v1/tickets", 0) == 0) && !res.has_header("Cache-Control"))
    res.set_header("Cache-Control", "no-store");
  if (res.get_header_value("Content-Type").rfind("text/html", 0) != 0 ||
      res.has_header("Content-Security-Policy"))
    return;
  const auto& origins = config_.gateway.embed_origins;
  std::string policy = script_policy_;
  if (staff || origins.empty()) {
    res.set_header("Content-Security-Policy", policy + "; frame-ancestors 'none'");
    res.set_header("X-Frame-Options", "DENY");
    return;
  }
  policy += "; frame-ancestors 'self'";
  for (const auto& origin : origins)
    policy += " " + origin;
  res.set_header("Content-Security-Policy", policy);
}

void Gateway::AcceptAbsoluteForm(const httplib::Request& req) {
  // The library routes on the path as sent, and "http://host/path" matches no route. The
  // request object is the library's own, not const, until the handlers get it. Only the target
  // as sent decides (a percent-encoded "http%3A%2F%2F…" is no absolute-form), and the path is
  // decoded from its origin-form as the library decodes one.
  auto target = OriginForm(req.target);
  if (!target)
    return;
  auto& r = const_cast<httplib::Request&>(req);
  r.target = std::move(*target);
  r.path = httplib::detail::decode_url(r.target.substr(0, r.target.find('?')), false);
}

bool Gateway::RefusedFraming(const httplib::Request& req, httplib::Response& res) {
  RequestHead head{req.method, req.path, {}, GuardedServer::RawHead()};
  head.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers)
    head.headers.emplace_back(name, value);
  auto refusal = CheckFraming(head, framing_);
  if (!refusal)
    return false;
  CountRefused(registry_, refusal->code.str());
  // The body is not read: the connection cannot carry another request (GuardedServer says
  // Connection: close).
  GuardedServer::CloseAfterResponse();
  if (WantsHtml(req)) {
    SendErrorPage(req, res, refusal->status);
  } else {
    SendJson(res, refusal->status, ErrorJson(refusal->code, refusal->message));
  }
  return true;
}

bool Gateway::WantsHtml(const httplib::Request& req) {
  // Machines' paths answer JSON whatever they accept (Java's HttpURLConnection accepts
  // text/html by default).
  for (std::string_view api : {"/api/", "/open311/", "/webhooks/"}) {
    if (std::string_view(req.path).substr(0, api.size()) == api)
      return false;
  }
  return channels::Header(req, "Accept").find("text/html") != std::string_view::npos;
}

void Gateway::SendErrorPage(const httplib::Request& req, httplib::Response& res, int status) const {
  const char* key = status == 404   ? "seite.nicht_gefunden"
                    : status == 413 ? "seite.zu_gross"
                                    : "seite.nicht_gelesen";
  const texts::Lang t = PageLang(req);
  webform::InfoPage page;
  page.language = t.code();
  page.t = t;
  page.town_name = config_.town.name;
  page.title = t("seite.fehler");
  page.sections.push_back({t(key), {}, {}});
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Language", page.language);
  res.set_header("Vary", "Accept, Accept-Language");
  res.set_content(webform::RenderInfoPage(page), "text/html; charset=utf-8");
}

void Gateway::Routes() {
  // Before a byte of any body is read (cpp-httplib reads it after this handler, and decompresses
  // it if it is encoded): framing, encoding, header size and the route's body limit.
  // Both servers (the admin port's too): a refused request, or one whose body is not read, ends
  // its connection; a request the library answered without this handler ends it as well
  // (GuardedServer).
  auto checked = [this](const httplib::Request& req, httplib::Response& res) {
    AcceptAbsoluteForm(req);
    if (!RefusedFraming(req, res)) {
      GuardedServer::HeadRead(BodyLength(req));
      return httplib::Server::HandlerResponse::Unhandled;
    }
    return httplib::Server::HandlerResponse::Handled;
  };
  server_->set_pre_routing_handler(checked);
  server_->SetResponseFinisher(
      [this](const httplib::Request& req, httplib::Response& res) { FinishResponse(req, res); });
  // "Expect: 100-continue" is answered before the pre-routing handler: the refusal (413 and the
  // others) instead of inviting a body that would be refused.
  auto expect = [this](const httplib::Request& req, httplib::Response& res) {
    AcceptAbsoluteForm(req);
    return RefusedFraming(req, res) ? res.status : 100;
  };
  server_->set_expect_100_continue_handler(expect);
  if (admin_) {
    admin_->set_pre_routing_handler(checked);
    admin_->SetResponseFinisher(
        [this](const httplib::Request& req, httplib::Response& res) { FinishResponse(req, res); });
    admin_->set_expect_100_continue_handler(expect);
  }
  server_->Get(R"(/api/v1/reports/([^/]+))",
               [this](const auto& req, auto& res) { HandleStatus(req, res); });
  server_->Get("/meldung", [this](const auto& req, auto& res) { HandleLookupPage(req, res); });
  // Addresses a browser is left at after posting a form without script (a reload, a shared
  // link): the page the form came from (the form, the status page's "Ist es behoben?" and
  // "Ich auch").
  server_->Get("/formular/meldung", [](const httplib::Request& req, httplib::Response& res) {
    const size_t query = req.target.find('?');
    res.status = 303;
    res.set_header("Location", query == std::string::npos ? "/" : "/" + req.target.substr(query));
  });
  server_->Get(R"(/meldung/([^/]{1,64})/(?:behoben|ich-auch))",
               [](const httplib::Request& req, httplib::Response& res) {
                 auto ref = ParseReference(req.matches[1].str());
                 if (!ref) {
                   res.status = 404;  // the error handler's page
                   return;
                 }
                 res.status = 303;
                 res.set_header("Location", "/meldung/" + *ref);
               });
  server_->Get(R"(/meldung/([^/]{1,64}))",
               [this](const auto& req, auto& res) { HandleStatusPage(req, res); });
  server_->Post(R"(/meldung/([^/]{1,64})/behoben)",
                [this](const auto& req, auto& res) { HandleFixAnswer(req, res); });
  server_->Post(R"(/meldung/([^/]{1,64})/ich-auch)",
                [this](const auto& req, auto& res) { HandleMeToo(req, res); });
  server_->Get("/meldungen", [this](const auto& req, auto& res) { HandlePublicReports(req, res); });
  server_->Get("/api/v1/places",
               [this](const auto& req, auto& res) { HandlePlaceSearch(req, res); });
  server_->Get("/api/v1/places/near",
               [this](const auto& req, auto& res) { HandlePlaceNear(req, res); });
  server_->Get(R"(/assets/[A-Za-z0-9._/-]+)",
               [this](const auto& req, auto& res) { HandleAsset(req, res); });
  server_->Get(R"(/media/([0-9a-f]{64}))",
               [this](const auto& req, auto& res) { HandleMediaLink(req, res); });
  server_->Get("/abmelden", [this](const auto& req, auto& res) { HandleOptOutPage(req, res); });
  server_->Get("/barrierefreiheit",
               [this](const auto& req, auto& res) { HandleAccessibility(req, res); });
  server_->Get("/datenschutz",
               [this](const auto& req, auto& res) { HandlePrivacyNotice(req, res); });
  server_->Post("/abmelden", [this](const auto& req, auto& res) { HandleOptOutPost(req, res); });
  // Each channel's own routes (channels/<name>/).
  for (const auto& channel : channels_.channels()) {
    if (channel.routes)
      channel.routes(*server_, *this);
  }
  server_->Get("/healthz", [](const auto&, auto& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  // /readyz and /metrics tell an attacker what is down and how busy we are: on the admin port
  // (loopback) when one is configured, else here.
  httplib::Server& admin = admin_ ? *admin_ : *server_;
  if (admin_) {
    admin_->Get("/healthz", [](const auto&, auto& res) {
      res.set_content("ok\n", "text/plain; charset=utf-8");
    });
  }
  admin.Get("/readyz", [this](const auto& req, auto& res) { HandleReady(req, res); });
  admin.Get("/metrics", [this](const auto&, auto& res) {
    res.set_content(registry_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->set_payload_max_length(static_cast<size_t>(config_.gateway.max_request_bytes));
  // An exception escaping a handler: a plain 500, the exception's text only in our log (the
  // library would put it into a response header).
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::Error("request failed with an exception", {{"path", req.path}, {"error", what}});
        res.headers.clear();
        SendJson(res, 500,
                 ErrorJson(errors::kInternal,
                           "Ein interner Fehler ist aufgetreten. Bitte später erneut versuchen."));
      });
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return;
    // A browser finds a page in its language where a client of the API finds JSON.
    if (WantsHtml(req) && (res.status == 404 || res.status == 413 || res.status == 400)) {
      SendErrorPage(req, res, res.status);
      return;
    }
    if (res.status == 414) {
      // cpp-httplib refuses a request line over 8 KiB before parsing it: the route's own
      // error format where a channel knows the path, else ours.
      std::string start = GuardedServer::RequestStart();
      size_t sp = start.find(' ');
      std::string_view target =
          sp == std::string::npos ? std::string_view() : std::string_view(start).substr(sp + 1);
      const std::optional<std::string> origin = OriginForm(target);
      if (origin)
        target = *origin;
      for (const auto& channel : channels_.channels()) {
        if (channel.uri_too_long && channel.uri_too_long(target, res))
          return;
      }
      SendJson(res, 414,
               ErrorJson(errors::kUriTooLong,
                         "Die Adresse (URL) der Anfrage ist zu lang: höchstens 8192 Bytes "
                         "für die Anfragezeile."));
    } else if (res.status == 413) {
      SendJson(res, 413,
               ErrorJson(errors::kPayloadTooLarge,
                         "Die Anfrage ist zu groß. Bitte weniger oder kleinere Fotos "
                         "senden."));
    } else if (res.status == 404) {
      SendJson(res, 404, ErrorJson(errors::kNotFound, "Diese Seite gibt es nicht."));
    } else if (res.status == 400 && !GuardedServer::Routed()) {
      // The library could not read the request line or a header field: the connection ends
      // (GuardedServer).
      SendJson(res, 400,
               ErrorJson(errors::kHeaderInvalid,
                         "The request line or a header field could not be read (RFC 9112)."));
    } else if (res.status == 400) {
      // The library could not read the body (a broken multipart body, one shorter than its
      // Content-Length).
      SendJson(res, 400, ErrorJson(errors::kPayloadInvalid, "The request body could not be read."));
    }
  });
}

namespace {

// The photos as staff will see them: the place the camera recorded taken as the report's when
// the citizen gave none (docs/report-schema.md); a copy without EXIF/XMP/IPTC, turned upright,
// HEIC/AVIF converted to JPEG (the original is not kept); each listed as an attachment. A photo
// that cannot be cleaned (a type we cannot strip, broken, too many pixels) refuses the request:
// no channel keeps a photo with its metadata.
Status PreparePhotos(const Config& config, webform::Intake& intake) {
  Report& r = intake.report;
  for (auto& photo : intake.photos) {
    if (!r.location.lat && r.location.address.empty()) {
      if (auto meta = ReadPhotoMetadata(photo.content); meta && meta->lat && meta->lon) {
        r.location.lat = meta->lat;
        r.location.lon = meta->lon;
        r.location.source = LocationSource::kPhoto;
      }
    }
    auto clean = StripPhoto(photo.content);
    if (!clean) {
      log::Warn("photo refused: metadata could not be removed",
                {{"code", clean.error().code.str()}, {"reason", clean.error().detail}});
      webform::FieldError refused = webform::PhotoRefused(clean.error(), photo.filename,
                                                          texts::For(config, r.reporter.language));
      return MakeError(refused.code, refused.message, clean.error().detail);
    }
    photo.content = std::move(clean->bytes);
    photo.filename = PhotoFileName(photo.filename, clean->media_type);
    photo.media_type = std::move(clean->media_type);
    photo.sha256 = Sha256Hex(photo.content);
  }
  for (const auto& photo : intake.photos) {
    r.attachments.push_back({photo.sha256, photo.media_type,
                             static_cast<int64_t>(photo.content.size()), photo.filename});
  }
  return Ok{};
}

}  // namespace

channels::Accepted Gateway::AcceptReport(channels::ReportIntake request, webform::Intake intake) {
  const std::string& channel = request.channel;
  const std::string& dedup_key = request.dedup_key;
  // The digest of the raw payload is needed now only to compare a dedup key's retry with its
  // first request; without a key the worker computes it (DecodeEnvelope), off the accept path.
  std::string request_hash = std::move(request.request_hash);
  if (request_hash.empty() && !dedup_key.empty())
    request_hash = Sha256Hex(request.raw.body);
  channels::Accepted out;
  auto fail = [&](Error e) {
    out.status = channels::HttpStatusFor(e.code);
    out.error = std::move(e);
    return out;
  };
  Report& r = intake.report;
  if (auto photos = PreparePhotos(config_, intake); !photos) {
    out.error_field = "photos";
    return fail(photos.error());
  }
  int64_t received_ms = NowMillis();
  r.id = NewUuid();
  r.reference = references_.Next();
  r.channel = channel;
  r.channel_message_id = dedup_key.empty() ? r.id : dedup_key;
  r.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  if (!request_hash.empty())
    r.raw_ref = "sha256:" + request_hash;  // request_hash is the digest of raw.body
  std::string envelope = EncodeEnvelope(r, request.raw, request.channel_data, intake.text_in_raw);
  std::string message_id = r.id;
  if (!dedup_key.empty()) {
    auto existing = store_.Reserve(
        channel, dedup_key,
        {r.reference, r.id, request_hash, "pending", request.keep_envelope ? envelope : ""});
    if (!existing) {
      log::Warn("database unavailable at intake", {{"error", existing.error().detail}});
      return fail(existing.error());
    }
    if (existing->has_value()) {
      const tickets::IntakeStore::Key& k = **existing;
      if (k.request_hash != request_hash && channel != "webform") {
        return fail(MakeError(errors::kIdempotencyKeyReused,
                              "Dieser Idempotency-Key wurde bereits für eine andere Meldung "
                              "verwendet."));
      }
      out.reference = k.reference;
      if (k.state == "confirmed") {
        out.replay = true;
        return out;
      }
      // An earlier attempt was not confirmed: publish the same report again (the worker
      // deduplicates if the first one did arrive).
      envelope = k.envelope;
      message_id = k.report_id;
      r.reference = k.reference;
    }
  }
  // The photos are stored only now, after every check that can refuse the request, and before
  // the report that points to them is published.
  for (const auto& photo : intake.photos) {
    if (auto sha = blobs_.Put(photo.content, photo.sha256); !sha) {
      log::Error("storing a photo failed", {{"error", sha.error().detail}});
      return fail(sha.error());
    }
  }
  // The line is written when the broker confirms, with the others of its confirm.
  std::string accepted = log::Line(log::Level::kInfo, "report accepted",
                                   {{"reference", r.reference},
                                    {"channel", channel},
                                    {"photos", std::to_string(r.attachments.size())}});
  auto published =
      Publish({std::move(request.message_type), std::move(envelope), std::move(message_id)},
              received_ms, std::move(accepted));
  if (!published) {
    log::Warn("report not accepted: broker",
              {{"error", published.error().message}, {"channel", channel}});
    return fail(published.error());
  }
  if (!dedup_key.empty()) {
    if (auto st = store_.MarkConfirmed(channel, dedup_key); !st) {
      // The report is safely queued; a retry would republish and be deduplicated downstream.
      log::Warn("could not mark intake key confirmed", {{"error", st.error().detail}});
    }
  }
  out.reference = r.reference;
  return out;
}

void Gateway::HandleStatus(const httplib::Request& req, httplib::Response& res) {
  if (int wait = LookupRateLimited(req, "status_json")) {
    res.set_header("Retry-After", std::to_string(wait));
    return SendJson(res, 429,
                    ErrorJson(errors::kRateLimited,
                              "Zu viele Abfragen in kurzer Zeit. Bitte warten Sie einen Moment."));
  }
  auto ref = ParseReference(req.matches[1].str());
  if (!ref) {
    return SendJson(res, 404, ErrorJson(ref.error().code, ref.error().message));
  }
  auto found = store_.Lookup(*ref);
  if (!found) {
    SetUnavailable(res);
    return SendJson(res, 503,
                    ErrorJson(errors::kUnavailable, "Der Status ist gerade nicht abrufbar."));
  }
  if (!found->has_value()) {
    return SendJson(res, 404,
                    ErrorJson(errors::kReferenceUnknown,
                              "Zu dieser Vorgangsnummer ist keine Meldung bekannt."));
  }
  const auto& s = **found;
  json category = nullptr;
  json category_name = nullptr;
  if (!s.category.empty()) {
    category = s.category;
    if (const Category* c = config_.FindCategory(s.category))
      category_name = c->name;
  }
  res.set_header("Cache-Control", "no-store");
  json body{{"reference", s.reference},
            {"status", s.status},
            {"department", s.department.empty() ? json(nullptr) : json(s.department)},
            {"category", category},
            {"category_name", category_name},
            {"received_at", s.received_at},
            {"updated_at", s.updated_at}};
  if (!s.duplicate_of.empty()) {
    // Linked to an open ticket: its status, and its reference (docs/duplicates.md).
    body["duplicate_of"] = s.duplicate_of;
  }
  // The same status for people (GET /meldung/{reference}).
  body["status_page"] = StatusPageUrl(config_, s.reference);
  SendJson(res, 200, body);
}

void Gateway::HandleReady(const httplib::Request&, httplib::Response& res) {
  bool broker = publisher_.Connected();
  auto db = store_.Ping();
  json body{{"broker", broker ? "ok" : "unavailable"}, {"database", db ? "ok" : "unavailable"}};
  SendJson(res, broker && db ? 200 : 503, body);
}

}  // namespace meldestelle::gateway
