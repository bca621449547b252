#pragma once

#include <string>
#include <vector>

#include "channels/channel.hpp"
#include "channels/chat/event.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace meldestelle::chat {

// Publishes a messenger's notification as one chat batch (each event with a reference and a
// report id, the raw notification for audit) and answers the provider: 200 after the broker's
// confirm, 503 with Retry-After without it; 200 at once when there are no events (service
// messages: nothing to do, nothing to retry).
void PublishBatch(channels::Intake& intake, const std::string& channel,
                  std::vector<ChatEvent> events, const httplib::Request& req,
                  httplib::Response& res);

}  // namespace meldestelle::chat
