// Raw e-mail intake (docs/channels/email.md): `meldestelle mailgate` (the town's mail server pipes
// each message into it) and `meldestelle mail-poll` (IMAP) post the RFC 5322 bytes here. The
// message is parsed and checked against the limits before anything is published, so a refused
// message leaves no trace; the same message again (by Message-ID) gets the first reference.
#include "channels/email/routes.hpp"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "channels/email/message.hpp"
#include "channels/email/settings.hpp"
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
  const Settings& cfg = intake.config().Get<Settings>();
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

// An inbound-parse webhook's fields, read by our own code (no 8 KB limit on url-encoded bodies,
// a cap on the total).
struct ParsedFields {
  std::vector<FormField> fields;
  bool over = false;  // beyond the cap
  bool ok = true;     // false: unreadable
  std::string Field(const char* name) const {
    for (const auto& f : fields) {
      if (f.name == name && f.filename.empty())
        return f.value;
    }
    return std::string();
  }
};

// The most text fields an inbound-parse webhook's body may have: a message's headers, text,
// HTML, envelope and the like are a few dozen.
constexpr size_t kMaxFields = 200;
// The most file parts: those beyond email.max_attachments (up to 1,000) are not kept, but the
// mail is taken (a forwarded thread's signature logos are parts too); their bytes count against
// the size limit.
constexpr size_t kMaxFileParts = 2000;

Result<ParsedFields> ReadFields(const httplib::Request& req, const httplib::ContentReader& reader,
                                size_t cap) {
  ParsedFields p;
  size_t total = 0;
  if (req.is_multipart_form_data()) {
    size_t text_fields = 0, file_parts = 0;
    p.ok = reader(
        [&](const httplib::MultipartFormData& h) {
          p.fields.push_back({h.name, h.filename, h.content_type, {}});
          // Mailgun's attachment-N parts are files, with or without a file name.
          const bool file = !h.filename.empty() ||
                            (h.name.rfind("attachment-", 0) == 0 && h.name != "attachment-count");
          return file ? ++file_parts <= kMaxFileParts : ++text_fields <= kMaxFields;
        },
        [&](const char* data, size_t n) {
          total += n;
          p.over = p.over || total > cap;
          if (!p.over)
            p.fields.back().value.append(data, n);
          return !p.over;
        });
    return p;
  }
  std::string raw_body;
  p.ok = reader([&](const char* data, size_t n) {
    p.over = raw_body.size() + n > cap;
    if (!p.over)
      raw_body.append(data, n);
    return !p.over;
  });
  if (p.ok && !p.over) {
    // As many fields as a multipart body may have: 25 MB of "a=&" were 8 million fields, and
    // 1.6 GB of memory, before the signature in one of them was checked.
    if (std::count(raw_body.begin(), raw_body.end(), '&') >= static_cast<long>(kMaxFields)) {
      return MakeError(errors::kFormInvalid,
                       "The form has more than " + std::to_string(kMaxFields) + " fields.");
    }
    auto form = twilio::ParseForm(raw_body);
    if (!form)
      return form.error();
    for (auto& [k, v] : *form)
      p.fields.push_back({k, "", "", v});
  }
  return p;
}

// Mailgun: the signature over timestamp and token, and the token used once. Mailgun's own retry
// repeats the same request, which is fine; the same token with other content is a replay. When
// the database cannot say, the request is refused with 503 (fails closed).
bool MailgunVerified(channels::Intake& intake, const ParsedFields& p, const std::string& secret,
                     httplib::Response& res) {
  int64_t now = channels::NowMillis() / 1000;
  if (!VerifyMailgun(secret, p.Field("timestamp"), p.Field("token"), p.Field("signature"), now)) {
    intake.CountWebhook("mailgun", "signature_invalid");
    channels::SendError(res, 403, errors::kSignatureInvalid,
                        "signature, timestamp and token do not verify (or the timestamp is "
                        "stale).");
    return false;
  }
  std::string digest;
  for (const auto& f : p.fields)
    digest += f.name + "\n" + Sha256Hex(f.value) + "\n";
  const std::string request_hash = Sha256Hex(digest);
  const std::string token = p.Field("token");
  auto used = intake.store().Reserve("mailgun-token", token,
                                     {"mg-" + token, NewUuid(), request_hash, "confirmed", ""});
  if (!used) {
    // Whether the token was used cannot be told now: refused (Mailgun retries), never let pass.
    intake.CountWebhook("mailgun", "unavailable");
    res.set_header("Retry-After", "30");
    channels::SendError(res, 503, used.error().code,
                        "The token could not be checked for replay; try again later.");
    return false;
  }
  if (used->has_value() && (*used)->request_hash != request_hash) {
    intake.CountWebhook("mailgun", "token_replayed");
    channels::SendError(res, 406, errors::kTokenReplayed, "This token was already used.");
    return false;
  }
  return true;
}

// SendGrid: the secret as the URL's key or as the Basic auth password.
bool SendGridVerified(channels::Intake& intake, const httplib::Request& req,
                      const std::string& secret, httplib::Response& res) {
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
    intake.CountWebhook("sendgrid", "auth_invalid");
    channels::SendError(res, 403, errors::kAuthInvalid,
                        "The webhook URL's key (or the Basic auth password) does not match.");
    return false;
  }
  return true;
}

void InboundParse(channels::Intake& intake, const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader, const std::string& provider) {
  const Settings& cfg = intake.config().Get<Settings>();
  bool mailgun = provider == "mailgun";
  const std::string& secret = mailgun ? cfg.mailgun_signing_key : cfg.sendgrid_secret;
  if (secret.empty()) {
    return channels::SendError(res, 404, errors::kChannelDisabled,
                               "The " + provider + " webhook is not configured.");
  }
  // SendGrid's secret is in the URL or the Authorization header: checked before the body is
  // read (the connection then ends: GuardedServer). Mailgun's signature is in the body.
  if (!mailgun && !SendGridVerified(intake, req, secret, res))
    return;
  auto parsed = ReadFields(req, reader, static_cast<size_t>(cfg.max_message_bytes) + 1024 * 1024);
  if (!parsed) {
    intake.CountWebhook(provider, "invalid");
    return channels::SendError(res, 400, parsed.error().code, parsed.error().message);
  }
  if (parsed->over) {
    intake.CountWebhook(provider, "mail_too_large");
    return channels::SendError(res, mailgun ? 406 : 413, errors::kMailTooLarge,
                               "The message is too large.");
  }
  if (!parsed->ok) {
    intake.CountWebhook(provider, "invalid");
    return channels::SendError(res, 400, errors::kFormInvalid, "The form data could not be read.");
  }
  if (mailgun && !MailgunVerified(intake, *parsed, secret, res))
    return;
  const auto& fields = parsed->fields;
  Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  auto mail = mailgun ? FromMailgun(fields, limits) : FromSendGrid(fields, limits);
  if (!mail) {
    intake.CountWebhook(provider, mail.error().code.str());
    // Mailgun retries everything but 406 for 8 hours; SendGrid retries only 5xx.
    return channels::SendError(res, mailgun ? 406 : 422, mail.error().code, mail.error().message);
  }
  std::string raw_mime = parsed->Field(mailgun ? "body-mime" : "email");
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
