// A program run as a filter in a process of its own (core/subprocess.hpp), with the system's
// own programs.
#include "core/subprocess.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace subprocess_test {

using namespace meldestelle;

TEST_CASE("a filter's input goes in and its output comes back, however large", "[subprocess]") {
  auto small = RunFilter({"/bin/cat"}, "Hallo\n");
  REQUIRE(small.failure == FilterFailure::kNone);
  CHECK(small.output == "Hallo\n");
  // Larger than a pipe holds both ways: written and read at once, or both sides would wait.
  std::string big(8 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096)
    big[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto echoed = RunFilter({"/bin/cat"}, big);
  REQUIRE(echoed.failure == FilterFailure::kNone);
  CHECK(echoed.output == big);
  auto none = RunFilter({"/bin/echo", "-n", "ohne Eingabe"}, "");
  REQUIRE(none.failure == FilterFailure::kNone);
  CHECK(none.output == "ohne Eingabe");
  // A program that reads nothing and ends well: no failure, and we are still here (SIGPIPE).
  CHECK(RunFilter({"/bin/true"}, big).failure == FilterFailure::kNone);
}

TEST_CASE("a filter gets only the environment named and none of our descriptors", "[subprocess]") {
  ::setenv("MELDESTELLE_TEST_SECRET", "geheim", 1);
  ::setenv("MELDESTELLE_TEST_PASSED", "weiter", 1);
  auto env = RunFilter({"/usr/bin/env"}, "", {}, {"MELDESTELLE_TEST_PASSED", "NOT_SET_ANYWHERE"});
  REQUIRE(env.failure == FilterFailure::kNone);
  CHECK(env.output == "MELDESTELLE_TEST_PASSED=weiter\n");
  // A descriptor of ours without close-on-exec (as a library may leave one) is not its.
  const int ours = ::dup(STDERR_FILENO);
  REQUIRE(ours > 2);
  auto fds =
      RunFilter({"/bin/sh", "-c",
                 "test -e /proc/self/fd/" + std::to_string(ours) + " && echo offen || echo zu"},
                "");
  ::close(ours);
  REQUIRE(fds.failure == FilterFailure::kNone);
  CHECK(fds.output == "zu\n");
}

TEST_CASE("how a filter failed says whose doing it was", "[subprocess]") {
  // The program's own: its status, a crash, too much output. The same on every try.
  auto status = RunFilter({"/bin/sh", "-c", "exit 3"}, "");
  CHECK(status.failure == FilterFailure::kProgram);
  CHECK(status.exit_status == 3);
  CHECK(status.started);
  CHECK_THAT(status.reason, Catch::Contains("ended with status 3"));
  auto crashed = RunFilter({"/bin/sh", "-c", "ulimit -c 0; kill -SEGV $$"}, "");
  CHECK(crashed.failure == FilterFailure::kProgram);
  CHECK_THAT(crashed.reason, Catch::Contains("ended by signal 11"));
  CHECK(crashed.exit_status == -1);
  // Its CPU limit, soft below hard as meldestelle-tnef sets it: SIGXCPU, its own doing.
  auto burned = RunFilter(
      {"/usr/bin/prlimit", "--cpu=1:2", "--core=0", "/bin/sh", "-c", "while :; do :; done"}, "");
  CHECK(burned.failure == FilterFailure::kProgram);
  CHECK_THAT(burned.reason, Catch::Contains("ended by signal 24"));
  FilterLimits little;
  little.max_output = 1000;
  auto flood = RunFilter({"/bin/cat"}, std::string(5000, 'y'), little);
  CHECK(flood.failure == FilterFailure::kProgram);
  CHECK_THAT(flood.reason, Catch::Contains("wrote more than 1000 bytes"));
  CHECK(flood.output.empty());
  // Ours or the machine's, which may pass: not started, too slow, ended by another signal.
  auto missing = RunFilter({"/nonexistent/program"}, "x");
  CHECK(missing.failure == FilterFailure::kEnvironment);
  CHECK_FALSE(missing.started);
  CHECK_THAT(missing.reason, Catch::Contains("/nonexistent/program"));
  CHECK(RunFilter({}, "x").failure == FilterFailure::kEnvironment);
  FilterLimits quick;
  quick.timeout = std::chrono::milliseconds(300);
  auto hung = RunFilter({"/bin/sleep", "30"}, "", quick);
  CHECK(hung.failure == FilterFailure::kEnvironment);
  CHECK_THAT(hung.reason, Catch::Contains("took longer than 300 ms"));
  // Its output closed, the program still running: the timeout holds to its end.
  auto lingering = RunFilter({"/bin/sh", "-c", "exec >&-; sleep 30"}, "", quick);
  CHECK(lingering.failure == FilterFailure::kEnvironment);
  CHECK_THAT(lingering.reason, Catch::Contains("took longer than 300 ms"));
  auto killed = RunFilter({"/bin/sh", "-c", "kill -KILL $$"}, "");
  CHECK(killed.failure == FilterFailure::kEnvironment);
  CHECK_THAT(killed.reason, Catch::Contains("ended by signal 9"));
  // A service stopping sends SIGTERM to all its processes: blocked in the filter, which ends its
  // work (the service's stop waits for it, SIGKILL ends it at the last).
  auto stopped = RunFilter({"/bin/sh", "-c", "kill -TERM $$; echo weiter"}, "");
  CHECK(stopped.failure == FilterFailure::kNone);
  CHECK(stopped.output == "weiter\n");
}

TEST_CASE("our own executable is named without the mark of a replaced file", "[subprocess]") {
  const std::string exe = OwnExecutable();
  CHECK_FALSE(exe.empty());
  CHECK(exe.find("(deleted)") == std::string::npos);
  CHECK(exe.ends_with("core_tests"));
}

}  // namespace subprocess_test
