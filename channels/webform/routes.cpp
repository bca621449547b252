// The web form and the report API for apps (docs/intake-api.md): GET / and /formular (the form),
// POST /formular/meldung (the form's submission, answered with HTML) and POST /api/v1/reports
// (JSON or multipart, answered with JSON). The body is read by our own code (no 8 KB limit on
// url-encoded bodies, multipart parts streamed, a photo capped at its limit + 1 byte while
// reading), parsed and validated by the pure adapter (channels/webform/intake); any error
// answers 4xx and nothing is stored or published. The form also checks the honeypot and the
// signed time token: bots get a success page and nothing happens.
#include "channels/webform/routes.hpp"

#include <httplib.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "channels/http.hpp"
#include "channels/webform/html.hpp"
#include "channels/webform/intake.hpp"
#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"
#include "channels/webform/token.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json_writer.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace meldestelle::webform {

namespace {

using channels::Accepted;
using channels::HttpStatusFor;
using channels::NowMillis;
using channels::ReadAll;
using channels::SendJson;
using nlohmann::json;

constexpr const char* kMultipartSummaryType = "application/vnd.meldestelle.multipart-summary+json";

int64_t NowUnix() { return NowMillis() / 1000; }

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

json ErrorJson(ErrorCode code, const std::string& message,
               const std::vector<FieldError>& fields = {}) {
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

metrics::Counter& Counter(metrics::Registry& r, const char* name, const char* help,
                          const std::string& channel) {
  return r.GetCounter(name, help, {{"channel", channel}});
}

// The handlers of one channel (webform or app). Shared by the server's threads: only counters
// (atomic) and the thread-safe Intake.
class Routes {
 public:
  Routes(channels::Intake& intake, std::string channel)
      : intake_(intake),
        settings_(intake.config().Get<Settings>()),
        form_key_(PurposeKey(intake.config(), KeyPurpose::kFormTokens)),
        channel_(std::move(channel)),
        // Counters on the hot path are looked up once, not per request (the lookup locks).
        received_(Counter(intake.metrics(), "meldestelle_reports_received_total",
                          "Submissions received, by channel.", channel_)),
        accepted_(Counter(intake.metrics(), "meldestelle_reports_accepted_total",
                          "Reports accepted (broker-confirmed), by channel.", channel_)) {}

  void ShowForm(const httplib::Request& req, httplib::Response& res);
  void SubmitForm(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  void SubmitReport(const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader);

 private:
  struct Body {
    Submission submission;
    RawPayload raw;
  };
  const Config& config() const { return intake_.config(); }
  size_t MaxRequestBytes() const { return static_cast<size_t>(config().gateway.max_request_bytes); }
  Error TooLarge(httplib::Response& res) const;
  Result<Body> ReadBody(const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader);
  std::string NewFormToken() const { return IssueFormToken(form_key_, NowUnix()); }
  Limits SubmissionLimits() const {
    return {settings_.max_photos, settings_.max_photo_bytes, settings_.max_description_chars, true,
            &intake_.AcknowledgementSenders()};
  }
  FormPage EmptyPage(const texts::Lang& t) const;
  // The form's language before its body is read: ?lang=, else the browser's.
  texts::Lang RequestLanguage(const httplib::Request& req) const {
    return texts::For(config(), texts::Choose(req.get_param_value("lang"),
                                              channels::Header(req, "Accept-Language")));
  }
  // The form again, with the citizen's values and what was wrong.
  void ShowFormAgain(httplib::Response& res, FormPage& page, int status, const std::string& code);
  void Confirm(httplib::Response& res, const std::string& reference, const Reporter& reporter,
               const texts::Lang& t);
  // The form again with the values, to confirm with one click (a suspicious, not a bot's,
  // submission), counted in meldestelle_reports_rejected_total{reason="token_…"}.
  void AskToConfirm(httplib::Response& res, FormPage& page, const TokenCheck& token,
                    bool had_photos);
  void CountDiscarded(const std::string& reason);
  // A bot's submission is answered like a success; nothing is published.
  void Discard(httplib::Response& res, const std::string& reason, const texts::Lang& t);

  channels::Intake& intake_;
  const Settings& settings_;
  const std::string form_key_;  // signs the form's tokens (core/links.hpp)
  const std::string channel_;
  metrics::Counter& received_;
  metrics::Counter& accepted_;
};

Error Routes::TooLarge(httplib::Response& res) const {
  res.status = 200;
  return MakeError(errors::kPayloadTooLarge,
                   "Die Anfrage ist zu groß (höchstens " +
                       std::to_string(config().gateway.max_request_bytes / 1000000) +
                       " MB). Bitte weniger oder kleinere Fotos senden.");
}

FormPage Routes::EmptyPage(const texts::Lang& t) const {
  FormPage page;
  page.t = t;
  page.self = "/";
  // The language goes with the submission too: a page shown before its fields are read (too
  // many reports, a body that cannot be read) keeps it.
  page.action = "/formular/meldung" + t.Query();
  page.town_name = config().town.name;
  for (const auto& c : config().categories)
    page.categories.push_back({c.code, c.name, c.group});
  page.max_photos = settings_.max_photos;
  page.max_photo_bytes = settings_.max_photo_bytes;
  page.photo_scale_edge = settings_.photo_scale_edge;
  page.photos_script = html::kPhotosJs;
  page.link_public_reports = settings_.public_reports.enabled;
  const auto& senders = intake_.AcknowledgementSenders();
  page.acknowledges_email = senders.count("email") > 0;
  page.acknowledges_sms = senders.count("sms") > 0;
  if (auto centre = intake_.TownCentre(); centre && settings_.map.enabled) {
    page.map = html::PageMapOf(settings_.map, html::kFormMapJs);
    page.map.center_lat = centre->first;
    page.map.center_lon = centre->second;
  }
  return page;
}

Result<Routes::Body> Routes::ReadBody(const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader) {
  Body body;

  const std::string_view content_type = channels::Header(req, "Content-Type");
  const size_t file_cap = static_cast<size_t>(settings_.max_photo_bytes) + 1;
  if (channels::IsMultipart(content_type)) {
    std::vector<UploadedFile> parts;
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
      return TooLarge(res);
    if (!ok) {
      return MakeError(errors::kMultipartInvalid,
                       parts.size() > 64 ? "Zu viele Teile in der Anfrage."
                                         : "Die Formulardaten sind beschädigt (multipart).");
    }
    // What is kept for audit: every part's metadata and text, files by their digest.
    json summary = json::array();
    std::string description_in_raw;  // the description's value in the summary, if it is there
    for (const auto& p : parts) {
      json part{{"name", p.field}, {"size", p.content.size()}};
      std::string name = CanonicalField(p.field);
      if (!p.filename.empty() || name == "photos") {
        part["filename"] = p.filename;
        part["content_type"] = p.declared_type;
        part["sha256"] = Sha256Hex(p.content);
      } else if (IsValidUtf8(p.content)) {
        if (name == "description")  // FromParts refuses a field given twice: one such part
          description_in_raw = "/" + std::to_string(summary.size()) + "/value";
        part["value"] = p.content;
      } else {
        part["value"] = "(invalid UTF-8)";
      }
      summary.push_back(part);
    }
    body.raw = {kMultipartSummaryType, summary.dump()};
    auto sub = FromParts(parts);
    if (!sub)
      return sub.error();
    body.submission = std::move(sub).value();
    body.submission.description_in_raw = std::move(description_in_raw);
  } else {
    auto read = ReadAll(req, res, reader, MaxRequestBytes());
    if (!read)
      return read.error();
    std::string raw = std::move(read).value();
    Result<Submission> sub = Submission{};
    if (content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      sub = FromUrlEncoded(raw);
    } else if (content_type.rfind("application/json", 0) == 0) {
      sub = FromJson(raw);
    } else {
      return MakeError(errors::kUnsupportedMediaType,
                       "Erwartet wird application/json, multipart/form-data oder "
                       "application/x-www-form-urlencoded.");
    }
    if (!sub)
      return sub.error();
    body.submission = std::move(sub).value();
    // A JSON body is valid UTF-8: simdjson checked every byte of it (FromJson).
    body.raw = {std::string(content_type), std::move(raw), body.submission.utf8_checked};
  }
  return body;
}

void Routes::ShowForm(const httplib::Request& req, httplib::Response& res) {
  FormPage page = EmptyPage(RequestLanguage(req));
  page.form_token = NewFormToken();
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Language", page.t.code());
  res.set_header("Vary", "Accept-Language");
  res.set_content(RenderFormPage(page), "text/html; charset=utf-8");
}

void Routes::SubmitReport(const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
  received_.Inc();
  auto reject = [&](ErrorCode code, const std::string& message,
                    const std::vector<FieldError>& fields = {}) {
    intake_.CountRejected(channel_, code.str());
    SendJson(res, HttpStatusFor(code), ErrorJson(code, message, fields));
  };
  if (int wait = intake_.ReportRateLimited(req, channel_); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    return reject(errors::kRateLimited,
                  "Zu viele Meldungen von dieser Adresse in kurzer Zeit. "
                  "Bitte in " +
                      std::to_string(wait) + " Sekunden erneut senden.");
  }
  std::string key(channels::Header(req, "Idempotency-Key"));
  if (key.size() > 200 || (!key.empty() && !IsValidUtf8(key))) {
    return reject(errors::kIdempotencyKeyInvalid,
                  "Idempotency-Key must be valid UTF-8 of at most 200 bytes.");
  }
  auto body = ReadBody(req, res, reader);
  if (!body) {
    return reject(body.error().code, body.error().message);
  }
  Validation v = Validate(body->submission, SubmissionLimits(), config());
  if (!v.intake) {
    const auto& first = v.errors.front();
    return reject(first.code, first.message, v.errors);
  }
  Accepted a = intake_.AcceptReport({channel_, "report", key, "", std::move(body->raw), ""},
                                    std::move(*v.intake));
  if (a.status != 202) {
    if (a.status == 503)
      SetUnavailable(res);
    if (!a.error_field.empty()) {  // a photo that cannot be cleaned
      return reject(a.error.code, a.error.message,
                    {FieldError{a.error_field, a.error.code, a.error.message}});
    }
    return reject(a.error.code, a.status == 503 ? "Der Dienst ist vorübergehend nicht "
                                                  "erreichbar. Bitte später erneut senden."
                                                : a.error.message);
  }
  if (a.replay) {
    res.set_header("Idempotent-Replayed", "true");
  } else {
    accepted_.Inc();
  }
  const std::string path = "/api/v1/reports/" + a.reference;
  res.set_header("Location", path);
  // Written directly (keys in the order a JSON DOM would dump them), into room allocated once:
  // the answer to every accepted report, on the gateway's hot path (docs/benchmarks.md).
  const std::string& base = config().gateway.public_base_url;
  std::string answer;
  answer.reserve(96 + 2 * (base.size() + path.size()));
  answer += "{\"reference\":";
  json_writer::AppendString(answer, a.reference);
  answer += ",\"status_page\":";
  json_writer::AppendString(answer, StatusPageUrl(config(), a.reference));
  answer += ",\"status_url\":";
  json_writer::AppendString(answer, base + path);
  answer += '}';
  res.status = 202;
  res.set_content(std::move(answer), "application/json; charset=utf-8");
}

void Routes::ShowFormAgain(httplib::Response& res, FormPage& page, int status,
                           const std::string& code) {
  intake_.CountRejected(channel_, code);
  if (page.form_token.empty())
    page.form_token = NewFormToken();
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // Marks our own page for the form's script (fotos-2.js), which shows only such answers.
  res.set_header("X-Meldestelle-Seite", "formular");
  res.set_header("Content-Language", page.t.code());
  res.set_content(RenderFormPage(page), "text/html; charset=utf-8");
}

void Routes::Confirm(httplib::Response& res, const std::string& reference, const Reporter& reporter,
                     const texts::Lang& t) {
  ConfirmationPage c{t,
                     config().town.name,
                     reference,
                     StatusPageUrl(config(), reference) + t.Query(),
                     reporter.ack_channel,
                     !reporter.address.empty()};
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Meldestelle-Seite", "bestaetigung");
  res.set_header("X-Meldestelle-Statusseite", "/meldung/" + reference + t.Query());
  res.set_header("Content-Language", t.code());
  res.set_content(RenderConfirmationPage(c), "text/html; charset=utf-8");
}

void Routes::AskToConfirm(httplib::Response& res, FormPage& page, const TokenCheck& token,
                          bool had_photos) {
  // The new token is as old as the least age, so the confirming click passes at once; a
  // submission that was only too fast keeps its nonce (its deduplication key).
  const int64_t issued = NowUnix() - settings_.token_min_age_seconds;
  page.form_token = token.verdict == TokenVerdict::kTooFast
                        ? IssueFormTokenAt(form_key_, issued, token.nonce)
                        : IssueFormToken(form_key_, issued);
  const texts::Lang& t = page.t;
  std::string photos = had_photos ? " " + t("formular.fehler.fotos_noch_einmal") : "";
  page.errors.push_back(t(token.verdict == TokenVerdict::kExpired ? "formular.fehler.abgelaufen"
                                                                  : "formular.fehler.bestaetigen") +
                        photos);
  log::Info("form submission to confirm", {{"reason", ToString(token.verdict)}});
  ShowFormAgain(res, page, 200, std::string("token_") + ToString(token.verdict));
}

void Routes::CountDiscarded(const std::string& reason) {
  intake_.metrics()
      .GetCounter("meldestelle_spam_discarded_total",
                  "Form submissions answered like a success but discarded, by reason.",
                  {{"reason", reason}})
      .Inc();
}

void Routes::Discard(httplib::Response& res, const std::string& reason, const texts::Lang& t) {
  CountDiscarded(reason);
  log::Info("form submission discarded", {{"reason", reason}});
  Confirm(res, intake_.NewReference(), Reporter{}, t);
}

void Routes::SubmitForm(const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
  received_.Inc();
  FormPage page = EmptyPage(RequestLanguage(req));
  if (int wait = intake_.ReportRateLimited(req, channel_); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    page.errors.push_back(
        page.t("formular.fehler.zu_viele_sekunden", {{"seconds", std::to_string(wait)}}));
    return ShowFormAgain(res, page, 429, errors::kRateLimited.str());
  }
  auto body = ReadBody(req, res, reader);
  if (!body) {
    // German keeps the precise reason; the other languages get what to do.
    const ErrorCode code = body.error().code;
    page.errors.push_back(
        page.t.code() == "de" ? body.error().message
        : code == errors::kPayloadTooLarge
            ? page.t("formular.fehler.zu_gross",
                     {{"mb", std::to_string(config().gateway.max_request_bytes / 1000000)}})
            : page.t("formular.fehler.anfrage"));
    return ShowFormAgain(res, page, HttpStatusFor(code), code.str());
  }
  // The page's language from now on is the one the form was filled in (its field "sprache").
  page.t = LanguageOf(body->submission, config());
  const auto& fields = body->submission.fields;
  auto field = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  page.values = {field("description"), field("category"), field("address"), field("lat"),
                 field("lon"),         field("email"),    field("phone"),   field("language")};
  // Unambiguous bots (the invisible honeypot filled, a forged token) are answered like a
  // success; nothing is published. Only suspicious submissions (too fast: autofill, a quick
  // re-send, a page from the browser's cache; expired; a token missing or cut off) are shown
  // again for a one-click confirmation: no person is told "Vielen Dank" for a dropped report.
  if (!TrimAscii(field("website")).empty()) {
    return Discard(res, "honeypot", page.t);
  }
  auto token = VerifyFormToken(field("form_token"), form_key_, NowUnix(),
                               settings_.token_min_age_seconds, settings_.token_max_age_seconds);
  if (token.verdict == TokenVerdict::kBadSignature) {
    return Discard(res, "token_bad_signature", page.t);
  }
  if (token.verdict != TokenVerdict::kValid) {
    return AskToConfirm(res, page, token, !body->submission.files.empty());
  }
  Validation v = Validate(body->submission, SubmissionLimits(), config());
  if (!v.intake) {
    for (const auto& e : v.errors) {
      std::string name = FormFieldName(e.field);
      if (name.empty() || page.field_errors.count(name) > 0) {
        page.errors.push_back(e.message);
      } else {
        page.field_errors[name] = e.message;
      }
    }
    return ShowFormAgain(res, page, HttpStatusFor(v.errors.front().code),
                         v.errors.front().code.str());
  }
  const Reporter reporter = v.intake->report.reporter;
  Accepted a = intake_.AcceptReport({channel_, "report", token.nonce, "", std::move(body->raw), ""},
                                    std::move(*v.intake));
  if (a.status != 202) {
    if (a.status == 503) {
      SetUnavailable(res);
      // Keep the token: a resubmission then meets the pending reservation and gets the same
      // reference, so a report that was queued after all is not doubled.
      page.form_token = field("form_token");
    }
    if (!a.error_field.empty()) {  // a photo that cannot be cleaned
      page.field_errors[FormFieldName(a.error_field)] = a.error.message;
    } else {
      page.errors.push_back(a.status == 503 ? page.t("formular.fehler.nicht_angenommen")
                                            : a.error.message);
    }
    return ShowFormAgain(res, page, a.status, a.error.code.str());
  }
  if (a.replay) {
    CountDiscarded("token_replayed");
  } else {
    accepted_.Inc();
  }
  Confirm(res, a.reference, reporter, page.t);
}

}  // namespace

void RegisterFormRoutes(httplib::Server& server, channels::Intake& intake) {
  auto routes = std::make_shared<Routes>(intake, "webform");
  server.Get("/", [routes](const auto& req, auto& res) { routes->ShowForm(req, res); });
  server.Get("/formular", [routes](const auto& req, auto& res) { routes->ShowForm(req, res); });
  server.Post("/formular/meldung", [routes](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& reader) {
    routes->SubmitForm(req, res, reader);
  });
}

void RegisterApiRoutes(httplib::Server& server, channels::Intake& intake) {
  auto routes = std::make_shared<Routes>(intake, "app");
  server.Post("/api/v1/reports", [routes](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
    routes->SubmitReport(req, res, reader);
  });
}

}  // namespace meldestelle::webform
