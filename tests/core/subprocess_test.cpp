// A program run as a filter in a process of its own (core/subprocess.hpp), with the system's
// own programs.
#include "core/subprocess.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace subprocess_test {

using namespace meldestelle;

TEST_CASE("a filter's input goes in and its output comes back, however large", "[subprocess]") {
  auto small = RunFilter({"/bin/cat"}, "Hallo\n");
  REQUIRE(small);
  CHECK(*small == "Hallo\n");
  // Larger than a pipe holds both ways: written and read at once, or both sides would wait.
  std::string big(8 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096)
    big[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto echoed = RunFilter({"/bin/cat"}, big);
  REQUIRE(echoed);
  CHECK(*echoed == big);
  auto none = RunFilter({"/bin/echo", "-n", "ohne Eingabe"}, "");
  REQUIRE(none);
  CHECK(*none == "ohne Eingabe");
  // A program that reads nothing and ends well: no error, and we are still here (SIGPIPE).
  auto deaf = RunFilter({"/bin/true"}, big);
  CHECK(deaf);
}

TEST_CASE("a filter that fails, hangs or writes too much is an error that says so",
          "[subprocess]") {
  auto status = RunFilter({"/bin/sh", "-c", "exit 3"}, "");
  REQUIRE_FALSE(status);
  CHECK_THAT(status.error().message, Catch::Contains("ended with status 3"));
  auto killed = RunFilter({"/bin/sh", "-c", "kill -SEGV $$"}, "");
  REQUIRE_FALSE(killed);
  CHECK_THAT(killed.error().message, Catch::Contains("ended by signal 11"));
  FilterLimits quick;
  quick.timeout = std::chrono::milliseconds(300);
  auto hung = RunFilter({"/bin/sleep", "30"}, "", quick);
  REQUIRE_FALSE(hung);
  CHECK_THAT(hung.error().message, Catch::Contains("took longer than 300 ms"));
  FilterLimits little;
  little.max_output = 1000;
  auto flood = RunFilter({"/bin/cat"}, std::string(5000, 'y'), little);
  REQUIRE_FALSE(flood);
  CHECK_THAT(flood.error().message, Catch::Contains("wrote more than 1000 bytes"));
  auto missing = RunFilter({"/nonexistent/program"}, "x");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/program"));
  CHECK_FALSE(RunFilter({}, "x"));
  CHECK_FALSE(OwnExecutable().empty());
}

}  // namespace subprocess_test
