#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "channels/channel.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/reference.hpp"
#include "core/texts.hpp"
#include "gateway/framing.hpp"
#include "gateway/places.hpp"
#include "gateway/publisher.hpp"
#include "gateway/rate_limit.hpp"
#include "gateway/staff.hpp"
#include "tickets/intake.hpp"

namespace meldestelle::webform {
struct InfoPage;
}

namespace meldestelle::gateway {

class GuardedServer;  // cpp-httplib's server (gateway/guarded_server.hpp)

// The language of a citizens' page (core/texts.hpp): ?lang=, else the browser's Accept-Language,
// else German.
std::string PageLanguage(const httplib::Request& req);
// The page's own address with its query but for ?lang= and the names in `drop`: the language
// switch's links add their language to it.
std::string SelfUrl(const httplib::Request& req, std::initializer_list<std::string_view> drop = {});
// A page of text (the privacy notice, the accessibility statement) in its language, cacheable
// for 5 minutes.
void SendInfoPage(httplib::Response& res, const webform::InfoPage& page);
// A citizens' page that changes (the status page, the list of reports): not stored by caches,
// not indexed, no referrer.
void SendCitizenPage(httplib::Response& res, int status, const std::string& language,
                     const std::string& html);

// The HTTP front: the framing checks every request passes first, the public status, the health
// and metrics endpoints, signed media links, the opt-out link, the staff API and inbox — and the
// routes of every channel in the registry, to which it offers channels::Intake: references, the
// publisher (answering only after the broker's confirm), deduplication keys and the common web
// intake. Thread-safe: the handlers run on the server's pool and share only thread-safe members.
class Gateway final : public channels::Intake {
 public:
  // `channels` must outlive the gateway.
  Gateway(const Config& config, const channels::Registry& channels, metrics::Registry& registry);
  ~Gateway() override;

  // Binds (port 0 = any free port) and starts serving in a background thread. Returns the port.
  Result<int> Start();
  void Stop();
  int port() const { return port_; }

  // channels::Intake
  const Config& config() const override { return config_; }
  metrics::Registry& metrics() override { return registry_; }
  std::string NewReference() override;
  Status Publish(channels::QueueMessage message, int64_t received_ms) override;
  tickets::IntakeStore& store() override { return store_; }
  channels::Accepted AcceptReport(channels::ReportIntake request, webform::Intake intake) override;
  void CountWebhook(const std::string& channel, const std::string& outcome) override;
  void CountRejected(const std::string& channel, const std::string& reason) override;
  int ReportRateLimited(const httplib::Request& req, const std::string& channel) override;
  std::optional<std::pair<double, double>> TownCentre() const override;
  const std::set<std::string, std::less<>>& AcknowledgementSenders() const override {
    return ack_senders_;
  }
  // "Ich auch" promises an e-mail: offered only where e-mail can be sent.
  bool MeTooOffered() const { return ack_senders_.count("email") > 0; }

 private:
  // Publish, with a log line written once the broker confirmed (Publisher::Publish).
  Status Publish(channels::QueueMessage message, int64_t received_ms, std::string log_line);
  void Routes();
  // Header fields of every response (GuardedServer::SetResponseFinisher): nosniff; a page runs
  // only the scripts the gateway wrote (script_policy_) and is not framed by another site
  // (clickjacking of "Ich auch", "behoben", the inbox), the citizens' pages but by
  // gateway.embed_origins.
  void FinishResponse(const httplib::Request& req, httplib::Response& res) const;
  // A request target in absolute-form ("GET http://host/path", RFC 9112 §3.2.2) routed as its
  // origin-form: its path and target rewritten before the checks and the routing see them.
  static void AcceptAbsoluteForm(const httplib::Request& req);
  // The framing checks (gateway/framing) of a request whose head is read: true, and `res` the
  // refusal, if it is refused (its connection then ends after the answer).
  bool RefusedFraming(const httplib::Request& req, httplib::Response& res);
  // A browser's navigation (Accept names text/html): it gets an error page, not JSON.
  static bool WantsHtml(const httplib::Request& req);
  // The citizens' error page for `status` in the page's language, with the way back to the
  // form: 404 seite.nicht_gefunden, 413 seite.zu_gross, any other seite.nicht_gelesen.
  void SendErrorPage(const httplib::Request& req, httplib::Response& res, int status) const;
  void HandleStatus(const httplib::Request& req, httplib::Response& res);
  void HandleReady(const httplib::Request& req, httplib::Response& res);
  // Signed links to large photos in department mails (gateway/media_links.cpp).
  void HandleMediaLink(const httplib::Request& req, httplib::Response& res);
  // Citizens' opt-out link from status e-mails (gateway/optout.cpp).
  void HandleOptOutPage(const httplib::Request& req, httplib::Response& res);
  void HandlePrivacyNotice(const httplib::Request& req, httplib::Response& res);
  // GET /barrierefreiheit: the accessibility statement (gateway/status_page.cpp).
  void HandleAccessibility(const httplib::Request& req, httplib::Response& res);
  // The citizens' status page, the field to type a reference and the map's files
  // (gateway/status_page.cpp).
  void HandleStatusPage(const httplib::Request& req, httplib::Response& res);
  void HandleLookupPage(const httplib::Request& req, httplib::Response& res);
  void HandleAsset(const httplib::Request& req, httplib::Response& res);
  // 0 if the client of `req` may look up now (gateway.lookups_per_minute), else the seconds
  // until it may; counted by `what` (status_page, status_json, fix_answer, places).
  int LookupRateLimited(const httplib::Request& req, const char* what);
  // One token of the client's bucket in `limit`; when there is none, counts `counter` with the
  // labels and returns the seconds to wait (at least 1).
  // The label of the refusal's counter (`label`="`value`") is made only for a refusal.
  int TakeFromAllowance(RateLimiter& limit, const httplib::Request& req, const char* label,
                        std::string_view value, const char* counter, const char* help);
  bool RefuseTooMany(const httplib::Request& req, httplib::Response& res, const char* what);
  // The citizens' texts in the page's language (PageLanguage).
  texts::Lang PageLang(const httplib::Request& req) const;
  // GET /api/v1/places?q= and /api/v1/places/near?lat=&lon= (gateway/places.cpp).
  void HandlePlaceSearch(const httplib::Request& req, httplib::Response& res);
  void HandlePlaceNear(const httplib::Request& req, httplib::Response& res);
  // POST /meldung/{reference}/behoben: the answer to "Ist es behoben?".
  void HandleFixAnswer(const httplib::Request& req, httplib::Response& res);
  void ShowStatusPage(const httplib::Request& req, httplib::Response& res, int status,
                      const std::string& fixed_error, const std::string& fixed_note,
                      const std::string& me_too_error = "", const std::string& me_too_email = "");
  // GET /meldungen and POST /meldung/{reference}/ich-auch (gateway/public_reports.cpp).
  void HandlePublicReports(const httplib::Request& req, httplib::Response& res);
  void HandleMeToo(const httplib::Request& req, httplib::Response& res);
  // Whether a ticket may be shown to everyone (docs/intake-api.md, "What is already reported"):
  // webform.public_reports on; open311.publish all, or open311_only and filed through Open311;
  // the category routing used, and the citizen's if any, known and not `public: false`.
  bool Published(const std::string& routed_category, const std::string& citizen_category,
                 const std::string& channel) const;
  void HandleOptOutPost(const httplib::Request& req, httplib::Response& res);

  const Config& config_;
  // A page's Content-Security-Policy but for its frame-ancestors: "script-src 'self' <the
  // hashes of the pages' inline scripts>; object-src 'none'; base-uri 'none'".
  const std::string script_policy_;
  const channels::Registry& channels_;
  const std::set<std::string, std::less<>> ack_senders_;  // channels_.AcknowledgementSenders
  metrics::Registry& registry_;
  BlobStore blobs_;
  ReferenceGenerator references_;
  tickets::IntakeStore store_;
  Publisher publisher_;
  Staff staff_;  // the staff API and inbox (gateway/staff_api.cpp, staff_inbox.cpp)
  FramingRules framing_;  // from the configuration and the channels' body limits
  RateLimiter report_limit_;
  RateLimiter lookup_limit_;  // gateway.lookups_per_minute
  Places places_;  // loaded by Start, read-only afterwards
  std::unique_ptr<GuardedServer> server_;
  std::thread thread_;
  // /readyz and /metrics when gateway.admin_port is set (loopback by default).
  std::unique_ptr<GuardedServer> admin_;
  std::thread admin_thread_;
  int port_ = 0;
};

}  // namespace meldestelle::gateway
