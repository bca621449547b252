// Raw e-mail intake (docs/channels/email.md): `meldestelle mailgate` (the town's mail server pipes
// each message into it) and `meldestelle mail-poll` (IMAP) post the RFC 5322 bytes here. The
// message is parsed and checked against the limits before anything is published, so a refused
// message leaves no trace; the same message again (by Message-ID) gets the first reference.
#include "channels/email/routes.hpp"

#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "channels/email/message.hpp"
#include "channels/http.hpp"
#include "channels/phone/twilio.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "tickets/intake.hpp"

namespace meldestelle::email {

namespace {

void Send(httplib::Response& res, int status, const nlohmann::json& body) {
  channels::SendJson(res, status, body);
}

void AcceptMail(channels::Intake& intake, const std::string& dedupe_key, const std::string& format,
                std::string raw, const std::string& source, bool robot, httplib::Response& res);

void RawMail(channels::Intake& intake, const httplib::Request& req, httplib::Response& res) {
  const Config::Email& cfg = intake.config().email;
  if (cfg.intake_secret.empty()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "Mail intake is not configured (email.intake_secret).");
  }
  std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) {
    intake.CountWebhook("email", "auth_missing");
    return channels::SendError(res, 401, errors::kAuthMissing,
                               "Authorization: Bearer <mail secret> is required.");
  }
  if (!ConstantTimeEquals(auth, "Bearer " + cfg.intake_secret)) {
    intake.CountWebhook("email", "auth_invalid");
    return channels::SendError(res, 403, errors::kAuthInvalid, "The mail secret does not match.");
  }
  Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  auto mail = ParseMail(req.body, limits);
  if (!mail) {
    intake.CountWebhook("email", mail.error().code.str());
    log::Warn("mail refused", {{"reason", mail.error().code.str()}});
    return channels::SendError(res, mail.error().code == errors::kMailTooLarge ? 413 : 422,
                               mail.error().code, mail.error().message);
  }
  std::string source = req.get_param_value("source");
  if (source != "imap" && source != "mailgate")
    source = "api";
  AcceptMail(intake, mail->dedupe_key, "rfc822", req.body, source, mail->robot != Robot::kNone,
             res);
}

void AcceptMail(channels::Intake& intake, const std::string& dedupe_key, const std::string& format,
                std::string raw, const std::string& source, bool robot, httplib::Response& res) {
  int64_t received_ms = channels::NowMillis();
  Message m;
  m.reference = intake.NewReference();
  m.report_id = NewUuid();
  m.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  m.source = source;
  m.format = format;
  std::string hash = Sha256Hex(raw);
  m.raw = std::move(raw);
  std::string body = EncodeMessage(m);
  std::string message_id = m.report_id;
  bool repeated = false;
  // The same message through IMAP and the mail server, or fetched twice: one reference.
  auto existing = intake.store().Reserve("email", dedupe_key,
                                         {m.reference, m.report_id, hash, "pending", body});
  if (!existing) {
    log::Warn("database unavailable at mail intake", {{"error", existing.error().detail}});
    res.set_header("Retry-After", "30");
    return channels::SendError(res, 503, errors::kDbUnavailable,
                               "The database is unavailable; try again later.");
  }
  if (existing->has_value()) {
    m.reference = (*existing)->reference;
    if ((*existing)->state == "confirmed") {
      intake.CountWebhook("email", "repeated");
      return Send(res, 200, {{"reference", m.reference}, {"repeated", true}});
    }
    body = (*existing)->envelope;
    message_id = (*existing)->report_id;
    repeated = true;
  }
  auto published = intake.Publish({std::string(kMessageType), body, message_id}, received_ms);
  if (!published) {
    intake.CountWebhook("email", "unavailable");
    res.set_header("Retry-After", "30");
    return channels::SendError(res, 503, published.error().code,
                               "The broker is unavailable; try again later.");
  }
  (void)intake.store().MarkConfirmed("email", dedupe_key);
  intake.CountWebhook("email", "accepted");
  log::Info("mail accepted",
            {{"reference", m.reference}, {"source", source}, {"robot", robot ? "yes" : "no"}});
  Send(res, 202, {{"reference", m.reference}, {"repeated", repeated}});
}

void InboundParse(channels::Intake& intake, const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader, const std::string& provider) {
  const Config::Email& cfg = intake.config().email;
  bool mailgun = provider == "mailgun";
  const std::string& secret = mailgun ? cfg.mailgun_signing_key : cfg.sendgrid_secret;
  if (secret.empty()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The " + provider + " webhook is not configured.");
  }
  // The fields, read by our own code (no 8 KB limit on url-encoded bodies, a cap on the total).
  std::vector<FormField> fields;
  const size_t cap = static_cast<size_t>(cfg.max_message_bytes) + 1024 * 1024;
  size_t total = 0;
  bool over = false;
  std::string raw_body;
  bool ok = true;
  if (req.is_multipart_form_data()) {
    ok = reader(
        [&](const httplib::MultipartFormData& h) {
          fields.push_back({h.name, h.filename, h.content_type, {}});
          return fields.size() <= 200;
        },
        [&](const char* data, size_t n) {
          total += n;
          over = over || total > cap;
          if (!over)
            fields.back().value.append(data, n);
          return !over;
        });
  } else {
    ok = reader([&](const char* data, size_t n) {
      over = raw_body.size() + n > cap;
      if (!over)
        raw_body.append(data, n);
      return !over;
    });
    if (ok && !over) {
      auto form = twilio::ParseForm(raw_body);
      if (!form) {
        intake.CountWebhook(provider, "invalid");
        return channels::SendError(res, 400, form.error().code, form.error().message);
      }
      for (auto& [k, v] : *form)
        fields.push_back({k, "", "", v});
    }
  }
  if (over) {
    intake.CountWebhook(provider, "mail_too_large");
    return channels::SendError(res, mailgun ? 406 : 413, errors::kMailTooLarge,
                               "The message is too large.");
  }
  if (!ok) {
    intake.CountWebhook(provider, "invalid");
    return channels::SendError(res, 400, errors::kFormInvalid, "The form data could not be read.");
  }
  auto field = [&](const char* name) {
    for (const auto& f : fields) {
      if (f.name == name && f.filename.empty())
        return f.value;
    }
    return std::string();
  };
  std::string request_hash;
  if (mailgun) {
    int64_t now = channels::NowMillis() / 1000;
    if (!VerifyMailgun(secret, field("timestamp"), field("token"), field("signature"), now)) {
      intake.CountWebhook(provider, "signature_invalid");
      return channels::SendError(
          res, 403, errors::kSignatureInvalid,
          "signature, timestamp and token do not verify (or the timestamp is stale).");
    }
    // A token is used once. Mailgun's own retry repeats the same request, which is fine; the
    // same token with other content is a replay.
    std::string digest;
    for (const auto& f : fields)
      digest += f.name + "\n" + Sha256Hex(f.value) + "\n";
    request_hash = Sha256Hex(digest);
    auto used =
        intake.store().Reserve("mailgun-token", field("token"),
                               {"mg-" + field("token"), NewUuid(), request_hash, "confirmed", ""});
    if (used && used->has_value() && (*used)->request_hash != request_hash) {
      intake.CountWebhook(provider, "token_replayed");
      return channels::SendError(res, 406, errors::kTokenReplayed, "This token was already used.");
    }
  } else {
    std::string key = req.get_param_value("key");
    std::string auth = req.get_header_value("Authorization");
    std::string basic_password;
    if (auth.rfind("Basic ", 0) == 0) {
      std::string decoded;
      if (Base64Decode(auth.substr(6), &decoded)) {
        basic_password = decoded.substr(
            decoded.find(':') == std::string::npos ? decoded.size() : decoded.find(':') + 1);
      }
    }
    if (!ConstantTimeEquals(key, secret) && !ConstantTimeEquals(basic_password, secret)) {
      intake.CountWebhook(provider, "auth_invalid");
      return channels::SendError(
          res, 403, errors::kAuthInvalid,
          "The webhook URL's key (or the Basic auth password) does not match.");
    }
  }
  Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  auto mail = mailgun ? FromMailgun(fields, limits) : FromSendGrid(fields, limits);
  if (!mail) {
    intake.CountWebhook(provider, mail.error().code.str());
    // Mailgun retries everything but 406 for 8 hours; SendGrid retries only 5xx.
    return channels::SendError(res, mailgun ? 406 : 422, mail.error().code, mail.error().message);
  }
  std::string raw_mime = field(mailgun ? "body-mime" : "email");
  if (!raw_mime.empty()) {
    AcceptMail(intake, mail->dedupe_key, "rfc822", raw_mime, provider, mail->robot != Robot::kNone,
               res);
  } else {
    AcceptMail(intake, mail->dedupe_key, provider, EncodeFields(fields), provider,
               mail->robot != Robot::kNone, res);
  }
}

}  // namespace

void RegisterRoutes(httplib::Server& server, channels::Intake& intake) {
  server.Post("/api/v1/mail", [&intake](const auto& req, auto& res) { RawMail(intake, req, res); });
  for (const char* provider : {"mailgun", "sendgrid"}) {
    std::string name = provider;
    server.Post("/webhooks/" + name,
                [&intake, name](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
                  InboundParse(intake, req, res, reader, name);
                });
  }
}

}  // namespace meldestelle::email
