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

// Runs argv[0] (a path, not searched in PATH) with argv, writes `input` to its stdin and returns
// its stdout. Its stderr is the caller's. Errors (kIoError): the program could not be started,
// ended with a status other than 0 or by a signal, took longer than the timeout or wrote more
// than max_output; the message says which. A program that stops reading its input early is no
// error of itself (its status tells).
Result<std::string> RunFilter(const std::vector<std::string>& argv, std::string_view input,
                              const FilterLimits& limits = {});

// This program's own executable (/proc/self/exe), to run one of its commands as a filter.
std::string OwnExecutable();

}  // namespace meldestelle
