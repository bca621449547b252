// The WhatsApp Business Cloud API's webhook (docs/channels/whatsapp.md): the GET handshake, and
// POST notifications authenticated by X-Hub-Signature-256 on the raw body, parsed into events
// and published as one chat batch; Meta gets 200 only after the broker confirmed it (a 503 makes
// it retry, and the worker deduplicates).
#include "channels/whatsapp/webhook.hpp"

#include <httplib.h>

#include "channels/chat/publish.hpp"
#include "channels/http.hpp"
#include "channels/whatsapp/settings.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"

namespace meldestelle::whatsapp {

namespace {

void Verify(channels::Intake& intake, const httplib::Request& req, httplib::Response& res) {
  const Settings& settings = intake.config().Get<Settings>();
  if (!settings.enabled()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The WhatsApp channel is not configured.");
  }
  auto challenge =
      VerifyHandshake(req.get_param_value("hub.mode"), req.get_param_value("hub.verify_token"),
                      req.get_param_value("hub.challenge"), settings.verify_token);
  if (!challenge) {
    intake.CountWebhook("whatsapp", "verify_refused");
    return channels::SendError(
        res, 403, errors::kVerifyTokenMismatch,
        "hub.mode must be subscribe and hub.verify_token must match the configured "
        "verify token.");
  }
  intake.CountWebhook("whatsapp", "verified");
  res.status = 200;
  res.set_content(*challenge, "text/plain");
}

void Notification(channels::Intake& intake, const httplib::Request& req, httplib::Response& res) {
  const Settings& settings = intake.config().Get<Settings>();
  if (!settings.enabled()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The WhatsApp channel is not configured.");
  }
  switch (
      VerifySignature(settings.app_secret, req.body, req.get_header_value("X-Hub-Signature-256"))) {
    case SignatureCheck::kMissing:
      intake.CountWebhook("whatsapp", "signature_missing");
      return channels::SendError(
          res, 401, errors::kSignatureMissing,
          "X-Hub-Signature-256 is required (HMAC-SHA256 of the body with the app "
          "secret).");
    case SignatureCheck::kMismatch:
      intake.CountWebhook("whatsapp", "signature_invalid");
      log::Warn("whatsapp webhook with a wrong signature refused", {});
      return channels::SendError(res, 403, errors::kSignatureInvalid,
                                 "X-Hub-Signature-256 does not match the body.");
    case SignatureCheck::kOk:
      break;
  }
  std::vector<Error> skipped;
  auto events = ParseNotification(req.body, &skipped);
  if (!events) {
    intake.CountWebhook("whatsapp", "invalid");
    return channels::SendError(res, 400, events.error().code, events.error().message);
  }
  if (!skipped.empty()) {
    // The others are taken: Meta would send the same notification again and again.
    intake.CountWebhook("whatsapp", "items_skipped");
    log::Warn("whatsapp notification: items that could not be read were left out",
              {{"count", std::to_string(skipped.size())}, {"first", skipped.front().message}});
  }
  chat::PublishBatch(intake, "whatsapp", std::move(events).value(), req, res);
}

}  // namespace

void RegisterRoutes(httplib::Server& server, channels::Intake& intake) {
  server.Get("/webhooks/whatsapp",
             [&intake](const auto& req, auto& res) { Verify(intake, req, res); });
  server.Post("/webhooks/whatsapp",
              [&intake](const auto& req, auto& res) { Notification(intake, req, res); });
}

}  // namespace meldestelle::whatsapp
