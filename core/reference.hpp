#pragma once

#include <chrono>
#include <cstdint>
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
class ReferenceGenerator {
 public:
  using Clock = std::chrono::system_clock;
  explicit ReferenceGenerator(int instance_id);
  std::string Next();
  // For tests: generate from an explicit clock value.
  std::string NextAt(Clock::time_point now);
  static std::string Encode(uint64_t tick, int instance_id);

 private:
  const int instance_id_;
  std::mutex mu_;
  uint64_t last_tick_ = 0;  // guarded by mu_
};

}  // namespace meldestelle
