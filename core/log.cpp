#include "core/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string_view>

#include "core/json_writer.hpp"
#include "core/report.hpp"
#include "core/text.hpp"

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

std::string FormatLine(Level level, std::string_view component, std::string_view msg,
                       std::initializer_list<Field> fields) {
  // Written directly rather than through a JSON DOM: one line per accepted report is on the
  // gateway's hot path. Invalid UTF-8 in a field is replaced so that the line stays JSON.
  auto text = [](std::string_view v) -> std::string {
    if (IsValidUtf8(v)) return std::string(v);
    std::string ascii;
    for (unsigned char c : v) ascii.push_back(c < 0x80 ? static_cast<char>(c) : '?');
    return ascii;
  };
  std::string line;
  line.reserve(160);
  line += "{\"component\":";
  json_writer::AppendString(line, text(component));
  line += ",\"ts\":";
  json_writer::AppendString(line, NowTimestamp());
  line += ",\"level\":";
  json_writer::AppendString(line, LevelName(level));
  line += ",\"msg\":";
  json_writer::AppendString(line, text(msg));
  for (const auto& [k, v] : fields) {
    line.push_back(',');
    json_writer::AppendString(line, text(k));
    line.push_back(':');
    json_writer::AppendString(line, text(v));
  }
  line += "}\n";
  return line;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string component;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (level < g_min) {
      return;
    }
    component = g_component;
  }
  std::string line = FormatLine(level, component, msg, fields);
  // One write(2) per line, without a lock: the gateway logs a line per accepted report from many
  // threads, and a write to a pipe (journald, scripts/run) or an O_APPEND file keeps lines of
  // this size whole. Nothing is buffered, so nothing is lost when the process dies.
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;  // stderr is gone: nowhere left to report it
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace meldestelle::log
