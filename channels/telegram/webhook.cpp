// The Telegram Bot API's webhook (docs/channels/telegram.md): updates authenticated by the
// X-Telegram-Bot-Api-Secret-Token given to setWebhook, parsed into events and published as one
// chat batch; Telegram gets 200 only after the broker confirmed it.
#include "channels/telegram/webhook.hpp"

#include <httplib.h>

#include "channels/chat/publish.hpp"
#include "channels/http.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/telegram/telegram.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"

namespace meldestelle::telegram {

namespace {

void Update(channels::Intake& intake, const httplib::Request& req, httplib::Response& res) {
  const Settings& settings = intake.config().Get<Settings>();
  if (!settings.enabled()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The Telegram channel is not configured.");
  }
  std::string secret = req.get_header_value("X-Telegram-Bot-Api-Secret-Token");
  if (secret.empty()) {
    intake.CountWebhook("telegram", "secret_missing");
    return channels::SendError(
        res, 401, errors::kSecretMissing,
        "X-Telegram-Bot-Api-Secret-Token is required (the secret_token given to "
        "setWebhook).");
  }
  if (!VerifySecret(settings.secret_token, secret)) {
    intake.CountWebhook("telegram", "secret_invalid");
    log::Warn("telegram webhook with a wrong secret refused", {});
    return channels::SendError(res, 403, errors::kSecretInvalid,
                               "X-Telegram-Bot-Api-Secret-Token does not match.");
  }
  auto events = ParseUpdate(req.body);
  if (!events) {
    intake.CountWebhook("telegram", "invalid");
    return channels::SendError(res, 400, events.error().code, events.error().message);
  }
  chat::PublishBatch(intake, "telegram", std::move(events).value(), req, res);
}

}  // namespace

void RegisterRoutes(httplib::Server& server, channels::Intake& intake) {
  server.Post("/webhooks/telegram",
              [&intake](const auto& req, auto& res) { Update(intake, req, res); });
}

}  // namespace meldestelle::telegram
