#pragma once

#include "channels/channel.hpp"

namespace meldestelle::webform {

// The AMQP type of a report envelope on the work queue (web form, app): admitted as it is.
inline constexpr std::string_view kReportType = "report";

// The web form (channel "webform"; it also registers the report message type that the app's
// reports share) and the app API (channel "app").
channels::Channel WebFormChannel();
channels::Channel AppChannel();

}  // namespace meldestelle::webform
