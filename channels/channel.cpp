#include "channels/channel.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "outbox/dispatcher.hpp"

namespace meldestelle::channels {

namespace {

[[noreturn]] void Taken(const std::string& what) {
  std::fprintf(stderr, "meldestelle: %s is registered twice\n", what.c_str());
  std::abort();
}

}  // namespace

void Registry::Add(Channel channel) {
  if (Find(channel.name) != nullptr)
    Taken("channel " + channel.name);
  for (const auto& t : channel.message_types) {
    if (Type(t.name) != nullptr)
      Taken("message type " + t.name);
  }
  channels_.push_back(std::move(channel));
}

const Channel* Registry::Find(std::string_view name) const {
  for (const auto& c : channels_) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

const MessageType* Registry::Type(std::string_view name) const {
  for (const auto& c : channels_) {
    for (const auto& t : c.message_types) {
      if (t.name == name)
        return &t;
    }
  }
  return nullptr;
}

const MessageType* Registry::TypeOfUntyped(std::string_view body) const {
  const MessageType* fallback = nullptr;
  for (const auto& c : channels_) {
    for (const auto& t : c.message_types) {
      if (t.untyped_default) {
        fallback = &t;
      } else if (t.claims_untyped && t.claims_untyped(body)) {
        return &t;
      }
    }
  }
  return fallback;
}

std::set<std::string, std::less<>> Registry::AcknowledgementSenders(const Config& config) const {
  // The senders' constructors keep the configuration and make an idle HTTP client at most:
  // building them to ask is cheap (docs/adding-a-channel.md).
  outbox::Senders senders;
  for (const auto& c : channels_) {
    if (c.senders)
      c.senders(senders, config);
  }
  std::set<std::string, std::less<>> out;
  for (const auto& c : channels_) {
    for (const auto& ack : c.ack_channels) {
      if (senders.Find(outbox::Kind::kAck, ack) != nullptr)
        out.insert(ack);
    }
  }
  return out;
}

bool Registry::SendsAcknowledgements(std::string_view name) const {
  for (const auto& c : channels_) {
    for (const auto& ack : c.ack_channels) {
      if (ack == name)
        return true;
    }
  }
  return false;
}

std::string Registry::DisplayName(std::string_view channel) const {
  const Channel* c = Find(channel);
  return c != nullptr && !c->display_name.empty() ? c->display_name : std::string(channel);
}

namespace {

// Not a part of the file: the registry's channel names for Config::channel_names.
class ChannelNames final : public ConfigSection {
 public:
  explicit ChannelNames(std::map<std::string, std::string> names) : names_(std::move(names)) {}
  std::string_view key() const override { return ""; }
  void Read(YamlReader&, const YAML::Node&, Config& config) const override {
    config.channel_names = names_;
  }

 private:
  std::map<std::string, std::string> names_;
};

}  // namespace

meldestelle::ConfigSections Registry::ConfigSections() const {
  std::map<std::string, std::string> names;
  for (const auto& c : channels_)
    names[c.name] = c.display_name.empty() ? c.name : c.display_name;
  meldestelle::ConfigSections all = {std::make_shared<ChannelNames>(std::move(names))};
  std::set<std::string_view> keys;
  for (const auto& c : channels_) {
    for (const auto& s : c.config_sections) {
      if (keys.insert(s->key()).second)
        all.push_back(s);
    }
  }
  return all;
}

}  // namespace meldestelle::channels
