#include "channels/chat/publish.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "channels/chat/batch.hpp"
#include "channels/http.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"

namespace meldestelle::chat {

void PublishBatch(channels::Intake& intake, const std::string& channel,
                  std::vector<ChatEvent> events, const httplib::Request& req,
                  httplib::Response& res) {
  if (events.empty()) {
    // Service messages, channel posts and the like: nothing to do, and nothing to retry.
    intake.CountWebhook(channel, "ignored");
    res.status = 200;
    res.set_content("{}", "application/json");
    return;
  }
  int64_t received_ms = channels::NowMillis();
  Batch batch;
  batch.channel = channel;
  batch.received_at = FormatTimestamp(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(received_ms)));
  for (auto& e : events) {
    batch.items.push_back({std::move(e), intake.NewReference(), NewUuid()});
  }
  batch.raw = {req.get_header_value("Content-Type"), req.body};
  // The same notification delivered twice gets the same message id (for tracing only: the
  // worker deduplicates on the providers' ids).
  std::string message_id = channel + ":" + Sha256Hex(req.body).substr(0, 32);
  auto published =
      intake.Publish({std::string(kBatchType), EncodeBatch(batch), message_id}, received_ms);
  if (!published) {
    intake.CountWebhook(channel, "unavailable");
    log::Warn("chat notification not accepted: broker",
              {{"channel", channel}, {"error", published.error().message}});
    res.set_header("Retry-After", "5");
    return channels::SendError(res, 503, published.error().code,
                               "The broker is unavailable; please retry.");
  }
  intake.CountWebhook(channel, "accepted");
  intake.metrics()
      .GetCounter("meldestelle_chat_events_total", "Chat events accepted, by channel.",
                  {{"channel", channel}})
      .Inc(static_cast<double>(batch.items.size()));
  res.status = 200;
  res.set_content("{}", "application/json");
}

}  // namespace meldestelle::chat
