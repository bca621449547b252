#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace meldestelle {

// The citizen-facing ticket reference: 12 characters from a 31-symbol alphabet without ambiguous
// characters (no 0/O, 1/I/L), e.g. "4KQ7XRT2WNPA". 11 symbols carry a 54-bit value
// (a 44-bit logical clock in 100 µs ticks since 2025-01-01 and a 10-bit instance id); the 12th is
// a weighted check symbol mod 31 (a prime), which detects every single substitution and every
// swap of two neighbours.
inline constexpr std::string_view kReferenceAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
inline constexpr size_t kReferenceLength = 12;
inline constexpr int kMaxInstanceId = 1023;

// Returns the check symbol for 11 data symbols (all from the alphabet).
char ReferenceCheckSymbol(std::string_view data11);

// Normalises what a citizen typed (case, spaces, dashes) and validates it.
// Errors: "reference_malformed" (length or characters) and "reference_check_failed".
Result<std::string> ParseReference(std::string_view typed);

// Generates unique references for one gateway instance without coordination with other
// instances (their instance ids must differ). Thread-safe: a mutex guards the logical clock.
//
// Unique across restarts too, by construction, once KeepIn names the clock's file: before a
// tick beyond the last one written down is handed out, the clock writes down a reservation a
// second ahead (fdatasync), and a restart starts after the reservation. So a gateway that ran
// ahead of the wall clock (over 10,000 references a second) or whose wall clock stepped back
// never repeats a reference. While the file cannot be written, the clock never runs ahead of
// the wall clock (it waits the fraction of a millisecond), so that a restart cannot repeat it
// either. The file is locked: a second gateway with the same instance id on this machine is
// refused.
class ReferenceGenerator {
 public:
  using Clock = std::chrono::system_clock;
  explicit ReferenceGenerator(int instance_id);
  ~ReferenceGenerator();
  ReferenceGenerator(const ReferenceGenerator&) = delete;
  ReferenceGenerator& operator=(const ReferenceGenerator&) = delete;
  // Keeps the clock in `file` (created with its folder if missing; call before the first Next).
  // Errors: kStorageFailed (cannot open or read it, it is damaged, or another process holds it:
  // two gateways with one gateway.instance_id).
  Status KeepIn(const std::filesystem::path& file);
  std::string Next();
  // For tests: generate from an explicit clock value.
  std::string NextAt(Clock::time_point now);
  static std::string Encode(uint64_t tick, int instance_id);
  // The tick a reference carries (its 100 µs since 2025-01-01), for tests and tools.
  static uint64_t TickOf(std::string_view reference);

 private:
  bool Reserve(uint64_t upto);  // under mu_: writes the reservation; false if it failed
  const int instance_id_;
  std::mutex mu_;
  uint64_t last_tick_ = 0;  // guarded by mu_
  int fd_ = -1;             // the clock's file, if kept
  uint64_t reserved_ = 0;   // the highest tick written down as reserved
  bool failing_ = false;    // the last write failed (logged once per streak)
};

}  // namespace meldestelle
