#pragma once

// What the outbox sends on the ticket's behalf (docs/departments.md, "Delivery"): the ticket to
// its department — on `dept_email` a readable German mail with the photos (SMTP), on
// `dept_webhook` the ticket JSON signed with HMAC-SHA256 and POSTed to the department's system —
// and the report to another authority (`forward`). The content is rendered at send time from the
// ticket as it is then, so a reminder shows today's state; the department is resolved once per
// row, when the sending loop prepares it. A delivery queued for a department that no longer has
// the ticket, or a reminder for a ticket accepted meanwhile, is dropped. Temporary failures are
// retried by the loop up to tickets.delivery_max_attempts; permanent ones (webhook 3xx/4xx other
// than 408/429, SMTP 5xx) end at once. A webhook delivery that fails for good falls back to the
// department's e-mail (history delivery_failed + delivery_fallback) and raises the alert gauge.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/smtp_client.hpp"
#include "outbox/dispatcher.hpp"
#include "routing/timezone.hpp"
#include "tickets/view.hpp"

namespace meldestelle::tickets {

// Adds the department senders to a lane's table: dept_webhook, and dept_email with a relay
// (without one the e-mail rows wait).
void AddDepartmentSenders(outbox::Senders& senders, const Config& config, const SmtpRelay& relay,
                          metrics::Registry& registry);
// Adds the sender of forwards to other authorities (kind forward on email), with a relay.
void AddForwardSender(outbox::Senders& senders, const Config& config, const SmtpRelay& relay);

// The mail to another authority for a `forward` row's payload.
struct ForwardMail {
  std::string reference, subject, text;
};
ForwardMail RenderForwardMail(const Config& config, const std::string& payload_json);

// --- Pure pieces (tests/tickets/delivery_test.cpp) ---

// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body): X-Meldestelle-Signature.
std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body);
// A webhook answer that will not get better by retrying: 3xx and 4xx except 408 and 429.
bool WebhookStatusPermanent(long status);

// Which photos go into the mail (in order, while their total stays ≤ max_bytes) and which are
// linked instead; indexes into the ticket's attachments.
struct PhotoPlan {
  std::vector<size_t> attach, link;
};
PhotoPlan PlanPhotos(const std::vector<TicketView::Photo>& photos, int64_t max_bytes);

// "27.11.2026, 14:05 Uhr" in `zone` for an ISO 8601 UTC time; the input itself if unparseable.
std::string LocalTimeText(const routing::TimeZone& zone, const std::string& iso_utc);

// The department's mail: subject and plain text. `photo_lines` are the lines of the photo
// section (attached ones, links to large ones), already formatted.
struct DepartmentMail {
  std::string subject, text;
};
DepartmentMail RenderDepartmentMail(const TicketView& ticket, const Config& config,
                                    const Department& department, const std::string& reason,
                                    const std::string& received_local,
                                    const std::vector<std::string>& photo_lines);

}  // namespace meldestelle::tickets
