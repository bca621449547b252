#include "channels/whatsapp/channel.hpp"

#include "channels/whatsapp/sender.hpp"
#include "channels/whatsapp/settings.hpp"
#include "channels/whatsapp/webhook.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::whatsapp {

channels::Channel Channel() {
  channels::Channel c;
  c.name = "whatsapp";
  c.display_name = "WhatsApp";
  c.routes = RegisterRoutes;
  // Meta batches up to 1,000 updates in one notification, which may be up to 3 MB; media come
  // by id, never in the body.
  c.body_limits = [](const Config&) {
    return std::vector<channels::BodyLimit>{{"/webhooks/whatsapp", 3 * 1000 * 1000, 0}};
  };
  c.ack_channels = {"whatsapp"};
  c.senders = [](outbox::Senders& s, const Config& config) {
    if (config.Get<Settings>().access_token.empty())
      return;
    using outbox::Kind;
    s.Add({Kind::kAck, Kind::kStatus, Kind::kChatReply}, "whatsapp",
          std::make_shared<Sender>(config));
  };
  c.enabled = [](const Config& config) { return config.Get<Settings>().enabled(); };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::whatsapp
