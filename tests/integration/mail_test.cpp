// The e-mail channel end to end (docs/channels/email.md): a real Dovecot IMAP server and a real
// SMTP sink (both started by scripts/test through scripts/services), the real gateway, worker
// and dispatcher, the real broker and database.
#include "channels/email/mail.hpp"

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/texts.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace mail_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSecret = "mail-intake-secret-for-tests";

StackOptions MailOptions() {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = {std::string("MELDESTELLE_MAIL_SECRET=") + kSecret,
                 "MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"),
                 "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example",
                 "MELDESTELLE_IMAP_URL=" + Env("MELDESTELLE_IMAP_URL"),
                 "MELDESTELLE_IMAP_USER=" + Env("MELDESTELLE_IMAP_USER"),
                 "MELDESTELLE_IMAP_PASSWORD=" + Env("MELDESTELLE_IMAP_PASSWORD")};
  return o;
}

// Delivers a message into the Dovecot mailbox the way the mail server would.
void Deliver(Stack& s, const std::string& mail) {
  fs::path file = s.dir() / ("in-" + RandomHex(4) + ".eml");
  std::ofstream(file, std::ios::binary) << mail;
  int status = -1;
  std::string out =
      s.RunShell("doveadm -c \"" + Env("MELDESTELLE_DOVECOT_CONFIG") + "\" save -u \"" +
                     Env("MELDESTELLE_IMAP_USER") + "\" -m INBOX < \"" + file.string() + "\"",
                 &status);
  INFO(out);
  REQUIRE(status == 0);
}

// Hands one mail to the gateway as the mail server's pipe does (`meldestelle mailgate`).
void MailGate(Stack& s, const std::string& mail) {
  fs::path file = s.dir() / (RandomHex(8) + ".eml");
  std::ofstream(file, std::ios::binary) << mail;
  int status = -1;
  std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + file.string() + "\"", &status);
  INFO(out);
  REQUIRE(status == 0);
}

std::string PhotoMail(const std::string& from, const std::string& message_id) {
  std::string photo = Base64Encode(VectorFile("webform/tiny-test.jpg"));
  return "From: Erika Mustermann <" + from +
         ">\r\n"
         "To: maengel@musterstadt.example\r\n"
         "Subject: =?UTF-8?Q?Schlagloch_vor_dem_Haus?=\r\n"
         "Date: Fri, 27 Nov 2026 09:00:00 +0100\r\n"
         "Message-ID: <" +
         message_id +
         ">\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
         "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
         "Guten Tag,\r\nin der Lindenstra=DFe 13 ist ein tiefes Schlagloch in der Fahrbahn.\r\n"
         "\r\n-- \r\nErika Mustermann\r\nTel. 0221 12345\r\n"
         "--b1\r\nContent-Type: image/jpeg; name=\"loch.jpg\"\r\n"
         "Content-Disposition: attachment; filename=\"loch.jpg\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         photo + "\r\n--b1--\r\n";
}

}  // namespace

TEST_CASE(
    "E-mail: a mail with a photo and an address becomes one located ticket with one threaded "
    "acknowledgement, and an out-of-office reply makes nothing new",
    "[integration][mail][imap]") {
  INFO("scripts/test starts Dovecot and the SMTP sink (MELDESTELLE_MAIL_SERVICES=1)");
  REQUIRE_FALSE(Env("MELDESTELLE_IMAP_URL").empty());
  REQUIRE_FALSE(Env("MELDESTELLE_SMTP_SINK_DIR").empty());
  Stack s(MailOptions());
  const std::string from = "erika+" + RandomHex(4) + "@example.org";
  const std::string mid = RandomHex(8) + "@example.org";
  Deliver(s, PhotoMail(from, mid));

  int status = -1;
  std::string polled = s.RunCommand({"mail-poll", "--once"}, &status);
  INFO(polled);
  REQUIRE(status == 0);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'email'", 1));
  auto t = s.Query(
      "SELECT reference, location_source, address, department_id, text,"
      " channel_message_id FROM tickets");
  std::string reference = t[0][0].as<std::string>();
  CHECK(t[0][1].as<std::string>() == "address");
  CHECK(t[0][2].as<std::string>().find("Lindenstraße") == 0);
  CHECK(t[0][3].as<std::string>() == "tiefbauamt");
  CHECK(t[0][4].as<std::string>().find("Schlagloch") != std::string::npos);
  CHECK(t[0][4].as<std::string>().find("Tel. 0221") == std::string::npos);  // signature gone
  CHECK(t[0][5].as<std::string>() == mid);
  CHECK(s.Count("SELECT count(*) FROM attachments WHERE media_type = 'image/jpeg'") == 1);
  // The mail kept for evidence has its text, not the photo's original bytes (with their EXIF).
  auto raw = s.Query(
      "SELECT convert_from(body, 'UTF8') FROM raw_payloads"
      " WHERE content_type = 'message/rfc822'");
  REQUIRE(raw.size() == 1);
  CHECK(raw[0][0].as<std::string>().find("Content-Type: image/jpeg") != std::string::npos);
  CHECK(raw[0][0].as<std::string>().find("X-Meldestelle-Removed:") != std::string::npos);
  CHECK(raw[0][0].as<std::string>().find(PhotoMail(from, mid).substr(
            PhotoMail(from, mid).rfind("base64\r\n\r\n") + 10, 40)) == std::string::npos);
  // Moved to "verarbeitet" after the confirm; the mailbox is empty.
  std::string box = s.RunShell(
      "curl -sS --user \"$MELDESTELLE_IMAP_USER:$MELDESTELLE_IMAP_PASSWORD\""
      " -X 'STATUS verarbeitet (MESSAGES)' \"${MELDESTELLE_IMAP_URL%/INBOX}/\"");
  CHECK(box.find("MESSAGES") != std::string::npos);
  CHECK(s.RunCommand({"mail-poll", "--once"}, &status).find("0 accepted") != std::string::npos);

  // One acknowledgement, threaded, automatic, with the reference in the subject.
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 1; }));
  std::string ack = SinkMessagesTo(from)[0];
  CHECK(Header(ack, "In-Reply-To") == "<" + mid + ">");
  CHECK(Header(ack, "Auto-Submitted") == "auto-replied");
  CHECK(Header(ack, "Subject").find(reference.substr(0, 4)) != std::string::npos);
  std::string ack_id = Header(ack, "Message-ID");
  REQUIRE(ack_id.size() > 2);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'sent'"
                     " AND '<' || provider_message_id || '>' = '" +
                         ack_id + "'",
                     1));

  // The citizen's out-of-office answers our acknowledgement: kept with the ticket, no new ticket,
  // no new mail.
  std::string ooo = "From: " + from +
                    "\r\nTo: maengel@musterstadt.example\r\n"
                    "Subject: Automatische Antwort: Ihre Meldung\r\n"
                    "Date: Fri, 27 Nov 2026 09:05:00 +0100\r\n"
                    "Message-ID: <" +
                    RandomHex(8) +
                    "@example.org>\r\n"
                    "In-Reply-To: " +
                    ack_id +
                    "\r\nAuto-Submitted: auto-replied\r\n"
                    "X-Autoreply: yes\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    "Ich bin bis Montag nicht im Büro.\r\n";
  Deliver(s, ooo);
  REQUIRE(s.RunCommand({"mail-poll", "--once"}, &status).find("1 accepted") != std::string::npos);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE channel = 'email'") == 1);
  // In the history, but not sent to the department: a robot's answer is no news for staff.
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'followup'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'delivery'"
                " AND payload::jsonb->>'reason' = 'followup'") == 0);
  CHECK(SinkMessagesTo(from).size() == 1);

  // The mail server's pipe: the same message again is the same ticket; broken input is refused
  // for good (65), so the MTA bounces it with the reason.
  fs::path again = s.dir() / "again.eml";
  std::ofstream(again, std::ios::binary) << PhotoMail(from, mid);
  std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + again.string() + "\"", &status);
  CHECK(status == 0);
  CHECK(out.find(reference) != std::string::npos);
  fs::path broken = s.dir() / "broken.eml";
  std::ofstream(broken, std::ios::binary) << "this is not an e-mail";
  out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + broken.string() + "\"", &status);
  INFO(out);
  CHECK(status == 65);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);

  // A bounce of our acknowledgement marks that delivery failed and makes no ticket.
  std::string dsn =
      "From: MAILER-DAEMON@mx.example.org\r\nTo: maengel@musterstadt.example\r\n"
      "Subject: Undelivered Mail Returned to Sender\r\nDate: Fri, 27 Nov 2026 09:10:00 +0100\r\n"
      "Message-ID: <" +
      RandomHex(8) +
      "@mx.example.org>\r\nAuto-Submitted: auto-replied\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
      " boundary=\"r1\"\r\n\r\n--r1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
      "--r1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
      "mx.example.org\r\n\r\n"
      "Final-Recipient: rfc822; " +
      from +
      "\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
      "--r1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: " +
      ack_id +
      "\r\n"
      "From: maengel@musterstadt.example\r\nTo: " +
      from + "\r\n\r\n--r1--\r\n";
  fs::path bounce = s.dir() / "bounce.eml";
  std::ofstream(bounce, std::ios::binary) << dsn;
  out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + bounce.string() + "\"", &status);
  INFO(out);
  CHECK(status == 0);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE channel = 'email' AND delivery_state = 'bounced'", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
}

TEST_CASE(
    "E-mail: a mail with more parts than email.max_attachments becomes a ticket with the first "
    "ones, flagged",
    "[integration][mail]") {
  Stack s(MailOptions());
  const std::string from = "weiter+" + RandomHex(4) + "@example.org";
  // A forwarded thread: the citizen's words, then every earlier mail's signature logo.
  std::string mail = "From: " + from +
                     "\r\nTo: maengel@musterstadt.example\r\nSubject: WG: Ampel defekt\r\n"
                     "Date: Fri, 27 Nov 2026 09:00:00 +0100\r\nMessage-ID: <" +
                     RandomHex(8) +
                     "@example.org>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                     "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                     "Die Ampel an der Lindenstraße 13 ist seit gestern aus.\r\n";
  const std::string logo = Base64Encode(VectorFile("webform/tiny-test.jpg"));
  for (int i = 0; i < 23; ++i) {
    mail += "--b1\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline; filename=\"logo" +
            std::to_string(i) + ".jpg\"\r\nContent-ID: <logo" + std::to_string(i) +
            "@example.org>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + logo + "\r\n";
  }
  mail += "--b1--\r\n";
  fs::path file = s.dir() / "many.eml";
  std::ofstream(file, std::ios::binary) << mail;
  int status = -1;
  std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + file.string() + "\"", &status);
  INFO(out);
  REQUIRE(status == 0);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'email'", 1));
  CHECK(s.Count("SELECT count(*) FROM attachments") == 20);
  CHECK(One(s, "SELECT min(filename) || ' ' || max(position) FROM attachments") == "logo0.jpg 19");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Anhänge über der Höchstzahl nicht gespeichert'") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE text LIKE '%Ampel an der Lindenstraße%'") == 1);

  // A follow-up of the same kind (the citizen's own address, the reference in the subject): the
  // first ones with it, and a last line telling the department what was not kept.
  const std::string reference = One(s, "SELECT reference FROM tickets");
  std::string followup = mail;
  Replace(followup, "Subject: WG: Ampel defekt", "Subject: Nachtrag [" + reference + "]");
  Replace(followup, "Message-ID: <", "Message-ID: <nachtrag-");
  Replace(followup, "seit gestern aus.", "immer noch aus.");
  MailGate(s, followup);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 1));
  CHECK(One(s, "SELECT jsonb_array_length(attachments) FROM ticket_followups") == "20");
  const std::string text = One(s, "SELECT text FROM ticket_followups");
  CHECK(text.find("immer noch aus.") != std::string::npos);
  CHECK(text.ends_with("\n[Anhänge über der Höchstzahl nicht gespeichert]"));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
}

TEST_CASE("E-mail: a mail written in Russian is acknowledged in Russian",
          "[integration][mail][imap]") {
  REQUIRE_FALSE(Env("MELDESTELLE_IMAP_URL").empty());
  Stack s(MailOptions());
  const std::string from = "olga+" + RandomHex(4) + "@example.org";
  Deliver(s, "From: Olga <" + from +
                 ">\r\nTo: maengel@musterstadt.example\r\n"
                 "Subject: =?UTF-8?B?" +
                 Base64Encode("Яма на дороге") +
                 "?=\r\nDate: Fri, 27 Nov 2026 09:00:00 +0100\r\nMessage-ID: <" + RandomHex(8) +
                 "@example.org>\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n"
                 "Здравствуйте, на Lindenstraße 13 большая яма на проезжей части.\r\n");
  int status = -1;
  std::string polled = s.RunCommand({"mail-poll", "--once"}, &status);
  INFO(polled);
  REQUIRE(status == 0);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'email'", 1));
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 1; }));
  auto ack = email::ParseMail(SinkMessagesTo(from)[0]);
  REQUIRE(ack);
  INFO(ack->subject + "\n" + ack->text);
  const std::string ru = texts::Lang(nullptr, "ru")("nachricht.email.betreff_eingang");
  CHECK(ack->subject.find(ru.substr(ru.rfind('}') + 1)) != std::string::npos);
  CHECK(ru != texts::Lang(nullptr, "de")("nachricht.email.betreff_eingang"));
}

TEST_CASE(
    "E-mail: what the citizen sends later reaches the department in the ticket's thread, "
    "and stands in its history",
    "[integration][mail][followup]") {
  Stack s(MailOptions());
  const std::string from = "nachtrag+" + RandomHex(4) + "@example.org";
  json report{{"description", "Tiefes Schlagloch"},
              {"category", "STR-01"},
              {"lat", 50.9375},
              {"lon", 6.9602},
              {"email", from}};
  auto posted = s.Client().Post("/api/v1/reports", report.dump(), "application/json");
  REQUIRE(posted);
  REQUIRE(posted->status == 202);
  const std::string ref = json::parse(posted->body)["reference"];
  const std::string shown = ref.substr(0, 4) + "-" + ref.substr(4, 4) + "-" + ref.substr(8);
  auto department_mails = [&] {
    std::vector<std::string> mine;
    for (const auto& m : SinkMessagesTo("tiefbauamt@musterstadt.example")) {
      if (Header(m, "Subject").find(shown) != std::string::npos)
        mine.push_back(m);
    }
    return mine;
  };
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return department_mails().size() == 1; }));
  const std::string first_id = Header(department_mails()[0], "Message-ID");
  REQUIRE(first_id.size() > 2);

  // The citizen answers with the reference in the subject.
  int status = -1;
  fs::path later = s.dir() / "nachtrag.eml";
  std::ofstream(later, std::ios::binary)
      << "From: <" + from + ">\r\nTo: maengel@musterstadt.example\r\nSubject: Re: [" + shown +
             "] Ihre Meldung\r\nDate: Fri, 04 Dec 2026 10:00:00 +0100\r\nMessage-ID: <" +
             RandomHex(8) +
             "@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Das Loch ist seit gestern doppelt so groß.\r\n";
  std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + later.string() + "\"", &status);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 1));

  // The department gets it as a mail in the ticket's thread, with the follow-up in it.
  REQUIRE(WaitFor([&] { return department_mails().size() == 2; }));
  std::string second = department_mails()[1];
  CHECK(Header(second, "Subject").rfind("Nachtrag: [" + shown + "]", 0) == 0);
  CHECK(Header(second, "In-Reply-To") == first_id);
  auto parsed = email::ParseMail(second);
  REQUIRE(parsed);
  CHECK(parsed->text.find("doppelt so groß") != std::string::npos);

  // The history says so, without the words; the staff API shows both.
  const std::string token = s.DepartmentToken("tiefbauamt");
  auto t =
      s.Client().Get(("/api/v1/tickets/" + ref).c_str(), {{"Authorization", "Bearer " + token}});
  REQUIRE(t);
  REQUIRE(t->status == 200);
  json ticket = json::parse(t->body);
  bool in_history = false;
  for (const auto& h : ticket["history"]) {
    if (h["action"] == "followup") {
      in_history = true;
      CHECK(h.dump().find("doppelt") == std::string::npos);
    }
  }
  CHECK(in_history);
  REQUIRE(ticket["followups"].size() == 1);
  CHECK(ticket["followups"][0]["text"].get<std::string>().find("doppelt so groß") !=
        std::string::npos);

  // Once done, a later message is kept but not sent: the ticket is no longer being worked on.
  auto done = s.Client().Post(("/api/v1/tickets/" + ref + "/status").c_str(),
                              {{"Authorization", "Bearer " + token}}, R"({"status":"done"})",
                              "application/json");
  REQUIRE(done);
  REQUIRE(done->status == 200);
  std::ofstream(later, std::ios::binary)
      << "From: <" + from + ">\r\nTo: maengel@musterstadt.example\r\nSubject: Re: [" + shown +
             "] Ihre Meldung\r\nDate: Fri, 04 Dec 2026 11:00:00 +0100\r\nMessage-ID: <" +
             RandomHex(8) +
             "@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDanke!\r\n";
  out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + later.string() + "\"", &status);
  REQUIRE(status == 0);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 2));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'delivery' AND payload::jsonb->>'reason'"
                " = 'followup'") == 1);

  // A reference is public: someone else's mail naming it is a report of its own, not a
  // follow-up to this citizen's ticket, even with the citizen's address as its Reply-To (which
  // nobody checks).
  std::ofstream(later, std::ios::binary)
      << "From: <jemand.anders@example.net>\r\nReply-To: <" + from +
             ">\r\nTo: maengel@musterstadt.example\r\nSubject: [" + shown +
             "] Auch hier\r\nMessage-ID: <" + RandomHex(8) +
             "@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Noch ein Schlagloch in der Lindenstraße 13.\r\n";
  out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + later.string() + "\"", &status);
  REQUIRE(status == 0);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 2);
}

TEST_CASE(
    "Rückfrage: staff ask the citizen by e-mail, the ticket waits with its clocks paused, the "
    "answer by e-mail returns it to the department, no answer in time returns it too, and no "
    "way back is refused",
    "[integration][mail][question]") {
  Stack s(MailOptions());
  const std::string token = s.DepartmentToken("tiefbauamt");
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  // Far enough apart not to be linked as duplicates.
  auto report = [&](const std::string& email, double lat) {
    json r{{"description", "Tiefes Schlagloch"},
           {"category", "STR-01"},
           {"lat", lat},
           {"lon", 6.9602}};
    if (!email.empty())
      r["email"] = email;
    auto posted = s.Client().Post("/api/v1/reports", r.dump(), "application/json");
    REQUIRE(posted);
    REQUIRE(posted->status == 202);
    std::string ref = json::parse(posted->body)["reference"];
    REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + ref + "'", 1));
    return ref;
  };
  auto ask = [&](const std::string& ref, const std::string& body) {
    auto r = s.Client().Post(("/api/v1/tickets/" + ref + "/question").c_str(), auth, body,
                             "application/json");
    REQUIRE(r);
    return std::make_pair(r->status, json::parse(r->body, nullptr, false));
  };
  auto field = [&](const std::string& ref, const std::string& expr) {
    return s
        .Query("SELECT coalesce((" + expr + ")::text, '') FROM tickets WHERE reference = '" + ref +
               "'")[0][0]
        .as<std::string>();
  };
  auto deliveries = [&](const std::string& reason) {
    return s.Count(
        "SELECT count(*) FROM outbox WHERE kind = 'delivery' AND payload->>'reason' = '" + reason +
        "'");
  };

  // Nobody to ask: no contact left. Refused, nothing changed.
  const std::string silent = report("", 50.9375);
  auto none = ask(silent, R"({"question":"Wo genau?"})");
  CHECK(none.first == 409);
  CHECK(none.second["error"]["code"] == "no_way_back");
  CHECK(field(silent, "status") == "assigned");
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'question'") == 0);
  CHECK(ask(silent, R"({"question":""})").first == 400);

  // Asked by e-mail, in the thread of the acknowledgement.
  const std::string from = "frage+" + RandomHex(4) + "@example.org";
  const std::string ref = report(from, 50.9455);
  const std::string shown = ref.substr(0, 4) + "-" + ref.substr(4, 4) + "-" + ref.substr(8);
  INFO(s.DispatcherLog());
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 1; }));  // the acknowledgement
  const std::string ack_id = Header(SinkMessagesTo(from)[0], "Message-ID");
  auto asked = ask(ref, R"({"question":"Wie tief ist das Loch, etwa in Zentimetern?"})");
  INFO(asked.second.dump());
  REQUIRE(asked.first == 200);
  CHECK(asked.second["status"] == "waiting_for_citizen");
  CHECK(asked.second["history"].back()["action"] == "question");
  CHECK(asked.second["history"].back()["public_note"] ==
        "Wie tief ist das Loch, etwa in Zentimetern?");
  CHECK(ask(ref, R"({"question":"Und noch etwas?"})").first == 409);
  REQUIRE(WaitFor([&] { return SinkMessagesTo(from).size() == 2; }));
  std::string question_mail = SinkMessagesTo(from)[1];
  CHECK(Header(question_mail, "In-Reply-To") == ack_id);
  auto parsed = email::ParseMail(question_mail);
  REQUIRE(parsed);
  CHECK(parsed->text.find("Wie tief ist das Loch, etwa in Zentimetern?") != std::string::npos);
  CHECK(parsed->text.find("Bitte antworten Sie") != std::string::npos);
  // The citizen's status page shows the status before the question.
  auto page = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(page);
  CHECK(json::parse(page->body)["status"] == "assigned");
  // The acceptance clock stands still: no deadline counts while it waits.
  const std::string assigned_before = field(ref, "extract(epoch FROM assigned_at)");

  // The answer, by e-mail with the reference in the subject.
  int status = -1;
  fs::path answer = s.dir() / "antwort.eml";
  std::ofstream(answer, std::ios::binary)
      << "From: <" + from + ">\r\nTo: maengel@musterstadt.example\r\nSubject: Re: [" + shown +
             "] Neuigkeiten zu Ihrer Meldung\r\nDate: Fri, 04 Dec 2026 10:00:00 +0100\r\n"
             "Message-ID: <" +
             RandomHex(8) +
             "@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Etwa 15 Zentimeter.\r\n";
  std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + answer.string() + "\"", &status);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM tickets WHERE reference = '" + ref + "' AND status = 'assigned'", 1));
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'answered'"
                " AND actor = 'citizen:email' AND to_status = 'assigned'") == 1);
  CHECK(deliveries("answered") == 1);
  CHECK(deliveries("followup") == 0);  // told once, as the answer
  CHECK(std::stod(field(ref, "paused_seconds")) > 0);
  CHECK(std::stod(field(ref, "paused_before_accept_seconds")) ==
        Approx(std::stod(field(ref, "paused_seconds"))));
  CHECK(std::stod(field(ref, "extract(epoch FROM assigned_at)")) > std::stod(assigned_before));
  CHECK(field(ref, "waiting_since") == "");
  // The department's mail says it is the answer.
  REQUIRE(WaitFor([&] {
    for (const auto& m : SinkMessagesTo("tiefbauamt@musterstadt.example")) {
      auto mail = email::ParseMail(m);  // the subject is encoded (RFC 2047)
      if (mail && mail->subject.rfind("Antwort auf Ihre Rückfrage: [" + shown + "]", 0) == 0)
        return true;
    }
    return false;
  }));

  // No answer: after tickets.question_timeout (5 working days) the ticket is back, with a note.
  auto accepted = s.Client().Post(("/api/v1/tickets/" + ref + "/accept").c_str(), auth, "{}",
                                  "application/json");
  REQUIRE(accepted);
  REQUIRE(accepted->status == 200);
  REQUIRE(ask(ref, R"({"question":"Ist die Stelle abgesperrt?"})").first == 200);
  out = s.RunCommand({"deadlines", "run", "--now", "2099-01-01T12:00:00Z"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.find(ref + "  question_expired") != std::string::npos);
  CHECK(field(ref, "status") == "accepted");
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'question_expired'"
                " AND actor = 'system:deadline' AND to_status = 'accepted'") == 1);
  CHECK(deliveries("question_expired") == 1);
  // A second pass changes nothing.
  out = s.RunCommand({"deadlines", "run", "--now", "2099-01-01T12:00:00Z"}, &status);
  CHECK(out.find("question_expired") == std::string::npos);
}

TEST_CASE("E-mail: a Reply-To that is no plain address of a domain never becomes a recipient",
          "[integration][mail]") {
  Stack s(MailOptions());
  int status = -1;
  std::vector<std::string> refs;
  for (const std::string& reply_to :
       {std::string("postmaster@localhost"), std::string("x@[127.0.0.1]"),
        std::string("a@example.net, b@example.net"), std::string("ok@example.net")}) {
    const std::string mid = RandomHex(8) + "@example.org";
    std::string mail = "From: Anna <anna@example.org>\r\nReply-To: " + reply_to +
                       "\r\nTo: maengel@musterstadt.example\r\nSubject: Laterne\r\n"
                       "Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <" +
                       mid +
                       ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                       "Die Laterne vor der Lindenstraße 13 ist dunkel.\r\n";
    fs::path file = s.dir() / (mid + ".eml");
    std::ofstream(file, std::ios::binary) << mail;
    std::string out = s.RunShell("\"$MELDESTELLE\" mailgate < \"" + file.string() + "\"", &status);
    INFO(out);
    REQUIRE(status == 0);
  }
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack'", 4));
  auto acks = s.Query("SELECT address FROM outbox WHERE kind = 'ack' ORDER BY id");
  CHECK(acks[0][0].as<std::string>() == "anna@example.org");
  CHECK(acks[1][0].as<std::string>() == "anna@example.org");
  CHECK(acks[2][0].as<std::string>() == "anna@example.org");  // a list: the From instead
  CHECK(acks[3][0].as<std::string>() == "ok@example.net");
  // A mail "from" our own address is a ticket without an acknowledgement; a Message-ID longer
  // than a database key is one report (it was refused with 503 on every try).
  const std::string long_id = RandomHex(8) + std::string(3000, 'q') + "@example.org";
  for (const auto& [from, mid] :
       {std::pair{std::string("Meldestelle <Maengel@musterstadt.example>"), RandomHex(8)},
        std::pair{std::string("Anna <anna@example.org>"), long_id}}) {
    std::string mail = "From: " + from +
                       "\r\nTo: maengel@musterstadt.example\r\nSubject: Laterne\r\n"
                       "Message-ID: <" +
                       mid +
                       "@example.org>\r\n\r\nDie Laterne vor der "
                       "Lindenstraße 13 ist dunkel.\r\n";
    fs::path file = s.dir() / (RandomHex(8) + ".eml");
    std::ofstream(file, std::ios::binary) << mail;
    for (int i = 0; i < 2; ++i) {  // the second: a redelivery
      std::string out =
          s.RunShell("\"$MELDESTELLE\" mailgate < \"" + file.string() + "\"", &status);
      INFO(out);
      REQUIRE(status == 0);
    }
  }
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 6));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack'", 5));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reporter->'ack'->>'channel' = 'none'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND address ILIKE 'maengel@%'") ==
        0);
}

TEST_CASE("E-mail: the town's web form relays a report from noreply@, answered at its Reply-To",
          "[integration][mail]") {
  StackOptions o = MailOptions();
  o.edit_config = [](std::string& text) {
    Replace(text, "  form_senders: []\n", "  form_senders: [noreply@musterstadt.example]\n");
  };
  Stack s(o);
  // The website's form, as WordPress or TYPO3 send it: the citizen's name on the form's own
  // noreply address, the citizen in Reply-To, marked as generated. The same form mail from a
  // sender not listed stays a robot's: a ticket, flagged, no acknowledgement.
  for (const std::string from :
       {"Erika Muster <noreply@musterstadt.example>", "Kontakt <noreply@verein.example>"}) {
    std::string mail = "From: " + from +
                       "\r\nReply-To: erika@example.org\r\nTo: maengel@musterstadt.example\r\n"
                       "Subject: Kontaktformular: Laterne\r\nAuto-Submitted: auto-generated\r\n"
                       "Message-ID: <" +
                       RandomHex(8) +
                       "@musterstadt.example>\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                       "Die Laterne vor der Lindenstraße 13 ist dunkel.\r\n";
    MailGate(s, mail);
  }
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2));
  auto rows = s.Query(
      "SELECT reporter->>'address', reporter->>'name', reporter->'ack'->>'channel',"
      " coalesce(reporter->'ack'->>'address', ''), routing_explanation->>'flags' FROM tickets"
      " ORDER BY reporter->>'address'");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0].as<std::string>() == "erika@example.org");
  CHECK(rows[0][1].as<std::string>() == "Erika Muster");
  CHECK(rows[0][2].as<std::string>() == "email");
  CHECK(rows[0][3].as<std::string>() == "erika@example.org");
  CHECK(rows[0][4].as<std::string>().find("Automatische Nachricht") == std::string::npos);
  CHECK(rows[1][0].as<std::string>() == "noreply@verein.example");
  CHECK(rows[1][2].as<std::string>() == "none");
  CHECK(rows[1][4].as<std::string>().find("Automatische Nachricht") != std::string::npos);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'", 1));
  // A form's mail naming a reference adds nothing to a ticket, relayed or not: the form checks
  // no address. Mails from the listed form and from our own address without a Reply-To (not
  // relayed) make tickets whose reporter is that address; a later mail from it naming such a
  // ticket's reference is a report of its own, not the reporter's follow-up.
  auto plain = [](const std::string& from, const std::string& subject) {
    return "From: Kontakt <" + from +
           ">\r\nTo: maengel@musterstadt.example\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           RandomHex(8) +
           "@musterstadt.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Die Laterne vor der Lindenstraße 13 ist dunkel.\r\n";
  };
  const std::vector<std::string> forms = {"noreply@musterstadt.example",
                                          "maengel@musterstadt.example"};
  for (const auto& from : forms)
    MailGate(s, plain(from, "Ohne Antwortadresse"));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 4));
  for (const auto& from : forms) {
    const std::string reference =
        One(s, "SELECT reference FROM tickets WHERE reporter->>'address' = '" + from + "'");
    MailGate(s, plain(from, "Nachtrag [" + reference + "]"));
  }
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 6));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 0);
  // The robot's ticket has its acknowledgement row on no channel, done at once.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'email'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'email' AND address"
                " = 'erika@example.org'") == 1);
}

TEST_CASE("E-mail: Outlook's winmail.dat gives the ticket its photo and the photo's place",
          "[integration][mail]") {
  Stack s(MailOptions());
  const std::string tnef = ReadFile(fs::path(MELDESTELLE_SOURCE_DIR) / "tests/data/winmail.dat");
  // As Outlook sends a mail written in Rich Text: the text as text/plain, the files inside
  // winmail.dat. The second mail's winmail.dat is cut short.
  for (const std::string& stream : {tnef, tnef.substr(0, tnef.size() / 2)}) {
    std::string base64 = Base64Encode(stream);
    for (size_t at = 76; at < base64.size(); at += 78)
      base64.insert(at, "\r\n");
    std::string mail =
        "From: Erika <erika@example.org>\r\nTo: maengel@musterstadt.example\r\n"
        "Subject: Schlagloch\r\nMessage-ID: <" +
        RandomHex(8) +
        "@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEin tiefes Schlagloch.\r\n"
        "--b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
        "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        base64 + "\r\n--b--\r\n";
    MailGate(s, mail);
  }
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2));
  // The photo inside: kept (cleaned), named as Outlook named it, its GPS position the ticket's.
  auto photo = s.Query(
      "SELECT a.media_type, a.filename, t.location_source, t.lat IS NOT NULL,"
      " coalesce(t.routing_explanation->>'flags', '') FROM attachments a"
      " JOIN tickets t ON t.id = a.ticket_id");
  REQUIRE(photo.size() == 1);
  CHECK(photo[0][0].as<std::string>() == "image/jpeg");
  CHECK(photo[0][1].as<std::string>() == "Schlagloch Straße.jpg");
  CHECK(photo[0][2].as<std::string>() == "photo");
  CHECK(photo[0][3].as<bool>());
  // The text file inside is a document, not kept, as any other.
  CHECK(photo[0][4].as<std::string>().find("Dokument nicht gespeichert") != std::string::npos);
  CHECK(photo[0][4].as<std::string>().find("winmail.dat") == std::string::npos);
  // The cut one: taken without it, and staff are told.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Outlook-Anhang (winmail.dat) nicht lesbar'"
                " AND NOT routing_explanation->'flags' ? 'Dokument nicht gespeichert (Datenschutz)'"
                " AND id NOT IN (SELECT ticket_id FROM attachments)") == 1);
  // Its own verdict on the stream (status 3): taken at the first attempt, not tried again.
  CHECK(s.WorkerLogs().find("winmail.dat not read") != std::string::npos);
  CHECK(s.WorkerLogs().find("\"last_attempt\":\"no\"") != std::string::npos);
}

namespace {

std::string VectorHeader(const std::string& file, const std::string& name) {
  std::string h = VectorFile(file);
  size_t p = h.find("\n" + name + ": ");
  REQUIRE(p != std::string::npos);
  size_t start = p + 3 + name.size();
  std::string v = h.substr(start, h.find('\n', start) - start);
  while (!v.empty() && (v.back() == '\r' || v.back() == ' '))
    v.pop_back();
  return v;
}

}  // namespace

TEST_CASE("Mailgun and SendGrid inbound parse: signed, replay-checked, one report each",
          "[integration][mail]") {
  const std::string key = "mailgun-test-webhook-signing-key-0000";
  StackOptions o;
  o.extra_env = {"MELDESTELLE_MAILGUN_SIGNING_KEY=" + key,
                 "MELDESTELLE_SENDGRID_SECRET=sendgrid-secret-for-tests"};
  Stack s(o);
  std::string ts = std::to_string(std::time(nullptr));
  std::string token = RandomHex(25);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"timestamp", ts},
      {"token", token},
      {"signature", HmacSha256Hex(key, ts + token)},
      {"sender", "anna@example.org"},
      {"from", "Anna Beispiel <anna@example.org>"},
      {"recipient", "maengel@musterstadt.example"},
      {"subject", "Laterne defekt"},
      {"Message-Id", "<" + RandomHex(6) + "@example.org>"},
      {"body-plain", "Die Straßenlaterne in der Hauptstraße 12 ist dunkel.\n"}};
  std::string body = FormUrlEncode(fields);
  auto res = s.Client().Post("/webhooks/mailgun", body, "application/x-www-form-urlencoded");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  // Mailgun's own retry (same request) is fine; the token with other content is a replay.
  CHECK(s.Client().Post("/webhooks/mailgun", body, "application/x-www-form-urlencoded")->status ==
        200);
  fields.back().second = "Etwas ganz anderes";
  auto replay =
      s.Client().Post("/webhooks/mailgun", FormUrlEncode(fields), "application/x-www-form-urlencoded");
  CHECK(replay->status == 406);
  // The vector as recorded: its timestamp is long past.
  auto stale =
      s.Client().Post("/webhooks/mailgun", VectorFile("email/07-mailgun-route-forward.txt"),
                      VectorHeader("email/07-mailgun-route-forward.headers", "Content-Type"));
  CHECK(stale->status == 403);

  // A flood of empty fields (8 million in 25 MB cost 1.6 GB) is refused before it is parsed.
  std::string flood;
  for (int i = 0; i < 5000; ++i)
    flood += "a=&";
  auto flooded = s.Client().Post("/webhooks/mailgun", flood, "application/x-www-form-urlencoded");
  REQUIRE(flooded);
  CHECK(flooded->status == 400);
  CHECK_THAT(flooded->body, Catch::Contains("form_invalid"));
  CHECK_THAT(flooded->body, Catch::Contains("more than 200 fields"));

  std::string sg_body = VectorFile("email/08-sendgrid-inbound-parse.txt");
  std::string sg_type = VectorHeader("email/08-sendgrid-inbound-parse.headers", "Content-Type");
  CHECK(s.Client().Post("/webhooks/sendgrid", sg_body, sg_type)->status == 403);
  auto sg = s.Client().Post("/webhooks/sendgrid?key=sendgrid-secret-for-tests", sg_body, sg_type);
  REQUIRE(sg);
  INFO(sg->body);
  REQUIRE(sg->status == 202);

  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'email'", 2));
  CHECK(One(s, "SELECT department_id FROM tickets WHERE text LIKE '%Laterne%'") ==
        "strassenbeleuchtung");
  // SendGrid's text arrives in ISO-8859-1 per "charsets": transcoded, with its photo.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE text LIKE '%Mühlenweg%'") == 1);
  CHECK(s.Count("SELECT count(*) FROM attachments") == 1);

  // When the database cannot say whether a token was used, the request is refused (503, Mailgun
  // retries), not let through unchecked.
  s.Query("ALTER TABLE intake_keys RENAME TO intake_keys_away");
  std::string ts2 = std::to_string(std::time(nullptr));
  std::string token2 = RandomHex(25);
  fields[0].second = ts2;
  fields[1].second = token2;
  fields[2].second = HmacSha256Hex(key, ts2 + token2);
  fields.back().second = "Noch eine Laterne dunkel, Hauptstraße 20.";
  auto unchecked = s.Client().Post("/webhooks/mailgun", FormUrlEncode(fields),
                                   "application/x-www-form-urlencoded");
  s.Query("ALTER TABLE intake_keys_away RENAME TO intake_keys");
  REQUIRE(unchecked);
  INFO(unchecked->body);
  CHECK(unchecked->status == 503);
  CHECK(unchecked->get_header_value("Retry-After") == "30");
  CHECK_THAT(unchecked->body, Catch::Contains("could not be checked for replay"));
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE key = " + Q(token2)) == 0);
}

}  // namespace mail_test
