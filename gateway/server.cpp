#include "gateway/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "channels/webform/page.hpp"
#include "channels/webform/token.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/photo.hpp"
#include "core/text.hpp"
#include "gateway/respond.hpp"

namespace meldestelle::gateway {

using nlohmann::json;

bool BacklogServer::WidenBacklog(int n) { return ::listen(svr_sock_, n) == 0; }

namespace {

constexpr const char* kFormChannel = "webform";
constexpr const char* kAppChannel = "app";
constexpr const char* kMultipartSummaryType = "application/vnd.meldestelle.multipart-summary+json";

int64_t NowUnix() { return NowMillis() / 1000; }

// HTTP status for a validation or parse error code.
int StatusFor(ErrorCode code) {
  if (code == errors::kPhotoTooLarge || code == errors::kPayloadTooLarge)
    return 413;
  if (code == errors::kNotAnImage || code == errors::kUnsupportedMediaType)
    return 415;
  if (code == errors::kJsonInvalid || code == errors::kMultipartInvalid ||
      code == errors::kPayloadInvalid || code == errors::kControlCharacters ||
      code == errors::kFormInvalid || code == errors::kInvalidUtf8 ||
      code == errors::kUnknownField || code == errors::kDuplicateField ||
      code == errors::kFieldTypeInvalid || code == errors::kUnknownFileField ||
      code == errors::kPhotoNotAFile || code == errors::kIdempotencyKeyInvalid) {
    return 400;
  }
  if (code == errors::kIdempotencyKeyReused)
    return 422;
  if (code == errors::kBrokerUnavailable || code == errors::kBrokerTimeout ||
      code == errors::kBrokerRefused || code == errors::kBrokerError ||
      code == errors::kDbUnavailable || code == errors::kDbError ||
      code == errors::kStorageFailed) {
    return 503;
  }
  return 422;
}

// The form's German field names for the canonical ones.
std::string FormFieldName(const std::string& canonical) {
  if (canonical == "description")
    return "beschreibung";
  if (canonical == "category")
    return "kategorie";
  if (canonical == "address")
    return "adresse";
  if (canonical == "phone")
    return "telefon";
  if (canonical == "photos")
    return "fotos[]";
  if (canonical == "lat" || canonical == "lon")
    return "standort";
  return canonical;
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

json ErrorJson(ErrorCode code, const std::string& message,
               const std::vector<webform::FieldError>& fields = {}) {
  json j{{"code", code.str()}, {"message", message}};
  if (!fields.empty()) {
    json list = json::array();
    for (const auto& f : fields) {
      list.push_back({{"field", f.field}, {"code", f.code.str()}, {"message", f.message}});
    }
    j["fields"] = list;
  }
  return json{{"error", j}};
}

void SetUnavailable(httplib::Response& res) { res.set_header("Retry-After", "5"); }

// cpp-httplib answers an over-long Content-Length itself by setting 413 and failing the read;
// the handler answers instead.
Error TooLarge(const Config& config, httplib::Response& res) {
  res.status = 200;
  return MakeError(errors::kPayloadTooLarge,
                   "Die Anfrage ist zu groß (höchstens " +
                       std::to_string(config.gateway.max_request_bytes / 1000000) +
                       " MB). Bitte weniger oder kleinere Fotos senden.");
}

// Counters on the hot path are looked up once, not per request (the lookup takes a lock).
metrics::Counter& ReceivedCounter(metrics::Registry& r, const char* channel) {
  return r.GetCounter("meldestelle_reports_received_total", "Submissions received, by channel.",
                      {{"channel", channel}});
}
metrics::Counter& AcceptedCounter(metrics::Registry& r, const char* channel) {
  return r.GetCounter("meldestelle_reports_accepted_total",
                      "Reports accepted (broker-confirmed), by channel.", {{"channel", channel}});
}

}  // namespace

struct Gateway::Body {
  webform::Submission submission;
  RawPayload raw;
  std::string hash;
};

Gateway::Gateway(const Config& config, metrics::Registry& registry)
    : config_(config),
      registry_(registry),
      blobs_(config.storage.media_dir),
      references_(config.gateway.instance_id),
      store_(config.database.url),
      publisher_(config.amqp, registry),
      staff_(config, registry),
      received_form_(ReceivedCounter(registry, kFormChannel)),
      received_app_(ReceivedCounter(registry, kAppChannel)),
      accepted_form_(AcceptedCounter(registry, kFormChannel)),
      accepted_app_(AcceptedCounter(registry, kAppChannel)) {}

Gateway::~Gateway() { Stop(); }

std::string Gateway::NewFormToken() const {
  return webform::IssueFormToken(config_.webform.token_secret, NowUnix());
}

void Gateway::CountRejected(const std::string& channel, const std::string& reason) {
  registry_
      .GetCounter("meldestelle_reports_rejected_total", "Submissions rejected, by reason.",
                  {{"channel", channel}, {"reason", reason}})
      .Inc();
}

Result<int> Gateway::Start() {
  if (config_.webform.token_secret.empty()) {
    return MakeError(
        errors::kConfigInvalid,
        "webform.token_secret: environment variable " +
            (config_.webform.token_secret_var.empty() ? std::string("(none configured)")
                                                      : config_.webform.token_secret_var) +
            " is not set; the gateway needs it to sign form tokens");
  }
  Routes();
  if (auto st = staff_.Register(server_); !st)
    return st.error();
  server_.set_tcp_nodelay(true);
  server_.set_keep_alive_max_count(1000);
  server_.set_keep_alive_timeout(5);
  server_.set_read_timeout(60, 0);  // mobile uploads are slow
  server_.set_write_timeout(30, 0);
  server_.set_payload_max_length(static_cast<size_t>(config_.gateway.max_request_bytes));
  int threads = config_.gateway.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Drop SO_REUSEPORT (a stale server must not silently share our port).
  server_.set_socket_options([](socket_t s) {
    int on = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  });
  int port = config_.gateway.port;
  if (port == 0) {
    port = server_.bind_to_any_port(config_.gateway.listen);
  } else if (!server_.bind_to_port(config_.gateway.listen, port)) {
    port = -1;
  }
  if (port <= 0) {
    return MakeError(errors::kBindFailed, "cannot listen on " + config_.gateway.listen + ":" +
                                              std::to_string(config_.gateway.port));
  }
  server_.WidenBacklog(1024);
  port_ = port;
  publisher_.Start();
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return port;
}

void Gateway::Stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
  publisher_.Stop();
}

void Gateway::Routes() {
  // Chunked bodies bypass cpp-httplib 0.11's payload limit: refuse them before reading.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // A POST without Content-Length would be read until the client stops, past every limit.
    std::string te = req.get_header_value("Transfer-Encoding");
    std::transform(te.begin(), te.end(), te.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    bool chunked = te.find("chunked") != std::string::npos;
    if (req.method == "POST" && (chunked || !req.has_header("Content-Length"))) {
      res.set_header("Connection", "close");
      SendJson(res, 411,
               ErrorJson(errors::kLengthRequired,
                         "Chunked or unsized uploads are not accepted; send a Content-Length."));
      return httplib::Server::HandlerResponse::Handled;
    }
    // Too large by its Content-Length: answer at once instead of reading (and discarding) it.
    if (req.method == "POST" &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
            static_cast<unsigned long long>(config_.gateway.max_request_bytes)) {
      res.set_header("Connection", "close");
      SendJson(res, 413,
               ErrorJson(errors::kPayloadTooLarge,
                         "Die Anfrage ist zu groß (höchstens " +
                             std::to_string(config_.gateway.max_request_bytes / 1000000) +
                             " MB). Bitte weniger oder kleinere Fotos senden."));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_.Get("/", [this](const auto& req, auto& res) { HandleFormPage(req, res); });
  server_.Get("/formular", [this](const auto& req, auto& res) { HandleFormPage(req, res); });
  server_.Post("/formular/meldung",
               [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { HandleFormPost(req, res, reader); });
  server_.Post("/api/v1/reports",
               [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { HandleApiPost(req, res, reader); });
  server_.Get(R"(/api/v1/reports/([^/]+))",
              [this](const auto& req, auto& res) { HandleStatus(req, res); });
  server_.Get("/webhooks/whatsapp",
              [this](const auto& req, auto& res) { HandleWhatsAppVerify(req, res); });
  server_.Post("/webhooks/whatsapp",
               [this](const auto& req, auto& res) { HandleWhatsAppPost(req, res); });
  server_.Post("/webhooks/telegram",
               [this](const auto& req, auto& res) { HandleTelegramPost(req, res); });
  for (const char* step : {"voice", "menu", "recorded", "recording", "transcription", "sms"}) {
    std::string name = step;
    server_.Post("/webhooks/phone/" + name,
                 [this, name](const auto& req, auto& res) { HandlePhone(req, res, name); });
  }
  server_.Post("/api/v1/mail", [this](const auto& req, auto& res) { HandleMail(req, res); });
  for (const char* provider : {"mailgun", "sendgrid"}) {
    std::string name = provider;
    server_.Post("/webhooks/" + name,
                 [this, name](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
                   HandleInboundParse(req, res, reader, name);
                 });
  }
  server_.Post("/webhooks/phone/transcript",
               [this](const auto& req, auto& res) { HandlePhoneTranscript(req, res); });
  server_.Get(R"(/media/([0-9a-f]{64}))",
              [this](const auto& req, auto& res) { HandleMediaLink(req, res); });
  server_.Get("/abmelden", [this](const auto& req, auto& res) { HandleOptOutPage(req, res); });
  server_.Post("/abmelden", [this](const auto& req, auto& res) { HandleOptOutPost(req, res); });
  // Open311 GeoReport v2 (gateway/open311.cpp).
  server_.Get(R"(/open311/v2/(.+))",
              [this](const auto& req, auto& res) { HandleOpen311Get(req, res); });
  server_.Post(
      R"(/open311/v2/(requests(\.json|\.xml)?))",
      [this](const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader& reader) { HandleOpen311Post(req, res, reader); });
  server_.Get("/healthz",
              [](const auto&, auto& res) { res.set_content("ok\n", "text/plain; charset=utf-8"); });
  server_.Get("/readyz", [this](const auto& req, auto& res) { HandleReady(req, res); });
  server_.Get("/metrics", [this](const auto&, auto& res) {
    res.set_content(registry_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_.set_payload_max_length(static_cast<size_t>(config_.gateway.max_request_bytes));
  server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty())
      return;
    if (res.status == 413) {
      SendJson(res, 413,
               ErrorJson(errors::kPayloadTooLarge,
                         "Die Anfrage ist zu groß. Bitte weniger oder kleinere Fotos "
                         "senden."));
    } else if (res.status == 404) {
      SendJson(res, 404, ErrorJson(errors::kNotFound, "Diese Seite gibt es nicht."));
    }
  });
}

void Gateway::HandleFormPage(const httplib::Request&, httplib::Response& res) {
  webform::FormPage page;
  page.town_name = config_.town.name;
  for (const auto& c : config_.categories) {
    page.categories.push_back({c.code, c.name, c.group});
  }
  page.form_token = NewFormToken();
  page.max_photos = config_.webform.max_photos;
  page.max_photo_bytes = config_.webform.max_photo_bytes;
  res.set_header("Cache-Control", "no-store");
  res.set_content(webform::RenderFormPage(page), "text/html; charset=utf-8");
}

Result<std::string> Gateway::ReadRaw(httplib::Response& res, const httplib::ContentReader& reader) {
  std::string raw;
  const size_t cap = static_cast<size_t>(config_.gateway.max_request_bytes);
  bool over = false;
  bool ok = reader([&](const char* data, size_t n) {
    over = raw.size() + n > cap;
    if (!over)
      raw.append(data, n);
    return !over;
  });
  if (!ok && (res.status == 413 || over))
    return TooLarge(config_, res);
  if (!ok) {
    return MakeError(errors::kPayloadInvalid, "Die Anfrage konnte nicht gelesen werden.");
  }
  return raw;
}

Result<Gateway::Body> Gateway::ReadBody(const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
  Body body;
  auto too_large = [&]() { return TooLarge(config_, res); };
  const std::string content_type = req.get_header_value("Content-Type");
  const size_t file_cap = static_cast<size_t>(config_.webform.max_photo_bytes) + 1;
  if (req.is_multipart_form_data()) {
    std::vector<webform::UploadedFile> parts;
    bool ok = reader(
        [&](const httplib::MultipartFormData& header) {
          parts.push_back({header.name, header.filename, header.content_type, {}});
          return parts.size() <= 64;
        },
        [&](const char* data, size_t n) {
          std::string& content = parts.back().content;
          // Keep at most one byte beyond the limit: enough to know a photo is too large.
          content.append(data, std::min(n, file_cap - std::min(file_cap, content.size())));
          return true;
        });
    if (!ok && res.status == 413)
      return too_large();
    if (!ok) {
      return MakeError(errors::kMultipartInvalid,
                       parts.size() > 64 ? "Zu viele Teile in der Anfrage."
                                         : "Die Formulardaten sind beschädigt (multipart).");
    }
    // What is kept for audit: every part's metadata and text, files by their digest.
    json summary = json::array();
    for (const auto& p : parts) {
      json part{{"name", p.field}, {"size", p.content.size()}};
      if (!p.filename.empty() || webform::CanonicalField(p.field) == "photos") {
        part["filename"] = p.filename;
        part["content_type"] = p.declared_type;
        part["sha256"] = Sha256Hex(p.content);
      } else {
        part["value"] = IsValidUtf8(p.content) ? p.content : std::string("(invalid UTF-8)");
      }
      summary.push_back(part);
    }
    body.raw = {kMultipartSummaryType, summary.dump()};
    auto sub = webform::FromParts(parts);
    if (!sub)
      return sub.error();
    body.submission = std::move(sub).value();
  } else {
    auto read = ReadRaw(res, reader);
    if (!read)
      return read.error();
    std::string raw = std::move(read).value();
    Result<webform::Submission> sub = webform::Submission{};
    if (content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      sub = webform::FromUrlEncoded(raw);
    } else if (content_type.rfind("application/json", 0) == 0) {
      sub = webform::FromJson(raw);
    } else {
      return MakeError(errors::kUnsupportedMediaType,
                       "Erwartet wird application/json, multipart/form-data oder "
                       "application/x-www-form-urlencoded.");
    }
    if (!sub)
      return sub.error();
    body.submission = std::move(sub).value();
    body.raw = {content_type, std::move(raw)};
  }
  body.hash = Sha256Hex(body.raw.body);
  return body;
}

Gateway::Accepted Gateway::Accept(const std::string& channel, webform::Intake intake,
                                  const std::string& dedup_key, const std::string& request_hash,
                                  RawPayload raw) {
  Accepted out;
  auto fail = [&](Error e) {
    out.status = StatusFor(e.code);
    out.error = std::move(e);
    return out;
  };
  Report& r = intake.report;
  for (auto& photo : intake.photos) {
    // The place the camera recorded, when the citizen gave none (docs/report-schema.md).
    if (!r.location.lat && r.location.address.empty()) {
      if (auto meta = ReadPhotoMetadata(photo.content); meta && meta->lat && meta->lon) {
        r.location.lat = meta->lat;
        r.location.lon = meta->lon;
        r.location.source = LocationSource::kPhoto;
      }
    }
    // Staff see a copy without EXIF/XMP/IPTC, turned upright; the original is not kept.
    if (auto stripped = StripPhoto(photo.content); stripped) {
      photo.content = std::move(stripped).value();
      photo.sha256 = Sha256Hex(photo.content);
    } else {
      log::Warn("photo metadata not removed", {{"reason", stripped.error().message}});
    }
  }
  for (const auto& photo : intake.photos) {
    r.attachments.push_back({photo.sha256, photo.media_type,
                             static_cast<int64_t>(photo.content.size()), photo.filename});
  }
  int64_t received_ms = NowMillis();
  r.id = NewUuid();
  r.reference = references_.Next();
  r.channel = channel;
  r.channel_message_id = dedup_key.empty() ? r.id : dedup_key;
  r.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  r.raw_ref = "sha256:" + request_hash;  // request_hash is the digest of raw.body
  std::string envelope = EncodeEnvelope(Envelope{r, std::move(raw)});
  std::string message_id = r.id;
  if (!dedup_key.empty()) {
    auto existing =
        store_.Reserve(channel, dedup_key, {r.reference, r.id, request_hash, "pending", envelope});
    if (!existing) {
      log::Warn("database unavailable at intake", {{"error", existing.error().detail}});
      return fail(existing.error());
    }
    if (existing->has_value()) {
      const IntakeStore::Key& k = **existing;
      if (k.request_hash != request_hash && channel != kFormChannel) {
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
  auto published =
      publisher_.Publish(envelope, message_id, received_ms,
                         std::chrono::milliseconds(config_.gateway.publish_timeout_ms));
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
  if (channel == kFormChannel || channel == kAppChannel) {
    (channel == kFormChannel ? accepted_form_ : accepted_app_).Inc();
  } else {
    AcceptedCounter(registry_, channel.c_str()).Inc();
  }
  log::Info("report accepted", {{"reference", r.reference},
                                {"channel", channel},
                                {"photos", std::to_string(r.attachments.size())}});
  return out;
}

void Gateway::HandleApiPost(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
  received_app_.Inc();
  auto reject = [&](ErrorCode code, const std::string& message,
                    const std::vector<webform::FieldError>& fields = {}) {
    CountRejected(kAppChannel, code.str());
    SendJson(res, StatusFor(code), ErrorJson(code, message, fields));
  };
  std::string key = req.get_header_value("Idempotency-Key");
  if (key.size() > 200 || (!key.empty() && !IsValidUtf8(key))) {
    return reject(errors::kIdempotencyKeyInvalid,
                  "Idempotency-Key must be valid UTF-8 of at most 200 bytes.");
  }
  auto body = ReadBody(req, res, reader);
  if (!body) {
    return reject(body.error().code, body.error().message);
  }
  webform::Limits limits{config_.webform.max_photos, config_.webform.max_photo_bytes,
                         config_.webform.max_description_chars};
  webform::Validation v = webform::Validate(body->submission, limits, config_);
  if (!v.intake) {
    const auto& first = v.errors.front();
    return reject(first.code, first.message, v.errors);
  }
  Accepted a = Accept(kAppChannel, std::move(*v.intake), key, body->hash, std::move(body->raw));
  if (a.status != 202) {
    if (a.status == 503)
      SetUnavailable(res);
    return reject(a.error.code, a.status == 503 ? "Der Dienst ist vorübergehend nicht "
                                                  "erreichbar. Bitte später erneut senden."
                                                : a.error.message);
  }
  if (a.replay)
    res.set_header("Idempotent-Replayed", "true");
  res.set_header("Location", "/api/v1/reports/" + a.reference);
  SendJson(
      res, 202,
      json{{"reference", a.reference},
           {"status_url", config_.gateway.public_base_url + "/api/v1/reports/" + a.reference}});
}

void Gateway::HandleFormPost(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
  received_form_.Inc();
  webform::FormPage page;
  page.town_name = config_.town.name;
  for (const auto& c : config_.categories) {
    page.categories.push_back({c.code, c.name, c.group});
  }
  page.max_photos = config_.webform.max_photos;
  page.max_photo_bytes = config_.webform.max_photo_bytes;
  auto show_form = [&](int status, const std::string& code) {
    CountRejected(kFormChannel, code);
    if (page.form_token.empty())
      page.form_token = NewFormToken();
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(webform::RenderFormPage(page), "text/html; charset=utf-8");
  };
  auto confirm = [&](const std::string& reference, bool email) {
    webform::ConfirmationPage c{config_.town.name, reference,
                                config_.gateway.public_base_url + "/api/v1/reports/" + reference,
                                email};
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(webform::RenderConfirmationPage(c), "text/html; charset=utf-8");
  };
  auto body = ReadBody(req, res, reader);
  if (!body) {
    page.errors.push_back(body.error().message);
    return show_form(StatusFor(body.error().code), body.error().code.str());
  }
  const auto& fields = body->submission.fields;
  auto field = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  page.values = {field("description"), field("category"), field("address"), field("lat"),
                 field("lon"),         field("email"),    field("phone"),   field("language")};
  // Bots: a filled honeypot, or a token that is missing, forged or submitted too fast, is
  // answered like a success; nothing is published.
  auto discard = [&](const std::string& reason) {
    registry_
        .GetCounter("meldestelle_spam_discarded_total",
                    "Form submissions answered like a success but discarded, by reason.",
                    {{"reason", reason}})
        .Inc();
    log::Info("form submission discarded", {{"reason", reason}});
    confirm(references_.Next(), false);
  };
  if (!TrimAscii(field("website")).empty()) {
    return discard("honeypot");
  }
  auto token = webform::VerifyFormToken(field("form_token"), config_.webform.token_secret,
                                        NowUnix(), config_.webform.token_min_age_seconds,
                                        config_.webform.token_max_age_seconds);
  if (token.verdict == webform::TokenVerdict::kExpired) {
    page.errors.push_back(
        "Das Formular war zu lange geöffnet. Bitte prüfen Sie Ihre Angaben, wählen Sie die Fotos "
        "erneut aus und senden Sie noch einmal ab.");
    return show_form(400, "token_expired");
  }
  if (token.verdict != webform::TokenVerdict::kValid) {
    return discard(std::string("token_") + webform::ToString(token.verdict));
  }
  webform::Limits limits{config_.webform.max_photos, config_.webform.max_photo_bytes,
                         config_.webform.max_description_chars};
  webform::Validation v = webform::Validate(body->submission, limits, config_);
  if (!v.intake) {
    for (const auto& e : v.errors) {
      std::string name = FormFieldName(e.field);
      if (name.empty() || page.field_errors.count(name) > 0) {
        page.errors.push_back(e.message);
      } else {
        page.field_errors[name] = e.message;
      }
    }
    return show_form(StatusFor(v.errors.front().code), v.errors.front().code.str());
  }
  bool email = v.intake->report.reporter.ack_channel == "email";
  Accepted a =
      Accept(kFormChannel, std::move(*v.intake), token.nonce, body->hash, std::move(body->raw));
  if (a.status != 202) {
    if (a.status == 503) {
      SetUnavailable(res);
      // Keep the token: a resubmission then meets the pending reservation and gets the same
      // reference, so a report that was queued after all is not doubled.
      page.form_token = field("form_token");
    }
    page.errors.push_back(a.status == 503
                              ? "Ihre Meldung konnte gerade nicht angenommen werden. Bitte senden "
                                "Sie sie in einigen Minuten noch einmal – Ihre Angaben bleiben "
                                "erhalten (Fotos bitte erneut auswählen)."
                              : a.error.message);
    return show_form(a.status, a.error.code.str());
  }
  if (a.replay) {
    registry_
        .GetCounter("meldestelle_spam_discarded_total",
                    "Form submissions answered like a success but discarded, by reason.",
                    {{"reason", "token_replayed"}})
        .Inc();
  }
  confirm(a.reference, email);
}

void Gateway::HandleStatus(const httplib::Request& req, httplib::Response& res) {
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
  SendJson(res, 200, body);
}

void Gateway::HandleReady(const httplib::Request&, httplib::Response& res) {
  bool broker = publisher_.Connected();
  auto db = store_.Ping();
  json body{{"broker", broker ? "ok" : "unavailable"}, {"database", db ? "ok" : "unavailable"}};
  SendJson(res, broker && db ? 200 : 503, body);
}

}  // namespace meldestelle::gateway
