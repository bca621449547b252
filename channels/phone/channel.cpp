#include "channels/phone/channel.hpp"

#include "channels/phone/calls.hpp"
#include "channels/phone/message.hpp"
#include "channels/phone/settings.hpp"
#include "channels/phone/sms_sender.hpp"
#include "channels/phone/webhook.hpp"
#include "core/errors.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::phone {

namespace {

class EventHandler final : public channels::Handler {
 public:
  explicit EventHandler(channels::WorkerServices& s)
      : intake_(s.config(), s.metrics(), s.SendsAcknowledgementsOn("sms")) {}
  Status Handle(const channels::Delivery& d) override {
    auto message = DecodeMessage(d.body);
    if (!message) {
      return MakeError(errors::kMessageInvalid, "unparseable: " + message.error().message);
    }
    return intake_.Process(*message);
  }

 private:
  PhoneIntake intake_;
};

}  // namespace

channels::Channel Channel() {
  channels::Channel c;
  c.name = "phone";
  c.display_name = "Telefon";
  c.routes = RegisterRoutes;
  c.message_types.push_back(channels::HandledBy<EventHandler>(kMessageType, IsMessage));
  c.jobs.push_back(
      {"phone calls", [](channels::WorkerServices& s) -> std::unique_ptr<channels::Job> {
         return std::make_unique<PhoneCloser>(s.config(), s.NewAdmission(), s.gazetteer(),
                                              s.metrics(), s.holder());
       }});
  c.ack_channels = {"sms"};
  c.senders = [](outbox::Senders& s, const Config& config) {
    const auto& ph = config.Get<Settings>();
    if (!ph.enabled() || ph.account_sid.empty() || ph.sms_from.empty())
      return;
    s.Add({outbox::Kind::kAck, outbox::Kind::kStatus}, "sms", std::make_shared<SmsSender>(config));
  };
  c.enabled = [](const Config& config) { return config.Get<Settings>().enabled(); };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::phone
