#pragma once

// Eight bytes at a time where text is plain (most of what citizens write, and most of what the
// gateway writes back): a word is tested whole, and only a word with something to look at goes
// byte by byte. The tests are exact for any bytes (Bit Twiddling Hacks, "hasless", "haszero").

#include <cstdint>
#include <cstring>

namespace meldestelle::swar {

inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHighBits = 0x8080808080808080ULL;

inline uint64_t Load8(const void* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Whether a byte of `w` is below `n` (n at most 0x80).
inline bool AnyBelow(uint64_t w, unsigned n) { return ((w - kOnes * n) & ~w & kHighBits) != 0; }

// Whether a byte of `w` is `c`.
inline bool AnyEqual(uint64_t w, unsigned c) {
  uint64_t x = w ^ (kOnes * c);
  return ((x - kOnes) & ~x & kHighBits) != 0;
}

}  // namespace meldestelle::swar
