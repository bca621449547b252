#include "core/log.hpp"

#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <forward_list>
#include <mutex>
#include <string_view>

#include "core/json_writer.hpp"
#include "core/report.hpp"
#include "core/text.hpp"

namespace meldestelle::log {

using namespace std::string_view_literals;

namespace {
// Read on every line, from every thread, without a lock (the gateway writes a line per accepted
// report from its 64 request threads). A component's name, set at start, is kept for the
// process's life in g_names (a thread may still be writing with the previous one).
std::mutex g_names_mu;
std::forward_list<std::string> g_names{"meldestelle"};  // guarded by g_names_mu
std::atomic<const std::string*> g_component{&g_names.front()};
std::atomic<Level> g_min{Level::kInfo};

// Appends `v` as a JSON string; invalid UTF-8 is replaced so that the line stays JSON.
void AppendText(std::string& line, std::string_view v) {
  if (IsValidUtf8(v)) {
    json_writer::AppendString(line, v);
    return;
  }
  std::string ascii;
  for (unsigned char c : v)
    ascii.push_back(c < 0x80 ? static_cast<char>(c) : '?');
  json_writer::AppendString(line, ascii);
}

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
  std::lock_guard<std::mutex> lock(g_names_mu);
  g_names.push_front(std::move(component));
  g_component.store(&g_names.front());
}

void SetMinLevel(Level level) { g_min.store(level); }

std::string FormatLine(Level level, std::string_view component, std::string_view msg,
                       std::initializer_list<Field> fields) {
  // Written directly rather than through a JSON DOM: one line per accepted report is on the
  // gateway's hot path. Invalid UTF-8 in a field is replaced so that the line stays JSON.
  std::string line;
  line.reserve(256);
  line += "{\"component\":"sv;
  AppendText(line, component);
  line += ",\"ts\":"sv;
  json_writer::AppendString(line, NowTimestamp());
  line += ",\"level\":"sv;
  json_writer::AppendString(line, LevelName(level));
  line += ",\"msg\":"sv;
  AppendText(line, msg);
  for (const auto& [k, v] : fields) {
    line.push_back(',');
    AppendText(line, k);
    line.push_back(':');
    AppendText(line, v);
  }
  line += "}\n"sv;
  return line;
}

namespace {
// One write(2) per call, without a lock: the gateway logs a line per accepted report from many
// threads, and a write to a pipe (journald, scripts/run) or an O_APPEND file keeps lines of
// this size whole. Nothing is buffered, so nothing is lost when the process dies.
void WriteWhole(std::string_view rest) {
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;  // stderr is gone: nowhere left to report it
    rest.remove_prefix(static_cast<size_t>(n));
  }
}
}  // namespace

std::string Line(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < g_min.load(std::memory_order_relaxed))
    return {};
  return FormatLine(level, *g_component.load(), msg, fields);
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  WriteWhole(Line(level, msg, fields));  // below the minimum level: "", nothing written
}

void WriteLines(std::string_view lines) {
  while (!lines.empty()) {
    // As many whole lines as fit in PIPE_BUF; a longer line goes alone.
    size_t end = lines.size();
    if (end > PIPE_BUF) {
      end = lines.rfind('\n', PIPE_BUF - 1);
      end = end == std::string_view::npos ? lines.find('\n') : end;
      end = end == std::string_view::npos ? lines.size() : end + 1;
    }
    WriteWhole(lines.substr(0, end));
    lines.remove_prefix(end);
  }
}

}  // namespace meldestelle::log
