#include "core/ldap_client.hpp"

#include <ldap.h>
#include <sys/time.h>

#include <cctype>
#include <memory>

#include "core/errors.hpp"

namespace meldestelle::ldap {
namespace {

Error Failed(int rc, const std::string& what) {
  std::string detail = what + ": " + ldap_err2string(rc);
  if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
      rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY) {
    return MakeError(errors::kLdapUnavailable, detail);
  }
  if (rc == LDAP_INVALID_CREDENTIALS)
    return MakeError(errors::kLdapInvalidCredentials, detail);
  return MakeError(errors::kLdapError, detail);
}

timeval Timeval(std::chrono::seconds s) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(s.count());
  return tv;
}

}  // namespace

std::string Entry::First(const std::string& name) const {
  auto it = attributes.find(name);
  return it == attributes.end() || it->second.empty() ? std::string() : it->second.front();
}

Result<Connection> Connection::Open(const Options& options) {
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, options.url.c_str());
  if (rc != LDAP_SUCCESS)
    return MakeError(errors::kLdapError,
                     "the directory URL is not an LDAP URL: " + std::string(ldap_err2string(rc)));
  Connection c(ld, options.timeout);
  int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval tv = Timeval(options.timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  bool tls = options.start_tls || options.url.rfind("ldaps://", 0) == 0;
  if (tls) {
    // On this handle's own context, so that /etc/ldap/ldap.conf (TLS_REQCERT never) cannot
    // weaken it; a context that cannot be made is an error, never a fallback to the default.
    int demand = LDAP_OPT_X_TLS_DEMAND;
    int is_server = 0;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        (!options.ca_file.empty() &&
         ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options.ca_file.c_str()) !=
             LDAP_OPT_SUCCESS) ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) != LDAP_OPT_SUCCESS) {
      return MakeError(
          errors::kLdapError,
          "TLS for the directory could not be set up (is ca_file a readable PEM file?)");
    }
  }
  if (options.start_tls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      return MakeError(errors::kLdapUnavailable, std::string("StartTLS: ") + ldap_err2string(rc));
    }
  }
  return c;
}

Connection::Connection(Connection&& other) noexcept : ld_(other.ld_), timeout_(other.timeout_) {
  other.ld_ = nullptr;
}

Connection::~Connection() {
  if (ld_ != nullptr)
    ldap_unbind_ext_s(ld_, nullptr, nullptr);
}

Status Connection::Bind(const std::string& dn, const std::string& password) {
  if (password.empty())
    return MakeError(errors::kLdapInvalidCredentials,
                     "bind: no password (an unauthenticated bind)");
  berval cred{};
  cred.bv_len = password.size();
  cred.bv_val = const_cast<char*>(password.data());
  int rc = ldap_sasl_bind_s(ld_, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS)
    return Failed(rc, "bind as " + dn);
  return Ok{};
}

Result<std::vector<Entry>> Connection::Search(const std::string& base, const std::string& filter,
                                              const std::vector<std::string>& attributes,
                                              int size_limit) {
  std::vector<char*> attrs;
  for (const auto& a : attributes)
    attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);
  timeval tv = Timeval(timeout_);
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(ld_, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                             nullptr, nullptr, &tv, size_limit, &res);
  std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> owned(res, ldap_msgfree);
  // More than size_limit: the entries that came (a caller that wants one sees two).
  if (rc == LDAP_NO_SUCH_OBJECT)
    return std::vector<Entry>{};
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
    return Failed(rc, "search " + filter + " below " + base);
  std::vector<Entry> out;
  for (LDAPMessage* e = ldap_first_entry(ld_, res); e != nullptr; e = ldap_next_entry(ld_, e)) {
    Entry entry;
    if (char* dn = ldap_get_dn(ld_, e); dn != nullptr) {
      entry.dn = dn;
      ldap_memfree(dn);
    }
    for (const auto& a : attributes) {
      berval** values = ldap_get_values_len(ld_, e, a.c_str());
      if (values == nullptr)
        continue;
      auto& list = entry.attributes[a];
      for (int i = 0; values[i] != nullptr; ++i)
        list.emplace_back(values[i]->bv_val, values[i]->bv_len);
      ldap_value_free_len(values);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string EscapeFilterValue(std::string_view value) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0) {
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string FillFilter(const std::string& pattern,
                       const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      size_t end = pattern.find('}', i);
      if (end != std::string::npos) {
        auto it = values.find(pattern.substr(i + 1, end - i - 1));
        if (it != values.end()) {
          out += EscapeFilterValue(it->second);
          i = end + 1;
          continue;
        }
      }
    }
    out += pattern[i++];
  }
  return out;
}

std::string ComparableDn(const std::string& dn) {
  char* normal = nullptr;
  if (ldap_dn_normalize(dn.c_str(), LDAP_DN_FORMAT_LDAP, &normal, LDAP_DN_FORMAT_LDAPV3) !=
          LDAP_SUCCESS ||
      normal == nullptr) {
    return "";
  }
  std::string out(normal);
  ldap_memfree(normal);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace meldestelle::ldap
