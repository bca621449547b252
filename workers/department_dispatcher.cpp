#include "workers/department_dispatcher.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "channels/email/compose.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/log.hpp"
#include "core/smtp_client.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "tickets/events.hpp"
#include "tickets/reference.hpp"
#include "workers/chat_texts.hpp"

namespace meldestelle::workers {

using namespace meldestelle::tickets;  // NOLINT: until the outbox and channel moves

using nlohmann::json;

namespace {

constexpr int64_t kMediaLinkSeconds = 30 * 24 * 3600;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string StatusText(const std::string& status) {
  if (status == "assigned")
    return "zugewiesen, noch nicht angenommen";
  if (status == "handed_back")
    return "zurückgegeben";
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

std::string ChannelText(const std::string& channel) {
  if (channel == "webform")
    return "Webformular";
  if (channel == "api")
    return "App/API";
  if (channel == "whatsapp")
    return "WhatsApp";
  if (channel == "telegram")
    return "Telegram";
  if (channel == "phone")
    return "Telefon";
  if (channel == "email")
    return "E-Mail";
  if (channel == "open311")
    return "Open311";
  return channel;
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

int DeliveryBackoffSeconds(int attempts) {
  return std::min(600, 1 << std::clamp(attempts - 1, 0, 10));
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
  b += "Eingegangen: " + received_local + " (" + ChannelText(t.channel) + ")\n";
  b += "Stand: " + StatusText(t.status) + "\n";
  b += "Ort: " + (t.address.empty() ? std::string("keine Adresse angegeben") : t.address) + "\n";
  if (t.lat && t.lon) {
    b += "Koordinaten: " + Coordinate(*t.lat) + ", " + Coordinate(*t.lon);
    if (t.accuracy_m)
      b += " (Genauigkeit " + std::to_string(static_cast<int>(*t.accuracy_m)) + " m)";
    b += "\nKarte: " + MapLink(t) + "\n";
  }
  std::string flags;
  for (const auto& f : t.flags) {
    if (f.is_string())
      flags += (flags.empty() ? "" : ", ") + f.get<std::string>();
  }
  if (!flags.empty())
    b += "Hinweise: " + flags + "\n";
  if (t.reporters > 1) {
    b += "Meldende: " + std::to_string(t.reporters) +
         " (weitere Meldungen als Duplikat verknüpft)\n";
  }
  b += "\nText der Meldung:\n" + (t.text.empty() ? std::string("(kein Text)") : t.text) + "\n";
  if (department.show_reporter_contact && t.reporter.is_object()) {
    std::string name = t.reporter.value("name", "");
    std::string contact = t.reporter.value("ack_address", "");
    std::string via = t.reporter.value("ack_channel", "");
    b += "\nMeldende Person: " + (name.empty() ? std::string("(ohne Namen)") : name);
    if (!contact.empty())
      b += ", " + contact + (via.empty() ? "" : " (" + ChannelText(via) + ")");
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

// --- The dispatcher ---

struct DepartmentDispatcher::Row {
  int64_t id = 0;
  std::string ticket_id, channel, address;
  json payload;
  int attempts = 0;
  std::string department_id, reason;
};

DepartmentDispatcher::DepartmentDispatcher(const Config& config, metrics::Registry& registry)
    : config_(config), registry_(registry), blobs_(config.storage.media_dir) {
  auto zone = routing::TimeZone::Load(config.town.timezone);
  zone_ = zone ? std::move(zone).value() : routing::TimeZone::Utc();
  if (!zone) {
    log::Warn("department mails: time zone not found, using UTC",
              {{"timezone", config.town.timezone}});
  }
  channels_ = config.email.smtp_url.empty() ? "{dept_webhook}" : "{dept_webhook,dept_email}";
  if (config.email.smtp_url.empty()) {
    // Said once: the rows are not lost, they wait for a dispatcher with an SMTP relay.
    log::Warn("department e-mail deliveries wait: email.smtp_url is not set", {});
  }
}

Result<int> DepartmentDispatcher::RunOnce() {
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  // The lease outlasts one attempt's timeout, so a slow receiver is not sent to twice.
  const int lease = 2 * config_.tickets.delivery_timeout_seconds + 60;
  std::vector<Row> rows;
  auto claimed = RunDb<Ok>([&] {
    db::Tx tx(*conn_);
    auto r = tx.exec_params(
        "UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,"
        " next_attempt_at = now() + make_interval(secs => $2), updated_at = now()"
        " FROM (SELECT id FROM outbox WHERE kind = 'delivery' AND channel = ANY($1::text[])"
        "       AND status IN ('pending', 'sending') AND next_attempt_at <= now()"
        "       ORDER BY next_attempt_at LIMIT 4 FOR UPDATE SKIP LOCKED) due"
        " WHERE o.id = due.id"
        " RETURNING o.id, o.ticket_id::text, o.channel, o.address, o.payload::text, o.attempts",
        channels_, lease);
    for (const auto& row : r) {
      Row x;
      x.id = row[0].as<int64_t>();
      x.ticket_id = row[1].is_null() ? "" : row[1].as<std::string>();
      x.channel = row[2].as<std::string>();
      x.address = row[3].as<std::string>();
      x.payload = json::parse(row[4].as<std::string>(), nullptr, false);
      if (!x.payload.is_object())
        x.payload = json::object();
      x.attempts = row[5].as<int>();
      x.department_id = x.payload.value("department", "");
      x.reason = x.payload.value("reason", "new");
      rows.push_back(std::move(x));
    }
    tx.commit();
    return Ok{};
  });
  if (!claimed) {
    if (IsTransientDbError(claimed.error()))
      conn_.reset();
    return claimed.error();
  }
  for (const Row& row : rows) {
    // Renew the lease and read the ticket as it is now; if another dispatcher took the row over
    // after our lease ran out, it is its row now and we skip it.
    std::optional<TicketView> ticket;
    auto mine = RunDb<bool>([&] {
      db::Tx tx(*conn_);
      bool ok = !tx.exec_params(
                       "UPDATE outbox SET next_attempt_at = now() +"
                       " make_interval(secs => $3)"
                       " WHERE id = $1 AND status = 'sending' AND attempts = $2"
                       " RETURNING 1",
                       row.id, row.attempts, lease)
                     .empty();
      if (ok && !row.ticket_id.empty())
        ticket = LoadTicketById(tx, row.ticket_id, false);
      tx.commit();
      return ok;
    });
    if (!mine) {
      conn_.reset();
      return mine.error();
    }
    if (!*mine)
      continue;
    // Queued for a department that no longer has the ticket (re-routed, escalated meanwhile), or
    // a reminder for a ticket accepted meanwhile: nothing to send, no failure to raise.
    std::string obsolete;
    if (ticket && ticket->department_id != row.department_id) {
      obsolete = "obsolete: the ticket is now with " + ticket->department_id;
    } else if (ticket && row.reason == "reminder" && ticket->status != "assigned") {
      obsolete = "obsolete: the ticket is " + ticket->status;
    }
    if (!obsolete.empty()) {
      auto done = RunDb<Ok>([&] {
        db::Tx tx(*conn_);
        tx.exec_params0(
            "UPDATE outbox SET status = 'done', last_error = $2, updated_at = now()"
            " WHERE id = $1 AND attempts = $3 AND status = 'sending'",
            row.id, obsolete, row.attempts);
        tx.commit();
        return Ok{};
      });
      if (!done) {
        conn_.reset();
        return done.error();
      }
      log::Info(
          "department delivery dropped",
          {{"reference", ticket->reference}, {"department", row.department_id}, {"why", obsolete}});
      continue;
    }
    Outcome out;
    if (!ticket) {
      out = {false, true, "", "ticket not found"};
    } else {
      out = Send(row, *ticket);
    }
    std::string result;
    if (auto st = Record(row, out, &result); !st) {
      // The lease runs out and the row is sent again: at-least-once (webhook receivers dedupe
      // on X-Meldestelle-Delivery), logged.
      log::Warn("outcome of a department delivery not recorded",
                {{"outbox_id", std::to_string(row.id)}, {"error", st.error().detail}});
      conn_.reset();
      return st.error();
    }
    if (result.empty())
      continue;  // no longer ours
    registry_
        .GetCounter("meldestelle_department_deliveries_total",
                    "Department delivery attempts, by channel and outcome.",
                    {{"channel", row.channel}, {"outcome", result}})
        .Inc();
    log::Info("department delivery", {{"reference", ticket ? ticket->reference : ""},
                                      {"department", row.department_id},
                                      {"channel", row.channel},
                                      {"reason", row.reason},
                                      {"attempt", std::to_string(row.attempts)},
                                      {"outcome", result},
                                      {"detail", out.detail}});
  }
  return static_cast<int>(rows.size());
}

Status DepartmentDispatcher::Record(const Row& row, const Outcome& out, std::string* result) {
  const Department* d = config_.FindDepartment(row.department_id);
  bool final_failure = false, fell_back = false;
  auto recorded = RunDb<Ok>([&] {
    db::Tx tx(*conn_);
    std::string outcome;
    pqxx::result updated;
    if (out.ok) {
      outcome = "sent";
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'sent', provider_message_id = NULLIF($2, ''),"
          " delivery_state = 'sent', sent_at = now(), updated_at = now(), last_error = NULL"
          " WHERE id = $1 AND attempts = $3 AND status = 'sending' RETURNING 1",
          row.id, out.provider_id, row.attempts);
    } else if (out.permanent || row.attempts >= config_.tickets.delivery_max_attempts) {
      outcome = "failed";
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'failed', delivery_state = 'failed', last_error = $2,"
          " updated_at = now() WHERE id = $1 AND attempts = $3 AND status = 'sending'"
          " RETURNING 1",
          row.id, out.detail, row.attempts);
    } else {
      outcome = "retry";
      updated = tx.exec_params(
          "UPDATE outbox SET status = 'pending', last_error = $2, updated_at = now(),"
          " next_attempt_at = now() + make_interval(secs => $3)"
          " WHERE id = $1 AND attempts = $4 AND status = 'sending' RETURNING 1",
          row.id, out.detail, DeliveryBackoffSeconds(row.attempts), row.attempts);
    }
    if (updated.empty()) {
      result->clear();  // taken over by another dispatcher: its outcome counts
      return Ok{};
    }
    tx.exec_params0(
        "INSERT INTO outbox_attempts (outbox_id, attempt, outcome, detail)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (outbox_id, attempt) DO UPDATE"
        " SET outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, at = now()",
        row.id, row.attempts, outcome, out.ok ? out.provider_id : out.detail);
    if (outcome == "failed" && !row.ticket_id.empty()) {
      final_failure = true;
      HistoryEntry failed;
      failed.actor = "system:delivery";
      failed.action = "delivery_failed";
      failed.to_department = row.department_id;
      failed.note = out.detail;
      failed.details = {{"channel", row.channel},
                        {"outbox_id", row.id},
                        {"attempts", row.attempts},
                        {"reason", row.reason},
                        {"error", out.detail}};
      int64_t h = RecordHistory(tx, row.ticket_id, failed);
      if (row.channel == "dept_webhook" && d != nullptr && !d->email.empty()) {
        json payload{{"department", row.department_id},
                     {"reason", "fallback"},
                     {"original_reason", row.reason},
                     {"failed_delivery", row.id},
                     {"history_id", h}};
        auto inserted = tx.exec_params(
            "INSERT INTO outbox (ticket_id, kind, channel, address, payload, status, dedupe_key)"
            " VALUES ($1::uuid, 'delivery', 'dept_email', $2, $3::jsonb, 'pending', $4)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            row.ticket_id, d->email, Dump(payload),
            "delivery:" + row.ticket_id + ":" + row.department_id +
                ":fallback:" + std::to_string(row.id));
        if (!inserted.empty()) {
          fell_back = true;
          HistoryEntry fb;
          fb.actor = "system:delivery";
          fb.action = "delivery_fallback";
          fb.to_department = row.department_id;
          fb.details = {{"channel", "dept_email"},
                        {"outbox_id", inserted[0][0].as<int64_t>()},
                        {"failed_delivery", row.id}};
          RecordHistory(tx, row.ticket_id, fb);
        }
      }
    }
    tx.commit();
    *result = outcome;
    return Ok{};
  });
  if (!recorded)
    return recorded.error();
  if (*result == "sent" && row.reason != "fallback") {
    // The department's own channel works again. A fallback mail does not clear the alert: the
    // webhook is still broken.
    registry_
        .GetGauge("meldestelle_department_delivery_alert",
                  "1 while the last delivery to a department failed for good.",
                  {{"department", row.department_id}})
        .Set(0);
  }
  if (final_failure) {
    registry_
        .GetCounter("meldestelle_department_delivery_failures_total",
                    "Department deliveries that failed for good (after retries, or at once).",
                    {{"department", row.department_id}, {"channel", row.channel}})
        .Inc();
    registry_
        .GetGauge("meldestelle_department_delivery_alert",
                  "1 while the last delivery to a department failed for good.",
                  {{"department", row.department_id}})
        .Set(1);
    log::Error("department delivery failed for good",
               {{"department", row.department_id},
                {"channel", row.channel},
                {"outbox_id", std::to_string(row.id)},
                {"fallback", fell_back ? "dept_email" : "none"},
                {"error", out.detail}});
  }
  return Ok{};
}

DepartmentDispatcher::Outcome DepartmentDispatcher::Send(const Row& row, const TicketView& ticket) {
  if (config_.FindDepartment(row.department_id) == nullptr) {
    return {false, true, "", "department " + row.department_id + " is not configured"};
  }
  if (row.channel == "dept_email")
    return SendEmail(row, ticket);
  if (row.channel == "dept_webhook")
    return SendWebhook(row, ticket);
  return {false, true, "", "no sender for channel " + row.channel};
}

DepartmentDispatcher::Outcome DepartmentDispatcher::SendEmail(const Row& row,
                                                              const TicketView& ticket) {
  const Department& d = *config_.FindDepartment(row.department_id);
  const auto& cfg = config_.email;
  email::Outgoing m;
  // Photos: attached while they fit, large ones as signed links (GET /media/{sha256}).
  PhotoPlan plan = PlanPhotos(ticket.attachments, config_.tickets.attach_max_bytes);
  std::vector<std::string> lines;
  for (size_t i : plan.attach) {
    const auto& p = ticket.attachments[i];
    auto bytes = blobs_.Get(p.sha256);
    std::string name = p.filename.empty() ? "foto-" + std::to_string(p.position + 1) : p.filename;
    if (!bytes) {
      lines.push_back("- " + name + ": nicht mehr gespeichert");
      continue;
    }
    lines.push_back("- " + name + " (" + SizeText(p.size) + ", angehängt)");
    m.attachments.push_back({name, p.media_type, std::move(bytes).value()});
  }
  const std::string secret = LinkSecret(config_);
  const int64_t expires = NowUnix() + kMediaLinkSeconds;
  for (size_t i : plan.link) {
    const auto& p = ticket.attachments[i];
    std::string name = p.filename.empty() ? "foto-" + std::to_string(p.position + 1) : p.filename;
    lines.push_back("- " + name + " (" + SizeText(p.size) +
                    ", zu groß für den Anhang, 30 Tage "
                    "abrufbar): " +
                    config_.gateway.public_base_url + "/media/" + p.sha256 + "?e=" +
                    std::to_string(expires) + "&s=" + SignLink(secret, "media", p.sha256, expires));
  }
  std::string reason = row.reason;
  DepartmentMail text = RenderDepartmentMail(ticket, config_, d, reason,
                                             LocalTimeText(zone_, ticket.received_at), lines);
  m.from_address = cfg.from;
  m.from_name = cfg.from_name;
  m.to = row.address;
  m.subject = text.subject;
  m.text = text.text;
  m.date = email::NowRfc5322();
  m.message_id = email::NewMessageId("dept", ticket.reference, email::DomainOf(cfg.from));
  m.auto_reply = false;
  SmtpMessage smtp;
  smtp.url = cfg.smtp_url;
  smtp.user = cfg.smtp_user;
  smtp.password = cfg.smtp_password;
  smtp.mail_from = cfg.from;
  smtp.recipients = {row.address};
  smtp.data = email::Compose(m);
  smtp.timeout = std::chrono::seconds(config_.tickets.delivery_timeout_seconds);
  auto st = SendSmtp(smtp);
  if (st)
    return {true, false, m.message_id, "sent"};
  return {false, st.error().code == errors::kSmtpPermanent, "", st.error().message};
}

DepartmentDispatcher::Outcome DepartmentDispatcher::SendWebhook(const Row& row,
                                                                const TicketView& ticket) {
  const Department& d = *config_.FindDepartment(row.department_id);
  if (d.webhook_secret.empty()) {
    return {false, true, "", "webhook secret of " + d.id + " is empty: nothing is sent unsigned"};
  }
  json body =
      TicketToJson(ticket, config_, d.show_reporter_contact, config_.gateway.public_base_url);
  body["event"] = row.reason == "reminder" ? "ticket.reminder" : "ticket.assigned";
  body["reason"] = row.reason;
  body["delivery_id"] = std::to_string(row.id);
  std::string payload = Dump(body);
  std::string timestamp = std::to_string(NowUnix());
  HttpClient::Request req;
  req.method = "POST";
  req.url = row.address;
  req.headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", "Meldestelle"},
      {"X-Meldestelle-Timestamp", timestamp},
      {"X-Meldestelle-Signature", WebhookSignature(d.webhook_secret, timestamp, payload)},
      {"X-Meldestelle-Delivery", std::to_string(row.id)}};
  req.body = std::move(payload);
  req.timeout = std::chrono::seconds(config_.tickets.delivery_timeout_seconds);
  req.max_bytes = 64 * 1024;  // we read only the status
  auto res = http_.Send(req);
  if (!res) {
    return {false, res.error().code == errors::kHttpTooLarge, "",
            res.error().code.str() + ": " + res.error().message};
  }
  std::string status = "HTTP " + std::to_string(res->status);
  if (res->status >= 200 && res->status < 300)
    return {true, false, status, status};
  return {false, WebhookStatusPermanent(res->status), "", status};
}

void DepartmentDispatcher::Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
  PollUntilStopped(
      "department dispatcher", [this] { return RunOnce(); }, stop, interval);
}

}  // namespace meldestelle::workers
