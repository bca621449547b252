#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

// One JSON object per line on stderr: {"ts","level","component","msg",...fields}.
// Never pass secrets or message bodies as fields. Thread-safe: a line is one write(2), no lock.
namespace meldestelle::log {

using Field = std::pair<std::string_view, std::string>;

enum class Level { kDebug, kInfo, kWarn, kError };

void SetComponent(std::string component);
// One log line (JSON object and newline); exposed for tests.
std::string FormatLine(Level level, std::string_view component, std::string_view msg,
                       std::initializer_list<Field> fields);
void SetMinLevel(Level level);
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
// The line Write would write now, or "" if `level` is below the minimum: for a caller that has
// it written later together with others (WriteLines), as the gateway's publisher does with the
// "report accepted" lines of the reports one confirm of the broker settles.
std::string Line(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
// Writes whole lines (each ending in '\n', from Line) in as few write(2)s as keep every write at
// most PIPE_BUF bytes (a longer line alone), so that a pipe or journald's socket never interleaves
// another thread's line into one of them.
void WriteLines(std::string_view lines);
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
