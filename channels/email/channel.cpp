#include "channels/email/channel.hpp"

#include "channels/email/intake.hpp"
#include "channels/email/message.hpp"
#include "channels/email/routes.hpp"
#include "channels/email/sender.hpp"
#include "channels/email/settings.hpp"
#include "core/errors.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::email {

namespace {

class MailHandler final : public channels::Handler {
 public:
  explicit MailHandler(channels::WorkerServices& s)
      : admission_(s.NewAdmission()),
        intake_(s.config(), *admission_, s.gazetteer(), s.metrics()) {}
  Status Handle(const channels::Delivery& d) override {
    auto message = DecodeMessage(d.body);
    if (!message) {
      return MakeError(errors::kMessageInvalid, "unparseable: " + message.error().message);
    }
    return intake_.Process(*message, d.last_attempt);
  }

 private:
  std::unique_ptr<channels::Admission> admission_;
  MailIntake intake_;
};

}  // namespace

SmtpRelay Relay(const Config& config) {
  const auto& e = config.Get<Settings>();
  return {e.smtp_url,  e.smtp_user,
          e.smtp_password, e.from,
          e.from_name, std::chrono::seconds(e.smtp_timeout_seconds)};
}

channels::Channel Channel() {
  channels::Channel c;
  c.name = "email";
  c.display_name = "E-Mail";
  c.routes = RegisterRoutes;
  // A whole message with its attachments: the mail server's pipe (message/rfc822), Mailgun
  // (25 MB messages) and SendGrid's Inbound Parse (30 MB), each up to email.max_message_bytes
  // and the multipart framing around it.
  c.body_limits = [](const Config& config) {
    int64_t mail = config.Get<Settings>().max_message_bytes;
    int64_t framed = mail + mail / 2;  // base64 in a url-encoded or multipart body
    return std::vector<channels::BodyLimit>{{"/api/v1/mail", mail, 0},
                                            {"/webhooks/mailgun", framed, framed},
                                            {"/webhooks/sendgrid", framed, framed}};
  };
  c.message_types.push_back(channels::HandledBy<MailHandler>(kMessageType, IsMessage));
  c.ack_channels = {"email"};
  c.senders = [](outbox::Senders& s, const Config& config) {
    SmtpRelay relay = Relay(config);
    if (!relay.enabled())
      return;
    s.Add({outbox::Kind::kAck}, "email", std::make_shared<AckSender>(config, relay));
    s.Add({outbox::Kind::kStatus}, "email", std::make_shared<StatusSender>(config, relay));
  };
  c.enabled = [](const Config& config) {
    const auto& e = config.Get<Settings>();
    return !e.intake_secret.empty() || !e.mailgun_signing_key.empty() || !e.sendgrid_secret.empty();
  };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::email
