#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/log.hpp"

namespace meldestelle {

// Waits `d` (a poll interval or a retry backoff), waking early when `stop` is set. Polls in
// 50 ms steps: this paces background loops, it never synchronises with other threads.
inline void WaitUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The loop of a sender thread: runs `once` (returning Result<int>, the rows it worked on) until
// `stop`; again at once while it found work, after `interval` when idle; a failure (the database
// is away) is logged as `what` and retried after `interval`.
template <typename Once>
void PollUntilStopped(const char* what, Once&& once, const std::atomic<bool>& stop,
                      std::chrono::milliseconds interval) {
  while (!stop.load()) {
    auto r = once();
    if (!r) {
      log::Warn(std::string(what) + ": database unavailable, retrying",
                {{"error", r.error().message + ": " + r.error().detail}});
    }
    if (r && *r > 0)
      continue;  // more may be due
    WaitUnlessStopped(interval, stop);
  }
}

}  // namespace meldestelle
