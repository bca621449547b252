// The messenger webhooks: WhatsApp Business Cloud API and Telegram Bot API
// (docs/channels/whatsapp.md, docs/channels/telegram.md). Each request is authenticated on its
// raw bytes, parsed into events, and published as one chat batch; the provider gets 200 only
// after the broker confirmed it (a 503 makes it retry, and the worker deduplicates).
#include <nlohmann/json.hpp>

#include "channels/chat/batch.hpp"
#include "channels/telegram/telegram.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "gateway/respond.hpp"
#include "gateway/server.hpp"

namespace meldestelle::gateway {

void Gateway::CountWebhook(const std::string& channel, const std::string& outcome) {
  registry_
      .GetCounter("meldestelle_webhook_requests_total",
                  "Provider webhook requests, by channel and outcome.",
                  {{"channel", channel}, {"outcome", outcome}})
      .Inc();
}

void Gateway::HandleWhatsAppVerify(const httplib::Request& req, httplib::Response& res) {
  if (!config_.whatsapp.enabled()) {
    return SendError(res, 404, errors::kChannelDisabled, "The WhatsApp channel is not configured.");
  }
  auto challenge = whatsapp::VerifyHandshake(
      req.get_param_value("hub.mode"), req.get_param_value("hub.verify_token"),
      req.get_param_value("hub.challenge"), config_.whatsapp.verify_token);
  if (!challenge) {
    CountWebhook("whatsapp", "verify_refused");
    return SendError(res, 403, errors::kVerifyTokenMismatch,
                     "hub.mode must be subscribe and hub.verify_token must match the configured "
                     "verify token.");
  }
  CountWebhook("whatsapp", "verified");
  res.status = 200;
  res.set_content(*challenge, "text/plain");
}

void Gateway::HandleWhatsAppPost(const httplib::Request& req, httplib::Response& res) {
  if (!config_.whatsapp.enabled()) {
    return SendError(res, 404, errors::kChannelDisabled, "The WhatsApp channel is not configured.");
  }
  switch (whatsapp::VerifySignature(config_.whatsapp.app_secret, req.body,
                                    req.get_header_value("X-Hub-Signature-256"))) {
    case whatsapp::SignatureCheck::kMissing:
      CountWebhook("whatsapp", "signature_missing");
      return SendError(res, 401, errors::kSignatureMissing,
                       "X-Hub-Signature-256 is required (HMAC-SHA256 of the body with the app "
                       "secret).");
    case whatsapp::SignatureCheck::kMismatch:
      CountWebhook("whatsapp", "signature_invalid");
      log::Warn("whatsapp webhook with a wrong signature refused", {});
      return SendError(res, 403, errors::kSignatureInvalid,
                       "X-Hub-Signature-256 does not match the body.");
    case whatsapp::SignatureCheck::kOk:
      break;
  }
  auto events = whatsapp::ParseNotification(req.body);
  if (!events) {
    CountWebhook("whatsapp", "invalid");
    return SendError(res, 400, events.error().code, events.error().message);
  }
  PublishChat("whatsapp", std::move(events).value(), req, res);
}

void Gateway::HandleTelegramPost(const httplib::Request& req, httplib::Response& res) {
  if (!config_.telegram.enabled()) {
    return SendError(res, 404, errors::kChannelDisabled, "The Telegram channel is not configured.");
  }
  std::string secret = req.get_header_value("X-Telegram-Bot-Api-Secret-Token");
  if (secret.empty()) {
    CountWebhook("telegram", "secret_missing");
    return SendError(res, 401, errors::kSecretMissing,
                     "X-Telegram-Bot-Api-Secret-Token is required (the secret_token given to "
                     "setWebhook).");
  }
  if (!telegram::VerifySecret(config_.telegram.secret_token, secret)) {
    CountWebhook("telegram", "secret_invalid");
    log::Warn("telegram webhook with a wrong secret refused", {});
    return SendError(res, 403, errors::kSecretInvalid,
                     "X-Telegram-Bot-Api-Secret-Token does not match.");
  }
  auto events = telegram::ParseUpdate(req.body);
  if (!events) {
    CountWebhook("telegram", "invalid");
    return SendError(res, 400, events.error().code, events.error().message);
  }
  PublishChat("telegram", std::move(events).value(), req, res);
}

void Gateway::PublishChat(const std::string& channel, std::vector<chat::ChatEvent> events,
                          const httplib::Request& req, httplib::Response& res) {
  if (events.empty()) {
    // Service messages, channel posts and the like: nothing to do, and nothing to retry.
    CountWebhook(channel, "ignored");
    res.status = 200;
    res.set_content("{}", "application/json");
    return;
  }
  int64_t received_ms = NowMillis();
  chat::Batch batch;
  batch.channel = channel;
  batch.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  for (auto& e : events) {
    batch.items.push_back({std::move(e), references_.Next(), NewUuid()});
  }
  batch.raw = {req.get_header_value("Content-Type"), req.body};
  // The same notification delivered twice gets the same message id (for tracing only: the
  // worker deduplicates on the providers' ids).
  std::string message_id = channel + ":" + Sha256Hex(req.body).substr(0, 32);
  auto published =
      publisher_.Publish(chat::EncodeBatch(batch), message_id, received_ms,
                         std::chrono::milliseconds(config_.gateway.publish_timeout_ms));
  if (!published) {
    CountWebhook(channel, "unavailable");
    log::Warn("chat notification not accepted: broker",
              {{"channel", channel}, {"error", published.error().message}});
    res.set_header("Retry-After", "5");
    return SendError(res, 503, published.error().code, "The broker is unavailable; please retry.");
  }
  CountWebhook(channel, "accepted");
  registry_
      .GetCounter("meldestelle_chat_events_total", "Chat events accepted, by channel.",
                  {{"channel", channel}})
      .Inc(static_cast<double>(batch.items.size()));
  res.status = 200;
  res.set_content("{}", "application/json");
}

}  // namespace meldestelle::gateway
