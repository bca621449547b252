#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.hpp"

// Small pieces every handler file of the gateway uses.
namespace meldestelle::gateway {

inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// {"error": {"code", "message"}} — the error shape of every JSON answer.
inline void SendError(httplib::Response& res, int status, ErrorCode code,
                      const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", {{"code", code.str()}, {"message", message}}}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

}  // namespace meldestelle::gateway
