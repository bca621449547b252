// The e-mails we send: RFC 5322 + MIME, quoted-printable UTF-8, encoded words, threading headers.
#include "channels/email/compose.hpp"

#include <catch2/catch.hpp>

#include "channels/email/mail.hpp"
#include "channels/email/message.hpp"
#include "core/crypto.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace compose_test {

using namespace meldestelle::email;

namespace {

// Decodes quoted-printable (soft breaks, =XX) for the round-trip check.
std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (qp[i] == '\r') {
      continue;
    } else {
      out += qp[i];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("quoted-printable keeps UTF-8, line lengths and trailing spaces safe", "[compose]") {
  std::string text = "Grüße aus Mühlheim – „Straße“ 😀\nZeile mit Leerzeichen am Ende   \n" +
                     std::string(200, 'x') + "\n.Punkt am Anfang\nFrom here\n=gleich";
  std::string qp = EncodeQuotedPrintable(text);
  CHECK(DecodeQp(qp) == text);
  size_t start = 0;
  while (start < qp.size()) {
    size_t end = qp.find("\r\n", start);
    if (end == std::string::npos)
      end = qp.size();
    CHECK(end - start <= 76);
    std::string line = qp.substr(start, end - start);
    if (!line.empty())
      CHECK(line.back() != ' ');
    start = end + 2;
  }
  for (unsigned char c : qp)
    CHECK(c < 0x80);
  CHECK(qp.find("\r\n.Punkt") == std::string::npos);
  CHECK(qp.find("\r\nFrom here") == std::string::npos);
}

TEST_CASE("header text: ASCII as is, anything else as UTF-8 encoded words, no line breaks",
          "[compose]") {
  CHECK(EncodeHeaderText("[4KQ7-XRT2-WNPA] Ihre Meldung") == "[4KQ7-XRT2-WNPA] Ihre Meldung");
  std::string long_subject(60, 'a');
  long_subject += " Straßenlaterne in der Mühlenstraße flackert – bitte prüfen";
  std::string enc = EncodeHeaderText(long_subject);
  std::string decoded;
  size_t pos = 0;
  while ((pos = enc.find("=?UTF-8?B?", pos)) != std::string::npos) {
    size_t end = enc.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 75);
    std::string part;
    REQUIRE(meldestelle::Base64Decode(enc.substr(pos + 10, end - pos - 10), &part));
    decoded += part;
    pos = end + 2;
  }
  CHECK(decoded == long_subject);
  CHECK(EncodeHeaderText("Evil\r\nBcc: x@example.org").find("\n") == std::string::npos);
}

TEST_CASE(
    "a row's Message-ID is the same at every attempt, differs between rows, and cannot be "
    "made up from the reference and the row",
    "[compose]") {
  const std::string key = "message-id-key";
  const std::string id = RowMessageId("ack", "4KQ7XRT2WNPA", 42, "musterstadt.example", key);
  CHECK(id == RowMessageId("ack", "4KQ7XRT2WNPA", 42, "musterstadt.example", key));
  CHECK(id.rfind("ack.", 0) == 0);
  CHECK(id.size() == std::string("ack.@musterstadt.example").size() + 24);
  // Neither the reference nor the row's number is in it: a stranger knows both.
  CHECK(id.find("4KQ7XRT2WNPA") == std::string::npos);
  CHECK(RowMessageId("ack", "4KQ7XRT2WNPA", 43, "musterstadt.example", key) != id);
  CHECK(RowMessageId("status", "4KQ7XRT2WNPA", 42, "musterstadt.example", key) !=
        "status" + id.substr(3));
  CHECK(RowMessageId("ack", "4KQ7XRT2WNPA", 42, "musterstadt.example", "another key") != id);
  CHECK_THAT(RowMessageId("status", "4KQ7XRT2WNPA", 42, "", key),
             Catch::EndsWith("@meldestelle.invalid"));
  // Without a key: random, every attempt its own.
  CHECK(RowMessageId("ack", "4KQ7XRT2WNPA", 42, "musterstadt.example", "") !=
        RowMessageId("ack", "4KQ7XRT2WNPA", 42, "musterstadt.example", ""));
}

TEST_CASE("an acknowledgement threads to the citizen's mail and says it is automatic",
          "[compose]") {
  Outgoing m;
  m.from_address = "maengel@musterstadt.example";
  m.from_name = "Meldestelle Musterstadt";
  m.to = "erika@example.org";
  m.subject = "[4KQ7-XRT2-WNPA] Ihre Meldung ist eingegangen";
  m.text = "Grüße";
  m.message_id = NewMessageId("ack", "4KQ7XRT2WNPA", DomainOf(m.from_address));
  m.in_reply_to = "b7e0c3a1@example.org";
  m.references = {"root@example.org"};
  m.date = NowRfc5322();
  std::string mail = Compose(m);
  CHECK(mail.find("From: \"Meldestelle Musterstadt\" <maengel@musterstadt.example>\r\n") == 0);
  CHECK(mail.find("\r\nIn-Reply-To: <b7e0c3a1@example.org>\r\n") != std::string::npos);
  CHECK(mail.find("\r\nReferences: <root@example.org> <b7e0c3a1@example.org>\r\n") !=
        std::string::npos);
  CHECK(mail.find("\r\nAuto-Submitted: auto-replied\r\n") != std::string::npos);
  CHECK(mail.find("\r\nMessage-ID: <ack.4KQ7XRT2WNPA.") != std::string::npos);
  CHECK(mail.find("@musterstadt.example>\r\n") != std::string::npos);
  CHECK(mail.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos);
  CHECK(mail.find("\r\n\r\nGr=C3=BC=C3=9Fe") != std::string::npos);
  m.auto_reply = false;
  CHECK(Compose(m).find("Auto-Submitted") == std::string::npos);
  // No line over 998 characters (a relay answers 500): an id too long for one is left out, and
  // References is folded.
  m.in_reply_to = std::string(3000, '~') + "@example.org";
  m.references.clear();
  for (int i = 0; i < 40; ++i)
    m.references.push_back(std::string(60, 'a' + i % 26) + "@example.org");
  std::string folded = Compose(m);
  CHECK(folded.find("In-Reply-To") == std::string::npos);
  CHECK(folded.find("~~~~") == std::string::npos);
  CHECK(folded.find("\r\nReferences: <aaaa") != std::string::npos);
  CHECK(folded.find(std::string(60, 'n') + "@example.org>") != std::string::npos);
  for (size_t at = 0, end; (end = folded.find("\r\n", at)) != std::string::npos; at = end + 2)
    CHECK(end - at <= 998);
}

TEST_CASE("a mail event survives the queue, with inbound-parse fields as they came", "[compose]") {
  using namespace meldestelle::email;
  Message m;
  m.reference = "4KQ7XRT2WNPA";
  m.report_id = "00000000-0000-4000-8000-000000000001";
  m.received_at = "2026-11-27T10:00:00.000Z";
  m.source = "mailgun";
  m.format = "mailgun";
  m.raw =
      EncodeFields({{"subject", "", "", "Grüße"},
                    {"attachment-1", "a.jpg", "image/jpeg", std::string("\xff\xd8\xff\x00", 4)}});
  std::string body = EncodeMessage(m);
  REQUIRE(IsMessage(body));
  auto back = DecodeMessage(body);
  REQUIRE(back.ok());
  CHECK(back->format == "mailgun");
  CHECK(back->reference == m.reference);
  auto fields = DecodeFields(back->raw);
  REQUIRE(fields.ok());
  REQUIRE(fields->size() == 2);
  CHECK((*fields)[0].value == "Grüße");
  CHECK((*fields)[1].value == std::string("\xff\xd8\xff\x00", 4));
  CHECK((*fields)[1].filename == "a.jpg");
  CHECK_FALSE(DecodeMessage(R"({"kind":"mail_event","reference":1})").ok());
  // Found by fuzz/queue (the same check as chat::DecodeBatch): a kind that is not a string threw.
  CHECK_FALSE(DecodeMessage(R"({"kind":{"a":""}})").ok());
  CHECK_FALSE(DecodeMessage(R"({"kind":["mail_event"]})").ok());
  CHECK_FALSE(DecodeFields("[{\"name\":\"x\",\"value_base64\":\"!!\"}]").ok());
  CHECK_FALSE(DecodeFields("{}").ok());
}

TEST_CASE("a mail with attachments is multipart/mixed and GMime reads back text, names and bytes",
          "[compose]") {
  Outgoing m;
  m.from_address = "maengel@musterstadt.example";
  m.to = "tiefbauamt@musterstadt.example";
  m.subject = "Neue Meldung 4KQ7 XRT2 WNPA: Schlagloch";
  m.text = "Guten Tag,\nKategorie: Schlagloch – Größe 40 cm\n";
  m.message_id = "dept.4KQ7XRT2WNPA.1@musterstadt.example";
  m.date = NowRfc5322();
  m.auto_reply = false;
  std::string binary;
  for (int i = 0; i < 600; ++i) binary += static_cast<char>(i * 7 % 256);
  m.attachments = {{"Straße_Mühlenweg ÄÖÜ.jpg", "image/jpeg", binary},
                   {"IMG_0412.JPG", "image/jpeg", "\xff\xd8\xff\xe0 small"},
                   {"evil\"\r\nBcc: x@example.org.png", "image/png; x=\r\ny", "p"}};
  std::string mail = Compose(m);
  CHECK(mail.find("\r\nContent-Type: multipart/mixed; boundary=\"=_meldestelle_") !=
        std::string::npos);
  // RFC 2231 for the umlauts, an RFC 2047 name beside it; no header injection from a name.
  CHECK(mail.find("filename*=UTF-8''Stra%C3%9Fe_M%C3%BChlenweg%20%C3%84%C3%96%C3%9C.jpg") !=
        std::string::npos);
  CHECK(mail.find("name=\"=?UTF-8?B?") != std::string::npos);
  CHECK(mail.find("\r\nBcc:") == std::string::npos);
  CHECK(mail.find("Content-Type: application/octet-stream; name=\"evilBcc: x@example.org.png\"") !=
        std::string::npos);
  for (unsigned char c : mail) CHECK(c < 0x80);
  // Every line within the RFC 5322 limit; base64 lines at most 76.
  size_t start = 0;
  while (start < mail.size()) {
    size_t end = mail.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 998);
    start = end + 2;
  }
  auto parsed = ParseMail(mail);
  REQUIRE(parsed);
  CHECK(parsed->subject == m.subject);
  CHECK(parsed->text.find("Größe 40 cm") != std::string::npos);
  REQUIRE(parsed->attachments.size() == 3);
  CHECK(parsed->attachments[0].filename == "Straße_Mühlenweg ÄÖÜ.jpg");
  CHECK(parsed->attachments[0].declared_type == "image/jpeg");
  CHECK(parsed->attachments[0].bytes == binary);
  CHECK(parsed->attachments[1].filename == "IMG_0412.JPG");
  CHECK(parsed->attachments[1].bytes == "\xff\xd8\xff\xe0 small");
  CHECK(parsed->attachments[2].bytes == "p");
}

TEST_CASE("base64 lines are 76 characters and decode to the bytes", "[compose]") {
  std::string bytes(1000, '\x01');
  std::string lines = EncodeBase64Lines(bytes);
  std::string joined;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 76);
    joined += lines.substr(start, end - start);
    start = end + 2;
  }
  std::string back;
  REQUIRE(meldestelle::Base64Decode(joined, &back));
  CHECK(back == bytes);
  CHECK(EncodeBase64Lines("").empty());
}

TEST_CASE("extra header fields are written on one line each", "[compose]") {
  Outgoing m;
  m.from_address = "maengel@musterstadt.example";
  m.to = "erika@example.org";
  m.subject = "Neuigkeiten";
  m.text = "x";
  m.message_id = "status.X@musterstadt.example";
  m.date = NowRfc5322();
  m.auto_reply = false;
  m.headers = {{"List-Unsubscribe", "<https://x.example/abmelden?c=email>"},
               {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click\r\nBcc: evil@example.org"}};
  std::string mail = Compose(m);
  CHECK(mail.find("\r\nList-Unsubscribe: <https://x.example/abmelden?c=email>\r\n") !=
        std::string::npos);
  CHECK(mail.find("\r\nBcc:") == std::string::npos);
  CHECK(mail.find("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click  Bcc") !=
        std::string::npos);
}

}  // namespace compose_test
