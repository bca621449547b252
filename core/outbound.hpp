#pragma once

#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

// Where a fetch from user input (an Open311 media_url, and any later one) may go: public
// addresses only, checked on the address the connection is made to (after DNS, no second
// lookup), optionally only to listed hosts (docs/security.md, "Outbound fetches").
namespace meldestelle::outbound {

// False for loopback, private (RFC 1918, CGNAT), link-local, unique-local, multicast,
// unspecified, reserved, documentation and benchmarking addresses, and for IPv4-mapped or
// NAT64 IPv6 addresses of those. AF_INET and AF_INET6 only; anything else is not public.
bool IsPublicAddress(const sockaddr* address);
// The same for an address in text ("10.0.0.1", "::1"); false if it is not an address.
bool IsPublicAddressText(std::string_view text);

// Whether `host` (lower-case, as in the URL) is allowed by `allowed`: an empty list allows every
// host; an entry "example.org" allows that host, an entry ".example.org" its subdomains too.
bool HostAllowed(std::string_view host, const std::vector<std::string>& allowed);

}  // namespace meldestelle::outbound
