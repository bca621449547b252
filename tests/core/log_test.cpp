#include "core/log.hpp"

#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace log_test {

using namespace meldestelle;

TEST_CASE("a log line is one JSON object with the fields, even for hostile values") {
  std::string line = log::FormatLine(log::Level::kWarn, "gateway", "report \"accepted\"",
                                     {{"reference", "2SAJASNAS2EE"},
                                      {"error", std::string("bad \xFF byte\nand newline")}});
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  auto j = nlohmann::json::parse(line);
  CHECK(j["component"] == "gateway");
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "report \"accepted\"");
  CHECK(j["reference"] == "2SAJASNAS2EE");
  CHECK(j["error"] == "bad ? byte\nand newline");
  CHECK(j["ts"].get<std::string>().size() == 24);
}

namespace {
// What log::WriteLines(lines) writes to stderr, one string per write(2): stderr is a
// SOCK_SEQPACKET socket for the call, which keeps each write a record of its own.
std::vector<std::string> Writes(std::string_view lines) {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
  int buffer = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  int saved = dup(STDERR_FILENO);
  REQUIRE(dup2(sv[0], STDERR_FILENO) == STDERR_FILENO);
  log::WriteLines(lines);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(sv[0]);
  std::vector<std::string> writes;
  std::string record(1 << 16, '\0');
  for (ssize_t n; (n = read(sv[1], record.data(), record.size())) > 0;)
    writes.emplace_back(record.data(), static_cast<size_t>(n));
  close(sv[1]);
  return writes;
}
}  // namespace

TEST_CASE("lines written together go in writes of whole lines, each at most PIPE_BUF bytes") {
  std::string lines;
  for (int i = 0; i < 60; ++i)
    lines += log::FormatLine(log::Level::kInfo, "gateway", "report accepted",
                             {{"reference", "REF" + std::to_string(i)}, {"channel", "app"}});
  const std::string long_line =
      log::FormatLine(log::Level::kWarn, "gateway", "long", {{"error", std::string(6000, 'x')}});
  lines += long_line;
  for (int i = 0; i < 5; ++i)
    lines += log::FormatLine(log::Level::kInfo, "gateway", "after", {{"n", std::to_string(i)}});
  auto writes = Writes(lines);
  std::string all;
  for (const auto& w : writes) {
    all += w;
    REQUIRE(!w.empty());
    CHECK(w.back() == '\n');  // whole lines only
    if (w != long_line)
      CHECK(w.size() <= PIPE_BUF);
  }
  CHECK(all == lines);
  // Fewer writes than lines: that is what it is for (about 100 bytes a line, 4096 a write).
  CHECK(writes.size() < 10);
  CHECK(std::count(writes.begin(), writes.end(), long_line) == 1);
  CHECK(Writes("").empty());
}

TEST_CASE("a line below the minimum level is not formatted") {
  log::SetMinLevel(log::Level::kWarn);
  CHECK(log::Line(log::Level::kInfo, "report accepted", {{"reference", "X"}}).empty());
  std::string warn = log::Line(log::Level::kWarn, "broker lost");
  log::SetMinLevel(log::Level::kInfo);
  REQUIRE(!warn.empty());
  CHECK(nlohmann::json::parse(warn)["msg"] == "broker lost");
  CHECK(nlohmann::json::parse(log::Line(log::Level::kInfo, "x", {{"a", "b"}}))["a"] == "b");
}

}  // namespace log_test
