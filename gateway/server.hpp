#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "channels/chat/event.hpp"
#include "channels/phone/event.hpp"
#include "channels/webform/intake.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/reference.hpp"
#include "gateway/intake_store.hpp"
#include "gateway/publisher.hpp"
#include "gateway/staff.hpp"

namespace meldestelle::gateway {

// cpp-httplib's listen backlog is compiled in as 5; widen it on the bound socket (platform.md).
class BacklogServer : public httplib::Server {
 public:
  bool WidenBacklog(int n);
};

// The HTTP front: authenticates and validates each request, stores photos content-addressed,
// publishes the normalized report with a broker confirm and answers only then. Thread-safe: the
// handlers run on the server's pool and share only thread-safe members.
class Gateway {
 public:
  Gateway(const Config& config, metrics::Registry& registry);
  ~Gateway();

  // Binds (port 0 = any free port) and starts serving in a background thread. Returns the port.
  Result<int> Start();
  void Stop();
  int port() const { return port_; }

  // The outcome of accepting one validated submission (exposed for tests).
  struct Accepted {
    int status = 202;  // 202, or an error status
    std::string reference;
    bool replay = false;
    Error error;
  };
  Accepted Accept(const std::string& channel, webform::Intake intake,
                  const std::string& dedup_key, const std::string& request_hash,
                  RawPayload raw);

 private:
  void Routes();
  void HandleFormPage(const httplib::Request& req, httplib::Response& res);
  void HandleFormPost(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader);
  void HandleApiPost(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader);
  void HandleStatus(const httplib::Request& req, httplib::Response& res);
  void HandleReady(const httplib::Request& req, httplib::Response& res);
  // Signed links to large photos in department mails (gateway/media_links.cpp).
  void HandleMediaLink(const httplib::Request& req, httplib::Response& res);
  // Citizens' opt-out link from status e-mails (gateway/optout.cpp).
  void HandleOptOutPage(const httplib::Request& req, httplib::Response& res);
  void HandleOptOutPost(const httplib::Request& req, httplib::Response& res);
  // Messenger webhooks (gateway/webhooks.cpp).
  void HandleWhatsAppVerify(const httplib::Request& req, httplib::Response& res);
  void HandleWhatsAppPost(const httplib::Request& req, httplib::Response& res);
  void HandleTelegramPost(const httplib::Request& req, httplib::Response& res);
  // Publishes a notification's events as one chat batch and answers 200 after the confirm.
  void PublishChat(const std::string& channel, std::vector<chat::ChatEvent> events,
                   const httplib::Request& req, httplib::Response& res);
  void CountWebhook(const std::string& channel, const std::string& outcome);
  // Phone webhooks (gateway/phone.cpp).
  void HandlePhone(const httplib::Request& req, httplib::Response& res, const std::string& step);
  void HandlePhoneTranscript(const httplib::Request& req, httplib::Response& res);
  // Raw e-mail from mailgate and the IMAP poller (gateway/mail.cpp).
  void HandleMail(const httplib::Request& req, httplib::Response& res);
  // Mailgun Routes and SendGrid Inbound Parse (gateway/mail.cpp).
  void HandleInboundParse(const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader, const std::string& provider);
  // Reserves the mail's key, publishes it and answers (202, or 200 for a repeat, or 503).
  void AcceptMail(const std::string& dedupe_key, const std::string& format, std::string raw,
                  const std::string& source, bool robot, httplib::Response& res);
  // Publishes one phone event; with `intake_key` the reference is reserved per key, so a retried
  // webhook gets the same reference. Returns the reference, or an error.
  Result<std::string> PublishPhone(phone::Event event, const std::string& intake_key,
                                   const httplib::Request& req, const std::string& audio_url = {});

  // Open311 GeoReport v2 (gateway/open311.cpp).
  void HandleOpen311Get(const httplib::Request& req, httplib::Response& res);
  void HandleOpen311Post(const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader);

  struct Body;
  // The whole body, up to gateway.max_request_bytes ("payload_too_large" beyond).
  Result<std::string> ReadRaw(httplib::Response& res, const httplib::ContentReader& reader);
  Result<Body> ReadBody(const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader);
  std::string NewFormToken() const;
  void CountRejected(const std::string& channel, const std::string& reason);

  const Config& config_;
  metrics::Registry& registry_;
  BlobStore blobs_;
  ReferenceGenerator references_;
  IntakeStore store_;
  Publisher publisher_;
  Staff staff_;  // the staff API and inbox (gateway/staff_api.cpp, staff_inbox.cpp)
  BacklogServer server_;
  std::thread thread_;
  int port_ = 0;
  metrics::Counter& received_form_;
  metrics::Counter& received_app_;
  metrics::Counter& accepted_form_;
  metrics::Counter& accepted_app_;
};

}  // namespace meldestelle::gateway
