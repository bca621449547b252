#include "gateway/rate_limit.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/text.hpp"

namespace meldestelle::gateway {

namespace {

// Buckets of clients not seen for this long are full again: dropped.
constexpr auto kPruneEvery = std::chrono::seconds(60);
constexpr size_t kPruneAbove = 10000;

bool Listed(std::string_view address, const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), address) != list.end();
}

}  // namespace

RateLimiter::RateLimiter(int per_minute, int burst)
    : per_second_(per_minute / 60.0), burst_(std::max(1, burst)) {}

RateLimiter::Decision RateLimiter::Take(const std::string& client, Clock::time_point now) {
  if (per_second_ <= 0)
    return {};
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > kPruneAbove && now - last_prune_ > kPruneEvery)
    Prune(now);
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  int wait = static_cast<int>(std::ceil((1.0 - b.tokens) / per_second_));
  return {false, std::max(1, wait)};
}

void RateLimiter::Refund(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(client);
  if (it != buckets_.end())
    it->second.tokens = std::min(burst_, it->second.tokens + 1.0);
}

void RateLimiter::Prune(Clock::time_point now) {
  last_prune_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double elapsed = std::chrono::duration<double>(now - it->second.at).count();
    if (it->second.tokens + elapsed * per_second_ >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies) {
  if (forwarded_for.empty() || !Listed(peer, trusted_proxies))
    return std::string(peer);
  // "client, proxy1, proxy2": from the right, the first address our proxies did not add.
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view hop =
        TrimAscii(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (hop.empty())
      continue;
    if (!Listed(hop, trusted_proxies))
      return std::string(hop);
  }
  return std::string(peer);
}

std::string LimitKey(std::string_view address) {
  const std::string text(address);
  in6_addr a{};
  if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), &a) != 1)
    return text;
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    char v4[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, a.s6_addr + 12, v4, sizeof v4);
    return v4;
  }
  char key[64];
  std::snprintf(key, sizeof key, "%x:%x:%x:%x::/64", (a.s6_addr[0] << 8) | a.s6_addr[1],
                (a.s6_addr[2] << 8) | a.s6_addr[3], (a.s6_addr[4] << 8) | a.s6_addr[5],
                (a.s6_addr[6] << 8) | a.s6_addr[7]);
  return key;
}

}  // namespace meldestelle::gateway
