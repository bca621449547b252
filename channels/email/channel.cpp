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
    return intake_.Process(*message);
  }

 private:
  std::unique_ptr<channels::Admission> admission_;
  MailIntake intake_;
};

}  // namespace

SmtpRelay Relay(const Config& config) {
  const auto& e = config.Get<Settings>();
  return {e.smtp_url, e.smtp_user, e.smtp_password, e.from, e.from_name};
}

channels::Channel Channel() {
  channels::Channel c;
  c.name = "email";
  c.display_name = "E-Mail";
  c.routes = RegisterRoutes;
  c.message_types.push_back(channels::HandledBy<MailHandler>(kMessageType, IsMessage));
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
