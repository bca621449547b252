#pragma once

#include <atomic>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "gateway/rate_limit.hpp"
#include "routing/geo.hpp"
#include "routing/timezone.hpp"
#include "tickets/actions.hpp"
#include "tickets/api_tokens.hpp"
#include "tickets/staff_sessions.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace meldestelle::gateway {

// The departments' side of the gateway: the staff API under /api/v1/tickets (gateway/staff_api.cpp,
// docs/api.md) and the staff inbox pages under /staff (gateway/staff_inbox.cpp). Both
// The API authenticates machines with a department's bearer token; the inbox people, each with
// their own sign-in (a local account or the town's directory, tickets/staff_accounts.hpp) and a
// server-side session (tickets/staff_sessions.hpp). Both act through tickets::ApplyStaffAction.
// Thread-safe: handlers share only the pool and the sign-in limiters.
class Staff {
 public:
  Staff(const Config& config, metrics::Registry& registry);
  // Loads the named areas for the `area` filter; registers the routes.
  Status Register(httplib::Server& server);

  // A page of tickets for the list endpoints (exposed for the inbox).
  struct Filter {
    std::string department;  // forced for department tokens
    std::vector<std::string> statuses;
    std::string category;
    std::string area;  // a routing area's name
    std::optional<routing::BBox> bbox;
    std::string since, until;  // received_at bounds, ISO 8601 date or time
    // Words to find: in the reference (spaces and dashes ignored), the text or the address,
    // each word somewhere (case-insensitive).
    std::string q;
    bool overdue = false;  // not accepted in time: reminded or escalated, still assigned
    bool oldest_first = false;
    int limit = 50;
    int offset = 0;
  };

 private:
  // The live token for a bearer secret (or the inbox's cookie); nullopt = unknown or revoked,
  // an error = the database is away. ApiAuth / InboxAuth answer 401 / 503 themselves.
  Result<std::optional<tickets::ApiToken>> Authenticate(const std::string& bearer);
  std::optional<tickets::ApiToken> ApiAuth(const httplib::Request& req, httplib::Response& res);
  // Parses the list query; "" or the error message.
  std::string ParseFilter(const httplib::Request& req, const tickets::ApiToken& token,
                          Filter* f) const;
  struct Page {
    std::vector<nlohmann::json> items;  // complete where it is used (the .cpp files)
    long long total = 0;
  };
  // `surface` ("api", "inbox") is where the result is shown; each ticket whose reporter's
  // contact is in the result is recorded there (privacy/access_log.hpp). List with a null
  // surface shows no contact.
  Result<Page> List(const Filter& f, const tickets::ApiToken& token, const char* surface);
  Result<std::optional<nlohmann::json>> Get(const tickets::ApiToken& token,
                                            const std::string& reference, const char* surface);
  Result<bool> Act(const tickets::ApiToken& token, const std::string& reference,
                   const tickets::StaffAction& action);
  // The stored photo (sha256, media type) at `position` of a ticket the token may read.
  Result<std::optional<std::pair<std::string, std::string>>> FindPhoto(
      const tickets::ApiToken& token, const std::string& reference, int position);
  bool MayRead(const tickets::ApiToken& token, const std::string& department) const;
  bool ShowsContact(const tickets::ApiToken& token, const std::string& department) const;
  // Operators and the triage department send tickets to a named department (forward).
  bool MayForward(const tickets::ApiToken& token) const;

  void HandleList(const httplib::Request& req, httplib::Response& res);
  void HandleGet(const httplib::Request& req, httplib::Response& res);
  void HandleAttachment(const httplib::Request& req, httplib::Response& res);
  void HandleAction(const httplib::Request& req, httplib::Response& res,
                    tickets::StaffAction::Kind kind);
  void HandleOpenApi(const httplib::Request& req, httplib::Response& res);

  // Inbox (gateway/staff_inbox.cpp).
  void RegisterInbox(httplib::Server& server);
  // The live session of the request's cookie; else a redirect to the login (or 503) is set.
  std::optional<tickets::StaffSession> InboxAuth(const httplib::Request& req,
                                                 httplib::Response& res);
  // The session's token for the inbox's forms (and logout).
  std::string Csrf(const tickets::StaffSession& session) const;
  tickets::SessionLimits SessionLimits() const;
  void InboxLoginPage(const httplib::Request& req, httplib::Response& res);
  // The sign-in form with an error (German, "" for none) and the name typed before.
  void SendLoginPage(httplib::Response& res, int status, const std::string& error,
                     const std::string& next, const std::string& username);
  void CountSignIn(const char* source, const char* outcome);
  void InboxLogin(const httplib::Request& req, httplib::Response& res);
  void InboxLogout(const httplib::Request& req, httplib::Response& res);
  void InboxList(const httplib::Request& req, httplib::Response& res);
  void InboxTicket(const httplib::Request& req, httplib::Response& res);
  void InboxAction(const httplib::Request& req, httplib::Response& res);
  void InboxAcceptMany(const httplib::Request& req, httplib::Response& res);
  void InboxFigures(const httplib::Request& req, httplib::Response& res);
  void InboxFiguresCsv(const httplib::Request& req, httplib::Response& res);
  void InboxConsole(const httplib::Request& req, httplib::Response& res);
  void InboxRequeue(const httplib::Request& req, httplib::Response& res);
  void InboxPhoto(const httplib::Request& req, httplib::Response& res);

  const Config& config_;
  metrics::Registry& registry_;
  db::Pool db_;
  BlobStore blobs_;
  std::map<std::string, routing::Geometry> areas_;
  std::optional<routing::TimeZone> zone_;  // the town's, for the inbox's times; UTC if unknown
  // Failed sign-ins (docs/security.md, "Staff sign-in"): per client address 20, then 10 a
  // minute; per user name from one address 5, then 1 a minute; per user name from anywhere 30,
  // then 6 a minute; a browser that signed in as the name before only per its device cookie, 5,
  // then 1 a minute. At most kMaxConcurrentSignIns are checked at once, two more from known
  // browsers. Addresses are counted by LimitKey (IPv6 by its /64).
  RateLimiter sign_in_clients_{10, 20};
  RateLimiter sign_in_name_clients_{1, 5};
  RateLimiter sign_in_names_{6, 30};
  static constexpr int kMaxConcurrentSignIns = 4;
  static constexpr int kSignInsForKnownDevices = 2;  // beyond those, for known browsers only
  std::atomic<int> sign_ins_running_{0};  // the town's, for the inbox's times; UTC if unknown
};

}  // namespace meldestelle::gateway
