#include "core/reference.hpp"

#include <algorithm>

#include "core/errors.hpp"

namespace meldestelle {

namespace {

constexpr int kRadix = 31;
constexpr int kDataSymbols = 11;
// 2025-01-01T00:00:00Z in Unix seconds.
constexpr int64_t kEpochSeconds = 1735689600;
constexpr uint64_t kTickMask = (uint64_t{1} << 44) - 1;

int SymbolValue(char c) {
  auto pos = kReferenceAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Weighted sum with weights 1..12 (all distinct and non-zero mod 31).
int WeightedSum(std::string_view symbols) {
  int sum = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    sum = (sum + static_cast<int>(i + 1) * SymbolValue(symbols[i])) % kRadix;
  }
  return sum;
}

int ModInverse(int a) {
  for (int x = 1; x < kRadix; ++x) {
    if ((a * x) % kRadix == 1) {
      return x;
    }
  }
  return 1;
}

}  // namespace

char ReferenceCheckSymbol(std::string_view data11) {
  // Choose c so that sum(i * v_i, i = 1..11) + 12 * c == 0 (mod 31).
  int sum = WeightedSum(data11);
  int c = ((kRadix - sum) % kRadix) * ModInverse(12) % kRadix;
  return kReferenceAlphabet[static_cast<size_t>(c)];
}

Result<std::string> ParseReference(std::string_view typed) {
  std::string ref;
  for (char c : typed) {
    if (c == ' ' || c == '-' || c == '.') {
      continue;
    }
    ref.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (ref.size() != kReferenceLength ||
      !std::all_of(ref.begin(), ref.end(), [](char c) { return SymbolValue(c) >= 0; })) {
    return MakeError(errors::kReferenceMalformed,
                     "Das ist keine gültige Vorgangsnummer: sie hat 12 Zeichen aus Ziffern 2–9 "
                     "und Buchstaben (ohne I, L, O).");
  }
  if (WeightedSum(ref) != 0) {
    return MakeError(errors::kReferenceCheckFailed,
                     "Die Prüfziffer der Vorgangsnummer stimmt nicht – bitte prüfen Sie die "
                     "Nummer auf einen Tippfehler.");
  }
  return ref;
}

ReferenceGenerator::ReferenceGenerator(int instance_id)
    : instance_id_(std::clamp(instance_id, 0, kMaxInstanceId)) {}

std::string ReferenceGenerator::Next() { return NextAt(Clock::now()); }

std::string ReferenceGenerator::NextAt(Clock::time_point now) {
  int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  uint64_t tick = static_cast<uint64_t>(std::max<int64_t>(0, micros / 100 - kEpochSeconds * 10000));
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Logical clock: never repeat a tick, even if the wall clock stalls or steps back.
    tick = std::max(tick, last_tick_ + 1);
    last_tick_ = tick;
  }
  return Encode(tick, instance_id_);
}

std::string ReferenceGenerator::Encode(uint64_t tick, int instance_id) {
  uint64_t value = ((tick & kTickMask) << 10) | static_cast<uint64_t>(instance_id & 0x3FF);
  std::string data(kDataSymbols, kReferenceAlphabet[0]);
  for (int i = kDataSymbols - 1; i >= 0; --i) {
    data[static_cast<size_t>(i)] = kReferenceAlphabet[value % kRadix];
    value /= kRadix;
  }
  data.push_back(ReferenceCheckSymbol(data));
  return data;
}

}  // namespace meldestelle
