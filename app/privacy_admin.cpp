#include "app/privacy_admin.hpp"

#include "channels/chat/settings.hpp"
#include "channels/phone/settings.hpp"
#include "core/dead_letters.hpp"
#include "core/envelope.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::app {

namespace {

// When a dead letter failed: our header, else (dead-lettered by the broker) when its report came
// in; 0 when neither can be read (such a letter is old by any measure).
int64_t FailedAt(const DeadLetter& l) {
  if (!l.failed_at_ms.empty() &&
      l.failed_at_ms.find_first_not_of("0123456789") == std::string::npos &&
      l.failed_at_ms.size() < 16)
    return std::stoll(l.failed_at_ms) / 1000;
  if (auto env = DecodeEnvelope(l.body)) {
    if (auto t = routing::ParseRfc3339(env->report.received_at))
      return *t;
  }
  return 0;
}

}  // namespace

std::unique_ptr<privacy::Retention> NewRetention(const Config& config) {
  privacy::DeadLetterExpiry expiry = [&config](int64_t cutoff, bool dry_run) {
    return DropDeadLetters(
        config, [cutoff](const DeadLetter& l) { return FailedAt(l) < cutoff; }, dry_run);
  };
  return std::make_unique<privacy::Retention>(
      config,
      privacy::Retention::ChannelPeriods{config.Get<phone::Settings>().recording_retention_days,
                                         config.Get<chat::Settings>().dedupe_days},
      std::move(expiry));
}

privacy::DeadLetterDrop DeadLetterDropFor(const Config& config) {
  return [&config](const std::function<bool(const std::string&)>& mentions, bool dry_run) {
    return DropDeadLetters(
        config, [&mentions](const DeadLetter& l) { return mentions(l.body); }, dry_run);
  };
}

}  // namespace meldestelle::app
