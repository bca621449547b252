#include "workers/rule_source.hpp"

#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "routing/fixtures.hpp"
#include "routing/settings.hpp"
#include "workers/rule_history.hpp"

namespace meldestelle::workers {

namespace fs = std::filesystem;

RuleSource::RuleSource(const Config& config, metrics::Registry& registry)
    : config_(config), registry_(registry) {
  live_slot_.name = "live";
  live_slot_.file = config.Get<routing::Settings>().rules_file;
  shadow_slot_.name = "shadow";
  shadow_slot_.file = config.Get<routing::Settings>().shadow_rules_file;
}

RuleSets RuleSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sets_;
}

// The rule file, its fixtures and the area files, by content: mtime can miss a change within
// its granularity and editors may keep the size.
std::string RuleSource::Fingerprint(const Slot& slot) const {
  std::string all;
  auto add = [&](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    all += p.string() + "\n";
    if (!in) {
      all += "(missing)\n";
      return;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    all += Sha256Hex(ss.str()) + "\n";
  };
  add(slot.file);
  add(routing::FixturesBeside(slot.file));
  for (const auto& a : config_.Get<routing::Settings>().areas) {
    add(a.file);
  }
  return Sha256Hex(all);
}

void RuleSource::Count(const std::string& set, const std::string& source, bool accepted) {
  registry_
      .GetCounter(
          "meldestelle_ruleset_reloads_total",
          "Rule set loads by set (live, shadow), source and outcome.",
          {{"set", set}, {"source", source}, {"outcome", accepted ? "accepted" : "rejected"}})
      .Inc();
}

Status RuleSource::ReloadSlot(Slot& slot, const std::string& source) {
  // The fingerprint is taken before loading: a change during the load is seen by the next poll.
  std::string fingerprint = Fingerprint(slot);
  slot.loaded_fingerprint = fingerprint;
  slot.pending_fingerprint = fingerprint;
  std::shared_ptr<const routing::RuleSet> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = slot.name == "live" ? sets_.live : sets_.candidate;
  }
  SwapRecord rec;
  rec.rule_set = slot.name;
  rec.source = source;
  rec.previous_version = previous ? previous->version : "";
  std::error_code ec;
  if (slot.name == "shadow" && !fs::exists(slot.file, ec)) {
    // The candidate was removed (e.g. after promotion): shadow mode pauses.
    if (previous) {
      std::lock_guard<std::mutex> lock(mu_);
      sets_.candidate.reset();
    }
    log::Warn("shadow rules file missing; shadow mode off until it appears",
              {{"file", slot.file.string()}});
    return MakeError(errors::kRulesMissing, slot.file.string() + ": missing");
  }
  auto loaded = routing::LoadCheckedRuleSet(slot.file, &config_);
  if (!loaded) {
    rec.version = "sha256:?";
    rec.accepted = false;
    rec.error = loaded.error().message;
    log::Error(slot.name == "live" ? "rule set rejected; the previous set stays live"
                                   : "candidate rule set rejected; the previous candidate stays",
               {{"file", slot.file.string()},
                {"source", source},
                {"live", rec.previous_version},
                {"error", loaded.error().message}});
  } else {
    rec.version = (*loaded)->version;
    {
      std::lock_guard<std::mutex> lock(mu_);
      (slot.name == "live" ? sets_.live : sets_.candidate) = *loaded;
    }
    log::Info(slot.name == "live" ? "rule set live" : "candidate rule set loaded",
              {{"file", slot.file.string()},
               {"source", source},
               {"version", rec.version},
               {"previous", rec.previous_version}});
  }
  Count(slot.name, source, rec.accepted);
  if (auto st = RecordSwap(config_.database.url, rec); !st) {
    log::Warn("could not record the rule set swap",
              {{"error", st.error().message + ": " + st.error().detail}});
  }
  if (!loaded) {
    return loaded.error();
  }
  return Ok{};
}

Status RuleSource::LoadInitial() {
  if (auto st = ReloadSlot(live_slot_, "startup"); !st) {
    return st;
  }
  if (!shadow_slot_.file.empty()) {
    (void)ReloadSlot(shadow_slot_, "startup");  // a broken candidate only turns shadow mode off
  }
  return Ok{};
}

void RuleSource::Reload(const std::string& source) {
  // Refusals are logged, recorded and counted by ReloadSlot; the previous sets stay.
  (void)ReloadSlot(live_slot_, source);
  if (!shadow_slot_.file.empty()) {
    (void)ReloadSlot(shadow_slot_, source);
  }
}

void RuleSource::Poll() {
  for (Slot* slot : {&live_slot_, &shadow_slot_}) {
    if (slot->file.empty()) {
      continue;
    }
    std::string now = Fingerprint(*slot);
    if (now == slot->loaded_fingerprint) {
      slot->pending_fingerprint = now;
      continue;
    }
    if (now != slot->pending_fingerprint) {
      slot->pending_fingerprint = now;  // changed since the last look: wait until it settles
      continue;
    }
    (void)ReloadSlot(*slot, "file_change");
  }
}

void RuleSource::RequestReload() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    reload_requested_ = true;
  }
  wake_.notify_all();
}

void RuleSource::Wake() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void RuleSource::Run(const std::atomic<bool>& stop) {
  int interval = config_.Get<routing::Settings>().reload_interval_ms;
  while (!stop.load()) {
    bool reload = false;
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      auto ready = [&] { return reload_requested_ || woken_; };
      if (interval > 0) {
        wake_.wait_for(lock, std::chrono::milliseconds(interval), ready);
      } else {
        wake_.wait(lock, ready);
      }
      reload = reload_requested_;
      reload_requested_ = false;
      woken_ = false;
    }
    if (stop.load()) {
      break;
    }
    if (reload) {
      Reload("sighup");
    } else if (interval > 0) {
      Poll();
    }
  }
}

}  // namespace meldestelle::workers
