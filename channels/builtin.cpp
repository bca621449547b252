#include "channels/builtin.hpp"

#include "channels/chat/channel.hpp"
#include "channels/email/channel.hpp"
#include "channels/open311/channel.hpp"
#include "channels/phone/channel.hpp"
#include "channels/telegram/channel.hpp"
#include "channels/telegram/media.hpp"
#include "channels/webform/channel.hpp"
#include "channels/whatsapp/channel.hpp"
#include "channels/whatsapp/media.hpp"

namespace meldestelle::channels {

Registry BuiltinChannels() {
  Registry r;
  r.Add(webform::WebFormChannel());
  r.Add(webform::AppChannel());
  r.Add(open311::Channel());
  r.Add(whatsapp::Channel());
  r.Add(telegram::Channel());
  r.Add(chat::Drafts({{"whatsapp", whatsapp::FetchMedia}, {"telegram", telegram::FetchMedia}}));
  r.Add(phone::Channel());
  r.Add(email::Channel());
  return r;
}

}  // namespace meldestelle::channels
