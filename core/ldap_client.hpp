#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

typedef struct ldap LDAP;

// A small synchronous LDAP v3 client over Debian's libldap (OpenLDAP): simple bind and subtree
// search, what the staff sign-in needs (tickets/staff_accounts.hpp). One connection per sign-in;
// referrals are not chased (Active Directory hands them out for its other partitions).
//
// Errors: "ldap_unavailable" (no connection, timeout, TLS failed: the directory is away),
// "ldap_invalid_credentials" (result 49), "ldap_error" (anything else, with the server's text).
// A password never appears in an error.
namespace meldestelle::ldap {

struct Options {
  std::string url;         // ldap://host:port or ldaps://host:port
  bool start_tls = false;  // StartTLS on an ldap:// connection (required once asked for)
  std::string ca_file;     // PEM file of the CAs to trust for TLS; "" = the system's
  std::chrono::seconds timeout{5};
};

struct Entry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attributes;  // names as asked for
  // The first value of an attribute, or "".
  std::string First(const std::string& name) const;
};

class Connection {
 public:
  static Result<Connection> Open(const Options& options);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection();

  // A simple bind. An empty password is refused here with "ldap_invalid_credentials": LDAP
  // takes a bind with a name and no password as an anonymous ("unauthenticated") bind that
  // succeeds (RFC 4513, 5.1.2).
  Status Bind(const std::string& dn, const std::string& password);
  // Subtree search below `base`; at most `size_limit` entries (the rest is cut off).
  Result<std::vector<Entry>> Search(const std::string& base, const std::string& filter,
                                    const std::vector<std::string>& attributes, int size_limit);

 private:
  explicit Connection(LDAP* ld, std::chrono::seconds timeout) : ld_(ld), timeout_(timeout) {}
  LDAP* ld_;
  std::chrono::seconds timeout_;
};

// A value for a search filter with *, (, ), \ and NUL escaped (RFC 4515, 3).
std::string EscapeFilterValue(std::string_view value);
// `pattern` with every {name} replaced by the escaped value of `values[name]`.
std::string FillFilter(const std::string& pattern,
                       const std::map<std::string, std::string>& values);
// A DN in a form to compare: RFC 4514 normalised by libldap, then lower-case ("" if malformed).
std::string ComparableDn(const std::string& dn);

}  // namespace meldestelle::ldap
