// Department delivery end to end (docs/departments.md, "Delivery"): the real gateway, worker and
// dispatcher, the real broker, database and SMTP sink, and a stand-in for a department's own
// ticket system (FakeWebhook).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "core/crypto.hpp"
#include "core/links.hpp"
#include "core/photo.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace delivery_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

constexpr const char* kWebhookSecret = "department-webhook-secret-for-tests";

// The Tiefbauamt gets a mailbox of its own per test (the SMTP sink is shared).
std::string DepartmentAddress() { return "tiefbauamt+" + RandomHex(4) + "@musterstadt.example"; }

StackOptions DeliveryOptions(const std::string& dept_email, const std::string& webhook_url,
                             const std::string& extra_config = "") {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = {"MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"),
                 "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example",
                 std::string("MELDESTELLE_WEBHOOK_SECRET=") + kWebhookSecret};
  o.edit_config = [=](std::string& cfg) {
    std::string dept = "email: " + dept_email;
    if (!webhook_url.empty()) {
      dept += "\n    delivery: webhook\n    webhook: {url: \"" + webhook_url +
              "\", secret: \"${MELDESTELLE_WEBHOOK_SECRET}\"}";
    }
    Replace(cfg, "email: tiefbauamt@musterstadt.example", dept);
    // The example's two lines as a whole, so that an extra attach_max_bytes is not a key given
    // twice; what `extra_config` leaves out takes its default (the example's value).
    if (!extra_config.empty())
      Replace(cfg, "delivery_max_attempts: 6\n  attach_max_bytes: 5242880", extra_config);
  };
  return o;
}

// A report the rules give to the Tiefbauamt; returns its reference. Reports of one test lie
// `spot` × 70 m apart, so that none is linked to another as its duplicate.
std::string PostPothole(Stack& s, const httplib::MultipartFormDataItems& photos = {},
                        int spot = 0) {
  httplib::MultipartFormDataItems items = {
      {"category", "STR-01", "", ""},
      {"description", "Tiefes Schlagloch, Radfahrer müssen ausweichen", "", ""},
      {"lat", "50.937531", "", ""},
      {"lon", std::to_string(6.960279 + 0.001 * spot), "", ""},
      {"address", "Mühlenweg 12", "", ""},
      {"email", "j.mueller@example.net", "", ""}};
  items.insert(items.end(), photos.begin(), photos.end());
  auto res = s.Client().Post("/api/v1/reports", items);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  return json::parse(res->body)["reference"].get<std::string>();
}

std::string Metrics(int port) {
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/metrics");
  return res && res->status == 200 ? res->body : "";
}

// The link to the photo `sha256` in the mail text, as path and query ("/media/…?e=…&s=…").
std::string MediaLink(const std::string& text, const std::string& sha256) {
  size_t p = text.find("/media/" + sha256 + "?e=");
  if (p == std::string::npos)
    return "";
  size_t end = text.find_first_of(" \n", p);
  return text.substr(p, end == std::string::npos ? std::string::npos : end - p);
}

}  // namespace

TEST_CASE(
    "Delivery by e-mail: the department gets the ticket with the photo attached and the large "
    "one linked, and every attempt is recorded",
    "[integration][delivery]") {
  REQUIRE_FALSE(Env("MELDESTELLE_SMTP_SINK_DIR").empty());
  const std::string dept = DepartmentAddress();
  const std::string small = StoredCopy(Jpeg()), large = StoredCopy(OtherJpeg());
  REQUIRE(small != large);
  // Room for the first photo only.
  Stack s(DeliveryOptions(
      dept, "", "delivery_max_attempts: 6\n  attach_max_bytes: " + std::to_string(small.size())));
  std::string reference = PostPothole(s, {{"photos", Jpeg(), "Straße_Mühlenweg.jpg", "image/jpeg"},
                                          {"photos", OtherJpeg(), "IMG_0412.JPG", "image/jpeg"}});
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(dept).size() == 1; }));
  auto mail = email::ParseMail(SinkMessagesTo(dept)[0]);
  REQUIRE(mail);
  const std::string display =
      reference.substr(0, 4) + "-" + reference.substr(4, 4) + "-" + reference.substr(8, 4);
  CHECK(mail->subject == "Neue Meldung [" + display + "] Schlagloch");
  CHECK(mail->from_address == "maengel@musterstadt.example");
  const std::string& text = mail->text;
  for (std::string part :
       {"Vorgangsnummer: " + display, std::string("Kategorie: Schlagloch (STR-01)"),
        std::string("Ort: Mühlenweg 12"), std::string("Koordinaten: 50.937531, 6.960279"),
        std::string("https://www.openstreetmap.org/?mlat=50.937531&mlon=6.960279"),
        std::string("Radfahrer müssen ausweichen"),
        "Annehmen / Zurückgeben:\nhttp://127.0.0.1:" + std::to_string(s.port()) +
            "/staff/tickets/" + reference}) {
    INFO(part);
    CHECK(text.find(part) != std::string::npos);
  }
  // The Tiefbauamt may not see the citizen's contact.
  CHECK(text.find("j.mueller@example.net") == std::string::npos);
  // The small photo attached (the stripped copy), the large one linked.
  REQUIRE(mail->attachments.size() == 1);
  CHECK(mail->attachments[0].filename == "Straße_Mühlenweg.jpg");
  CHECK(mail->attachments[0].bytes == small);
  std::string link = MediaLink(text, Sha256Hex(large));
  REQUIRE_FALSE(link.empty());
  auto got = s.Client().Get(link.c_str());
  REQUIRE(got);
  CHECK(got->status == 200);
  CHECK(got->get_header_value("Content-Type") == "image/jpeg");
  CHECK(got->body == large);
  // A changed, expired or foreign signature reveals nothing; an unknown photo is 404.
  std::string tampered = link;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  CHECK(s.Client().Get(tampered.c_str())->status == 403);
  CHECK(s.Client().Get(("/media/" + Sha256Hex(large)).c_str())->status == 403);
  int64_t past = static_cast<int64_t>(std::time(nullptr)) - 60;
  CHECK(s.Client()
            .Get(("/media/" + Sha256Hex(large) + "?e=" + std::to_string(past) + "&s=" +
                  SignLink(KeyOf(s, meldestelle::KeyPurpose::kMediaLinks), "media",
                           Sha256Hex(large), past))
                     .c_str())
            ->status == 403);
  int64_t later = static_cast<int64_t>(std::time(nullptr)) + 600;
  std::string unknown = Sha256Hex("not stored");
  CHECK(s.Client()
            .Get(("/media/" + unknown + "?e=" + std::to_string(later) + "&s=" +
                  SignLink(KeyOf(s, meldestelle::KeyPurpose::kMediaLinks), "media", unknown, later))
                     .c_str())
            ->status == 404);
  CHECK(s.Client().Get("/media/..%2F..%2Fetc%2Fpasswd?e=1&s=x")->status == 404);
  // The outbox row and its one attempt.
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'delivery' AND status = 'sent'", 1));
  auto row = s.Query(
      "SELECT o.channel, o.address, o.attempts, a.attempt, a.outcome, o.provider_message_id"
      " FROM outbox o JOIN outbox_attempts a ON a.outbox_id = o.id WHERE o.kind = 'delivery'");
  REQUIRE(row.size() == 1);
  CHECK(row[0][0].as<std::string>() == "dept_email");
  CHECK(row[0][1].as<std::string>() == dept);
  CHECK(row[0][2].as<int>() == 1);
  CHECK(row[0][3].as<int>() == 1);
  CHECK(row[0][4].as<std::string>() == "sent");
  CHECK(row[0][5].as<std::string>() == mail->message_id);
}

TEST_CASE(
    "Delivery by webhook: the signed ticket JSON is retried after HTTP 500 until the receiver "
    "answers 2xx",
    "[integration][delivery]") {
  FakeWebhook hook;
  hook.FailFirst(2, 500);
  Stack s(DeliveryOptions(DepartmentAddress(), hook.url()));
  std::string reference = PostPothole(s);
  INFO(s.DispatcherLog());
  REQUIRE(hook.WaitForRequests(3));
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'delivery' AND status = 'sent'", 1));
  std::string id = One(s, "SELECT id FROM outbox WHERE kind = 'delivery'");
  auto requests = hook.requests();
  REQUIRE(requests.size() == 3);
  for (const auto& r : requests) {
    auto header = [&](const char* name) {
      auto it = r.headers.find(name);
      return it == r.headers.end() ? std::string() : it->second;
    };
    CHECK(header("Content-Type") == "application/json");
    CHECK(header("X-Meldestelle-Delivery") == id);
    std::string ts = header("X-Meldestelle-Timestamp");
    REQUIRE_FALSE(ts.empty());
    CHECK(std::abs(std::stoll(ts) - static_cast<long long>(std::time(nullptr))) < 120);
    // What a receiver does: HMAC-SHA256 over "<timestamp>.<body>" with the shared secret.
    CHECK(header("X-Meldestelle-Signature") ==
          "sha256=" + HmacSha256Hex(kWebhookSecret, ts + "." + r.body));
    json body = json::parse(r.body);
    CHECK(body["reference"] == reference);
    CHECK(body["event"] == "ticket.assigned");
    CHECK(body["reason"] == "new");
    CHECK(body["delivery_id"] == id);
    CHECK(body["department"]["id"] == "tiefbauamt");
    CHECK(body["category"] == "STR-01");
    CHECK(body["location"]["address"] == "Mühlenweg 12");
    CHECK(body["reporter"].is_null());  // no contact for this department
  }
  CHECK(requests[0].answered == 500);
  CHECK(requests[2].answered == 200);
  // Every attempt recorded, with the backoff between them (1 s, then 2 s).
  auto attempts = s.Query(
      "SELECT attempt, outcome, detail, extract(epoch FROM at - lag(at) OVER (ORDER BY attempt))"
      " FROM outbox_attempts WHERE outbox_id = " + id + " ORDER BY attempt");
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0][1].as<std::string>() == "retry");
  CHECK(attempts[0][2].as<std::string>() == "HTTP 500");
  CHECK(attempts[1][1].as<std::string>() == "retry");
  CHECK(attempts[1][3].as<double>() >= 0.9);
  CHECK(attempts[2][1].as<std::string>() == "sent");
  CHECK(attempts[2][2].as<std::string>() == "HTTP 200");
  CHECK(attempts[2][3].as<double>() >= 1.9);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action LIKE 'delivery%'") == 0);
}

TEST_CASE(
    "A failing webhook is retried up to the limit, then falls back to the department e-mail and "
    "raises the alert metric",
    "[integration][delivery]") {
  REQUIRE_FALSE(Env("MELDESTELLE_SMTP_SINK_DIR").empty());
  FakeWebhook hook;
  hook.FailFirst(-1, 503);
  const std::string dept = DepartmentAddress();
  StackOptions o = DeliveryOptions(dept, hook.url(), "delivery_max_attempts: 3");
  o.dispatcher_metrics_port = FreePort();
  Stack s(o);
  std::string reference = PostPothole(s);
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(dept).size() == 1; }));
  CHECK(hook.requests().size() == 3);
  auto mail = email::ParseMail(SinkMessagesTo(dept)[0]);
  REQUIRE(mail);
  CHECK(mail->subject.find("Ersatzzustellung") != std::string::npos);
  CHECK(mail->text.find("/staff/tickets/" + reference) != std::string::npos);
  CHECK(One(s,
            "SELECT status || ' ' || attempts || ' ' || last_error FROM outbox"
            " WHERE channel = 'dept_webhook'") == "failed 3 HTTP 503");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'dept_email'"
                     " AND status = 'sent' AND payload->>'reason' = 'fallback'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
                " WHERE o.channel = 'dept_webhook' AND a.outcome = 'retry'") == 2);
  CHECK(s.Count("SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
                " WHERE o.channel = 'dept_webhook' AND a.outcome = 'failed'") == 1);
  auto history =
      s.Query("SELECT action, actor FROM ticket_history WHERE action LIKE 'delivery%' ORDER BY id");
  REQUIRE(history.size() == 2);
  CHECK(history[0][0].as<std::string>() == "delivery_failed");
  CHECK(history[0][1].as<std::string>() == "system:delivery");
  CHECK(history[1][0].as<std::string>() == "delivery_fallback");
  // The alert stays raised after the fallback mail: the webhook is still broken.
  std::string metrics = Metrics(o.dispatcher_metrics_port);
  INFO(metrics);
  CHECK(metrics.find("meldestelle_department_delivery_failures_total{department=\"tiefbauamt\","
                     "channel=\"dept_webhook\"} 1\n") != std::string::npos);
  CHECK(metrics.find("meldestelle_department_delivery_alert{department=\"tiefbauamt\"} 1\n") !=
        std::string::npos);

  // A permanent refusal (410) ends at once, also with the fallback.
  hook.FailFirst(-1, 410);
  PostPothole(s, {}, 1);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM ticket_history WHERE action = 'delivery_fallback'", 2));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE channel = 'dept_webhook' AND status = 'failed'"
                " AND attempts = 1 AND last_error = 'HTTP 410'") == 1);
  REQUIRE(WaitFor([&] { return SinkMessagesTo(dept).size() == 2; }));

  // The webhook works again: the next delivery clears the alert.
  hook.FailFirst(0);
  PostPothole(s, {}, 2);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'dept_webhook'"
                     " AND status = 'sent'",
                     1));
  REQUIRE(WaitFor([&] {
    return Metrics(o.dispatcher_metrics_port)
               .find("meldestelle_department_delivery_alert{department=\"tiefbauamt\"} 0\n") !=
           std::string::npos;
  }));
}

TEST_CASE(
    "A delivery to a department that is no longer configured fails for good: recorded in the "
    "ticket's history and raising the alert, without a send",
    "[integration][delivery]") {
  REQUIRE_FALSE(Env("MELDESTELLE_SMTP_SINK_DIR").empty());
  const std::string dept = DepartmentAddress();
  StackOptions o = DeliveryOptions(dept, "");
  o.dispatcher_metrics_port = FreePort();
  Stack s(o);
  std::string reference = PostPothole(s);
  INFO(s.DispatcherLog());
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE channel = 'dept_email' AND status = 'sent'", 1));
  // The ticket is now with a department the configuration no longer has (removed from the
  // file while its tickets remained), and a delivery to it is queued.
  s.Query("UPDATE tickets SET department_id = 'altamt' WHERE reference = " + Q(reference));
  s.Query(
      "INSERT INTO outbox (ticket_id, kind, channel, address, payload, dedupe_key)"
      " SELECT ticket_id, kind, channel, address, jsonb_set(payload, '{department}', "
      "'\"altamt\"'), 'test:altamt' FROM outbox WHERE channel = 'dept_email'");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE dedupe_key = 'test:altamt'"
                     " AND status = 'failed' AND attempts = 1",
                     1));
  CHECK(One(s, "SELECT last_error FROM outbox WHERE dedupe_key = 'test:altamt'") ==
        "department altamt is not configured");
  CHECK(One(s,
            "SELECT action || ' ' || to_department FROM ticket_history"
            " WHERE action LIKE 'delivery%' ORDER BY id") == "delivery_failed altamt");
  CHECK(SinkMessagesTo(dept).size() == 1);
  REQUIRE(WaitFor([&] {
    return Metrics(o.dispatcher_metrics_port)
               .find("meldestelle_department_delivery_alert{department=\"altamt\"} 1\n") !=
           std::string::npos;
  }));
  CHECK(Metrics(o.dispatcher_metrics_port)
            .find("meldestelle_department_delivery_failures_total{department=\"altamt\","
                  "channel=\"dept_email\"} 1\n") != std::string::npos);
}

}  // namespace delivery_test
