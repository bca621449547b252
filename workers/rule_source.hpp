#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "routing/rules.hpp"

namespace meldestelle::workers {

// The rule sets a worker routes by at this moment. Both are immutable; a report is routed with
// one snapshot, so it never sees a half-loaded or mixed set.
struct RuleSets {
  std::shared_ptr<const routing::RuleSet> live;
  std::shared_ptr<const routing::RuleSet> candidate;  // shadow mode; null when off
};

// Owns the live and candidate rule sets and replaces them whole (docs/routing.md, "Hot reload").
// A reload loads the file, runs the full check (rules + fixtures) and only then swaps the
// pointer; a set that fails stays out, with a log line, a ruleset_swaps row and a metric.
// Thread-safe: Current() may be called from any thread; Reload/Poll/Run from one thread at a time.
class RuleSource {
 public:
  RuleSource(const Config& config, metrics::Registry& registry);

  // Loads both sets at startup. Fails only if the live set fails its check (a broken candidate
  // just leaves shadow mode off). Records "startup" swaps.
  Status LoadInitial();
  RuleSets Current() const;

  // Reloads both sets now (source "sighup", or "file_change" from Poll).
  void Reload(const std::string& source);
  // Compares the files' contents with what was loaded; reloads a set whose files changed and
  // were unchanged since the previous poll (so a file being written is not read half-way).
  void Poll();
  // Asks Run to reload at once (SIGHUP). Callable from any thread.
  void RequestReload();
  // Polls every routing.reload_interval_ms (if > 0) and serves RequestReload, until `stop`.
  void Run(const std::atomic<bool>& stop);
  // Wakes Run so it sees `stop`.
  void Wake();

 private:
  struct Slot {
    std::string name;  // "live" or "shadow"
    std::filesystem::path file;
    std::string loaded_fingerprint;
    std::string pending_fingerprint;
  };
  std::string Fingerprint(const Slot& slot) const;
  // Loads and checks one slot and swaps it in; the error says why it was refused.
  Status ReloadSlot(Slot& slot, const std::string& source);
  void Count(const std::string& set, const std::string& source, bool accepted);

  const Config& config_;
  metrics::Registry& registry_;
  mutable std::mutex mu_;  // guards sets_ (the pointers; the sets themselves are immutable)
  RuleSets sets_;
  Slot live_slot_;
  Slot shadow_slot_;
  std::mutex wake_mu_;  // guards reload_requested_ and woken_
  std::condition_variable wake_;
  bool reload_requested_ = false;
  bool woken_ = false;
};

}  // namespace meldestelle::workers
