#pragma once

// One program run as a filter in a process of its own: bytes in on its stdin, bytes out of its
// stdout, within a time and a size. For work on outside bytes with a library we do not trust to
// fail well (channels/email/tnef.hpp): a crash, a leak or a hang ends with that process.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {

struct FilterLimits {
  std::chrono::milliseconds timeout{10000};  // the whole run; then the process is killed
  size_t max_output = 64 * 1024 * 1024;      // more: the process is killed, an error
};

// How a filter ended, when not well.
enum class FilterFailure {
  kNone,
  // Its own doing, the same however often it is tried: an exit status other than 0 (the caller
  // may know statuses that are not: FilterResult::exit_status), a crash (SIGSEGV, SIGBUS,
  // SIGABRT, SIGFPE, SIGILL, SIGSYS; SIGXCPU at a soft CPU limit below its hard one), more
  // output than allowed.
  kProgram,
  // Ours or the machine's, which may pass: it could not be started, it took longer than the
  // timeout, or it was ended by another signal (SIGKILL of the out-of-memory killer or of a hard
  // CPU limit, SIGTERM not blocked).
  kEnvironment,
};

struct FilterResult {
  FilterFailure failure = FilterFailure::kNone;
  std::string output;    // its stdout, when it ended well
  std::string reason;    // why not, for the log
  int exit_status = -1;  // when it exited with a status other than 0; -1 otherwise
  bool started = false;  // whether it could be started at all
};

// Runs argv[0] (a path, not searched in PATH) with argv, writes `input` to its stdin and returns
// its stdout; its stderr is the caller's. The program gets only the environment variables named
// in `pass_env` (the caller's may hold secrets), no descriptor of ours but the three, no signal
// blocked but SIGTERM, SIGINT and SIGHUP (a service stopping waits for it), and SIGPIPE at its
// default. A program that stops reading its input early is no failure of itself (its status
// tells). Never throws for the program's doing; the process is always reaped.
FilterResult RunFilter(const std::vector<std::string>& argv, std::string_view input,
                       const FilterLimits& limits = {},
                       const std::vector<std::string>& pass_env = {});

// This program's own executable, to run one of its commands or a program beside it: the path
// /proc/self/exe names (without " (deleted)" once a package upgrade replaced the file).
std::string OwnExecutable();

}  // namespace meldestelle
