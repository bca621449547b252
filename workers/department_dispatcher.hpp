#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "routing/timezone.hpp"
#include "tickets/view.hpp"

namespace meldestelle::workers {

// Delivers tickets to the departments (docs/departments.md, "Delivery"): the outbox rows of kind
// `delivery` on channel `dept_email` (a readable German mail with the photos, SMTP) and
// `dept_webhook` (the ticket JSON, signed with HMAC-SHA256, POSTed to the department's system).
// The content is rendered at send time from the current ticket, so a reminder shows today's state.
// Rows are claimed with a lease like the ChatDispatcher's; every attempt is recorded in
// outbox_attempts; temporary failures are retried with exponential backoff (1 s, 2 s, 4 s … 10 min)
// up to tickets.delivery_max_attempts; permanent ones (webhook 4xx other than 408/429, SMTP 5xx)
// end at once. A webhook delivery that fails for good falls back to the department's e-mail
// (history delivery_failed + delivery_fallback) and raises the alert gauge. Without
// email.smtp_url, dept_email rows wait.
class DepartmentDispatcher {
 public:
  DepartmentDispatcher(const Config& config, metrics::Registry& registry);
  // Sends every due row once; returns how many were attempted.
  Result<int> RunOnce();
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

 private:
  struct Row;
  struct Outcome {
    bool ok = false;
    bool permanent = false;
    std::string provider_id;  // e-mail: our Message-ID; webhook: "HTTP <status>"
    std::string detail;       // "HTTP 500", the SMTP error, …
  };
  Outcome Send(const Row& row, const tickets::TicketView& ticket);
  Outcome SendEmail(const Row& row, const tickets::TicketView& ticket);
  Outcome SendWebhook(const Row& row, const tickets::TicketView& ticket);
  Status Record(const Row& row, const Outcome& out, std::string* result);

  const Config& config_;
  metrics::Registry& registry_;
  HttpClient http_;
  BlobStore blobs_;
  routing::TimeZone zone_;
  std::string channels_;  // PostgreSQL array literal, e.g. {dept_webhook,dept_email}
  std::unique_ptr<pqxx::connection> conn_;
};

// --- Pure pieces (tests/workers/department_delivery_test.cpp) ---

// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body): X-Meldestelle-Signature.
std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body);
// A webhook answer that will not get better by retrying: 3xx and 4xx except 408 and 429.
bool WebhookStatusPermanent(long status);
// The wait before attempt `attempts` + 1: 1 s, 2 s, 4 s, … capped at 10 minutes.
int DeliveryBackoffSeconds(int attempts);

// Which photos go into the mail (in order, while their total stays ≤ max_bytes) and which are
// linked instead; indexes into the ticket's attachments.
struct PhotoPlan {
  std::vector<size_t> attach, link;
};
PhotoPlan PlanPhotos(const std::vector<tickets::TicketView::Photo>& photos, int64_t max_bytes);

// "27.11.2026, 14:05 Uhr" in `zone` for an ISO 8601 UTC time; the input itself if unparseable.
std::string LocalTimeText(const routing::TimeZone& zone, const std::string& iso_utc);

// The department's mail: subject and plain text. `photo_lines` are the lines of the photo
// section (attached ones, links to large ones), already formatted.
struct DepartmentMail {
  std::string subject, text;
};
DepartmentMail RenderDepartmentMail(const tickets::TicketView& ticket, const Config& config,
                                    const Department& department, const std::string& reason,
                                    const std::string& received_local,
                                    const std::vector<std::string>& photo_lines);

}  // namespace meldestelle::workers
