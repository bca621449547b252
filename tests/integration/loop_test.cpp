// The closed loop to citizens (docs/departments.md, "Citizens"): a status change applied the way
// the staff API applies it (ticket updated, history recorded, EnqueueCitizenNotifications in the
// same transaction) reaches every reporter once, in their own channel — e-mail threaded to our
// acknowledgement (real SMTP sink), WhatsApp text or template by the 24-hour window, Telegram and
// SMS (the stand-ins for the Graph API, the Bot API and Twilio) — and opting out (STOP, the
// e-mail link) stops it. Real gateway, worker, dispatcher, broker and database.
#include <httplib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/links.hpp"
#include "core/sql.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"
#include "tickets/events.hpp"
#include "tickets/reference.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace loop_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMailSecret = "mail-intake-secret-for-loop-tests";

StackOptions LoopOptions(const FakeProviders& fake) {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=2");
  o.extra_env.push_back(std::string("MELDESTELLE_MAIL_SECRET=") + kMailSecret);
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"));
  o.extra_env.push_back("MELDESTELLE_SMTP_FROM=maengel@musterstadt.example");
  return o;
}

// Applies a status change as the staff API does, in one transaction; returns the history id.
int64_t ApplyChange(Stack& s, const std::string& reference, const std::string& event,
                    const std::string& status, const std::string& note,
                    const std::string& duplicate_of = {}) {
  pqxx::connection c(s.db_url());
  db::Tx tx(c);
  auto t = tx.exec_params1("SELECT id::text, status FROM tickets WHERE reference = $1", reference);
  std::string id = t[0].as<std::string>();
  tx.exec_params0(
      "UPDATE tickets SET status = $2, public_note = $3,"
      " duplicate_of = coalesce((SELECT id FROM tickets WHERE reference = NULLIF($4, '')),"
      "                         duplicate_of),"
      " accepted_at = CASE WHEN $2 = 'accepted' THEN now() ELSE accepted_at END,"
      " closed_at = CASE WHEN $2 IN ('done', 'rejected') THEN now() ELSE closed_at END"
      " WHERE id = $1::uuid",
      id, status, note, duplicate_of);
  tickets::HistoryEntry e;
  e.actor = "token:loop-test";
  e.action = event == "accepted" ? "accepted" : event == "duplicate" ? "duplicate" : "status";
  e.from_status = t[1].as<std::string>();
  e.to_status = status;
  e.public_note = note;
  int64_t history = tickets::RecordHistory(tx, id, e);
  Config config;  // notifications on, as by default
  tickets::EnqueueCitizenNotifications(tx, config, id, event, "Tiefbauamt", note, history);
  tx.commit();
  return history;
}

// The body of a quoted-printable text mail, decoded.
std::string BodyOf(const std::string& mail) {
  std::string qp = mail.substr(mail.find("\r\n\r\n") + 4), out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '\r')
      continue;
    if (qp[i] == '=' && i + 1 < qp.size() && qp[i + 1] == '\r') {
      i += 2;  // soft line break "=\r\n"
      continue;
    }
    if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
      continue;
    }
    out += qp[i];
  }
  return out;
}

void LoopWhatsApp(Stack& s, const std::string& from, const json& messages) {
  std::string body = WhatsAppNotification(from, messages);
  httplib::Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kAppSecret, body)}};
  auto r = s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

json LoopLocation(const std::string& from, const std::string& id) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "location"},
          {"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}};
}

void LoopTelegram(Stack& s, int64_t update_id, int64_t chat, int64_t message_id,
                  const json& fields) {
  json m{
      {"message_id", message_id},
      {"from", {{"id", chat}, {"is_bot", false}, {"first_name", "Anna"}, {"language_code", "en"}}},
      {"chat", {{"id", chat}, {"type", "private"}}},
      {"date", 1764250000}};
  m.update(fields);
  httplib::Headers h{{"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}};
  auto r =
      s.Client().Post("/webhooks/telegram", h,
                      json{{"update_id", update_id}, {"message", m}}.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

// Waits until `n` acknowledgements went out on Telegram.
bool TelegramAcksSent(Stack& s, int n) {
  return s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'telegram' AND status = 'sent'",
      n, std::chrono::seconds(30));
}

std::vector<FakeProviders::Sent> SentTo(const FakeProviders& fake, const std::string& channel,
                                        const std::string& to_key, const std::string& to) {
  std::vector<FakeProviders::Sent> out;
  for (const auto& m : fake.sent()) {
    if (m.channel != channel || !m.body.contains(to_key))
      continue;
    const json& v = m.body[to_key];
    std::string addr = v.is_string() ? v.get<std::string>() : v.dump();
    if (addr == to)
      out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "loop: an e-mail reporter gets each status change once, threaded, and the signed link "
    "opts out",
    "[integration][loop]") {
  FakeProviders fake;
  Stack s(LoopOptions(fake));
  const std::string from = "erika." + RandomHex(4) + "@example.org";
  const std::string mid = RandomHex(8) + "@example.org";
  std::string mail = "From: Erika Mustermann <" + from +
                     ">\r\nTo: maengel@musterstadt.example\r\n"
                     "Subject: Schlagloch\r\nDate: Fri, 27 Nov 2026 09:00:00 +0100\r\n"
                     "Message-ID: <" +
                     mid +
                     ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                     "Tiefes Schlagloch in der Fahrbahn vor der Lindenstraße 13.\r\n";
  auto posted = s.Client().Post(
      "/api/v1/mail", httplib::Headers{{"Authorization", std::string("Bearer ") + kMailSecret}},
      mail, "message/rfc822");
  REQUIRE(posted);
  INFO(posted->body);
  REQUIRE(posted->status == 202);
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 1; }));
  std::string ack = SinkMessagesTo(from)[0];
  std::string ack_id = Header(ack, "Message-ID");
  REQUIRE(ack_id.size() > 2);
  std::string reference = One(s, "SELECT reference FROM tickets");
  // The acknowledgement already offers the opt-out, by the message, never with the address
  // (docs/datenschutz.md).
  CHECK(BodyOf(ack).find("/abmelden?c=email&m=") != std::string::npos);
  CHECK(BodyOf(ack).find("&a=") == std::string::npos);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'", 1));

  int64_t accepted = ApplyChange(s, reference, "accepted", "accepted", "Wir kommen am Montag.");
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 2; }));
  std::string notice = SinkMessagesTo(from)[1];
  // Threaded to our acknowledgement, which answered the citizen's mail.
  CHECK(Header(notice, "In-Reply-To") == ack_id);
  CHECK(Header(notice, "References") == "<" + mid + "> " + ack_id);
  CHECK(Header(notice, "Subject").find(tickets::DisplayReference(reference)) != std::string::npos);
  CHECK(Header(notice, "Auto-Submitted") == "auto-generated");
  CHECK(Header(notice, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
  std::string body = BodyOf(notice);
  CHECK(body.find("Ihre Meldung " + tickets::DisplayReference(reference) +
                  " wurde von Tiefbauamt übernommen") != std::string::npos);
  CHECK(body.find("Hinweis: Wir kommen am Montag.") != std::string::npos);
  size_t link_at = body.find("/abmelden?");
  REQUIRE(link_at != std::string::npos);
  std::string link = body.substr(link_at, body.find('\n', link_at) - link_at);
  CHECK(Header(notice, "List-Unsubscribe").find(link) != std::string::npos);
  // Every attempt is in the delivery log (written after the SMTP server took the mail).
  CHECK(
      s.WaitForCount("SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
                     " WHERE o.kind = 'status' AND a.outcome = 'sent'",
                     1));

  // A retried transaction queues nothing twice.
  {
    pqxx::connection c(s.db_url());
    db::Tx tx(c);
    std::string id = tx.exec1("SELECT id::text FROM tickets")[0].as<std::string>();
    CHECK(tickets::EnqueueCitizenNotifications(tx, Config{}, id, "accepted", "Tiefbauamt",
                                               "Wir kommen am Montag.", accepted) == 0);
    tx.commit();
  }

  // The link: GET only asks (mail scanners fetch links), a forged signature changes nothing,
  // POST opts out.
  auto page = s.Client().Get(link.c_str());
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("Ja, abmelden") != std::string::npos);
  CHECK(page->body.find("method=\"post\"") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM notification_optouts") == 0);
  // The link names the status message, signed; the address is looked up, never in the link.
  std::string message = One(s, "SELECT id FROM outbox WHERE kind = 'status'");
  CHECK(link.find("m=" + message + "&") != std::string::npos);
  CHECK(link.find("%40") == std::string::npos);
  CHECK(link.find(from) == std::string::npos);
  std::string link_sig =
      SignLink(KeyOf(s, meldestelle::KeyPurpose::kOptOutLinks), "optout", "email:#" + message, 0);
  REQUIRE(link.find("s=" + link_sig) != std::string::npos);
  CHECK(page->body.find(from) == std::string::npos);
  // Links sent before named the address, signed over it: still accepted.
  std::string sig =
      SignLink(KeyOf(s, meldestelle::KeyPurpose::kOptOutLinks), "optout", "email:" + from, 0);
  std::string forged = sig;
  forged[0] = forged[0] == 'a' ? 'b' : 'a';
  auto bad =
      s.Client().Post("/abmelden", FormUrlEncode({{"c", "email"}, {"a", from}, {"s", forged}}),
                      "application/x-www-form-urlencoded");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("ungültig") != std::string::npos);
  auto other = s.Client().Post(
      "/abmelden", FormUrlEncode({{"c", "email"}, {"a", "max@example.org"}, {"s", sig}}),
      "application/x-www-form-urlencoded");
  REQUIRE(other);
  CHECK(other->status == 400);
  auto broken = s.Client().Get("/abmelden?c=email");
  REQUIRE(broken);
  CHECK(broken->status == 400);
  CHECK(s.Count("SELECT count(*) FROM notification_optouts") == 0);
  // Another message's number with this signature: refused.
  auto moved = s.Client().Post(
      "/abmelden",
      FormUrlEncode(
          {{"c", "email"}, {"m", std::to_string(std::stoll(message) + 1)}, {"s", link_sig}}),
      "application/x-www-form-urlencoded");
  REQUIRE(moved);
  CHECK(moved->status == 400);
  CHECK(s.Count("SELECT count(*) FROM notification_optouts") == 0);
  auto done =
      s.Client().Post("/abmelden", FormUrlEncode({{"c", "email"}, {"m", message}, {"s", link_sig}}),
                      "application/x-www-form-urlencoded");
  REQUIRE(done);
  CHECK(done->status == 200);
  CHECK(done->body.find("Sie sind abgemeldet") != std::string::npos);
  CHECK(One(s, "SELECT channel || ' ' || address || ' ' || source FROM notification_optouts") ==
        "email " + from + " link");
  // A mail program's one-click request (RFC 8058): POST to the link itself.
  std::string max_sig = SignLink(KeyOf(s, meldestelle::KeyPurpose::kOptOutLinks), "optout",
                                 "email:max@example.org", 0);
  auto one_click =
      s.Client().Post("/abmelden?c=email&a=max%40example.org&s=" + max_sig,
                      "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded");
  REQUIRE(one_click);
  CHECK(one_click->status == 200);
  CHECK(s.Count("SELECT count(*) FROM notification_optouts WHERE address = 'max@example.org'") ==
        1);

  // A status row queued before the opt-out is not sent either; none is queued after it.
  {
    pqxx::connection c(s.db_url());
    db::Tx tx(c);
    tx.exec0(
        "INSERT INTO outbox (ticket_id, kind, channel, address, payload, status, dedupe_key)"
        " SELECT ticket_id, 'status', channel, address, payload, 'pending', 'test:queued-before'"
        " FROM outbox WHERE kind = 'status'");
    tx.commit();
  }
  ApplyChange(s, reference, "done", "done", "Geflickt.");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE dedupe_key = 'test:queued-before'"
                     " AND status = 'done' AND last_error = 'opted out'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 2);
  CHECK(SinkMessagesTo(from).size() == 2);
}

TEST_CASE(
    "loop: WhatsApp gets free text inside the 24-hour window and the template outside, "
    "and STOP ends it",
    "[integration][loop]") {
  FakeProviders fake;
  Stack s(LoopOptions(fake));
  const std::string from = "493023125099";
  LoopWhatsApp(s, from,
               json::array({WaText(from, "wamid.L1", "Tiefes Schlagloch vor Hausnummer 12"),
                            LoopLocation(from, "wamid.L2")}));
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'", 1,
                         std::chrono::seconds(30)));
  std::string reference = One(s, "SELECT reference FROM tickets");
  std::string shown = tickets::DisplayReference(reference);
  REQUIRE(SentTo(fake, "whatsapp", "to", from).size() == 1);

  ApplyChange(s, reference, "accepted", "accepted", "");
  REQUIRE(WaitFor([&] { return SentTo(fake, "whatsapp", "to", from).size() == 2; }));
  auto text = SentTo(fake, "whatsapp", "to", from)[1].body;
  CHECK(text["type"] == "text");
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  CHECK(text["text"]["body"].get<std::string>() ==
        "Ihre Meldung " + shown + " wurde von Tiefbauamt übernommen und wird bearbeitet. Stand: " +
            base + "/meldung/" + reference);

  // The citizen's last message is older than 24 hours: only the template may be sent.
  s.Query("UPDATE chat_contacts SET last_inbound_at = now() - interval '25 hours'");
  ApplyChange(s, reference, "in_progress", "in_progress", "Material ist bestellt.");
  REQUIRE(WaitFor([&] { return SentTo(fake, "whatsapp", "to", from).size() == 3; }));
  auto tmpl = SentTo(fake, "whatsapp", "to", from)[2].body;
  CHECK(tmpl["type"] == "template");
  auto params = tmpl["template"]["components"][0]["parameters"];
  REQUIRE(params.size() == 2);
  CHECK(params[0]["text"] == shown);
  // The template's line as the free text: the notice, then the status page's link.
  CHECK(params[1]["text"] ==
        "in Bearbeitung. Hinweis: Material ist bestellt. Stand: http://127.0.0.1:" +
            std::to_string(s.port()) + "/meldung/" + reference);

  // STOP: confirmed once, no report opened, no further notices.
  LoopWhatsApp(s, from, json::array({WaText(from, "wamid.L3", "Stop.")}));
  REQUIRE(WaitFor([&] { return SentTo(fake, "whatsapp", "to", from).size() == 4; }));
  CHECK(SentTo(fake, "whatsapp", "to", from)[3].body["text"]["body"] ==
        "Sie erhalten keine Statusmeldungen mehr. Mit START wieder anmelden.");
  CHECK(One(s, "SELECT source FROM notification_optouts WHERE channel = 'whatsapp'") == "stop");
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state <> 'published'") == 0);
  // The same webhook again (Meta retries) changes nothing.
  LoopWhatsApp(s, from, json::array({WaText(from, "wamid.L3", "Stop.")}));
  ApplyChange(s, reference, "done", "done", "");
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 2);
  // START: notices again.
  LoopWhatsApp(s, from, json::array({WaText(from, "wamid.L4", "START")}));
  REQUIRE(WaitFor([&] { return SentTo(fake, "whatsapp", "to", from).size() == 5; }));
  CHECK(s.Count("SELECT count(*) FROM notification_optouts") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply'") == 2);
  CHECK(SentTo(fake, "whatsapp", "to", from).size() == 5);
}

TEST_CASE(
    "loop: SMS reporters and a duplicate's reporter hear of the change once each, and a "
    "Telegram reporter in English",
    "[integration][loop]") {
  FakeProviders fake;
  Stack s(LoopOptions(fake));
  // The first report, and two duplicates: one by another citizen (English), one by the first
  // citizen again (still one SMS for them).
  std::string first = PostApp(s, {{"description", "Tiefes Schlagloch vor Hausnummer 12"},
                                  {"category", "STR-01"},
                                  {"lat", 50.93755},
                                  {"lon", 6.96027},
                                  {"phone", "+49 170 1234567"}});
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  std::string second = PostApp(s, {{"description", "Pothole in front of number 12"},
                                   {"category", "STR-01"},
                                   {"lat", 50.93757},
                                   {"lon", 6.96029},
                                   {"language", "en"},
                                   {"phone", "+49 170 7654321"}});
  std::string again = PostApp(s, {{"description", "Schlagloch immer noch da"},
                                  {"category", "STR-01"},
                                  {"lat", 50.93756},
                                  {"lon", 6.96028},
                                  {"phone", "+49 170 1234567"}});
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'duplicate'", 2));
  std::string phone1 = One(s,
                           "SELECT address FROM outbox WHERE kind = 'ack' AND ticket_id ="
                           " (SELECT id FROM tickets WHERE reference = '" +
                               first + "')");
  std::string phone2 = One(s,
                           "SELECT address FROM outbox WHERE kind = 'ack' AND ticket_id ="
                           " (SELECT id FROM tickets WHERE reference = '" +
                               second + "')");
  // The number was typed into the app, not called from: one acknowledgement an hour to it
  // (tickets/notice_limits); the second report's is held back.
  REQUIRE(WaitFor([&] {
    return SentTo(fake, "sms", "To", phone1).size() == 1 &&
           SentTo(fake, "sms", "To", phone2).size() == 1 &&
           s.Count(
               "SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'done'"
               " AND last_error LIKE 'recipient limit%'") == 1;
  }));

  ApplyChange(s, first, "done", "done", "Die Fahrbahn ist ausgebessert.");
  REQUIRE(WaitFor([&] {
    return SentTo(fake, "sms", "To", phone1).size() == 2 &&
           SentTo(fake, "sms", "To", phone2).size() == 2;
  }));
  std::string sms1 = SentTo(fake, "sms", "To", phone1)[1].body["Body"];
  std::string sms2 = SentTo(fake, "sms", "To", phone2)[1].body["Body"];
  CHECK(sms1.find("Ihre Meldung " + tickets::DisplayReference(first) + " ist erledigt.") !=
        std::string::npos);
  CHECK(sms1.find("Hinweis: Die Fahrbahn ist ausgebessert.") != std::string::npos);
  CHECK(sms2.find("Your report " + tickets::DisplayReference(second) + " (together with report " +
                  tickets::DisplayReference(first) + ") has been dealt with.") !=
        std::string::npos);
  CHECK(sms2.find("Note: Die Fahrbahn ist ausgebessert.") != std::string::npos);
  CHECK(sms1.find("antworten") == std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 2);
  (void)again;

  // Telegram, in English; later merged as a duplicate into the first ticket.
  const int64_t chat = 77001234;
  LoopTelegram(s, 1, chat, 11, {{"text", "Street lamp broken at the corner"}});
  LoopTelegram(s, 2, chat, 12,
               {{"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}});
  REQUIRE(TelegramAcksSent(s, 1));
  std::string tg = One(s, "SELECT reference FROM tickets WHERE channel = 'telegram'");
  ApplyChange(s, tg, "accepted", "accepted", "");
  auto tg_sent = [&] { return SentTo(fake, "telegram", "chat_id", std::to_string(chat)); };
  REQUIRE(WaitFor([&] { return tg_sent().size() == 2; }));
  // The status page in the citizen's language.
  const std::string tg_page =
      "http://127.0.0.1:" + std::to_string(s.port()) + "/meldung/" + tg + "?lang=en";
  CHECK(tg_sent()[1].body["text"] == "Your report " + tickets::DisplayReference(tg) +
                                         " has been taken on by Tiefbauamt. Status: " + tg_page);
  ApplyChange(s, tg, "duplicate", "duplicate", "", first);
  REQUIRE(WaitFor([&] { return tg_sent().size() == 3; }));
  CHECK(tg_sent()[2].body["text"] ==
        "Your report " + tickets::DisplayReference(tg) + " concerns the same problem as report " +
            tickets::DisplayReference(first) + "; we handle them together. Status: " + tg_page);
  CHECK(SentTo(fake, "sms", "To", phone1).size() == 2);
}

TEST_CASE(
    "loop: acknowledgements to an address typed into reports are limited per address, and the "
    "town's SMS budget makes SMS wait",
    "[integration][loop]") {
  FakeProviders fake;
  StackOptions o = LoopOptions(fake);
  o.dispatcher_metrics_port = FreePort();
  o.edit_config = [](std::string& cfg) { cfg += "\nnotifications:\n  sms_per_hour: 2\n"; };
  Stack s(o);
  INFO(s.DispatcherLog());
  // Three reports naming the same e-mail address, which may be anyone's: one acknowledgement.
  const std::string victim = "opfer." + RandomHex(4) + "@example.org";
  std::vector<std::string> refs;
  for (int i = 0; i < 3; ++i) {
    refs.push_back(PostApp(s, {{"description", "Laterne dunkel, Mast " + std::to_string(i)},
                               {"lat", 50.93 + 0.004 * i},
                               {"lon", 6.955},
                               {"email", victim}}));
  }
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'email'"
                     " AND status IN ('sent', 'done')",
                     3, std::chrono::seconds(30)));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'done'"
                " AND last_error LIKE 'recipient limit%'") == 2);
  REQUIRE(WaitFor([&] { return SinkMessagesTo(victim).size() == 1; }));
  // A ticket whose acknowledgement was held back sends no notices to that address either.
  std::string held = One(s,
                         "SELECT t.reference FROM tickets t JOIN outbox o ON o.ticket_id = t.id"
                         " WHERE o.kind = 'ack' AND o.status = 'done' LIMIT 1");
  ApplyChange(s, held, "accepted", "accepted", "");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'status' AND status = 'done'"
                     " AND last_error LIKE 'recipient limit%'",
                     1, std::chrono::seconds(30)));
  // The town's SMS: two an hour here; the third waits, not sent and not lost.
  for (int i = 0; i < 3; ++i) {
    PostApp(s, {{"description", "Ampel defekt, Kreuzung " + std::to_string(i)},
                {"lat", 50.925 + 0.004 * i},
                {"lon", 6.965},
                {"phone", "+49 170 100000" + std::to_string(i)}});
  }
  REQUIRE(WaitFor(
      [&] {
        return s.Count("SELECT count(*) FROM outbox WHERE channel = 'sms' AND status = 'sent'") ==
                   2 &&
               s.Count(
                   "SELECT count(*) FROM outbox WHERE channel = 'sms' AND status = 'pending'"
                   " AND last_error LIKE '%SMS budget%'") == 1;
      },
      std::chrono::seconds(30)));
  size_t sms = 0;
  for (const auto& row : s.Query("SELECT DISTINCT address FROM outbox WHERE channel = 'sms'"))
    sms += SentTo(fake, "sms", "To", row[0].as<std::string>()).size();
  CHECK(sms == 2);
  CHECK(SinkMessagesTo(victim).size() == 1);
  httplib::Client c("127.0.0.1", o.dispatcher_metrics_port);
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body,
             Catch::Contains(
                 R"(meldestelle_outbox_held_total{channel="email",code="typed_recipient"} 3)"));
  CHECK_THAT(m->body,
             Catch::Contains(R"(meldestelle_outbox_held_total{channel="sms",code="sms_budget"})"));
}

// Telegram's my_chat_member in the private chat with `chat`: the bot's status for the user.
void LoopMemberChange(Stack& s, int64_t update_id, int64_t chat, const std::string& was,
                      const std::string& now) {
  json bot{{"id", 123456}, {"is_bot", true}, {"first_name", "Mängelmelder"}};
  json change{{"chat", {{"id", chat}, {"type", "private"}, {"first_name", "Anna"}}},
              {"from", {{"id", chat}, {"is_bot", false}, {"language_code", "en"}}},
              {"date", 1764250100},
              {"old_chat_member", {{"user", bot}, {"status", was}}},
              {"new_chat_member", {{"user", bot}, {"status", now}}}};
  if (now == "kicked")
    change["new_chat_member"]["until_date"] = 0;
  httplib::Headers h{{"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}};
  auto r = s.Client().Post("/webhooks/telegram", h,
                           json{{"update_id", update_id}, {"my_chat_member", change}}.dump(),
                           "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

TEST_CASE(
    "loop: a citizen who blocks the Telegram bot gets no status messages until they start it "
    "again; a provider's refusal (Telegram 403, Twilio 21610) opts out until an "
    "acknowledgement reaches the address",
    "[integration][loop]") {
  FakeProviders fake;
  Stack s(LoopOptions(fake));
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  const int64_t chat = 77005555;
  auto tg_sent = [&] { return SentTo(fake, "telegram", "chat_id", std::to_string(chat)); };
  auto tg_optout = [&] {
    return One(s,
               "SELECT coalesce(max(source), '') FROM notification_optouts"
               " WHERE channel = 'telegram' AND address = '" +
                   std::to_string(chat) + "'");
  };
  auto status_rows = [&] {
    return s.Count("SELECT count(*) FROM outbox WHERE kind = 'status' AND channel = 'telegram'");
  };
  LoopTelegram(s, 1, chat, 11, {{"text", "Street lamp broken at the corner"}});
  LoopTelegram(s, 2, chat, 12,
               {{"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}});
  REQUIRE(TelegramAcksSent(s, 1));
  std::string tg = One(s, "SELECT reference FROM tickets WHERE channel = 'telegram'");

  // Blocked: remembered, opted out, nothing answered, no status message queued.
  LoopMemberChange(s, 3, chat, "member", "kicked");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM chat_events WHERE dedupe_key = 'update:3'"
                     " AND outcome = 'blocked'",
                     1));
  CHECK(tg_optout() == "blocked");
  ApplyChange(s, tg, "accepted", "accepted", "");
  CHECK(status_rows() == 0);

  // Started again: notices again.
  LoopMemberChange(s, 4, chat, "kicked", "member");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM chat_events WHERE dedupe_key = 'update:4'"
                     " AND outcome = 'unblocked'",
                     1));
  CHECK(tg_optout().empty());
  ApplyChange(s, tg, "in_progress", "in_progress", "Ersatzteil bestellt.");
  REQUIRE(WaitFor([&] { return tg_sent().size() == 2; }));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply'") == 0);

  // Blocked without our hearing of it: Telegram refuses the next notice with 403; the address
  // is opted out, so the one after is not even queued.
  fake.FailNextSends(
      1, 403,
      R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})");
  ApplyChange(s, tg, "done", "done", "");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'status'"
                     " AND channel = 'telegram' AND status = 'failed'",
                     1));
  CHECK(tg_optout() == "refused");
  ApplyChange(s, tg, "in_progress", "in_progress", "Doch noch nicht fertig.");
  CHECK(status_rows() == 2);

  // They write again: the bot runs for them, the refusal is over (and the new report's
  // acknowledgement reaches them).
  LoopTelegram(s, 5, chat, 21, {{"text", "Bank am Spielplatz ist zerbrochen"}});
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_events WHERE dedupe_key = 'update:5'", 1));
  CHECK(tg_optout().empty());
  LoopTelegram(s, 6, chat, 22,
               {{"location", {{"latitude", 50.9385312}, {"longitude", 6.9612786}}}});
  REQUIRE(TelegramAcksSent(s, 2));

  // Their own STOP outlasts what ends an opt-out of ours: the bot started again, a message, an
  // acknowledgement that reaches them.
  auto seen = [&](int update, const std::string& outcome) {
    return s.WaitForCount("SELECT count(*) FROM chat_events WHERE dedupe_key = 'update:" +
                              std::to_string(update) + "' AND outcome = '" + outcome + "'",
                          1);
  };
  LoopTelegram(s, 7, chat, 23, {{"text", "STOP"}});
  REQUIRE(seen(7, "optout"));
  CHECK(tg_optout() == "stop");
  LoopMemberChange(s, 8, chat, "kicked", "member");
  REQUIRE(seen(8, "unblocked"));
  LoopTelegram(s, 9, chat, 25, {{"text", "Container am Markt quillt über"}});
  LoopTelegram(s, 10, chat, 26,
               {{"location", {{"latitude", 50.9395312}, {"longitude", 6.9622786}}}});
  REQUIRE(TelegramAcksSent(s, 3));
  CHECK(tg_optout() == "stop");

  // Taken out of order: a block (update 11) taken after a later update of the chat (12, START)
  // is old news.
  LoopTelegram(s, 12, chat, 27, {{"text", "START"}});
  REQUIRE(seen(12, "optin"));
  CHECK(tg_optout().empty());
  LoopMemberChange(s, 11, chat, "member", "kicked");
  REQUIRE(seen(11, "blocked"));
  CHECK(tg_optout().empty());

  // Twilio 21610: the number sent STOP to ours. Its acknowledgement fails, and no status SMS is
  // queued after it.
  fake.FailNextSends(1, 400,
                     R"({"code": 21610, "message": "Attempt to send to unsubscribed recipient",)"
                     R"( "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400})");
  std::string sms_ref = PostApp(s, {{"description", "Ampel an der Kreuzung ist ausgefallen"},
                                    {"category", "STR-01"},
                                    {"lat", 50.93955},
                                    {"lon", 6.96227},
                                    {"phone", "+49 170 5550101"}});
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'sms'"
                     " AND status = 'failed' AND last_error LIKE '21610 %'",
                     1));
  CHECK(One(s, "SELECT source FROM notification_optouts WHERE channel = 'sms'") == "refused");
  ApplyChange(s, sms_ref, "accepted", "accepted", "");
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status' AND channel = 'sms'") == 0);
  // A new report's acknowledgement reaches the number (it sent START to ours since): over.
  PostApp(s, {{"description", "Ampel an der Kreuzung ist wieder aus"},
              {"category", "STR-01"},
              {"lat", 50.93955},
              {"lon", 6.96227},
              {"phone", "0170 5550101"}});
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'sms'"
                     " AND status = 'sent'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM notification_optouts WHERE channel = 'sms'") == 0);
}

TEST_CASE(
    "loop: an SMS goes to the typed number's E.164 form, and none to a landline or a number "
    "without its area code",
    "[integration][loop]") {
  FakeProviders fake;
  Stack s(LoopOptions(fake));
  INFO(s.DispatcherLog());
  INFO(s.WorkerLogs());
  int reports = 0;
  auto report = [&](const std::string& phone) {
    // Places far apart: no report is another's duplicate.
    ++reports;
    return PostApp(s, {{"description", "Gullydeckel klappert laut"},
                       {"category", "STR-01"},
                       {"lat", 50.93855 + 0.01 * reports},
                       {"lon", 6.96127},
                       {"phone", phone}});
  };
  std::string mobile = report("0170 / 555 01-02");
  std::string landline = report("0221 1234567");  // a landline in Cologne
  std::string local = report("555 01 03");        // no area code
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 3));
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'sms' AND status = 'sent'", 1));
  std::vector<std::string> to;
  for (const auto& m : fake.sent())
    if (m.channel == "sms")
      to.push_back(m.body["To"]);
  CHECK(to == std::vector<std::string>{"+491705550102"});
  // Kept as E.164 for the SMS (its limits compare that), as typed in the report.
  CHECK(One(s, "SELECT address FROM outbox WHERE kind = 'ack' AND channel = 'sms'") ==
        "+491705550102");
  CHECK(One(s, "SELECT reporter->>'address' FROM tickets WHERE reference = '" + mobile + "'") ==
        "0170 / 555 01-02");
  // No SMS promised where none can go: the acknowledgement on no channel, the number kept.
  for (const auto& ref : {landline, local}) {
    CHECK(One(s, "SELECT reporter->'ack'->>'channel' FROM tickets WHERE reference = '" + ref +
                     "'") == "none");
  }
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE channel = 'sms'") == 1);
  // Staff who want to ask the landline's reporter are told to call; nothing changes.
  const std::string dept =
      One(s, "SELECT department_id FROM tickets WHERE reference = '" + landline + "'");
  auto asked = s.Client().Post(("/api/v1/tickets/" + landline + "/question").c_str(),
                               {{"Authorization", "Bearer " + s.DepartmentToken(dept)}},
                               R"({"question":"Welche Seite der Straße?"})", "application/json");
  REQUIRE(asked);
  INFO(asked->body);
  CHECK(asked->status == 409);
  CHECK_THAT(asked->body, Catch::Contains("no_way_back") && Catch::Contains("call them instead"));
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'question'") == 0);
  // The same number typed another way is the same recipient: its acknowledgement is held by the
  // limit on typed addresses (one an hour).
  report("+49 (0)170 555 0102");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'sms'"
                     " AND status = 'done' AND last_error LIKE 'recipient limit%'",
                     1));
  size_t sent = 0;
  for (const auto& m : fake.sent())
    sent += m.channel == "sms" ? 1 : 0;
  CHECK(sent == 1);
}

}  // namespace loop_test
