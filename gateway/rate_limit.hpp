#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// Per-client rate limits on what costs the town (a report: a ticket, an acknowledgement by SMS
// or e-mail): a token bucket per client address (docs/security.md, "Rate limits").
namespace meldestelle::gateway {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  // when !allowed: until the next token
  };

  // `burst` requests at once, then `per_minute` (refilled continuously). per_minute 0: no limit.
  RateLimiter(int per_minute, int burst);

  // False with per_minute 0: Take always allows.
  bool limits() const { return per_second_ > 0; }
  // Takes one token of `client`'s bucket. Thread-safe.
  Decision Take(const std::string& client, Clock::time_point now = Clock::now());
  // Gives back a token taken for `client` (for limits on failures only: take before the attempt,
  // so that parallel attempts cannot all pass, and give it back when the attempt succeeded).
  void Refund(const std::string& client);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  void Prune(Clock::time_point now);

  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_prune_;
};

// The client's address: the peer, or, when the peer is one of `trusted_proxies`, the rightmost
// address in X-Forwarded-For that is not a trusted proxy (the one the town's proxy saw).
std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

// The key a client's allowances are counted under: an IPv4 address as it is, an IPv6 address by
// its /64 (a household or a server gets a /64 or more, so one client could otherwise take a new
// allowance with every address of its own), an IPv4-mapped IPv6 address as the IPv4 address.
// Anything else as it is.
std::string LimitKey(std::string_view address);

}  // namespace meldestelle::gateway
