#pragma once

#include "channels/channel.hpp"

namespace meldestelle::open311 {

// The AMQP type of an Open311 request on the work queue: a report envelope whose channel_data
// carries the media_url the worker fetches before routing.
inline constexpr std::string_view kMessageType = "open311_report";
// A client's update on a request (POST servicerequestupdates): a JSON object (UpdateMessage).
inline constexpr std::string_view kUpdateMessageType = "open311_update";

// GET /open311/v2/… (discovery, services, requests, tokens) and POST /open311/v2/requests.
void RegisterRoutes(httplib::Server& server, channels::Intake& intake);

}  // namespace meldestelle::open311
