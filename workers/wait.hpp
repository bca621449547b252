#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace meldestelle::workers {

// Waits `d` (a poll interval or a retry backoff), waking early when `stop` is set. Polls in
// 50 ms steps: this paces background loops, it never synchronises with other threads.
inline void WaitUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace meldestelle::workers
