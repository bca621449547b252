#include "core/log.hpp"

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/report.hpp"

namespace meldestelle::log {

namespace {
std::mutex g_mu;
std::string g_component = "meldestelle";  // guarded by g_mu
Level g_min = Level::kInfo;               // guarded by g_mu

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void SetComponent(std::string component) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_component = std::move(component);
}

void SetMinLevel(Level level) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_min = level;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  nlohmann::json j;
  j["ts"] = NowTimestamp();
  j["level"] = LevelName(level);
  j["msg"] = std::string(msg);
  for (const auto& [k, v] : fields) {
    j[std::string(k)] = v;
  }
  std::string line =
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(g_mu);
  if (level < g_min) {
    return;
  }
  // Component added under the lock so that SetComponent is respected.
  line.insert(1, "\"component\":\"" + g_component + "\",");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace meldestelle::log
