#include "tickets/delivery.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "channels/email/compose.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/http_client.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/media.hpp"
#include "core/smtp_client.hpp"
#include "core/sql.hpp"
#include "tickets/events.hpp"
#include "tickets/notices.hpp"
#include "tickets/reference.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

namespace {

constexpr int64_t kMediaLinkSeconds = 30 * 24 * 3600;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string StatusText(const std::string& status) {
  if (status == "assigned")
    return "zugewiesen, noch nicht angenommen";
  if (status == "handed_back")
    return "zurückgegeben";
  if (status == "waiting_for_citizen")
    return "wartet auf Antwort der meldenden Person";
  if (status == "accepted")
    return "angenommen";
  if (status == "in_progress")
    return "in Bearbeitung";
  if (status == "done")
    return "erledigt";
  if (status == "rejected")
    return "abgelehnt";
  if (status == "duplicate")
    return "Duplikat";
  return status;
}

// The channel's name for people (Config::channel_names), else its name.
std::string ChannelText(const Config& config, const std::string& channel) {
  auto it = config.channel_names.find(channel);
  return it != config.channel_names.end() ? it->second : channel;
}

std::string Coordinate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string SizeText(int64_t bytes) {
  char buf[32];
  if (bytes >= 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof buf, "%lld KB", static_cast<long long>((bytes + 1023) / 1024));
  }
  std::string s = buf;
  std::replace(s.begin(), s.end(), '.', ',');
  return s;
}

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

// --- Pure pieces ---

std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body) {
  return "sha256=" + HmacSha256Hex(secret, timestamp + "." + body);
}

bool WebhookStatusPermanent(long status) {
  if (status == 408 || status == 429)
    return false;
  return status >= 300 && status < 500;
}

PhotoPlan PlanPhotos(const std::vector<TicketView::Photo>& photos, int64_t max_bytes) {
  PhotoPlan plan;
  int64_t total = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    if (photos[i].size >= 0 && total + photos[i].size <= max_bytes) {
      total += photos[i].size;
      plan.attach.push_back(i);
    } else {
      plan.link.push_back(i);
    }
  }
  return plan;
}

std::string LocalTimeText(const routing::TimeZone& zone, const std::string& iso_utc) {
  auto t = routing::ParseRfc3339(iso_utc);
  if (!t)
    return iso_utc;
  std::time_t local = static_cast<std::time_t>(*t + zone.OffsetAt(*t));
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d.%m.%Y, %H:%M Uhr", &tm);
  return buf;
}

DepartmentMail RenderDepartmentMail(const TicketView& t, const Config& config,
                                    const Department& department, const std::string& reason,
                                    const std::string& received_local,
                                    const std::vector<std::string>& photo_lines) {
  const Category* cat = config.FindCategory(t.category);
  std::string category =
      cat != nullptr ? cat->name : (t.category.empty() ? "ohne Kategorie" : t.category);
  const std::string ref = DisplayReference(t.reference);
  DepartmentMail m;
  std::string intro;
  if (reason == "reminder") {
    m.subject = "Erinnerung: [" + ref + "] " + category + " – bitte annehmen oder zurückgeben";
    intro =
        "diese Meldung ist Ihnen zugewiesen und noch nicht angenommen. Bitte nehmen Sie sie "
        "an oder geben Sie sie zurück, wenn Sie nicht zuständig sind.";
  } else if (reason == "reassigned") {
    m.subject = "Neu zugewiesen: [" + ref + "] " + category;
    intro =
        "diese Meldung wurde Ihnen zugewiesen, weil die bisher zuständige Stelle sie nicht "
        "rechtzeitig angenommen hat.";
  } else if (reason == "rerouted") {
    m.subject = "Weitergegeben: [" + ref + "] " + category;
    intro = "diese Meldung wurde von einer anderen Stelle zurückgegeben und Ihnen zugewiesen.";
  } else if (reason == "forwarded") {
    m.subject = "Weitergeleitet: [" + ref + "] " + category;
    intro =
        "diese Meldung wurde Ihnen von der Leitstelle zugewiesen (der Grund steht im Verlauf "
        "der Meldung). Bitte nehmen Sie sie an oder geben Sie sie zurück, wenn Sie nicht "
        "zuständig sind.";
  } else if (reason == "answered") {
    m.subject = "Antwort auf Ihre Rückfrage: [" + ref + "] " + category;
    intro =
        "die meldende Person hat auf Ihre Rückfrage geantwortet (unten als letzter Nachtrag). "
        "Die Meldung ist wieder bei Ihnen.";
  } else if (reason == "question_expired") {
    m.subject = "Keine Antwort auf Ihre Rückfrage: [" + ref + "] " + category;
    intro =
        "auf Ihre Rückfrage kam in der vorgesehenen Zeit keine Antwort. Die Meldung ist wieder "
        "bei Ihnen; bitte entscheiden Sie ohne die Antwort.";
  } else if (reason == "reopened") {
    m.subject = "Wieder geöffnet: [" + ref + "] " + category;
    intro =
        "diese erledigte Meldung ist wieder offen: es wurde gemeldet, dass der Mangel noch "
        "besteht (der Nachtrag steht unten bei der Meldung).";
  } else if (reason == "followup") {
    m.subject = "Nachtrag: [" + ref + "] " + category;
    intro =
        "zu dieser Meldung hat die meldende Person etwas nachgereicht (unten als letzter "
        "Nachtrag).";
  } else if (reason == "fallback") {
    m.subject = "Neue Meldung [" + ref + "] " + category + " (Ersatzzustellung per E-Mail)";
    intro =
        "die Zustellung dieser Meldung an Ihr Fachverfahren (Webhook) ist fehlgeschlagen. "
        "Wir senden sie Ihnen deshalb per E-Mail.";
  } else {
    m.subject = "Neue Meldung [" + ref + "] " + category;
    intro = "eine neue Meldung ist bei der Meldestelle eingegangen; zuständig ist " +
            department.name + ".";
  }
  std::string b = "Guten Tag,\n\n" + intro + "\n\n";
  b += "Vorgangsnummer: " + ref + "\n";
  b += "Kategorie: " + category +
       (t.category.empty() || cat == nullptr ? "" : " (" + t.category + ")") + "\n";
  b += "Eingegangen: " + received_local + " (" + ChannelText(config, t.channel) + ")\n";
  b += "Stand: " + StatusText(t.status) + "\n";
  b += "Ort: " + (t.address.empty() ? std::string("keine Adresse angegeben") : t.address) + "\n";
  if (t.lat && t.lon) {
    b += "Koordinaten: " + Coordinate(*t.lat) + ", " + Coordinate(*t.lon);
    if (t.accuracy_m)
      b += " (Genauigkeit " + std::to_string(static_cast<int>(*t.accuracy_m)) + " m)";
    b += "\nKarte: " + MapLink(t) + "\n";
  }
  std::string flags;
  for (const auto& f : t.flags)
    flags += (flags.empty() ? "" : ", ") + f;
  if (!flags.empty())
    b += "Hinweise: " + flags + "\n";
  if (t.reporters > 1) {
    b += "Meldende: " + std::to_string(t.reporters) +
         " (weitere Meldungen als Duplikat verknüpft)\n";
  }
  b += "\nText der Meldung:\n" + (t.text.empty() ? std::string("(kein Text)") : t.text) + "\n";
  if (!t.answers.empty()) {
    b += "\nZusatzangaben:\n";
    for (const auto& a : t.answers) {
      std::string values;
      for (const auto& v : a.values)
        values += (values.empty() ? "" : ", ") + v;
      b += "- " + (a.question.empty() ? a.code : a.question) + ": " + values + "\n";
    }
  }
  for (const auto& f : t.followups) {
    b += "\nNachtrag (" + ChannelText(config, f.channel) + ", " + f.at + "):\n" +
         (f.text.empty() ? std::string("(kein Text)") : f.text) +
         (f.photos > 0 ? "\n(" + std::to_string(f.photos) + " Foto(s))" : "") + "\n";
  }
  if (department.show_reporter_contact && t.reporter) {
    const std::string& name = t.reporter->name;
    const std::string& contact = t.reporter->address;
    const std::string& via = t.reporter->channel;
    b += "\nMeldende Person: " + (name.empty() ? std::string("(ohne Namen)") : name);
    if (!contact.empty())
      b += ", " + contact + (via.empty() ? "" : " (" + ChannelText(config, via) + ")");
    b += "\n";
  }
  if (!photo_lines.empty()) {
    b += "\nFotos:\n";
    for (const auto& line : photo_lines)
      b += line + "\n";
  }
  b += "\nAnnehmen / Zurückgeben:\n" + config.gateway.public_base_url + "/staff/tickets/" +
       t.reference + "\n";
  b += "\nMit freundlichen Grüßen\nMeldestelle " + config.town.name +
       "\n\n-- \nDiese Nachricht wurde automatisch erstellt. Antworten auf diese E-Mail werden "
       "nicht gelesen; bitte nutzen Sie den Link oben.\n";
  m.text = std::move(b);
  return m;
}

// --- The senders ---

namespace {

using outbox::Attempt;
using outbox::Outcome;
using outbox::Plan;
using outbox::Prepared;
using outbox::Row;

// A delivery row's payload: for whom and why (EnqueueDelivery).
struct DeliveryOrder {
  std::string department_id;
  std::string reason = "new";  // new, reminder, reassigned, rerouted, reopened, followup, fallback
};

DeliveryOrder ReadOrder(const std::string& payload_json) {
  DeliveryOrder o;
  json p = json::parse(payload_json, nullptr, false);
  if (p.is_object()) {
    o.department_id = p.value("department", "");
    o.reason = p.value("reason", "new");
  }
  return o;
}

Attempt FromSmtp(const Status& st, const std::string& message_id) {
  if (st)
    return Attempt::Sent(message_id, "sent");
  // The relay may have taken it: tried again under the same Message-ID (email::RowMessageId).
  if (st.error().code == errors::kSmtpUnconfirmed)
    return Attempt::Unconfirmed(st.error().message, true, message_id);
  return Attempt::Failed(st.error().message, st.error().code == errors::kSmtpPermanent);
}

// The ticket as it is now and its department, once per row: a delivery queued for a department
// that no longer has the ticket (re-routed, escalated meanwhile), or a reminder for a ticket
// accepted meanwhile, is obsolete (done, nothing sent, no failure to raise).
struct Resolved {
  std::optional<Plan> stop;  // skip or fail, with why
  TicketView ticket;
  const Department* department = nullptr;
  DeliveryOrder order;
  // The Message-ID of the first mail about the ticket sent to this address: later mails (a
  // follow-up, a reminder, a reopening) go into its thread. "" if none.
  std::string thread;
};

Resolved Resolve(db::Tx& tx, const Config& config, const Row& row) {
  Resolved r;
  r.order = ReadOrder(row.payload);
  auto ticket = row.ticket_id.empty() ? std::nullopt : LoadTicketById(tx, row.ticket_id, false);
  if (!ticket) {
    r.stop = Plan::Fail("ticket not found");
  } else if (ticket->department_id != r.order.department_id) {
    r.stop = Plan::Skip("obsolete: the ticket is now with " + ticket->department_id);
  } else if (r.order.reason == "reminder" && ticket->status != "assigned") {
    r.stop = Plan::Skip("obsolete: the ticket is " + ticket->status);
  } else {
    // A department missing from the configuration is a failure for good like any other
    // (DepartmentDelivery records it); department stays null.
    r.department = config.FindDepartment(r.order.department_id);
    r.ticket = std::move(*ticket);
    auto first = tx.exec_params(
        "SELECT provider_message_id FROM outbox WHERE ticket_id = $1::uuid AND kind = 'delivery'"
        " AND channel = 'dept_email' AND address = $2 AND provider_message_id IS NOT NULL"
        " AND id <> $3 ORDER BY id LIMIT 1",
        row.ticket_id, row.address, row.id);
    if (!first.empty())
      r.thread = first[0][0].as<std::string>();
  }
  return r;
}

// What every department delivery does with its outcome: a final failure is written into the
// ticket's history (and, for a webhook, falls back to the department's e-mail) and raises the
// department's alert; a success on the department's own channel clears it.
class DepartmentDelivery : public Prepared {
 public:
  DepartmentDelivery(const Row& row, Resolved r, metrics::Registry& registry)
      : row_(row), r_(std::move(r)), registry_(registry) {}

  void Recorded(db::Tx& tx, const Attempt& a, Outcome outcome) override {
    if (outcome != Outcome::kFailed)
      return;
    HistoryEntry failed;
    failed.actor = "system:delivery";
    failed.action = "delivery_failed";
    failed.to_department = r_.order.department_id;
    failed.note = a.detail;
    failed.details_json = DetailsText({{"channel", row_.channel},
                                       {"outbox_id", row_.id},
                                       {"attempts", row_.attempts},
                                       {"reason", r_.order.reason},
                                       {"error", a.detail}});
    int64_t h = RecordHistory(tx, row_.ticket_id, failed);
    FallBack(tx, h);
  }

  void Committed(const Attempt& a, Outcome outcome) override {
    const metrics::Labels dept{{"department", r_.order.department_id}};
    auto& alert =
        registry_.GetGauge("meldestelle_department_delivery_alert",
                           "1 while the last delivery to a department failed for good.", dept);
    if (outcome == Outcome::kSent && r_.order.reason != "fallback") {
      // The department's own channel works again. A fallback mail does not clear the alert: the
      // webhook is still broken.
      alert.Set(0);
    }
    if (outcome != Outcome::kFailed)
      return;
    registry_
        .GetCounter("meldestelle_department_delivery_failures_total",
                    "Department deliveries that failed for good (after retries, or at once).",
                    {{"department", r_.order.department_id}, {"channel", row_.channel}})
        .Inc();
    alert.Set(1);
    log::Error("department delivery failed for good",
               {{"department", r_.order.department_id},
                {"channel", row_.channel},
                {"outbox_id", std::to_string(row_.id)},
                {"fallback", fell_back_ ? "dept_email" : "none"},
                {"error", a.detail}});
  }

 protected:
  // A failed webhook delivery goes out as e-mail instead (HookToDepartment).
  virtual void FallBack(db::Tx&, int64_t) {}

  const Row row_;
  const Resolved r_;
  metrics::Registry& registry_;
  bool fell_back_ = false;
};

// A delivery to a department that is not (or no longer) configured: fails for good without a
// send, recorded and alerted like any other final failure.
class ToUnknownDepartment final : public DepartmentDelivery {
 public:
  using DepartmentDelivery::DepartmentDelivery;
  Attempt Send() override {
    return Attempt::Failed("department " + r_.order.department_id + " is not configured", true);
  }
};

// The plan for a resolved row: stop, fail for want of a department, or send with `make`.
template <typename Make>
Plan PlanDelivery(const Row& row, Resolved r, metrics::Registry& registry, Make make) {
  if (r.stop)
    return std::move(*r.stop);
  if (r.department == nullptr)
    return Plan::Send(std::make_unique<ToUnknownDepartment>(row, std::move(r), registry));
  return Plan::Send(make(std::move(r)));
}

class MailToDepartment final : public DepartmentDelivery {
 public:
  MailToDepartment(const Row& row, Resolved r, metrics::Registry& registry, const Config& config,
                   const SmtpRelay& relay, const routing::TimeZone& zone, const BlobStore& blobs)
      : DepartmentDelivery(row, std::move(r), registry),
        config_(config),
        relay_(relay),
        zone_(zone),
        blobs_(blobs) {}

  Attempt Send() override {
    email::Outgoing m;
    AttachPhotos(m);
    DepartmentMail text =
        RenderDepartmentMail(r_.ticket, config_, *r_.department, r_.order.reason,
                             LocalTimeText(zone_, r_.ticket.received_at), photo_lines_);
    m.from_address = relay_.from;
    m.from_name = relay_.from_name;
    m.to = row_.address;
    m.subject = text.subject;
    m.text = text.text;
    m.date = email::NowRfc5322();
    m.message_id =
        email::RowMessageId("dept", r_.ticket.reference, row_.id, email::DomainOf(relay_.from),
                            PurposeKey(config_, KeyPurpose::kMessageIds));
    if (!r_.thread.empty()) {
      m.in_reply_to = r_.thread;
      m.references = {r_.thread};
    }
    m.auto_reply = false;
    SmtpMessage smtp = relay_.To(row_.address, relay_.from, email::Compose(m));
    smtp.timeout = std::chrono::seconds(config_.Get<Settings>().delivery_timeout_seconds);
    return FromSmtp(SendSmtp(smtp), m.message_id);
  }

 private:
  // Photos: attached while they fit, large ones as signed links (GET /media/{sha256}).
  void AttachPhotos(email::Outgoing& m) {
    const auto& photos = r_.ticket.attachments;
    PhotoPlan plan = PlanPhotos(photos, config_.Get<Settings>().attach_max_bytes);
    for (size_t i : plan.attach) {
      const auto& p = photos[i];
      auto bytes = blobs_.Get(p.sha256);
      std::string name = FileName(p);
      if (!bytes) {
        photo_lines_.push_back("- " + name + ": nicht mehr gespeichert");
        continue;
      }
      photo_lines_.push_back("- " + name + " (" + SizeText(p.size) + ", angehängt)");
      m.attachments.push_back({name, p.media_type, std::move(bytes).value()});
    }
    const std::string secret = PurposeKey(config_, KeyPurpose::kMediaLinks);
    const int64_t expires = NowUnix() + kMediaLinkSeconds;
    for (size_t i : plan.link) {
      const auto& p = photos[i];
      photo_lines_.push_back(
          "- " + FileName(p) + " (" + SizeText(p.size) +
          ", zu groß für den Anhang, 30 Tage abrufbar): " + config_.gateway.public_base_url +
          "/media/" + p.sha256 + "?e=" + std::to_string(expires) +
          "&s=" + SignLink(secret, "media", p.sha256, expires));
    }
  }
  static std::string FileName(const TicketView::Photo& p) {
    return p.filename.empty() ? "foto-" + std::to_string(p.position + 1) : p.filename;
  }

  const Config& config_;
  const SmtpRelay& relay_;
  const routing::TimeZone& zone_;
  const BlobStore& blobs_;
  std::vector<std::string> photo_lines_;
};

class HookToDepartment final : public DepartmentDelivery {
 public:
  HookToDepartment(const Row& row, Resolved r, metrics::Registry& registry, const Config& config,
                   HttpClient& http)
      : DepartmentDelivery(row, std::move(r), registry), config_(config), http_(http) {}

  Attempt Send() override {
    const Department& d = *r_.department;
    if (d.webhook_secret.empty()) {
      return Attempt::Failed("webhook secret of " + d.id + " is empty: nothing is sent unsigned",
                             true);
    }
    json body =
        TicketToJson(r_.ticket, config_, d.show_reporter_contact, config_.gateway.public_base_url);
    body["event"] = r_.order.reason == "reminder"           ? "ticket.reminder"
                    : r_.order.reason == "reopened"         ? "ticket.reopened"
                    : r_.order.reason == "followup"         ? "ticket.followup"
                    : r_.order.reason == "answered"         ? "ticket.answered"
                    : r_.order.reason == "question_expired" ? "ticket.question_expired"
                                                            : "ticket.assigned";
    body["reason"] = r_.order.reason;
    body["delivery_id"] = std::to_string(row_.id);
    std::string payload = Dump(body);
    std::string timestamp = std::to_string(NowUnix());
    HttpClient::Request req;
    req.method = "POST";
    req.url = row_.address;
    req.headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "Meldestelle"},
        {"X-Meldestelle-Timestamp", timestamp},
        {"X-Meldestelle-Signature", WebhookSignature(d.webhook_secret, timestamp, payload)},
        {"X-Meldestelle-Delivery", std::to_string(row_.id)}};
    req.body = std::move(payload);
    req.timeout = std::chrono::seconds(config_.Get<Settings>().delivery_timeout_seconds);
    req.max_bytes = 64 * 1024;  // we read only the status
    auto res = http_.Send(req);
    if (!res) {
      if (res.error().code == errors::kHttpTooLarge)
        return Attempt::Failed(res.error().code.str() + ": " + res.error().message, true);
      // Sent whole and unanswered: unconfirmed, tried again (the receiver deduplicates on
      // X-Meldestelle-Delivery).
      return Attempt::NotAnswered(res.error());
    }
    std::string status = "HTTP " + std::to_string(res->status);
    if (res->status >= 200 && res->status < 300)
      return Attempt::Sent(status, status);
    return Attempt::Failed(status, WebhookStatusPermanent(res->status));
  }

 private:
  void FallBack(db::Tx& tx, int64_t history_id) override {
    const Department& d = *r_.department;
    if (d.email.empty())
      return;
    json payload{{"department", d.id},
                 {"reason", "fallback"},
                 {"original_reason", r_.order.reason},
                 {"failed_delivery", row_.id},
                 {"history_id", history_id}};
    auto inserted = outbox::Enqueue(
        tx, {outbox::Kind::kDelivery, row_.ticket_id, "dept_email", d.email, Dump(payload),
             "delivery:" + row_.ticket_id + ":" + d.id + ":fallback:" + std::to_string(row_.id)});
    if (!inserted)
      return;
    fell_back_ = true;
    HistoryEntry fb;
    fb.actor = "system:delivery";
    fb.action = "delivery_fallback";
    fb.to_department = d.id;
    fb.details_json = DetailsText(
        {{"channel", "dept_email"}, {"outbox_id", *inserted}, {"failed_delivery", row_.id}});
    RecordHistory(tx, row_.ticket_id, fb);
  }

  const Config& config_;
  HttpClient& http_;
};

routing::TimeZone TownZone(const Config& config) {
  auto zone = routing::TimeZone::Load(config.town.timezone);
  if (!zone) {
    log::Warn("department mails: time zone not found, using UTC",
              {{"timezone", config.town.timezone}});
    return routing::TimeZone::Utc();
  }
  return std::move(zone).value();
}

class DepartmentMailSender final : public outbox::Sender {
 public:
  DepartmentMailSender(const Config& config, SmtpRelay relay, metrics::Registry& registry)
      : config_(config),
        relay_(std::move(relay)),
        registry_(registry),
        zone_(TownZone(config)),
        blobs_(config.storage.media_dir) {}
  Plan Prepare(db::Tx& tx, const Row& row) override {
    return PlanDelivery(row, Resolve(tx, config_, row), registry_, [&](Resolved r) {
      return std::make_unique<MailToDepartment>(row, std::move(r), registry_, config_, relay_,
                                                zone_, blobs_);
    });
  }

 private:
  const Config& config_;
  const SmtpRelay relay_;
  metrics::Registry& registry_;
  const routing::TimeZone zone_;
  const BlobStore blobs_;
};

class DepartmentHookSender final : public outbox::Sender {
 public:
  DepartmentHookSender(const Config& config, metrics::Registry& registry)
      : config_(config), registry_(registry) {}
  Plan Prepare(db::Tx& tx, const Row& row) override {
    return PlanDelivery(row, Resolve(tx, config_, row), registry_, [&](Resolved r) {
      return std::make_unique<HookToDepartment>(row, std::move(r), registry_, config_, http_);
    });
  }

 private:
  const Config& config_;
  metrics::Registry& registry_;
  HttpClient http_;
};

// The report itself, to another authority (a report outside the town, `outside.action: forward`).
class ForwardSender final : public outbox::Sender {
 public:
  ForwardSender(const Config& config, SmtpRelay relay)
      : config_(config), relay_(std::move(relay)) {}
  Plan Prepare(db::Tx&, const Row& row) override {
    ForwardMail mail = RenderForwardMail(config_, row.payload);
    return Plan::Send([this, row, mail] {
      email::Outgoing m;
      m.from_address = relay_.from;
      m.from_name = relay_.from_name;
      m.to = row.address;
      m.subject = mail.subject;
      m.text = mail.text;
      m.date = email::NowRfc5322();
      m.message_id =
          email::RowMessageId("fwd", mail.reference, row.id, email::DomainOf(relay_.from),
                              PurposeKey(config_, KeyPurpose::kMessageIds));
      m.auto_reply = false;
      SmtpMessage smtp = relay_.To(row.address, relay_.from, email::Compose(m));
      // A forward travels in the departments' lane, whose lease is made of the delivery timeout.
      smtp.timeout = std::chrono::seconds(config_.Get<Settings>().delivery_timeout_seconds);
      return FromSmtp(SendSmtp(smtp), m.message_id);
    });
  }

 private:
  const Config& config_;
  const SmtpRelay relay_;
};

}  // namespace

ForwardMail RenderForwardMail(const Config& config, const std::string& payload_json) {
  json p = json::parse(payload_json, nullptr, false);
  if (!p.is_object())
    p = json::object();
  std::string lat = p.contains("lat") && p["lat"].is_number() ? p["lat"].dump() : "";
  std::string lon = p.contains("lon") && p["lon"].is_number() ? p["lon"].dump() : "";
  ForwardMail m;
  m.reference = p.value("reference", "");
  const std::string ref = DisplayReference(m.reference);
  m.subject = "Weitergeleitete Mängelmeldung " + ref + " (" + config.town.name + ")";
  m.text = "Guten Tag,\n\ndie folgende Meldung ist bei der Stadt " + config.town.name +
           " eingegangen; zuständig ist nach unserer Kenntnis " +
           p.value("authority", "Ihre Behörde") +
           ". Wir leiten sie deshalb an Sie weiter.\n\nVorgangsnummer: " + ref +
           "\nKategorie: " + p.value("category", "–") + "\nOrt: " + p.value("address", "") +
           (lat.empty() ? ""
                        : " (" + lat + ", " + lon + ") https://www.openstreetmap.org/?mlat=" + lat +
                              "&mlon=" + lon + "#map=18/" + lat + "/" + lon) +
           "\n\nText der Meldung:\n" + p.value("text", "") +
           "\n\nMit freundlichen Grüßen\nStadtverwaltung " + config.town.name;
  return m;
}

void AddDepartmentSenders(outbox::Senders& senders, const Config& config, const SmtpRelay& relay,
                          metrics::Registry& registry) {
  senders.Add({outbox::Kind::kDelivery}, "dept_webhook",
              std::make_shared<DepartmentHookSender>(config, registry));
  if (!relay.enabled()) {
    // Said once: the rows are not lost, they wait for a dispatcher with an SMTP relay.
    log::Warn("department e-mail deliveries wait: email.smtp_url is not set", {});
    return;
  }
  senders.Add({outbox::Kind::kDelivery}, "dept_email",
              std::make_shared<DepartmentMailSender>(config, relay, registry));
}

void AddForwardSender(outbox::Senders& senders, const Config& config, const SmtpRelay& relay) {
  if (relay.enabled()) {
    senders.Add({outbox::Kind::kForward}, "email", std::make_shared<ForwardSender>(config, relay));
  }
}

}  // namespace meldestelle::tickets
