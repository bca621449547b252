#include "channels/telegram/channel.hpp"

#include "channels/telegram/sender.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/telegram/webhook.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::telegram {

channels::Channel Channel() {
  channels::Channel c;
  c.name = "telegram";
  c.display_name = "Telegram";
  c.routes = RegisterRoutes;
  // One Update per request: a message of at most 4,096 characters with its entities, or a
  // caption; media come by file_id, never in the body.
  c.body_limits = [](const Config&) {
    return std::vector<channels::BodyLimit>{{"/webhooks/telegram", 1024 * 1024, 0}};
  };
  c.ack_channels = {"telegram"};
  c.senders = [](outbox::Senders& s, const Config& config) {
    if (config.Get<Settings>().bot_token.empty())
      return;
    using outbox::Kind;
    s.Add({Kind::kAck, Kind::kStatus, Kind::kChatReply}, "telegram",
          std::make_shared<Sender>(config));
  };
  c.enabled = [](const Config& config) { return config.Get<Settings>().enabled(); };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::telegram
