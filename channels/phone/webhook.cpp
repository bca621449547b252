// The phone webhooks of a Twilio-compatible provider (docs/channels/phone.md). Stateless: what
// the call needs later (language, reference) travels in our own TwiML's URLs, and every event
// that matters is published to the queue, where the worker joins a call's events by CallSid.
#include "channels/phone/webhook.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "channels/http.hpp"
#include "channels/phone/message.hpp"
#include "channels/phone/settings.hpp"
#include "channels/phone/twilio.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "tickets/intake.hpp"

namespace meldestelle::phone {

namespace {

void SendTwiml(httplib::Response& res, const std::string& twiml) {
  res.status = 200;
  res.set_content(twiml, "text/xml; charset=utf-8");
}

// The built-in script with the town's name and the configured texts (phone.texts).
twilio::VoiceScript Script(const Config& config, const std::string& lang) {
  twilio::VoiceScript s = twilio::DefaultScript(lang);
  s.greeting = lang == "en" ? "Welcome to the defect reporting line of " + config.town.name + "."
                            : "Willkommen beim Mängelmelder von " + config.town.name + ".";
  const auto& configured = config.Get<Settings>().texts;
  auto texts = configured.find(lang);
  if (texts == configured.end())
    return s;
  std::pair<const char*, std::string*> fields[] = {{"greeting", &s.greeting},
                                                   {"language_offer", &s.language_offer},
                                                   {"recording_notice", &s.recording_notice},
                                                   {"instructions", &s.instructions},
                                                   {"reference_intro", &s.reference_intro},
                                                   {"repeat_intro", &s.repeat_intro},
                                                   {"sms_offer", &s.sms_offer},
                                                   {"sms_yes", &s.sms_yes},
                                                   {"goodbye", &s.goodbye},
                                                   {"nothing_heard", &s.nothing_heard},
                                                   {"unavailable", &s.unavailable}};
  for (auto& [key, field] : fields) {
    if (auto it = texts->second.find(key); it != texts->second.end())
      *field = it->second;
  }
  return s;
}

std::string Lang(const httplib::Request& req) {
  // Only our own query parameter; req.get_param_value would also see the body's fields.
  size_t q = req.target.find('?');
  std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  return query.find("lang=en") != std::string::npos ? "en" : "de";
}

}  // namespace

// Publishes one phone event; with `intake_key` the reference is reserved per key, so a retried
// webhook gets the same reference. Returns the reference, or an error.
static Result<std::string> Publish(channels::Intake& intake, Event event,
                                   const std::string& intake_key, const httplib::Request& req,
                                   const std::string& audio_url = {}) {
  int64_t received_ms = channels::NowMillis();
  Message m;
  m.event = std::move(event);
  m.reference = intake.NewReference();
  m.report_id = NewUuid();
  m.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  m.audio_url = audio_url;
  m.raw = {req.get_header_value("Content-Type"), req.body};
  std::string body = EncodeMessage(m);
  std::string message_id = m.report_id;
  if (!intake_key.empty()) {
    auto existing = intake.store().Reserve(
        "phone", intake_key, {m.reference, m.report_id, Sha256Hex(req.body), "pending", body});
    if (!existing) {
      // Without the database the reference cannot be reserved; the worker still deduplicates.
      log::Warn("phone intake key not reserved", {{"error", existing.error().detail}});
    } else if (existing->has_value() && (*existing)->state == "confirmed") {
      // A retried webhook whose message the broker has: its reference, nothing published again
      // (the confirmed row keeps no envelope).
      return (*existing)->reference;
    } else if (existing->has_value()) {
      // A retried webhook whose message was not confirmed: the same reference and message again.
      m.reference = (*existing)->reference;
      body = (*existing)->envelope;
      message_id = (*existing)->report_id;
    }
  }
  auto published = intake.Publish({std::string(kMessageType), body, message_id}, received_ms);
  if (!published)
    return published.error();
  if (!intake_key.empty())
    (void)intake.store().MarkConfirmed("phone", intake_key);
  return m.reference;
}

// The provider signs the public URL it called (behind a proxy): rebuilt from the configuration,
// with the path and query exactly as received; the parameters come from the body only.
static bool Signed(channels::Intake& intake, const httplib::Request& req,
                   const twilio::Params& params, const std::string& step, httplib::Response& res) {
  const Config& config = intake.config();
  std::string url = config.gateway.public_base_url + req.target;
  switch (twilio::VerifySignature(config.Get<Settings>().auth_token, url, params,
                                  req.get_header_value("X-Twilio-Signature"))) {
    case twilio::SignatureCheck::kMissing:
      intake.CountWebhook("phone", "signature_missing");
      channels::SendError(res, 403, errors::kSignatureMissing, "X-Twilio-Signature is required.");
      return false;
    case twilio::SignatureCheck::kMismatch:
      intake.CountWebhook("phone", "signature_invalid");
      log::Warn("phone webhook with a wrong signature refused", {{"step", step}});
      channels::SendError(res, 403, errors::kSignatureInvalid,
                          "X-Twilio-Signature does not match the URL and parameters.");
      return false;
    case twilio::SignatureCheck::kOk:
      break;
  }
  return true;
}

static void Invalid(channels::Intake& intake, httplib::Response& res, const Error& e) {
  intake.CountWebhook("phone", "invalid");
  channels::SendError(res, 400, e.code, e.message);
}

// The recording is done: the report goes to the queue, and the caller hears its reference (and
// the offer of an SMS) — or that we could not take it, never a reference we could not keep.
static void Recorded(channels::Intake& intake, const httplib::Request& req,
                     const twilio::Params& params, const std::string& lang,
                     httplib::Response& res) {
  const twilio::VoiceScript script = Script(intake.config(), lang);
  auto event = twilio::ParseRecorded(params, lang);
  if (!event)
    return Invalid(intake, res, event.error());
  std::string call = event->call_id;
  // An SMS is offered only where one can be sent (the account and the sending number:
  // channels::Registry::AcknowledgementSenders), and to a caller whose number is known and can
  // take one (a mobile number: phone.sms_prefixes).
  bool can_sms = intake.config().Get<Settings>().TakesSms(event->from) &&
                 intake.AcknowledgementSenders().count("sms") > 0;
  auto reference = Publish(intake, std::move(event).value(), "recorded:" + call, req);
  if (!reference) {
    intake.CountWebhook("phone", "unavailable");
    log::Warn("phone report not accepted: broker", {{"error", reference.error().message}});
    return SendTwiml(res, twilio::TwimlUnavailable(script));
  }
  intake.metrics()
      .GetCounter("meldestelle_reports_accepted_total",
                  "Reports accepted (broker-confirmed), by channel.", {{"channel", "phone"}})
      .Inc();
  log::Info("phone report accepted", {{"reference", *reference}});
  SendTwiml(
      res, twilio::TwimlReference(script, *reference, can_sms, "/webhooks/phone/sms?lang=" + lang));
}

// The caller's answer to the SMS offer (1 = yes): the consent goes to the queue.
static void SmsAnswer(channels::Intake& intake, const httplib::Request& req,
                      const twilio::Params& params, const std::string& lang,
                      httplib::Response& res) {
  const twilio::VoiceScript script = Script(intake.config(), lang);
  auto value = [&](std::string_view name) {
    return std::string(twilio::Find(params, name).value_or(""));
  };
  bool yes = value("Digits") == "1";
  if (yes && intake.AcknowledgementSenders().count("sms") == 0) {
    // Offered by a gateway configured otherwise (or a replayed callback): no SMS can be sent
    // from here, so none is promised and the consent is not passed on.
    log::Warn("a caller's 1 for an SMS is not taken: no SMS sender is configured here",
              {{"call", value("CallSid")}});
    yes = false;
  }
  if (yes && !intake.config().Get<Settings>().TakesSms(twilio::CallerNumber(value("From")))) {
    // Never offered to this number (a landline, a withheld number): a replayed or forged 1.
    log::Warn("a caller's 1 for an SMS is not taken: the number takes no SMS",
              {{"call", value("CallSid")}});
    yes = false;
  }
  if (yes) {
    Event e;
    e.kind = EventKind::kSmsConsent;
    e.call_id = value("CallSid");
    e.from = twilio::CallerNumber(value("From"));
    e.language = lang;
    e.dedupe_key = "sms:" + e.call_id;
    if (e.call_id.empty())
      return Invalid(intake, res, MakeError(errors::kFieldMissing, "CallSid: missing"));
    if (auto r = Publish(intake, e, "", req); !r) {
      intake.CountWebhook("phone", "unavailable");
      return SendTwiml(res, twilio::TwimlUnavailable(script));
    }
  }
  SendTwiml(res, twilio::TwimlSmsAnswer(script, yes));
}

static void Step(channels::Intake& intake, const httplib::Request& req, httplib::Response& res,
                 const std::string& step) {
  const Config& config = intake.config();
  const Settings& cfg = config.Get<Settings>();
  if (!cfg.enabled()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The phone channel is not configured.");
  }
  auto params = twilio::ParseForm(req.body);
  if (!params)
    return Invalid(intake, res, params.error());
  if (!Signed(intake, req, *params, step, res))
    return;
  const std::string lang = Lang(req);
  intake.CountWebhook("phone", step);
  if (step == "voice") {
    return SendTwiml(res, twilio::TwimlIncoming(Script(config, "de"), Script(config, "en"),
                                                "/webhooks/phone/menu"));
  }
  if (step == "menu") {
    std::string chosen = twilio::Find(*params, "Digits").value_or("") == "2" ? "en" : "de";
    std::string transcribe = "/webhooks/phone/transcription";
    bool provider = cfg.TranscriptionMode(chosen) == "provider";
    return SendTwiml(res, twilio::TwimlRecord(
                              Script(config, chosen), "/webhooks/phone/recorded?lang=" + chosen,
                              "/webhooks/phone/recording",
                              provider ? std::optional<std::string_view>(transcribe) : std::nullopt,
                              cfg.max_recording_seconds));
  }
  if (step == "recorded")
    return Recorded(intake, req, *params, lang, res);
  if (step == "sms")
    return SmsAnswer(intake, req, *params, lang, res);
  Result<Event> event = step == "recording" ? twilio::ParseRecordingStatus(*params)
                                            : twilio::ParseTranscription(*params);
  if (!event)
    return Invalid(intake, res, event.error());
  if (auto r = Publish(intake, std::move(event).value(), "", req); !r) {
    intake.CountWebhook("phone", "unavailable");
    res.set_header("Retry-After", "5");
    return channels::SendError(res, 503, r.error().code,
                               "The broker is unavailable; please retry.");
  }
  res.status = 204;
}

static void Transcript(channels::Intake& intake, const httplib::Request& req,
                       httplib::Response& res) {
  const Config& config = intake.config();
  const Settings& cfg = config.Get<Settings>();
  if (cfg.transcript_secret.empty()) {
    return channels::SendError(
        res, 404, errors::kChannelDisabled,
        "The transcript endpoint is not configured (phone.transcript_secret).");
  }
  std::string signature = req.get_header_value("X-Meldestelle-Signature");
  if (signature.empty()) {
    intake.CountWebhook("phone_transcript", "signature_missing");
    return channels::SendError(
        res, 401, errors::kSignatureMissing,
        "X-Meldestelle-Signature: sha256=<hex HMAC-SHA256 of the body> is required.");
  }
  if (!twilio::VerifyTranscriptSignature(cfg.transcript_secret, req.body, signature)) {
    intake.CountWebhook("phone_transcript", "signature_invalid");
    return channels::SendError(res, 403, errors::kSignatureInvalid,
                               "X-Meldestelle-Signature does not match.");
  }
  auto t = twilio::ParseExternalTranscript(req.body);
  if (!t) {
    intake.CountWebhook("phone_transcript", "invalid");
    return channels::SendError(res, 400, t.error().code, t.error().message);
  }
  Event e;
  e.kind = EventKind::kExternalTranscript;
  e.call_id = "ext:" + t->call_id;
  e.dedupe_key = "transcript:" + t->call_id;
  e.from = t->caller;
  e.language = t->language;
  e.transcription_status = "completed";
  e.transcription_text = t->transcript;
  auto reference = Publish(intake, e, "transcript:" + t->call_id, req, t->audio_url);
  if (!reference) {
    intake.CountWebhook("phone_transcript", "unavailable");
    res.set_header("Retry-After", "5");
    return channels::SendError(res, 503, reference.error().code,
                               "The broker is unavailable; please retry.");
  }
  intake.CountWebhook("phone_transcript", "accepted");
  res.status = 202;
  res.set_content(nlohmann::json{{"reference", *reference},
                                 {"status_url",
                                  config.gateway.public_base_url + "/api/v1/reports/" + *reference}}
                      .dump(),
                  "application/json; charset=utf-8");
}

void RegisterRoutes(httplib::Server& server, channels::Intake& intake) {
  for (const char* step : {"voice", "menu", "recorded", "recording", "transcription", "sms"}) {
    std::string name = step;
    server.Post("/webhooks/phone/" + name,
                [&intake, name](const auto& req, auto& res) { Step(intake, req, res, name); });
  }
  server.Post("/webhooks/phone/transcript",
              [&intake](const auto& req, auto& res) { Transcript(intake, req, res); });
}

}  // namespace meldestelle::phone
