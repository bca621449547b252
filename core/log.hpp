#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

// One JSON object per line on stderr: {"ts","level","component","msg",...fields}.
// Never pass secrets or message bodies as fields. Thread-safe (a mutex serialises writes).
namespace meldestelle::log {

using Field = std::pair<std::string_view, std::string>;

enum class Level { kDebug, kInfo, kWarn, kError };

void SetComponent(std::string component);
// One log line (JSON object and newline); exposed for tests.
std::string FormatLine(Level level, std::string_view component, std::string_view msg,
                       std::initializer_list<Field> fields);
void SetMinLevel(Level level);
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}
inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}

}  // namespace meldestelle::log
