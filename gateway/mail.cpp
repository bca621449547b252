// Raw e-mail intake (docs/channels/email.md): `meldestelle mailgate` (the town's mail server pipes
// each message into it) and `meldestelle mail-poll` (IMAP) post the RFC 5322 bytes here. The
// message is parsed and checked against the limits before anything is published, so a refused
// message leaves no trace; the same message again (by Message-ID) gets the first reference.
#include "channels/email/mail.hpp"

#include <nlohmann/json.hpp>

#include "channels/email/message.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "gateway/server.hpp"

namespace meldestelle::gateway {

namespace {

void Send(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  Send(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Gateway::HandleMail(const httplib::Request& req, httplib::Response& res) {
  const Config::Email& cfg = config_.email;
  if (cfg.intake_secret.empty()) {
    return SendError(res, 404, "channel_disabled",
                     "Mail intake is not configured (email.intake_secret).");
  }
  std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) {
    CountWebhook("email", "auth_missing");
    return SendError(res, 401, "auth_missing", "Authorization: Bearer <mail secret> is required.");
  }
  if (!ConstantTimeEquals(auth, "Bearer " + cfg.intake_secret)) {
    CountWebhook("email", "auth_invalid");
    return SendError(res, 403, "auth_invalid", "The mail secret does not match.");
  }
  email::Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  auto mail = email::ParseMail(req.body, limits);
  if (!mail) {
    CountWebhook("email", mail.error().code);
    log::Warn("mail refused", {{"reason", mail.error().code}});
    return SendError(res, mail.error().code == "mail_too_large" ? 413 : 422, mail.error().code,
                     mail.error().message);
  }
  std::string source = req.get_param_value("source");
  if (source != "imap" && source != "mailgate")
    source = "api";
  int64_t received_ms = NowMillis();
  email::Message m;
  m.reference = references_.Next();
  m.report_id = NewUuid();
  m.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  m.source = source;
  m.raw = req.body;
  std::string body = email::EncodeMessage(m);
  std::string message_id = m.report_id;
  bool repeated = false;
  // The same message through IMAP and the mail server, or fetched twice: one reference.
  auto existing = store_.Reserve("email", mail->dedupe_key,
                                 {m.reference, m.report_id, Sha256Hex(req.body), "pending", body});
  if (!existing) {
    log::Warn("database unavailable at mail intake", {{"error", existing.error().detail}});
    res.set_header("Retry-After", "30");
    return SendError(res, 503, "db_unavailable", "The database is unavailable; try again later.");
  }
  if (existing->has_value()) {
    m.reference = (*existing)->reference;
    if ((*existing)->state == "confirmed") {
      CountWebhook("email", "repeated");
      return Send(res, 200, {{"reference", m.reference}, {"repeated", true}});
    }
    body = (*existing)->envelope;
    message_id = (*existing)->report_id;
    repeated = true;
  }
  auto published = publisher_.Publish(
      body, message_id, received_ms, std::chrono::milliseconds(config_.gateway.publish_timeout_ms));
  if (!published) {
    CountWebhook("email", "unavailable");
    res.set_header("Retry-After", "30");
    return SendError(res, 503, published.error().code,
                     "The broker is unavailable; try again later.");
  }
  (void)store_.MarkConfirmed("email", mail->dedupe_key);
  CountWebhook("email", "accepted");
  log::Info("mail accepted", {{"reference", m.reference},
                              {"source", source},
                              {"robot", mail->robot == email::Robot::kNone ? "no" : "yes"}});
  Send(res, 202, {{"reference", m.reference}, {"repeated", repeated}});
}

}  // namespace meldestelle::gateway
