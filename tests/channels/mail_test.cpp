#include "channels/email/mail.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/media.hpp"
#include "core/reference.hpp"
#include "core/text.hpp"
#include "vector_files.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace mail_test {

using namespace meldestelle;
using namespace meldestelle::email;

namespace {

std::string Read(const std::string& name) { return vector_files::Read("email/" + name); }

Mail Parsed(const std::string& raw, const Limits& limits = {}) {
  auto r = ParseMail(raw, limits);
  if (!r) {
    INFO(r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}

std::string CodeOf(const std::string& raw, const Limits& limits = {}) {
  auto r = ParseMail(raw, limits);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().message.empty());
  return r.error().code.str();
}

Mail Unwrap(Result<Mail> r) {
  if (!r) {
    INFO(r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}

// A message from header lines and a body, with CRLF line ends.
std::string Msg(const std::vector<std::string>& headers, const std::string& body) {
  std::string out;
  for (const auto& h : headers) {
    out += h + "\r\n";
  }
  out += "\r\n" + body;
  return out;
}

// The usual headers of a citizen's mail plus `extra`.
std::string Simple(const std::vector<std::string>& extra, const std::string& body,
                   const std::string& subject = "Laterne defekt") {
  std::vector<std::string> h = {"From: Erika Mustermann <erika@example.org>",
                                "To: maengel@stadt.example",
                                "Subject: " + subject,
                                "Date: Tue, 11 Mar 2025 08:00:00 +0100",
                                "Message-ID: <m1@example.org>",
                                "MIME-Version: 1.0"};
  h.insert(h.end(), extra.begin(), extra.end());
  return Msg(h, body);
}

std::string TextPlain(const std::string& charset, const std::string& cte, const std::string& body,
                      const std::string& subject = "Laterne defekt") {
  return Simple(
      {"Content-Type: text/plain; charset=" + charset, "Content-Transfer-Encoding: " + cte}, body,
      subject);
}

// The body part of Mail::text (after the subject and the blank line).
std::string Body(const Mail& m) {
  size_t p = m.text.find("\n\n");
  return p == std::string::npos ? "" : m.text.substr(p + 2);
}

// One MIME part: headers, blank line, content.
std::string Part(const std::vector<std::string>& headers, const std::string& content) {
  return Msg(headers, content);
}

std::string Multipart(const std::string& boundary, const std::vector<std::string>& parts) {
  std::string out = "preamble\r\n";
  for (const auto& p : parts) {
    out += "--" + boundary + "\r\n" + p + "\r\n";
  }
  return out + "--" + boundary + "--\r\n";
}

bool HasReason(const Mail& m, const std::string& reason) {
  for (const auto& r : m.robot_reasons) {
    if (r == reason) {
      return true;
    }
  }
  return false;
}

std::string JoinReasons(const Mail& m) {
  std::string s;
  for (const auto& r : m.robot_reasons) {
    s += "[" + r + "]";
  }
  return s;
}

// multipart/form-data as a provider posts it (the vectors are well-formed): enough for tests.
std::vector<FormField> ParseFormData(const std::string& body, const std::string& content_type) {
  size_t b = content_type.find("boundary=");
  REQUIRE(b != std::string::npos);
  std::string delimiter = "--" + content_type.substr(b + 9);
  std::vector<FormField> fields;
  size_t pos = body.find(delimiter);
  REQUIRE(pos == 0);
  while (true) {
    pos += delimiter.size();
    if (body.compare(pos, 2, "--") == 0) {
      break;
    }
    REQUIRE(body.compare(pos, 2, "\r\n") == 0);
    pos += 2;
    size_t head_end = body.find("\r\n\r\n", pos);
    REQUIRE(head_end != std::string::npos);
    std::string head = body.substr(pos, head_end - pos);
    size_t next = body.find("\r\n" + delimiter, head_end + 4);
    REQUIRE(next != std::string::npos);
    FormField f;
    f.value = body.substr(head_end + 4, next - head_end - 4);
    auto param = [&](const std::string& key) -> std::string {
      size_t k = head.find("; " + key + "=\"");
      if (k == std::string::npos) {
        return "";
      }
      size_t start = k + key.size() + 4;
      return head.substr(start, head.find('"', start) - start);
    };
    f.name = param("name");
    f.filename = param("filename");
    size_t ct = head.find("Content-Type: ");
    if (ct != std::string::npos) {
      f.content_type = head.substr(ct + 14, head.find("\r\n", ct) - ct - 14);
    }
    fields.push_back(f);
    pos = next + 2;
  }
  return fields;
}

std::vector<FormField> FormVector(const std::string& name) {
  auto http = vector_files::ReadHeaders("email/" + name + ".headers");
  return ParseFormData(Read(name + ".txt"), http.Header("content-type"));
}

std::string FieldValue(const std::vector<FormField>& fields, const std::string& name) {
  for (const auto& f : fields) {
    if (f.name == name) {
      return f.value;
    }
  }
  FAIL("no form field " << name);
  return "";
}

std::string StripAngles(std::string s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// 02, 07 and 08 are the same mail through three doors.
void CheckSameAs02(const Mail& m) {
  Mail ref = Parsed(Read("02-latin1-qp-jpeg-rfc2047-rfc2231.eml"));
  CHECK(m.subject == ref.subject);
  CHECK(m.from_address == ref.from_address);
  CHECK(m.from_name == ref.from_name);
  CHECK(m.message_id == ref.message_id);
  CHECK(m.dedupe_key == ref.dedupe_key);
  CHECK(m.date == ref.date);
  CHECK(m.text == ref.text);
  CHECK(m.robot == Robot::kNone);
  REQUIRE(m.attachments.size() == ref.attachments.size());
  for (size_t i = 0; i < m.attachments.size(); ++i) {
    CHECK(m.attachments[i].filename == ref.attachments[i].filename);
    CHECK(m.attachments[i].declared_type == ref.attachments[i].declared_type);
    CHECK(m.attachments[i].bytes == ref.attachments[i].bytes);
  }
}

const std::string kJpeg = std::string("\xFF\xD8\xFF\xE0", 4) + std::string(40, 'j') + "\xFF\xD9";

}  // namespace

// ---- shared vectors ---------------------------------------------------------------------------

TEST_CASE("email vectors: every file belongs to a case of _expected.json and back", "[mail]") {
  std::set<std::string> files = vector_files::List("email");
  std::set<std::string> used = {"_expected.json"};
  for (const auto& name : vector_files::ExpectedCases("email")) {
    bool eml = files.count(name + ".eml") > 0;
    bool form = files.count(name + ".headers") > 0 && files.count(name + ".txt") > 0;
    INFO(name);
    CHECK((eml || form));
    for (const char* ext : {".eml", ".headers", ".txt"}) {
      if (files.count(name + ext) > 0) {
        used.insert(name + ext);
      }
    }
  }
  CHECK(used == files);
}

TEST_CASE("email vectors: every raw message matches _expected.json", "[mail]") {
  for (const auto& name : vector_files::ExpectedCases("email")) {
    if (vector_files::List("email").count(name + ".eml") == 0) {
      continue;
    }
    INFO(name);
    const nlohmann::json e = vector_files::Expected("email", name);
    Mail m = Parsed(Read(name + ".eml"));
    CHECK(IsValidUtf8(m.text));
    CHECK(IsValidUtf8(m.subject));
    std::string verdict = e.at("verdict");
    if (verdict.rfind("new_report", 0) == 0) {
      CHECK(m.robot == Robot::kNone);
      CHECK(m.robot_reasons.empty());
      CHECK_FALSE(m.message_id.empty());
      CHECK(m.dedupe_key == m.message_id);
      CHECK(m.text.rfind(m.subject + "\n\n", 0) == 0);
    } else {
      CHECK(verdict.rfind("ignore", 0) == 0);
      CHECK(m.robot != Robot::kNone);
      if (verdict.find("auto-reply") != std::string::npos) {
        CHECK(m.robot == Robot::kAutoReply);
      }
    }
    if (e.contains("subject")) {
      CHECK(m.subject == e["subject"].get<std::string>());
    }
    if (e.contains("from")) {
      CHECK(m.from_address == e["from"].get<std::string>());
    }
    if (e.contains("from_name")) {
      CHECK(m.from_name == e["from_name"].get<std::string>());
    }
    if (e.contains("message_id")) {
      CHECK(m.message_id == StripAngles(e["message_id"].get<std::string>()));
    }
    for (const auto& reason : e.value("reasons", nlohmann::json::array())) {
      INFO(JoinReasons(m));
      CHECK(HasReason(m, reason.get<std::string>()));
    }
    if (e.contains("attachments")) {
      REQUIRE(m.attachments.size() == e["attachments"].size());
      for (size_t i = 0; i < m.attachments.size(); ++i) {
        const auto& ea = e["attachments"][i];
        CHECK(m.attachments[i].filename == ea.at("filename").get<std::string>());
        CHECK(m.attachments[i].declared_type == ea.at("content_type").get<std::string>());
        CHECK(m.attachments[i].bytes.size() == ea.at("bytes").get<size_t>());
        CHECK(Sha256Hex(m.attachments[i].bytes) == ea.at("sha256").get<std::string>());
        CHECK(SniffMediaType(m.attachments[i].bytes) == ea.at("content_type").get<std::string>());
      }
    } else if (verdict.rfind("new_report", 0) == 0) {
      CHECK(m.attachments.empty());
    }
    if (e.contains("prefer_body")) {
      REQUIRE(e["prefer_body"].get<std::string>().rfind("text/plain", 0) == 0);
      // The plain version has a normal space in "5 cm" and no markup; the HTML has &nbsp;.
      CHECK(m.text.find("(ca. 5 cm Kante)") != std::string::npos);
      CHECK(m.text.find('<') == std::string::npos);
    }
    // "mark ack for M-2025-004714 as undeliverable": the DSN names our acknowledgement.
    size_t ack = verdict.find("ack for ");
    if (ack != std::string::npos) {
      std::string id = verdict.substr(ack + 8, verdict.find(' ', ack + 8) - ack - 8);
      CHECK(m.robot == Robot::kBounce);
      CHECK(m.bounced_message_id.rfind("ack-" + id + ".", 0) == 0);
    } else {
      CHECK(m.bounced_message_id.empty());
    }
  }
}

TEST_CASE("email vector 01: quoted-printable UTF-8, format=flowed, date and body", "[mail]") {
  Mail m = Parsed(Read("01-plain-utf8-qp.eml"));
  CHECK(m.date == "2025-03-10T10:14:57+01:00");
  CHECK(m.return_path == "erika.mustermann@example.org");
  CHECK_FALSE(m.return_path_empty);
  CHECK(Body(m).find("Wartehäuschens zersplittert.") != std::string::npos);
  CHECK(Body(m).find("Gehweg – bitte schnell beseitigen, hier laufen viele Kinder vorbei.") !=
        std::string::npos);
  CHECK(Body(m).find("Mit freundlichen Grüßen\nErika Mustermann") != std::string::npos);
}

TEST_CASE("email vector 03: an out-of-office reply keeps its thread", "[mail]") {
  Mail m = Parsed(Read("03-auto-reply-out-of-office.eml"));
  CHECK(m.return_path_empty);
  CHECK(m.return_path.empty());
  CHECK(HasReason(m, "Subject: Automatische Antwort"));
  REQUIRE(m.in_reply_to_and_references.size() == 2);
  CHECK(m.in_reply_to_and_references[0] == "ack-M-2025-004713.1741598105@stadt.example");
  CHECK(m.in_reply_to_and_references[1] == "b7e0c3a1-5d2f-4c8e-9a61-3f0e2d1c4b5a@example.org");
}

TEST_CASE("email vector 07: the Mailgun signature known answer and the parsed post", "[mail]") {
  const std::string name = "07-mailgun-route-forward";
  const nlohmann::json e = vector_files::Expected("email", name);
  // The comment lines of the .headers file name the test key and the signed string.
  std::string key, signed_string, expected;
  std::istringstream in(Read(name + ".headers"));
  std::string line;
  auto after = [](const std::string& l, const std::string& label) {
    size_t p = l.find(label);
    return p == std::string::npos ? std::string()
                                  : std::string(TrimAscii(l.substr(p + label.size())));
  };
  while (std::getline(in, line)) {
    if (key.empty())
      key = after(line, "TEST signing key:");
    if (signed_string.empty())
      signed_string = after(line, "timestamp+token :");
    if (expected.empty())
      expected = after(line, "expected signature:");
  }
  REQUIRE_FALSE(key.empty());
  CHECK(expected == e.at("expected_signature").get<std::string>());
  auto fields = FormVector(name);
  std::string ts = FieldValue(fields, "timestamp");
  std::string token = FieldValue(fields, "token");
  std::string sig = FieldValue(fields, "signature");
  CHECK(ts + token == signed_string);
  CHECK(sig == expected);
  CHECK(HmacSha256Hex(key, ts + token) == expected);
  int64_t now = std::stoll(ts);
  CHECK(VerifyMailgun(key, ts, token, sig, now) ==
        e.at("signature_valid_with_test_key").get<bool>());
  CHECK(VerifyMailgun(key, ts, token, sig, now + 300));
  CHECK(VerifyMailgun(key, ts, token, sig, now - 300));
  CHECK_FALSE(VerifyMailgun(key, ts, token, sig, now + 301));
  CHECK_FALSE(VerifyMailgun(key, ts, token, sig, now - 301));
  CHECK_FALSE(VerifyMailgun("other-key", ts, token, sig, now));
  CHECK_FALSE(VerifyMailgun("", ts, token, sig, now));
  CHECK_FALSE(VerifyMailgun(key, ts, token + "x", sig, now));
  CHECK_FALSE(VerifyMailgun(key, "17415987o2", token, sig, now));
  std::string upper = sig;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(VerifyMailgun(key, ts, token, upper, now));

  CHECK(e.at("verdict").get<std::string>().find("same content as 02") != std::string::npos);
  Mail m = Unwrap(FromMailgun(fields));
  CheckSameAs02(m);
}

TEST_CASE("email vector 08: SendGrid fields transcoded per charsets", "[mail]") {
  const std::string name = "08-sendgrid-inbound-parse";
  const nlohmann::json e = vector_files::Expected("email", name);
  CHECK(e.at("verdict").get<std::string>().find("same content as 02") != std::string::npos);
  CHECK(e.at("note").get<std::string>().find("iso-8859-1") != std::string::npos);
  auto fields = FormVector(name);
  CHECK_FALSE(IsValidUtf8(FieldValue(fields, "text")));  // the trap: raw ISO-8859-1 bytes
  Mail m = Unwrap(FromSendGrid(fields));
  CheckSameAs02(m);
  CHECK(IsValidUtf8(m.text));
}

TEST_CASE("raw-MIME fields of Mailgun and SendGrid go through ParseMail", "[mail]") {
  std::string raw = Read("01-plain-utf8-qp.eml");
  Mail direct = Parsed(raw);
  Mail mg = Unwrap(FromMailgun({{"body-mime", "", "", raw}, {"timestamp", "", "", "1"}}));
  Mail sg = Unwrap(FromSendGrid({{"email", "", "", raw}}));
  CHECK(mg.text == direct.text);
  CHECK(sg.dedupe_key == direct.dedupe_key);
  CHECK(FromMailgun({{"timestamp", "", "", "1"}}).error().code.name() == "mail_invalid");
  CHECK(FromMailgun({{"message-headers", "", "", "{not json"}}).error().code.name() ==
        "mail_invalid");
  CHECK(FromSendGrid({{"text", "", "", "hallo"}}).error().code.name() == "mail_invalid");
}

TEST_CASE("provider posts obey the attachment and size limits", "[mail]") {
  std::vector<FormField> fields = {{"from", "", "", "a@example.org"},
                                   {"subject", "", "", "Fotos"},
                                   {"body-plain", "", "", "siehe Anhang"}};
  for (int i = 1; i <= 3; ++i) {
    fields.push_back({"attachment-" + std::to_string(i), "f.jpg", "image/jpeg", kJpeg});
  }
  Limits two;
  two.max_attachments = 2;
  // Beyond the number: the first ones kept, the rest counted, the mail taken.
  Mail cut = Unwrap(FromMailgun(fields, two));
  CHECK(cut.attachments.size() == 2);
  CHECK(cut.attachments_not_kept == 1);
  CHECK(cut.attachments[0].bytes == kJpeg);
  Mail all = Unwrap(FromMailgun(fields));
  CHECK(all.attachments.size() == 3);
  CHECK(all.attachments_not_kept == 0);
  std::vector<FormField> sendgrid = {{"from", "", "", "a@example.org"},
                                     {"subject", "", "", "Fotos"},
                                     {"text", "", "", "siehe Anhang"}};
  for (int i = 1; i <= 3; ++i)
    sendgrid.push_back({"attachment" + std::to_string(i), "f.jpg", "image/jpeg", kJpeg});
  Mail cut_sendgrid = Unwrap(FromSendGrid(sendgrid, two));
  CHECK(cut_sendgrid.attachments.size() == 2);
  CHECK(cut_sendgrid.attachments_not_kept == 1);
  Limits tiny;
  tiny.max_bytes = 100;
  CHECK(FromMailgun(fields, tiny).error().code.name() == "mail_too_large");
  CHECK(FromSendGrid(fields, tiny).error().code.name() == "mail_too_large");
  // Mailgun's content-id-map marks inline images.
  fields.push_back({"content-id-map", "", "", R"({"<img1@x>": "attachment-2"})"});
  Mail m = Unwrap(FromMailgun(fields));
  CHECK_FALSE(m.attachments[0].inline_part);
  CHECK(m.attachments[1].inline_part);
  CHECK(m.attachments[1].content_id == "img1@x");
  CHECK(m.text == "Fotos\n\nsiehe Anhang");
  CHECK(m.dedupe_key.rfind("sha256:", 0) == 0);
}

// ---- charsets and transfer encodings ----------------------------------------------------------

TEST_CASE("body charsets: UTF-8, Latin-1 read as windows-1252, ISO-8859-15, windows-1252",
          "[mail]") {
  CHECK(Body(Parsed(TextPlain("utf-8", "8bit",
                              "Stra\xC3\x9F"
                              "e \xE2\x82\xAC"))) == "Straße €");
  // 0x80 0x84 0x93 0x96 are C1 controls in ISO-8859-1 but € „ “ – in windows-1252.
  CHECK(Body(Parsed(TextPlain("iso-8859-1", "8bit", "\x80 5 \x84gut\x93 \x96 M\xFCll"))) ==
        "€ 5 „gut“ – Müll");
  CHECK(Body(Parsed(TextPlain("\"ISO-8859-1\"", "8bit", "\x84Zitat\x93"))) == "„Zitat“");
  CHECK(Body(Parsed(TextPlain("latin1", "8bit", "\x80"))) == "€");
  CHECK(Body(Parsed(TextPlain("iso-8859-15", "8bit", "\xA4 10"))) == "€ 10");
  CHECK(Body(Parsed(TextPlain("windows-1252", "8bit", "\x80\x84\x93\x96"))) == "€„“–");
  // Unlabelled or mislabelled 8-bit: UTF-8 if it is UTF-8, else windows-1252.
  CHECK(Body(Parsed(TextPlain("us-ascii", "8bit", "gr\xC3\xBC\xC3\x9F"))) == "grüß");
  CHECK(Body(Parsed(TextPlain("us-ascii", "8bit", "gr\xFC\xDF"))) == "grüß");
  CHECK(Body(Parsed(TextPlain("x-unknown-charset", "8bit", "gr\xFC\xDF"))) == "grüß");
  // Broken UTF-8 is repaired, never passed on.
  Mail broken = Parsed(TextPlain("utf-8", "8bit",
                                 "a\xFF"
                                 "b"));
  CHECK(IsValidUtf8(broken.text));
  CHECK(Body(broken) ==
        "a\xEF\xBF\xBD"
        "b");
}

TEST_CASE("transfer encodings: base64 and quoted-printable with soft breaks", "[mail]") {
  std::string utf8 = "Schlagloch vor Hausnummer 5 – bitte reparieren. Größe: 40 cm.";
  std::string b64 = Base64Encode(utf8);
  std::string wrapped = b64.substr(0, 20) + "\r\n" + b64.substr(20, 30) + "\r\n " + b64.substr(50);
  CHECK(Body(Parsed(TextPlain("utf-8", "base64", wrapped))) == utf8);
  CHECK(Body(Parsed(TextPlain("utf-8", "BASE64", b64))) == utf8);
  std::string qp =
      "Schlagloch vor Hausnummer 5 =E2=80=93 bitte repar=\r\nieren. Gr=C3=B6=C3=9Fe: 40 cm.   \r\n";
  CHECK(Body(Parsed(TextPlain("utf-8", "quoted-printable", qp))) == utf8);
  CHECK(Body(Parsed(TextPlain("iso-8859-1", "quoted-printable", "M=FCll=3D=\r\nviel"))) ==
        "Müll=viel");
}

TEST_CASE("RFC 2047 words: Q and B, adjacent words joined, plain text kept", "[mail]") {
  auto subject = [](const std::string& raw_subject) {
    return Parsed(TextPlain("utf-8", "8bit", "x", raw_subject)).subject;
  };
  CHECK(subject("=?UTF-8?Q?Stra=C3=9Fe_kaputt?=") == "Straße kaputt");
  CHECK(subject("=?utf-8?b?U3RyYcOfZQ==?=") == "Straße");
  CHECK(subject("=?ISO-8859-1?Q?M=FCll?=\r\n =?ISO-8859-1?Q?_am_Bahnhof?=") == "Müll am Bahnhof");
  CHECK(subject("=?UTF-8?B?U3RyYcOf?= =?UTF-8?B?ZQ==?=") == "Straße");
  CHECK(subject("Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus der Stadt") == "Re: Grüße aus der Stadt");
  CHECK(subject("=?iso-8859-1?q?=80_5_=84Zitat=93?=") == "€ 5 „Zitat“");
  CHECK(subject("=?UTF-8*de?Q?Stra=C3=9Fe?=") == "Straße");
  Mail m = Parsed(Msg({"From: =?ISO-8859-1?B?SvxyZ2VuIE38bGxlcg==?= <j@x.de>", "Subject: s"}, "x"));
  CHECK(m.from_name == "Jürgen Müller");
  CHECK(m.from_address == "j@x.de");
}

TEST_CASE("RFC 2231 file names: continuations, percent-encoding, preference, sanitising",
          "[mail]") {
  auto filename_of = [](const std::vector<std::string>& part_headers) {
    std::vector<std::string> h = {"Content-Type: image/jpeg", "Content-Transfer-Encoding: base64"};
    h.insert(h.end(), part_headers.begin(), part_headers.end());
    std::string raw = Simple({"Content-Type: multipart/mixed; boundary=\"b/=.1\""},
                             Multipart("b/=.1", {Part({"Content-Type: text/plain"}, "Foto"),
                                                 Part(h, Base64Encode(kJpeg))}));
    Mail m = Parsed(raw);
    REQUIRE(m.attachments.size() == 1);
    CHECK(m.attachments[0].bytes == kJpeg);
    return m.attachments[0].filename;
  };
  CHECK(filename_of({"Content-Disposition: attachment;\r\n filename*0*=utf-8''Stra%C3%9Fe%20;"
                     "\r\n filename*1=\"am Markt\";\r\n filename*2*=%2Ejpg"}) ==
        "Straße am Markt.jpg");
  CHECK(filename_of({"Content-Disposition: attachment; filename*=iso-8859-1'de'M%FCll%80.jpg"}) ==
        "Müll€.jpg");
  // Outlook: both an RFC 2047 name= and RFC 2231 filename*; filename* wins.
  CHECK(filename_of({"Content-Type: image/jpeg; name=\"=?utf-8?Q?alt=C3=A9.jpg?=\"",
                     "Content-Disposition: attachment; filename*=utf-8''neu%C3%A9.jpg"}) ==
        "neué.jpg");
  CHECK(filename_of({"Content-Type: image/jpeg; name=\"=?iso-8859-1?Q?Gr=FCn.jpg?=\""}) ==
        "Grün.jpg");
  CHECK(filename_of({"Content-Disposition: attachment; filename=\"..\\\\..\\\\evil/../x.jpg\""}) ==
        "x.jpg");
  CHECK(filename_of({"Content-Disposition: attachment"}).empty());
}

// ---- structure ----------------------------------------------------------------------------------

TEST_CASE("HTML: script, style, head and title end tags are found in any case, once each",
          "[mail]") {
  // Mixed-case end tags, many elements, one never closed: what follows it is dropped.
  std::string html = "<p>Laterne</p>";
  for (int i = 0; i < 1000; ++i)
    html += "<TITLE>x</Title><Script>y</sCrIpT><STYLE>z</style>";
  html += "<p>dunkel</p><script>never closed <p>versteckt</p>";
  Mail m = Parsed(Simple({"Content-Type: text/html; charset=utf-8"}, html));
  CHECK(Body(m) == "Laterne\n\ndunkel");
  // A cut-off end tag inside is not the end.
  Mail n = Parsed(
      Simple({"Content-Type: text/html; charset=utf-8"}, "<style>a</sty</style><p>Text</p>"));
  CHECK(Body(n) == "Text");
}

TEST_CASE("multipart/alternative prefers text/plain, HTML-only is made readable", "[mail]") {
  std::string html =
      "<html><head><title>t</title><style>p{color:red}</style></head><body>"
      "<script>alert('x')</script><p>Ampel&nbsp;am Markt &amp; Ecke&#32;Schulstra&szlig;e</p>"
      "<div>defekt seit&nbsp;3&nbsp;Tagen &#x2013; &euro;&lt;5&gt;</div>Gr&uuml;&szlig;e<br>Erika"
      "<blockquote>alte Mail</blockquote></body></html>";
  std::string alt =
      Multipart("alt", {Part({"Content-Type: text/plain; charset=utf-8"}, "Ampel defekt (plain)"),
                        Part({"Content-Type: text/html; charset=utf-8"}, html)});
  Mail m = Parsed(Simple({"Content-Type: multipart/alternative; boundary=alt"}, alt));
  CHECK(Body(m) == "Ampel defekt (plain)");
  CHECK(m.attachments.empty());

  Mail h = Parsed(Simple({"Content-Type: text/html; charset=utf-8"}, html));
  CHECK(Body(h) == "Ampel am Markt & Ecke Schulstraße\n\ndefekt seit 3 Tagen – €<5>\nGrüße\nErika");
  // HTML before plain in the alternative does not matter.
  std::string reversed =
      Multipart("alt", {Part({"Content-Type: text/html; charset=utf-8"}, "<p>html</p>"),
                        Part({"Content-Type: text/plain; charset=utf-8"}, "plain")});
  CHECK(Body(Parsed(Simple({"Content-Type: multipart/alternative; boundary=alt"}, reversed))) ==
        "plain");
}

TEST_CASE("multipart/related: the inline image is report media, the HTML the body", "[mail]") {
  std::string related =
      Multipart("rel", {Part({"Content-Type: text/html; charset=utf-8"},
                             "<p>Siehe Foto:</p><img src=\"cid:foto1@example.org\">"),
                        Part({"Content-Type: image/jpeg", "Content-Transfer-Encoding: base64",
                              "Content-ID: <foto1@example.org>", "Content-Disposition: inline"},
                             Base64Encode(kJpeg))});
  std::string alt = Multipart(
      "alt",
      {Part({"Content-Type: text/plain; charset=utf-8"}, "Siehe Foto: [Bild]"),
       Part({"Content-Type: multipart/related; boundary=rel; type=\"text/html\""}, related)});
  std::string mixed =
      Multipart("mix", {Part({"Content-Type: multipart/alternative; boundary=alt"}, alt),
                        Part({"Content-Type: application/pdf; name=plan.pdf",
                              "Content-Disposition: attachment; filename=plan.pdf"},
                             "%PDF-1.4")});
  Mail m = Parsed(Simple({"Content-Type: multipart/mixed; boundary=mix"}, mixed));
  CHECK(Body(m) == "Siehe Foto: [Bild]");
  REQUIRE(m.attachments.size() == 2);
  CHECK(m.attachments[0].declared_type == "image/jpeg");
  CHECK(m.attachments[0].inline_part);
  CHECK(m.attachments[0].content_id == "foto1@example.org");
  CHECK(m.attachments[0].bytes == kJpeg);
  CHECK(m.attachments[1].filename == "plan.pdf");
  CHECK_FALSE(m.attachments[1].inline_part);

  // Without a plain version the HTML of the related part is the body.
  Mail html_only = Parsed(Simple({"Content-Type: multipart/related; boundary=rel"}, related));
  CHECK(Body(html_only) == "Siehe Foto:");
  REQUIRE(html_only.attachments.size() == 1);
  CHECK(html_only.attachments[0].inline_part);
}

TEST_CASE("Apple Mail's text, photo, text: the words after the photo are the body's too",
          "[mail]") {
  std::string mixed = Multipart(
      "apple",
      {Part({"Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"},
            "Schlagloch"),
       Part({"Content-Type: image/jpeg; name=IMG_0042.jpeg", "Content-Transfer-Encoding: base64",
             "Content-Disposition: inline; filename=IMG_0042.jpeg"},
            Base64Encode(kJpeg)),
       Part({"Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"},
            "vor Hausnummer 12, ziemlich tief.\n"),
       Part({"Content-Type: text/plain; name=notiz.txt",
             "Content-Disposition: attachment; filename=notiz.txt"},
            "eine Datei")});
  Mail m = Parsed(Simple({"Content-Type: multipart/mixed; boundary=apple"}, mixed));
  CHECK(Body(m) == "Schlagloch\n\nvor Hausnummer 12, ziemlich tief.");
  REQUIRE(m.attachments.size() == 2);  // the photo and the file, not the text after the photo
  CHECK(m.attachments[0].declared_type == "image/jpeg");
  CHECK(m.attachments[1].filename == "notiz.txt");

  // The first text empty (the photo came first): the words after it are the body.
  std::string photo_first =
      Multipart("a2", {Part({"Content-Type: text/plain"}, ""),
                       Part({"Content-Type: image/jpeg", "Content-Transfer-Encoding: base64",
                             "Content-Disposition: inline; filename=a.jpg"},
                            Base64Encode(kJpeg)),
                       Part({"Content-Type: text/plain; charset=utf-8"}, "Laterne dunkel")});
  Mail p = Parsed(Simple({"Content-Type: multipart/mixed; boundary=a2"}, photo_first));
  CHECK(Body(p) == "Laterne dunkel");
  CHECK(p.attachments.size() == 1);
}

TEST_CASE("a nested message/rfc822 is walked for attachments, not taken as the body", "[mail]") {
  std::string inner =
      Msg({"From: nachbar@example.net", "Subject: Foto vom Loch", "Message-ID: <inner@example.net>",
           "Content-Type: multipart/mixed; boundary=in"},
          Multipart("in", {Part({"Content-Type: text/plain"}, "Hier das Foto"),
                           Part({"Content-Type: image/jpeg", "Content-Transfer-Encoding: base64",
                                 "Content-Disposition: attachment; filename=loch.jpg"},
                                Base64Encode(kJpeg))}));
  std::string outer = Multipart(
      "out", {Part({"Content-Type: text/plain; charset=utf-8"}, "Weitergeleitet vom Nachbarn."),
              Part({"Content-Type: message/rfc822", "Content-Disposition: attachment"}, inner)});
  Mail m = Parsed(Simple({"Content-Type: multipart/mixed; boundary=out"}, outer));
  CHECK(Body(m) == "Weitergeleitet vom Nachbarn.");
  CHECK(m.message_id == "m1@example.org");
  REQUIRE(m.attachments.size() == 2);
  CHECK(m.attachments[0].declared_type == "text/plain");
  CHECK(m.attachments[0].bytes == "Hier das Foto");
  CHECK(m.attachments[1].filename == "loch.jpg");
  CHECK(m.attachments[1].bytes == kJpeg);
}

// ---- limits and broken input
// ---------------------------------------------------------------------

TEST_CASE("twenty attachments are kept; of more, the first twenty, the rest counted", "[mail]") {
  auto with = [](int n) {
    std::vector<std::string> parts = {Part({"Content-Type: text/plain"}, "Viele Fotos")};
    for (int i = 0; i < n; ++i) {
      parts.push_back(
          Part({"Content-Type: image/jpeg", "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; filename=f" + std::to_string(i) + ".jpg"},
               Base64Encode(kJpeg)));
    }
    return Simple({"Content-Type: multipart/mixed; boundary=m"}, Multipart("m", parts));
  };
  Mail ok = Parsed(with(20));
  CHECK(ok.attachments.size() == 20);
  CHECK(ok.attachments[19].filename == "f19.jpg");
  CHECK(ok.attachments_not_kept == 0);
  Mail more = Parsed(with(25));
  REQUIRE(more.attachments.size() == 20);
  CHECK(more.attachments[0].filename == "f0.jpg");
  CHECK(more.attachments[19].filename == "f19.jpg");
  CHECK(more.attachments_not_kept == 5);
  CHECK(more.text.ends_with("Viele Fotos"));
  Limits three;
  three.max_attachments = 3;
  auto cut = ParseMail(with(4), three);
  REQUIRE(cut.ok());
  CHECK(cut->attachments.size() == 3);
  CHECK(cut->attachments_not_kept == 1);
}

namespace {

// `levels` multiparts inside each other, properly closed, with a text leaf at depth `levels`.
std::string Nested(int levels) {
  std::string body = Part({"Content-Type: text/plain"}, "tief");
  for (int i = levels - 1; i >= 1; --i) {
    std::string b = "n" + std::to_string(i);
    body = Part({"Content-Type: multipart/mixed; boundary=" + b}, Multipart(b, {body}));
  }
  return Msg({"From: a@example.org", "Subject: tief", "MIME-Version: 1.0",
              "Content-Type: multipart/mixed; boundary=n0"},
             Multipart("n0", {body}));
}

}  // namespace

TEST_CASE("nesting beyond max_depth is refused, a bomb of 1000 levels quickly", "[mail]") {
  // Nested(n) puts the text leaf at depth n.
  Mail ok = Parsed(Nested(10));
  CHECK(Body(ok) == "tief");
  CHECK(CodeOf(Nested(11)) == "mail_too_deep");
  Limits shallow;
  shallow.max_depth = 2;
  CHECK(CodeOf(Nested(3), shallow) == "mail_too_deep");
  CHECK(CodeOf(Nested(1000)) == "mail_too_deep");
  // Unclosed and far deeper than GMime's own limit (1024): still an error, not a stack overflow.
  std::string bomb = "From: a@example.org\r\nSubject: bomb\r\nMIME-Version: 1.0\r\n";
  for (int i = 0; i < 20000; ++i) {
    bomb += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
            std::to_string(i) + "\r\n";
  }
  CHECK(CodeOf(bomb) == "mail_too_deep");
  // message/rfc822 inside message/rfc822 counts as well.
  std::string msg = Msg({"From: a@example.org", "Content-Type: text/plain"}, "innen");
  for (int i = 0; i < 12; ++i) {
    msg = Msg({"From: a@example.org", "Content-Type: message/rfc822"}, msg);
  }
  CHECK(CodeOf(msg) == "mail_too_deep");
}

TEST_CASE("truncated, empty and non-mail input is mail_invalid", "[mail]") {
  std::string full = Read("02-latin1-qp-jpeg-rfc2047-rfc2231.eml");
  // Cut inside the JPEG: the closing boundaries are missing.
  CHECK(CodeOf(full.substr(0, full.size() - 200)) == "mail_invalid");
  // Cut inside the header block.
  CHECK(CodeOf(full.substr(0, 300)) == "mail_invalid");
  CHECK(CodeOf("") == "mail_invalid");
  CHECK(CodeOf("hello world, this is not a mail") == "mail_invalid");
  CHECK(CodeOf("{\"json\": true}") == "mail_invalid");
  CHECK(CodeOf(std::string("\x00\x01\x02\xFF", 4)) == "mail_invalid");
}

TEST_CASE("an oversized mail is refused before parsing", "[mail]") {
  std::string raw = TextPlain("utf-8", "8bit", std::string(2000, 'a'));
  Limits small;
  small.max_bytes = 1000;
  CHECK(CodeOf(raw, small) == "mail_too_large");
  small.max_bytes = static_cast<int64_t>(raw.size());
  CHECK(ParseMail(raw, small).ok());
}

// ---- text clean-up ----------------------------------------------------------------------------

TEST_CASE("quoted history and the signature are removed from the report text", "[mail]") {
  auto body = [](const std::string& text) {
    return Body(Parsed(TextPlain("utf-8", "8bit", text)));
  };
  CHECK(body("Die Laterne ist wieder aus.\r\n\r\nAm 10.03.2025 um 10:15 schrieb Stadt "
             "<maengel@stadt.example>:\r\n> Ihre Meldung ist eingegangen.\r\n") ==
        "Die Laterne ist wieder aus.");
  CHECK(body("Still broken.\r\nOn Mon, 10 Mar 2025 at 10:15, City <c@x> wrote:\r\n> old\r\n") ==
        "Still broken.");
  CHECK(body("Nachtrag.\r\nAm Mo., 10. März 2025 um 10:15 Uhr schrieb Stadt <\r\n"
             "maengel@stadt.example>:\r\n> alt\r\n") == "Nachtrag.");
  CHECK(body("Neu.\r\n\r\n-----Original Message-----\r\nFrom: x\r\nalt\r\n") == "Neu.");
  CHECK(body("Neu.\r\n-------- Ursprüngliche Nachricht --------\r\nVon: x\r\nalt\r\n") == "Neu.");
  CHECK(body("Neu.\r\n\r\nVon: Stadt <m@stadt.example>\r\nGesendet: Montag, 10. März 2025\r\n"
             "An: Erika\r\nalt\r\n") == "Neu.");
  CHECK(body("Oben.\r\n> zitiert\r\n>> tiefer\r\nUnten.\r\n") == "Oben.\nUnten.");
  CHECK(body("Text.\r\n\r\n-- \r\nErika Mustermann\r\nTel. 0221 123\r\n") == "Text.");
  CHECK(body("Text.\r\n--\r\nSignatur\r\n") == "Text.");
  // Not history: a sentence starting with "Am" or a dash line in the text.
  CHECK(body("Am Markt schrieb jemand an die Wand: Hallo\r\n---\r\nEnde") ==
        "Am Markt schrieb jemand an die Wand: Hallo\n---\nEnde");
  // Subject alone when the body is empty after stripping.
  Mail only_quote = Parsed(TextPlain("utf-8", "8bit", "> nur Zitat\r\n"));
  CHECK(only_quote.text == "Laterne defekt");
}

// ---- robots -------------------------------------------------------------------------------------

TEST_CASE("every robot rule fires on its own, with its reason", "[mail]") {
  struct Case {
    std::vector<std::string> headers;
    std::string subject;
    std::string reason;
    Robot robot;
  };
  const std::vector<Case> cases = {
      {{"Auto-Submitted: auto-generated"},
       "x",
       "Auto-Submitted: auto-generated",
       Robot::kAutoReply},
      {{"Auto-Submitted: auto-notified; owner-email=\"a@b\""},
       "x",
       "Auto-Submitted: auto-notified; owner-email=\"a@b\"",
       Robot::kAutoReply},
      {{"Return-Path: <>"}, "x", "Return-Path: <>", Robot::kAutoReply},
      {{"Precedence: bulk"}, "x", "Precedence: bulk", Robot::kList},
      {{"Precedence: junk"}, "x", "Precedence: junk", Robot::kList},
      {{"Precedence: list"}, "x", "Precedence: list", Robot::kList},
      {{"Precedence: auto_reply"}, "x", "Precedence: auto_reply", Robot::kAutoReply},
      {{"List-Id: <anwohner.example.org>"}, "x", "List-Id", Robot::kList},
      {{"List-Unsubscribe: <mailto:u@x>"}, "x", "List-Unsubscribe", Robot::kList},
      {{"List-Post: <mailto:l@x>"}, "x", "List-Post", Robot::kList},
      {{"X-Autoreply: yes"}, "x", "X-Autoreply: yes", Robot::kAutoReply},
      {{"X-Autorespond: ja"}, "x", "X-Autorespond", Robot::kAutoReply},
      {{"X-Auto-Response-Suppress: DR, OOF"},
       "x",
       "X-Auto-Response-Suppress: DR, OOF",
       Robot::kAutoReply},
      {{"X-Auto-Response-Suppress: All"}, "x", "X-Auto-Response-Suppress: All", Robot::kAutoReply},
      {{"X-Cron-Env: <SHELL=/bin/sh>"}, "x", "X-Cron-Env", Robot::kAutoReply},
      {{}, "Abwesenheitsnotiz: Erika", "Subject: Abwesenheitsnotiz", Robot::kAutoReply},
      {{}, "Automatische Antwort: Laterne", "Subject: Automatische Antwort", Robot::kAutoReply},
      {{}, "Out of Office: back Monday", "Subject: Out of Office", Robot::kAutoReply},
      {{}, "Undelivered Mail Returned to Sender", "Subject: Undelivered Mail", Robot::kAutoReply},
      {{}, "Hausnummer fehlt - Post unzustellbar", "Subject: Unzustellbar", Robot::kAutoReply},
  };
  for (const auto& c : cases) {
    INFO(c.reason);
    std::vector<std::string> h = c.headers;
    h.push_back("Content-Type: text/plain");
    Mail m = Parsed(Simple(h, "Text", c.subject));
    INFO(JoinReasons(m));
    CHECK(m.robot_reasons.size() == 1);
    CHECK(HasReason(m, c.reason));
    CHECK(m.robot == c.robot);
  }
  // Values that do not make a robot.
  for (const char* h : {"Auto-Submitted: no", "X-Autoreply: no", "Precedence: normal",
                        "X-Auto-Response-Suppress: DR, RN", "Return-Path: <erika@x>"}) {
    INFO(h);
    Mail m = Parsed(Simple({std::string(h), "Content-Type: text/plain"}, "Text"));
    CHECK(m.robot == Robot::kNone);
    CHECK(m.robot_reasons.empty());
  }
  // From local parts.
  auto from = [](const std::string& address) {
    return Parsed(Msg({"From: " + address, "Subject: s", "Content-Type: text/plain"}, "t"));
  };
  CHECK(from("MAILER-DAEMON@mx.example").robot == Robot::kBounce);
  CHECK(HasReason(from("MAILER-DAEMON@mx.example"), "From MAILER-DAEMON"));
  CHECK(from("postmaster@mx.example").robot == Robot::kBounce);
  CHECK(from("Stadtwerke <noreply@sw.example>").robot == Robot::kAutoReply);
  CHECK(from("no-reply@sw.example").robot == Robot::kAutoReply);
  CHECK(from("listserv@lists.example").robot == Robot::kList);
  CHECK(from("erika@example.org").robot == Robot::kNone);
  // A bounce wins over an auto-reply, an auto-reply over a list.
  Mail both = Parsed(Simple(
      {"Precedence: bulk", "Auto-Submitted: auto-replied", "Content-Type: text/plain"}, "t"));
  CHECK(both.robot == Robot::kAutoReply);
  CHECK(both.robot_reasons.size() == 2);
}

TEST_CASE("a web form's relayed mail is the citizen's at its Reply-To", "[mail]") {
  const std::vector<std::string> forms = {"noreply@stadt.example", "wordpress@stadt.example"};
  const std::string own = "maengel@stadt.example";
  auto mail = [](const std::string& from, const std::string& reply_to,
                 std::vector<std::string> more = {}) {
    more.push_back("From: " + from);
    if (!reply_to.empty())
      more.push_back("Reply-To: " + reply_to);
    more.insert(more.end(), {"Subject: Kontaktformular", "Content-Type: text/plain"});
    return Parsed(Msg(more, "Laterne aus"));
  };
  // A listed noreply@ form with Auto-Submitted and an empty Return-Path: relayed, no robot.
  Mail m = mail("Erika Muster <NoReply@Stadt.example>", "erika@example.org",
                {"Return-Path: <>", "Auto-Submitted: auto-generated"});
  REQUIRE(m.robot == Robot::kAutoReply);
  CHECK(TakeFormRelay(forms, own, &m));
  CHECK(m.relayed_by == "NoReply@Stadt.example");
  CHECK(m.robot == Robot::kNone);
  CHECK(m.robot_reasons.empty());
  CHECK_FALSE(m.return_path_empty);
  // Our own address relays too, listed or not, but only what nothing marks as a robot's (our
  // own mails carry Auto-Submitted; one coming back through a group is not answered).
  Mail ours = mail(own, "erika@example.org");
  CHECK(TakeFormRelay({}, own, &ours));
  Mail ours_generated = mail(own, "erika@example.org", {"Auto-Submitted: auto-generated"});
  CHECK_FALSE(TakeFormRelay(forms, own, &ours_generated));
  CHECK(ours_generated.robot == Robot::kAutoReply);
  // A listed form's mail with a robot's other marks stays a robot's: list headers, an
  // out-of-office's answer.
  for (const std::string& h :
       {std::string("List-Id: <anwohner.example.org>"), std::string("Precedence: bulk"),
        std::string("Auto-Submitted: auto-replied"), std::string("X-Autoreply: yes")}) {
    INFO(h);
    Mail marked = mail("noreply@stadt.example", "erika@example.org", {h});
    const Robot before = marked.robot;
    REQUIRE(before != Robot::kNone);
    CHECK_FALSE(TakeFormRelay(forms, own, &marked));
    CHECK(marked.robot == before);
    CHECK(marked.relayed_by.empty());
  }
  // Not relayed: a sender not listed, no Reply-To, a list of them, one that is a form itself or
  // ours, an address no mail can go to, and a bounce.
  for (Mail other :
       {mail("noreply@elsewhere.example", "erika@example.org"), mail("noreply@stadt.example", ""),
        mail("noreply@stadt.example", "a@example.org, b@example.org"),
        mail("noreply@stadt.example", "wordpress@stadt.example"),
        mail("noreply@stadt.example", own), mail("noreply@stadt.example", "erika@localhost"),
        Parsed(Msg(
            {"From: noreply@stadt.example", "Reply-To: erika@example.org", "Subject: Returned mail",
             "Content-Type: multipart/report; report-type=delivery-status;"
             " boundary=r"},
            Multipart("r", {Part({"Content-Type: text/plain"}, "failed")})))}) {
    INFO(other.from_address << " / " << other.reply_to);
    const Robot before = other.robot;
    CHECK_FALSE(TakeFormRelay(forms, own, &other));
    CHECK(other.relayed_by.empty());
    CHECK(other.robot == before);
  }
}

TEST_CASE("a DSN names the original Message-ID from its message/rfc822 part", "[mail]") {
  std::string original =
      Msg({"From: maengel@stadt.example", "To: tippfehler@example.org", "Subject: Ihre Meldung",
           "Message-ID: <ack-X.1@stadt.example>", "Content-Type: text/plain"},
          "Danke.");
  std::string report = Multipart(
      "r", {Part({"Content-Type: text/plain"}, "Delivery failed."),
            Part({"Content-Type: message/delivery-status"},
                 "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; t@x\r\nAction: failed\r\n"
                 "Status: 5.1.1\r\n"),
            Part({"Content-Type: message/rfc822"}, original)});
  Mail m =
      Parsed(Msg({"From: Mail Delivery System <MAILER-DAEMON@mx.example>", "Subject: Returned mail",
                  "Message-ID: <dsn1@mx.example>",
                  "Content-Type: multipart/report; report-type=\"delivery-status\"; boundary=r"},
                 report));
  CHECK(m.robot == Robot::kBounce);
  CHECK(HasReason(m, "multipart/report; report-type=delivery-status"));
  CHECK(m.bounced_message_id == "ack-X.1@stadt.example");
  CHECK(Body(m) == "Delivery failed.");
  // An MDN (read receipt) is a robot too, but no bounce.
  std::string mdn = Multipart("r", {Part({"Content-Type: text/plain"}, "Gelesen."),
                                    Part({"Content-Type: message/disposition-notification"},
                                         "Final-Recipient: rfc822; e@x\r\n")});
  Mail read = Parsed(Msg({"From: erika@example.org", "Subject: Gelesen: Ihre Meldung",
                          "Content-Type: multipart/report; report-type=disposition-notification;"
                          " boundary=r"},
                         mdn));
  CHECK(read.robot == Robot::kAutoReply);
  CHECK(HasReason(read, "multipart/report; report-type=disposition-notification"));
  CHECK(read.bounced_message_id.empty());
}

// ---- threading, references, dedupe ------------------------------------------------------------

TEST_CASE("ticket references from the subject or a plus address", "[mail]") {
  const std::string ref = ReferenceGenerator::Encode(123456789, 7);
  REQUIRE(ParseReference(ref).ok());
  const std::string dashed = ref.substr(0, 4) + "-" + ref.substr(4, 4) + "-" + ref.substr(8);
  auto with_subject = [](const std::string& s) {
    return Parsed(TextPlain("utf-8", "8bit", "Nachtrag", s)).references_reference;
  };
  CHECK(with_subject("Re: Ihre Meldung [" + dashed + "] ist eingegangen") == ref);
  CHECK(with_subject("AW: [" + ref + "]") == ref);
  std::string lower = dashed;
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(with_subject("[" + lower + "]") == ref);
  CHECK(with_subject("[Meldung] [" + dashed + "]") == ref);
  // A wrong check symbol is no reference.
  std::string bad = ref;
  bad[11] = bad[11] == '2' ? '3' : '2';
  CHECK(with_subject("[" + bad + "]").empty());
  CHECK(with_subject("Laterne defekt").empty());

  auto with_to = [](const std::string& to) {
    return Parsed(Msg({"From: e@example.org", "To: " + to, "Subject: Nachtrag",
                       "Content-Type: text/plain"},
                      "t"))
        .references_reference;
  };
  CHECK(with_to("Mängelmelder <maengel+" + ref + "@stadt.example>") == ref);
  CHECK(with_to("a@example.org, maengel+" + dashed + "@stadt.example") == ref);
  CHECK(with_to("maengel+foo@stadt.example").empty());
  Mail delivered = Parsed(Msg(
      {"From: e@example.org", "To: undisclosed-recipients:;",
       "Delivered-To: maengel+" + ref + "@stadt.example", "Subject: x", "Content-Type: text/plain"},
      "t"));
  CHECK(delivered.references_reference == ref);
}

TEST_CASE("missing Message-ID: the dedupe key is a content hash", "[mail]") {
  auto mail = [](const std::string& body) {
    return Parsed(
        Msg({"From: e@example.org", "Subject: Müll", "Date: Tue, 11 Mar 2025 08:00:00 +0100",
             "Content-Type: text/plain; charset=utf-8"},
            body));
  };
  Mail a = mail("Sperrmüll am Markt");
  CHECK(a.message_id.empty());
  CHECK(a.dedupe_key.rfind("sha256:", 0) == 0);
  CHECK(a.dedupe_key.size() == 7 + 64);
  CHECK(a.dedupe_key == mail("Sperrmüll am Markt").dedupe_key);  // a redelivery
  CHECK(a.dedupe_key != mail("Sperrmüll am Bahnhof").dedupe_key);
  CHECK(a.date == "2025-03-11T08:00:00+01:00");
  CHECK(Parsed(TextPlain("utf-8", "8bit", "x")).dedupe_key == "m1@example.org");
  // A Message-ID longer than a database key: by its digest (the index refused it on every try).
  const std::string long_id = std::string(3000, 'q') + "@example.org";
  Mail long_mail =
      Parsed(Msg({"From: e@example.org", "Subject: s", "Message-ID: <" + long_id + ">"}, "t"));
  CHECK(long_mail.message_id == long_id);
  CHECK(long_mail.dedupe_key == "sha256:" + Sha256Hex("Message-ID: " + long_id));
  // No or an unparseable date: "".
  Mail bad_date = Parsed(Msg({"From: e@example.org", "Date: gestern", "Subject: s"}, "t"));
  CHECK(bad_date.date.empty());
}

TEST_CASE("only plain addresses of a domain from mail headers may become recipients", "[mail]") {
  for (const char* ok :
       {"erika@example.net", "j.mueller+maengel@stadt.musterstadt.example",
        "anna_b@xn--mnchen-3ya.example", "anna@münchen.example", "o'brien@example.org"}) {
    INFO(ok);
    CHECK(IsRecipientAddress(ok));
  }
  for (const char* bad : {"",
                          "erika",
                          "@example.net",
                          "erika@",
                          "erika@localhost",
                          "root@LOCALHOST",
                          "erika@example",
                          "erika@[127.0.0.1]",
                          "erika@10.0.0.1",
                          "erika@exa mple.net",
                          "a b@example.net",
                          "erika@example.net, boss@example.org",
                          "erika@example.net\r\nRCPT TO:x",
                          "<erika@example.net>",
                          "\"erika\"@example.net",
                          "erika@-example.net",
                          "erika@example-.net",
                          "erika@.example.net",
                          "erika@example..net",
                          "erika@example.net.",
                          "er;ka@example.net",
                          "erika@exam_ple.net"}) {
    INFO(bad);
    CHECK_FALSE(IsRecipientAddress(bad));
  }
  CHECK_FALSE(IsRecipientAddress(std::string(65, 'a') + "@example.net"));
  CHECK_FALSE(IsRecipientAddress("a@" + std::string(250, 'b') + ".de"));
  CHECK_FALSE(IsRecipientAddress("erika@exa\xffmple.net"));  // not UTF-8
}

TEST_CASE("threading headers, Reply-To and Return-Path", "[mail]") {
  Mail m = Parsed(Simple(
      {"In-Reply-To: <ack-1@stadt.example>", "References: <root@x>\r\n <ack-1@stadt.example>",
       "Reply-To: Erika privat <erika.privat@example.net>", "Return-Path: <bounce-123@example.org>",
       "Content-Type: text/plain"},
      "t"));
  REQUIRE(m.in_reply_to_and_references.size() == 2);
  CHECK(m.in_reply_to_and_references[0] == "ack-1@stadt.example");
  CHECK(m.in_reply_to_and_references[1] == "root@x");
  CHECK(m.reply_to == "erika.privat@example.net");
  CHECK(m.return_path == "bounce-123@example.org");
  CHECK_FALSE(m.return_path_empty);
  CHECK(m.from_name == "Erika Mustermann");
}

}  // namespace mail_test

namespace mail_evidence_test {

using meldestelle::email::ParseMail;
using meldestelle::email::WithoutAttachments;

const char* kWithPhoto =
    "From: Erika <erika@example.org>\r\nTo: maengel@musterstadt.example\r\n"
    "Subject: Loch\r\nMessage-ID: <ev1@example.org>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLoch in der Lindenstraße 13.\r\n"
    "--b1\r\nContent-Type: image/jpeg; name=\"gps.jpg\"\r\nContent-Disposition: attachment;"
    " filename=\"gps.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//////////////////////////////////////////////////////\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\nSubject: alt\r\n\r\n"
    "Weitergeleitet mit Nummer 0176 1234567\r\n"
    "--b1--\r\n";

TEST_CASE("mail kept for evidence: headers and text stay, photo bytes and attached mails go",
          "[mail]") {
  std::string kept = WithoutAttachments(kWithPhoto);
  INFO(kept);
  CHECK(kept.find("Subject: Loch") != std::string::npos);
  CHECK(kept.find("Loch in der Lindenstraße 13.") != std::string::npos);
  CHECK(kept.find("/9j/4AAQSkZJRg") == std::string::npos);
  CHECK(kept.find("0176 1234567") == std::string::npos);
  CHECK(kept.find("X-Meldestelle-Removed:") != std::string::npos);
  // Still a mail that parses, with its text.
  auto parsed = ParseMail(kept);
  REQUIRE(parsed);
  CHECK(parsed->text.find("Lindenstraße 13") != std::string::npos);
  for (const auto& a : parsed->attachments)
    CHECK(a.bytes.empty());
}

TEST_CASE(
    "mail kept for evidence: a mail without attachments is kept as it came, broken input "
    "keeps only its header block",
    "[mail]") {
  std::string plain =
      "From: a@example.org\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\nNur Text\r\n";
  CHECK(WithoutAttachments(plain) == plain);
  CHECK(WithoutAttachments("") == "");
  std::string garbage = std::string("\x00\x01\xff binary", 10) + "\r\n\r\nrest of it";
  CHECK(WithoutAttachments(garbage).find("rest of it") == std::string::npos);
  // Truncated multipart: no crash, the photo's bytes do not survive.
  std::string truncated = std::string(kWithPhoto).substr(0, std::string(kWithPhoto).find("--b1--"));
  CHECK(WithoutAttachments(truncated).find("/9j/4AAQSkZJRg") == std::string::npos);
}

}  // namespace mail_evidence_test
