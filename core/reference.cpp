#include "core/reference.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/errors.hpp"
#include "core/log.hpp"

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

ReferenceGenerator::~ReferenceGenerator() {
  if (fd_ >= 0)
    ::close(fd_);
}

Status ReferenceGenerator::KeepIn(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path())
    std::filesystem::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(errors::kStorageFailed, "cannot open the reference clock " + file.string() +
                                                 ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return MakeError(errors::kStorageFailed,
                     "another process keeps the reference clock " + file.string() +
                         ": is a second gateway running with gateway.instance_id " +
                         std::to_string(instance_id_) + "? Each gateway needs its own id");
  }
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  uint64_t stored = 0;
  if (!text.empty()) {
    bool digits = text.size() <= 20 && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      ::close(fd);
      return MakeError(errors::kStorageFailed,
                       "the reference clock " + file.string() +
                           " is damaged (not a number); remove it only if no reference was "
                           "made faster than real time before");
    }
    stored = std::strtoull(text.c_str(), nullptr, 10);
  }
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = fd;
  reserved_ = stored;
  last_tick_ = std::max(last_tick_, stored);
  return Ok{};
}

bool ReferenceGenerator::Reserve(uint64_t upto) {
  char line[32];
  int len = std::snprintf(line, sizeof line, "%020llu\n", static_cast<unsigned long long>(upto));
  bool ok = ::pwrite(fd_, line, static_cast<size_t>(len), 0) == len && ::fdatasync(fd_) == 0;
  if (!ok && !failing_) {
    log::Error("cannot write the reference clock: references keep to the wall clock",
               {{"error", std::strerror(errno)}});
  } else if (ok && failing_) {
    log::Info("the reference clock is written again");
  }
  failing_ = !ok;
  if (ok)
    reserved_ = upto;
  return ok;
}

std::string ReferenceGenerator::Next() { return NextAt(Clock::now()); }

namespace {

uint64_t TickAt(ReferenceGenerator::Clock::time_point t) {
  int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return static_cast<uint64_t>(std::max<int64_t>(0, micros / 100 - kEpochSeconds * 10000));
}

// A second of ticks: how far ahead a kept clock reserves.
constexpr uint64_t kReserveTicks = 10000;

}  // namespace

std::string ReferenceGenerator::NextAt(Clock::time_point now) {
  uint64_t tick = TickAt(now);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Logical clock: never repeat a tick, even if the wall clock stalls or steps back.
    tick = std::max(tick, last_tick_ + 1);
    if (fd_ >= 0 && tick > reserved_ && !Reserve(tick + kReserveTicks)) {
      // Not written down: a restart must not be able to repeat this tick, so it may not lie
      // ahead of the wall clock (a wait of at most a tick per reference while it fails).
      // (At most a second: a wall clock stepped far back meanwhile is not waited out.)
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (TickAt(Clock::now()) < tick && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    last_tick_ = tick;
  }
  return Encode(tick, instance_id_);
}

uint64_t ReferenceGenerator::TickOf(std::string_view reference) {
  uint64_t value = 0;
  for (size_t i = 0; i < static_cast<size_t>(kDataSymbols) && i < reference.size(); ++i)
    value = value * kRadix + kReferenceAlphabet.find(reference[i]);
  return value >> 10;
}

std::string ReferenceGenerator::Encode(uint64_t tick, int instance_id) {
  uint64_t value = ((tick & kTickMask) << 10) | static_cast<uint64_t>(instance_id & 0x3FF);
  // The symbols' values are known here: the check symbol from them (ReferenceCheckSymbol's sum),
  // without looking each symbol up in the alphabet again.
  char data[kReferenceLength];
  int sum = 0;
  for (int i = kDataSymbols - 1; i >= 0; --i) {
    const auto v = static_cast<int>(value % kRadix);
    data[i] = kReferenceAlphabet[static_cast<size_t>(v)];
    sum = (sum + (i + 1) * v) % kRadix;
    value /= kRadix;
  }
  data[kDataSymbols] =
      kReferenceAlphabet[static_cast<size_t>(((kRadix - sum) % kRadix) * ModInverse(12) % kRadix)];
  return std::string(data, kReferenceLength);
}

}  // namespace meldestelle
