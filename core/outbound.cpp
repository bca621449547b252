#include "core/outbound.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "core/text.hpp"

namespace meldestelle::outbound {

namespace {

struct V4Range {
  uint32_t base;
  int bits;
};

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return (static_cast<uint32_t>(a) << 24) | (static_cast<uint32_t>(b) << 16) |
         (static_cast<uint32_t>(c) << 8) | static_cast<uint32_t>(d);
}

// IANA's special-purpose IPv4 registry: none of these is a public server.
constexpr std::array<V4Range, 16> kNotPublicV4 = {{
    {Ip(0, 0, 0, 0), 8},        // "this network", unspecified
    {Ip(10, 0, 0, 0), 8},       // private
    {Ip(100, 64, 0, 0), 10},    // shared address space (CGNAT)
    {Ip(127, 0, 0, 0), 8},      // loopback
    {Ip(169, 254, 0, 0), 16},   // link-local (cloud metadata at 169.254.169.254)
    {Ip(172, 16, 0, 0), 12},    // private
    {Ip(192, 0, 0, 0), 24},     // IETF protocol assignments
    {Ip(192, 0, 2, 0), 24},     // documentation
    {Ip(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
    {Ip(192, 168, 0, 0), 16},   // private
    {Ip(198, 18, 0, 0), 15},    // benchmarking
    {Ip(198, 51, 100, 0), 24},  // documentation
    {Ip(203, 0, 113, 0), 24},   // documentation
    {Ip(224, 0, 0, 0), 4},      // multicast
    {Ip(240, 0, 0, 0), 4},      // reserved, and the limited broadcast 255.255.255.255
    {Ip(255, 255, 255, 255), 32},
}};

bool PublicV4(uint32_t a) {
  for (const auto& r : kNotPublicV4) {
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((a & mask) == (r.base & mask))
      return false;
  }
  return true;
}

bool PublicV6(const in6_addr& a) {
  const uint8_t* b = a.s6_addr;
  static constexpr uint8_t kZero[16] = {};
  // :: and ::1
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1))
    return false;
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated): the IPv4 address.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  uint32_t embedded =
      (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | uint32_t{b[15]};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kZero, 12) == 0)
    return PublicV4(embedded);
  // 64:ff9b::/96 (NAT64): the IPv4 address it translates to.
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64, 12) == 0)
    return PublicV4(embedded);
  if ((b[0] & 0xfe) == 0xfc)  // fc00::/7 unique local
    return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)  // fe80::/10 link-local
    return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)  // fec0::/10 site-local (deprecated)
    return false;
  if (b[0] == 0xff)  // multicast
    return false;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)  // 2001:db8::/32 documentation
    return false;
  if (b[0] == 0x01 && std::memcmp(b + 1, kZero, 7) == 0)  // 100::/64 discard
    return false;
  // 2002::/16 (6to4) carries an IPv4 address in bits 16..47.
  if (b[0] == 0x20 && b[1] == 0x02) {
    uint32_t v4 =
        (uint32_t{b[2]} << 24) | (uint32_t{b[3]} << 16) | (uint32_t{b[4]} << 8) | uint32_t{b[5]};
    return PublicV4(v4);
  }
  return true;
}

}  // namespace

bool IsPublicAddress(const sockaddr* address) {
  if (address == nullptr)
    return false;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return PublicV4(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return PublicV6(in6->sin6_addr);
  }
  return false;
}

bool IsPublicAddressText(std::string_view text) {
  std::string t(text);
  sockaddr_in in{};
  if (inet_pton(AF_INET, t.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return IsPublicAddress(reinterpret_cast<const sockaddr*>(&in));
  }
  sockaddr_in6 in6{};
  if (inet_pton(AF_INET6, t.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    return IsPublicAddress(reinterpret_cast<const sockaddr*>(&in6));
  }
  return false;
}

bool HostAllowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (allowed.empty())
    return true;
  std::string h = AsciiLower(host);
  for (const auto& entry : allowed) {
    std::string e = AsciiLower(entry);
    if (e.empty())
      continue;
    if (e.front() == '.') {
      // ".example.org": example.org and every name below it.
      if (h == e.substr(1) ||
          (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0))
        return true;
    } else if (h == e) {
      return true;
    }
  }
  return false;
}

}  // namespace meldestelle::outbound
