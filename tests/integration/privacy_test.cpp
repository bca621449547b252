// Data protection end to end (docs/datenschutz.md): a citizen's data exported and erased across
// channels, with a full pg_dump and the media folder searched afterwards; the retention pass;
// the log of who saw contact data. The real binary against the real broker and database, with
// the messenger providers stood in for.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "channels/phone/twilio.hpp"
#include "core/crypto.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"
#include "tickets/events.hpp"

namespace privacy_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// The person: one mobile number on WhatsApp and as the SMS contact of an app report, and an
// e-mail address on another app report. Written in several forms on purpose.
constexpr const char* kWaId = "491761234567";
constexpr const char* kTyped = "0176 123 45 67";
constexpr const char* kEmail = "Erika.Privat-7391@example.net";
// Someone else, who must keep everything.
constexpr const char* kOtherWaId = "491709876543";

httplib::Result PostWhatsApp(Stack& s, const std::string& body) {
  httplib::Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kAppSecret, body)}};
  return s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
}

json WaLocation(const std::string& from, const std::string& id) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "location"},
          {"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}};
}

json WaImage(const std::string& from, const std::string& id, const std::string& media_id) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "image"},
          {"image", {{"mime_type", "image/jpeg"}, {"id", media_id}}}};
}

// Each report somewhere else, so that none is linked to another as a duplicate.
std::string AppReport(Stack& s, json body) {
  // Each report 55 m from the one before (not a duplicate: duplicates.distance_m is 30), all in
  // the Altstadt inside the town (config/example/areas): the count goes on across the test
  // cases of one process.
  static int n = 0;
  body["lat"] = 50.9405 + 0.0005 * (++n % 18);
  body["lon"] = 6.9603;
  body["category"] = "STR-01";
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string ref = json::parse(res->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
  return ref;
}

std::string PgDump(Stack& s) {
  int status = -1;
  std::string dump =
      s.RunShell("\"${MELDESTELLE_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_dump\" --no-owner -d '" +
                     s.db_url() + "'",
                 &status);
  REQUIRE(status == 0);
  REQUIRE(dump.find("CREATE TABLE public.tickets") != std::string::npos);
  return dump;
}

std::string Lower(std::string v) {
  for (auto& c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

std::string Hex(const std::string& v) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : v) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Every trace of the person that a dump could hold: the number in its forms and the address, as
// text and as the hex of bytea columns.
std::vector<std::string> Traces() {
  std::vector<std::string> t = {"1761234567", "176 123 45 67", "176123", Lower(kEmail),
                                "erika.privat"};
  for (const std::string& v : {std::string("1761234567"), Lower(kEmail), std::string(kEmail)})
    t.push_back(Hex(v));
  return t;
}

// Files under the media folder.
std::vector<std::filesystem::path> MediaFiles(Stack& s) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(s.media_dir(), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file())
      out.push_back(it->path());
  }
  return out;
}

// The public status of an anonymised or erased ticket still answers.
void CheckStatusAnswers(Stack& s, const std::string& reference) {
  auto st = s.Client().Get(("/api/v1/reports/" + reference).c_str());
  REQUIRE(st);
  CHECK(st->status == 200);
}

// A stack whose messenger and phone providers are the stand-ins, with a short chat window.
StackOptions WithProviders(const FakeProviders& fake, bool dispatcher) {
  StackOptions o;
  o.dispatcher = dispatcher;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=1");
  return o;
}

// The count a `privacy` command printed for `klass` ("  tickets   3"); -1 if none.
long long CountIn(const std::string& out, const std::string& klass) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  " + klass + " ", 0) == 0)
      return std::stoll(line.substr(line.find_last_of(' ') + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE(
    "privacy erase: a citizen's number and address leave no trace in a full pg_dump, the media "
    "folder or the dead-letter queue, their tickets stay anonymous, others keep theirs",
    "[integration][privacy]") {
  FakeProviders fake;
  StackOptions o = WithProviders(fake, true);
  // A retry queue whose messages wait an hour: what lies there during the erasure stays there
  // for the test to look at (the worker declares it when it starts).
  o.retry_delays = {3600};
  Stack s(o);
  fake.AddMedia("7001", Jpeg());
  fake.AddMedia("7002", OtherJpeg());

  // WhatsApp: a photo and a pin from the person, a pin and photo from someone else.
  REQUIRE(
      PostWhatsApp(
          s, WhatsAppNotification(
                 kWaId,
                 json::array({WaImage(kWaId, "wamid.P1", "7001"), WaLocation(kWaId, "wamid.P2"),
                              WaText(kWaId, "wamid.P3",
                                     "Laterne kaputt, erreichbar unter " + std::string(kTyped))})))
          ->status == 200);
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(kOtherWaId,
                                               json::array({WaImage(kOtherWaId, "wamid.O1", "7002"),
                                                            WaLocation(kOtherWaId, "wamid.O2")})))
              ->status == 200);
  // The app: the number as the SMS contact, and the address on another report.
  std::string sms_ref =
      AppReport(s, {{"description", "Schlagloch vor dem Haus"}, {"phone", "+49 176 1234567"}});
  std::string mail_ref =
      AppReport(s, {{"description", "Müll im Park. Gruß, Erika Privat"}, {"email", kEmail}});
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 2,
                         std::chrono::seconds(30)));
  REQUIRE(fake.WaitForSent(2));
  // A dead letter that carries the number (an envelope the worker could not read), and one of
  // someone else.
  s.PublishRaw(std::string("{\"broken\": \"") + kWaId + "\"", "dl-person");
  s.PublishRaw(std::string("{\"broken\": \"") + kOtherWaId + "\"", "dl-other");
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 2; }));
  // Two messages waiting for another attempt in the retry queue: one of the person's, one of
  // someone else's.
  s.PublishToQueue(s.retry_queue(3600), std::string("{\"waiting\": \"") + kWaId + "\"}",
                   "retry-person");
  s.PublishToQueue(s.retry_queue(3600), std::string("{\"waiting\": \"") + kOtherWaId + "\"}",
                   "retry-other");
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.retry_queue(3600)) == 2; }));

  const std::string other_photo = StoredCopy(OtherJpeg());
  const std::string person_photo = StoredCopy(Jpeg());
  auto sha_of = [&](const std::string& bytes) { return Sha256Hex(bytes); };
  const std::string person_sha = sha_of(person_photo), other_sha = sha_of(other_photo);
  REQUIRE(s.Count("SELECT count(*) FROM attachments WHERE sha256 = " + Q(person_sha)) == 1);

  // Before: the dump has the person in it (so the check below can fail).
  {
    std::string dump = Lower(PgDump(s));
    CHECK(dump.find("1761234567") != std::string::npos);
    CHECK(dump.find(Lower(kEmail)) != std::string::npos);
  }

  SECTION("export: every row and the photo, found by any spelling of the number") {
    auto out = s.dir() / "export";
    int status = -1;
    std::string printed = s.RunCommand(
        {"privacy", "export", "--phone", "0176/1234567", "--out", out.string()}, &status);
    INFO(printed);
    REQUIRE(status == 0);
    CHECK(printed.find("wrote ") != std::string::npos);
    // A person's data is for the one who exported it, whatever the umask (the tests' is 022).
    namespace fs = std::filesystem;
    CHECK(fs::status(out).permissions() == fs::perms::owner_all);
    CHECK(fs::status(out / "files").permissions() == fs::perms::owner_all);
    CHECK(fs::status(out / "data.json").permissions() ==
          (fs::perms::owner_read | fs::perms::owner_write));
    json data = json::parse(ReadFile(out / "data.json"));
    std::map<std::string, int> tables;
    for (const auto& r : data["records"]) {
      tables[r["table"].get<std::string>()]++;
      CHECK_FALSE(r["purpose"].get<std::string>().empty());
    }
    CHECK(tables["tickets"] == 2);  // the WhatsApp report and the app report with the number
    CHECK(tables["outbox"] >= 2);   // the acknowledgements
    CHECK(tables["chat_contacts"] == 1);
    CHECK(tables["chat_drafts"] == 1);
    CHECK(tables["raw_payloads"] >= 1);
    CHECK(tables["ticket_history"] >= 2);
    std::string text = data.dump();
    CHECK(text.find(kOtherWaId) == std::string::npos);
    CHECK(text.find(Lower(kEmail)) == std::string::npos);  // another contact of theirs: no
    REQUIRE(data["files"].size() == 1);
    CHECK(ReadFile(out / "files" / person_sha) == person_photo);
    // A second export into the same folder is refused.
    s.RunCommand({"privacy", "export", "--phone", "0176/1234567", "--out", out.string()}, &status);
    CHECK(status == 2);
    // A reference nobody has: refused, and no folder is left behind.
    auto none = s.dir() / "export-none";
    s.RunCommand({"privacy", "export", "--reference", "ZZZZZZZZZZZZ", "--out", none.string()},
                 &status);
    CHECK(status == 2);
    CHECK_FALSE(std::filesystem::exists(none));
    // A media folder that is not there (a relative path from another working directory): the
    // photos would not be found, so nothing is done.
    const auto elsewhere = s.dir() / "export-elsewhere";
    std::string refused =
        s.RunCommand({"privacy", "export", "--phone", "0176/1234567", "--out", elsewhere.string()},
                     &status, {"MELDESTELLE_MEDIA_DIR=" + (s.dir() / "no-media").string()});
    CHECK(status == 1);
    CHECK_THAT(refused, Catch::Contains("is no folder here"));
    CHECK_FALSE(std::filesystem::exists(elsewhere));
  }

  SECTION("erase: nothing of them is left anywhere, the tickets stay") {
    int status = -1;
    std::string dry = s.RunCommand({"privacy", "erase", "--whatsapp", kWaId, "--dry-run"}, &status);
    INFO(dry);
    REQUIRE(status == 0);
    CHECK(dry.find("would erase") != std::string::npos);
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 0);
    CHECK(s.Count("SELECT count(*) FROM privacy_erasures") == 0);
    // The dry run counted the messages on the broker and left them there.
    CHECK(CountIn(dry, "dead letters") == 2);  // one in each queue
    // (The broker hands the messages the dry run held back to their queues after it closed.)
    CHECK(WaitFor([&] { return s.QueueDepth(s.retry_queue(3600)) == 2; }));
    CHECK(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 2; }));

    std::string out = s.RunCommand({"privacy", "erase", "--phone", "+491761234567"}, &status);
    INFO(out);
    REQUIRE(status == 0);
    out = s.RunCommand({"privacy", "erase", "--email", kEmail}, &status);
    INFO(out);
    REQUIRE(status == 0);

    std::string dump = Lower(PgDump(s));
    for (const auto& trace : Traces()) {
      INFO(trace);
      CHECK(dump.find(Lower(trace)) == std::string::npos);
    }
    // The other citizen is all there.
    CHECK(dump.find(kOtherWaId) != std::string::npos);
    CHECK(s.Count("SELECT count(*) FROM attachments WHERE sha256 = " + Q(other_sha)) == 1);
    // Their tickets stay, anonymous, with department, category and place.
    auto t = s.Query(
        "SELECT reference, department_id, lat IS NOT NULL, anonymised_at IS NOT NULL"
        " FROM tickets WHERE reference IN (" +
        Q(sms_ref) + "," + Q(mail_ref) + ")");
    REQUIRE(t.size() == 2);
    for (const auto& row : t) {
      CHECK_FALSE(row[1].as<std::string>().empty());
      CHECK(row[2].as<bool>());
      CHECK(row[3].as<bool>());
    }
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 3);
    // Nothing of the provider's ids (a wamid encodes the number) or of what routing saw in the
    // text is left on them.
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL"
                  " AND channel_message_id NOT LIKE 'anon:%'") == 0);
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL"
                  " AND routing_explanation::text LIKE '%Laterne%'") == 0);
    // The media folder: their photo is gone, the other's is there, no file names them.
    CHECK_FALSE(std::filesystem::exists(s.media_dir() / person_sha.substr(0, 2) /
                                        person_sha.substr(2, 2) / person_sha));
    CHECK(std::filesystem::exists(s.media_dir() / other_sha.substr(0, 2) / other_sha.substr(2, 2) /
                                  other_sha));
    for (const auto& f : MediaFiles(s)) {
      std::string bytes = Lower(ReadFile(f));
      CHECK(bytes.find("1761234567") == std::string::npos);
      CHECK(bytes.find(Lower(kEmail)) == std::string::npos);
    }
    // The dead letter with the number is gone, the other one stays.
    CHECK(s.QueueDepth(s.dead_letter_queue()) == 1);
    std::string body, reason;
    REQUIRE(s.GetDeadLetter(&body, &reason));
    CHECK(body.find(kOtherWaId) != std::string::npos);
    // So with the retry queue: the person's message is gone, the other's waits on.
    CHECK(WaitFor([&] { return s.QueueDepth(s.retry_queue(3600)) == 1; }));
    REQUIRE(s.GetMessage(s.retry_queue(3600), &body));
    CHECK(body.find(kOtherWaId) != std::string::npos);
    // Two audit rows, neither with the person in it.
    auto audit = s.Query(
        "SELECT selector_kind, selector_hmac, counts::text FROM privacy_erasures"
        " ORDER BY id");
    REQUIRE(audit.size() == 2);
    CHECK(audit[0][0].as<std::string>() == "phone");
    CHECK(audit[1][0].as<std::string>() == "email");
    CHECK(json::parse(audit[0][2].as<std::string>())["tickets"] == 2);
    CheckStatusAnswers(s, sms_ref);
  }
}

TEST_CASE(
    "privacy erase and export: unknown references and malformed selectors are refused "
    "and change nothing",
    "[integration][privacy]") {
  Stack s;
  std::string ref = PostText(s, "Ampel defekt");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  int status = -1;
  std::string out = s.RunCommand({"privacy", "erase", "--phone", "hello"}, &status);
  CHECK(status == 2);
  CHECK(out.find("not a phone number") != std::string::npos);
  out = s.RunCommand({"privacy", "erase", "--email", "a@b.de", "--phone", "0176 1"}, &status);
  CHECK(status == 2);
  CHECK(out.find("exactly one") != std::string::npos);
  // Not a reference at all.
  out = s.RunCommand({"privacy", "erase", "--reference", ref.substr(0, 4) + "XXXX"}, &status);
  CHECK(status == 2);
  out = s.RunCommand({"privacy", "export", "--reference", ref}, &status);
  CHECK(status == 2);
  CHECK(out.find("--out") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM privacy_erasures") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 0);
  // An anonymous report (no contact): the erasure by reference anonymises just that ticket.
  out = s.RunCommand({"privacy", "erase", "--reference", ref}, &status);
  INFO(out);
  CHECK(status == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL AND text = ''") ==
        0);  // an erasure keeps the text (only contacts are redacted)
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 1);
}

TEST_CASE(
    "privacy erase by a WhatsApp user id (a user with a username, no number shared): nothing of "
    "them is left in a full pg_dump, their ticket stays anonymous",
    "[integration][privacy]") {
  FakeProviders fake;
  Stack s(WithProviders(fake, true));
  const std::string user = "DE.1349120865530274";
  json contact{{"profile", {{"name", "Kim Namenlos"}, {"username", "@kim"}}}, {"user_id", user}};
  auto message = [&](const std::string& id, json fields) {
    json m{{"from_user_id", user}, {"id", id}, {"timestamp", "1764250000"}};
    m.update(fields);
    return m;
  };
  json value{
      {"messaging_product", "whatsapp"},
      {"metadata",
       {{"display_phone_number", "4922123125000"}, {"phone_number_id", "106540352242922"}}},
      {"contacts", json::array({contact})},
      {"messages",
       json::array(
           {message("wamid.U1", {{"type", "text"}, {"text", {{"body", "Bank kaputt"}}}}),
            message("wamid.U2",
                    {{"type", "location"},
                     {"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}})})}};
  json body{{"object", "whatsapp_business_account"},
            {"entry", {{{"id", "1"}, {"changes", {{{"value", value}, {"field", "messages"}}}}}}}};
  REQUIRE(PostWhatsApp(s, body.dump())->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 1,
                         std::chrono::seconds(30)));
  CHECK(One(s, "SELECT reporter->>'address' FROM tickets") == user);
  REQUIRE(fake.WaitForSent(1));
  CHECK(fake.sent()[0].body["recipient"] == user);  // the acknowledgement went to the id
  REQUIRE(Lower(PgDump(s)).find(Lower(user)) != std::string::npos);

  int status = -1;
  std::string out = s.RunCommand({"privacy", "erase", "--whatsapp", user}, &status);
  INFO(out);
  REQUIRE(status == 0);
  std::string dump = Lower(PgDump(s));
  CHECK(dump.find(Lower(user)) == std::string::npos);
  CHECK(dump.find("kim namenlos") == std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 1);
}

TEST_CASE(
    "privacy retention run: closed tickets lose their contact after the period, open ones "
    "keep it, --dry-run changes nothing, old raw payloads, dead letters and files go",
    "[integration][privacy]") {
  Stack s;
  std::string done_ref =
      AppReport(s, {{"description", "Laterne aus"}, {"email", "alt@example.net"}});
  std::string open_ref =
      AppReport(s, {{"description", "Laterne flackert"}, {"email", "neu@example.net"}});
  // The first was closed 100 days ago (the default period is 90).
  s.Query(
      "UPDATE tickets SET status = 'done', closed_at = now() - interval '100 days'"
      " WHERE reference = " +
      Q(done_ref));
  REQUIRE(s.Count("SELECT count(*) FROM raw_payloads") == 2);
  // Two chat contacts silent for 100 days (chat_contact_days is 90): the one whose ticket is
  // still open stays, its notices are sent from the number the citizen wrote to. (Keyed here by
  // the acknowledgements' channel and address.)
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND address = "
                     "'neu@example.net'",
                     1));
  s.Query(
      "INSERT INTO chat_contacts (channel, address, account, last_inbound_at) VALUES"
      " ('email', 'neu@example.net', '106540352242922', now() - interval '100 days'),"
      " ('email', 'alt@example.net', '106540352242922', now() - interval '100 days')");
  // Both acknowledgements went out 100 days ago too (outbox_days is 90): the open ticket's keeps
  // its address, where the ticket's notices go.
  s.Query("UPDATE outbox SET updated_at = now() - interval '100 days' WHERE kind = 'ack'");
  // Opt-outs of ours go with the last kept message to their address; the citizen's own stay.
  s.Query(
      "INSERT INTO notification_optouts (channel, address, source) VALUES"
      " ('email', 'alt@example.net', 'refused'), ('email', 'neu@example.net', 'blocked'),"
      " ('email', 'nie@example.net', 'stop'), ('telegram', '5123', 'blocked')");
  int status = -1;
  std::string dry = s.RunCommand({"privacy", "retention", "run", "--dry-run"}, &status);
  INFO(dry);
  REQUIRE(status == 0);
  CHECK(dry.find("would change") != std::string::npos);
  CHECK(CountIn(dry, "tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL") == 0);

  std::string run = s.RunCommand({"privacy", "retention", "run"}, &status);
  INFO(run);
  REQUIRE(status == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL AND reference = " +
                Q(done_ref) + " AND text = '' AND reporter->'ack'->>'address' = ''") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = " + Q(open_ref) +
                " AND reporter->'ack'->>'address' = 'neu@example.net'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE address = 'alt@example.net'") == 0);
  CHECK(One(s, "SELECT string_agg(address, ',') FROM chat_contacts") == "neu@example.net");
  CHECK(One(s, "SELECT string_agg(address, ',' ORDER BY address) FROM notification_optouts") ==
        "neu@example.net,nie@example.net");
  CHECK(CountIn(run, "opt-outs") == 2);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'ack' AND address = 'neu@example.net'") ==
        1);
  CHECK(s.Count("SELECT count(*) FROM raw_payloads") == 1);
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE reference = " + Q(done_ref)) == 0);
  // A second pass at the same time changes nothing.
  std::string again = s.RunCommand({"privacy", "retention", "run"}, &status);
  CHECK(CountIn(again, "tickets") == 0);

  // A report with a photo (still open), a dead letter, and a file nothing refers to.
  httplib::MultipartFormDataItems form = {{"kategorie", "STR-01", "", ""},
                                          {"beschreibung", "Loch mit Foto", "", ""},
                                          {"lat", "50.9875", "", ""},
                                          {"lon", "6.9603", "", ""},
                                          {"website", "", "", ""},
                                          {"form_token", s.MintFormToken(10), "", ""},
                                          {"fotos[]", Jpeg(), "loch.jpg", "image/jpeg"}};
  auto posted = s.Client().Post("/formular/meldung", form);
  REQUIRE(posted);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM attachments", 1));
  const std::string photo_sha = One(s, "SELECT sha256 FROM attachments");
  const auto photo_file =
      s.media_dir() / photo_sha.substr(0, 2) / photo_sha.substr(2, 2) / photo_sha;
  REQUIRE(std::filesystem::exists(photo_file));
  s.PublishRaw("{\"broken\": true", "dl-retention");
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
  const std::string orphan(64, 'a');
  const auto orphan_file = s.media_dir() / "aa" / "aa" / orphan;
  std::filesystem::create_directories(orphan_file.parent_path());
  std::ofstream(orphan_file) << "left over";
  // Not yet due: the photo's ticket is open, the dead letter and the file are new.
  std::string soon = s.RunCommand({"privacy", "retention", "run"}, &status);
  CHECK(std::filesystem::exists(photo_file));
  CHECK(std::filesystem::exists(orphan_file));
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 1);

  // Far in the future everything is due: three years after intake, closed or not.
  std::string later =
      s.RunCommand({"privacy", "retention", "run", "--now", "2035-01-01T00:00Z"}, &status);
  INFO(later);
  REQUIRE(status == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE anonymised_at IS NULL") == 0);
  CHECK(s.Count("SELECT count(*) FROM raw_payloads") == 0);
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 0);
  // Messages to citizens lost their address; the departments' deliveries keep theirs.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE address LIKE '%@example.net'") == 0);
  // The photo went with its ticket's personal data, the dead letter expired. The file nothing
  // refers to is younger (by the clock of the file system) than the grace: it stays.
  CHECK(s.Count("SELECT count(*) FROM attachments") == 0);
  CHECK_FALSE(std::filesystem::exists(photo_file));
  CHECK(CountIn(later, "dead letters") == 1);
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
  CHECK(std::filesystem::exists(orphan_file));
  // Made old, it goes too.
  std::filesystem::last_write_time(
      orphan_file, std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 16));
  std::string sweep = s.RunCommand({"privacy", "retention", "run"}, &status);
  INFO(sweep);
  CHECK_FALSE(std::filesystem::exists(orphan_file));
  CHECK(CountIn(sweep, "files") == 1);
  CheckStatusAnswers(s, done_ref);
}

TEST_CASE(
    "privacy access log: every showing of a citizen's contact in the staff API and the "
    "inbox is recorded, a department without the right sees and records nothing",
    "[integration][privacy]") {
  Stack s;
  std::string ref =
      AppReport(s, {{"description", "Gehweg abgesackt"}, {"email", "melder@example.net"}});
  auto token = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"token", "create"};
    argv.insert(argv.end(), args.begin(), args.end());
    int status = -1;
    std::string out = s.RunCommand(argv, &status);
    REQUIRE(status == 0);
    auto p = out.find("mst_");
    REQUIRE(p != std::string::npos);
    return out.substr(p, out.find('\n', p) - p);
  };
  std::string op = token({"--operator", "--label", "Leitstelle"});
  std::string dept = token({"--department", "tiefbauamt", "--label", "Tiefbau"});
  auto get = [&](const std::string& path, const std::string& bearer) {
    httplib::Headers h{{"Authorization", "Bearer " + bearer}};
    auto res = s.Client().Get(path.c_str(), h);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return json::parse(res->body);
  };

  // The Tiefbauamt may not see the contact: nothing shown, nothing recorded.
  CHECK(get("/api/v1/tickets/" + ref, dept)["reporter"].is_null());
  CHECK(get("/api/v1/tickets", dept)["items"][0]["reporter"].is_null());
  CHECK(s.Count("SELECT count(*) FROM contact_views") == 0);

  // The operator sees it (the address the acknowledgement went to), and each view is recorded.
  json one = get("/api/v1/tickets/" + ref, op);
  CHECK(one["reporter"]["contact"] == "melder@example.net");
  CHECK(one["reporter"]["contact_channel"] == "email");
  CHECK(s.Count("SELECT count(*) FROM contact_views") == 1);
  json list = get("/api/v1/tickets", op);
  CHECK(list["items"][0]["reporter"]["contact"] == "melder@example.net");
  CHECK(s.Count("SELECT count(*) FROM contact_views WHERE surface = 'api'"
                " AND actor_role = 'operator' AND actor LIKE 'Leitstelle%'") == 2);

  int status = -1;
  std::string out = s.RunCommand({"privacy", "access-log", "--reference", ref}, &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.find("2 view(s)") != std::string::npos);
  CHECK(out.find("Leitstelle") != std::string::npos);
  CHECK(out.find("Tiefbau ") == std::string::npos);

  // The inbox: the list shows no contact, the ticket's page does, and is recorded as such.
  {
    auto c = s.Client();
    AddStaffAccount(s, "olga", {"--role", "operator", "--name", "Olga Leitner"},
                    "Olgas-Passwort-2026");
    httplib::Headers session = InboxSignIn(s, "olga", "Olgas-Passwort-2026");
    auto list_page = c.Get("/staff?ansicht=alle", session);
    REQUIRE(list_page);
    CHECK(list_page->status == 200);
    CHECK(list_page->body.find("melder@example.net") == std::string::npos);
    CHECK(s.Count("SELECT count(*) FROM contact_views WHERE surface = 'inbox'") == 0);
    auto page = c.Get(("/staff/tickets/" + ref).c_str(), session);
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("melder@example.net") != std::string::npos);
    CHECK(s.Count("SELECT count(*) FROM contact_views WHERE surface = 'inbox'") == 1);
  }
  out = s.RunCommand({"privacy", "access-log", "--reference", ref}, &status);
  CHECK(out.find("3 view(s)") != std::string::npos);
  CHECK(out.find("Olga Leitner (olga)") != std::string::npos);  // the person, not a token

  // Once anonymised, there is no contact left to show, and no view is recorded.
  out = s.RunCommand({"privacy", "erase", "--reference", ref}, &status);
  REQUIRE(status == 0);
  CHECK(get("/api/v1/tickets/" + ref, op)["reporter"].is_null());
  CHECK(s.Count("SELECT count(*) FROM contact_views") == 3);
}

TEST_CASE(
    "privacy notices: the form links the page, /datenschutz shows the configured periods "
    "and processors in German and English, e-mails and the first chat reply carry the line",
    "[integration][privacy]") {
  FakeProviders fake;
  StackOptions o = WithProviders(fake, true);
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"));
  o.extra_env.push_back("MELDESTELLE_SMTP_FROM=maengel@musterstadt.example");
  o.edit_config = [](std::string& text) {
    // The example's privacy section, with a period and the controller changed.
    Replace(text, "    contact_after_close_days: 90", "    contact_after_close_days: 45");
    Replace(text, "Der Oberbürgermeister, Markt 1,", "Der Oberbürgermeister (Test), Markt 1,");
  };
  Stack s(o);

  auto form = s.Client().Get("/");
  REQUIRE(form);
  CHECK(form->body.find("<a href=\"/datenschutz\">Hinweise zum Datenschutz</a>") !=
        std::string::npos);

  auto de = s.Client().Get("/datenschutz");
  REQUIRE(de);
  CHECK(de->status == 200);
  CHECK(de->body.find("<html lang=\"de\"") != std::string::npos);
  CHECK(de->body.find("Stadt Musterstadt, Der Oberbürgermeister (Test), Markt 1") !=
        std::string::npos);
  CHECK(de->body.find("datenschutz@musterstadt.example") != std::string::npos);
  CHECK(de->body.find("nach ihrem Abschluss: 45 Tage") != std::string::npos);
  CHECK(de->body.find("Art. 6 Abs. 1 Buchst. e DSGVO") != std::string::npos);
  CHECK(de->body.find("Art. 15 DSGVO") != std::string::npos);
  // The channels switched on in this stack (WhatsApp, Telegram through the stand-ins) name their
  // providers.
  CHECK(de->body.find("Meta Platforms Ireland") != std::string::npos);
  CHECK(de->body.find("Anrufe und Sprachnachrichten: Aufnahme: 90 Tage") != std::string::npos);
  // No speech-to-text service in this stack: the notice does not claim one.
  CHECK(de->body.find("Spracherkennungsdienst") == std::string::npos);
  auto en = s.Client().Get("/datenschutz?lang=en");
  REQUIRE(en);
  CHECK(en->body.find("<html lang=\"en\"") != std::string::npos);
  CHECK(en->body.find("after it was closed: 45 days") != std::string::npos);
  auto browser =
      s.Client().Get("/datenschutz", httplib::Headers{{"Accept-Language", "en-GB,en;q=0.8"}});
  REQUIRE(browser);
  CHECK(browser->body.find("Privacy notice") != std::string::npos);

  // E-mail: the acknowledgement ends with the line.
  const std::string mail =
      "hinweis-" + std::to_string(s.port()) + "-" + RandomHex(4) + "@example.net";
  AppReport(s, {{"description", "Bank beschädigt"}, {"email", mail}});
  REQUIRE(WaitFor([&] { return SinkMessagesTo(mail).size() == 1; }));
  CHECK(SinkMessagesTo(mail)[0].find("Datenschutzhinweise: http") != std::string::npos);

  // WhatsApp: the first reply to a new contact carries it, the next reply does not.
  const std::string from = "491605550" + std::to_string(s.port() % 1000);
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaLocation(from, "wamid.N1"),
                                                 WaText(from, "wamid.N2", "Ampel dunkel")})))
              ->status == 200);
  REQUIRE(fake.WaitForSent(1));
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status ="
                     " 'sent'",
                     1));
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaLocation(from, "wamid.N3"),
                                                 WaText(from, "wamid.N4", "Gully verstopft")})))
              ->status == 200);
  REQUIRE(fake.WaitForSent(2));
  auto sent = fake.sent();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].body["text"]["body"].get<std::string>().find("/datenschutz") != std::string::npos);
  CHECK(sent[1].body["text"]["body"].get<std::string>().find("/datenschutz") == std::string::npos);
}

TEST_CASE("privacy notice: with a speech-to-text service for voice messages, it is named",
          "[integration][privacy]") {
  FakeProviders fake;
  StackOptions o;
  o.extra_env = fake.Env(/*stt=*/true);
  Stack s(o);
  auto de = s.Client().Get("/datenschutz");
  REQUIRE(de);
  CHECK(de->body.find("Sprachnachrichten über WhatsApp und Telegram wandelt der "
                      "Spracherkennungsdienst der Stadt in Text um") != std::string::npos);
  auto en = s.Client().Get("/datenschutz?lang=en");
  REQUIRE(en);
  CHECK(en->body.find("speech recognition service (processor") != std::string::npos);
}

TEST_CASE("documents are not kept (they carry their author's metadata), the ticket says so",
          "[integration][privacy]") {
  FakeProviders fake;
  StackOptions o = WithProviders(fake, false);
  Stack s(o);
  const std::string pdf = "%PDF-1.4\n1 0 obj << /Author (Erika Mustermann) >> endobj\n%%EOF\n";
  fake.AddMedia("7100", pdf);
  const std::string from = "491607770" + std::to_string(s.port() % 1000);
  json doc = {{"from", from},
              {"id", "wamid.D1"},
              {"timestamp", "1764250000"},
              {"type", "document"},
              {"document",
               {{"mime_type", "application/pdf"}, {"id", "7100"}, {"filename", "Vollmacht.pdf"}}}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({doc, WaLocation(from, "wamid.D2"),
                                                 WaText(from, "wamid.D3", "Schild umgefahren")})))
              ->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 1,
                         std::chrono::seconds(30)));
  CHECK(s.Count("SELECT count(*) FROM attachments") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Anhang nicht geladen'") == 1);
  for (const auto& f : MediaFiles(s))
    CHECK(ReadFile(f).find("Erika Mustermann") == std::string::npos);
}

TEST_CASE(
    "privacy docs: every table of the database is named in docs/datenschutz.md with what "
    "it holds",
    "[integration][privacy]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  int status = -1;
  s.RunCommand({"migrate"}, &status);
  REQUIRE(status == 0);
  std::string doc = ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "docs/datenschutz.md");
  auto tables = s.Query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
      " AND table_type = 'BASE TABLE' ORDER BY 1");
  REQUIRE(tables.size() > 20);
  for (const auto& t : tables) {
    std::string name = t[0].as<std::string>();
    INFO(name << ": add a row to the table in docs/datenschutz.md, \"Where the data is\"");
    CHECK(doc.find("| `" + name + "` |") != std::string::npos);
  }
}

TEST_CASE(
    "no personal data in any log line: contacts, names and texts sent through every channel "
    "appear in no process's log",
    "[integration][privacy]") {
  FakeProviders fake;
  StackOptions o = WithProviders(fake, true);
  o.extra_env.push_back("MELDESTELLE_PHONE_TRANSCRIPTION_WAIT_SECONDS=60");
  o.extra_env.push_back("MELDESTELLE_MAIL_SECRET=log-probe-mail-secret");
  o.extra_env.push_back("MELDESTELLE_OPEN311_API_KEY=log-probe-open311-key");
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"));
  o.extra_env.push_back("MELDESTELLE_SMTP_FROM=maengel@musterstadt.example");
  Stack s(o);
  const std::string tag = std::to_string(s.port());
  // What must not be logged: per channel a contact, a name and a text of its own.
  const std::string form_mail = "formprobe" + tag + "@example.net";
  const std::string app_phone = "+49 151 7" + tag + "1";
  const std::string o311_mail = "o311probe" + tag + "@example.net";
  const std::string mail_from = "mailprobe" + tag + "@example.org";
  const std::string wa = "4915208" + tag;
  const int64_t tg_chat = 8800000000 + s.port();
  const std::string caller = "+4915209" + tag;
  const std::vector<std::string> names = {"Zacharias Formprobe", "Quirin Opendreielf",
                                          "Wendelin Mailprobe", "Ottokar Waprobe",
                                          "Hildegunde Tgprobe"};
  auto text = [&](const std::string& channel) { return "Lochprobe" + channel + tag; };

  // Web form (with e-mail), app (with phone), Open311 (with e-mail and name).
  httplib::MultipartFormDataItems form = {{"kategorie", "STR-01", "", ""},
                                          {"beschreibung", "Schlagloch " + text("Form"), "", ""},
                                          {"lat", "50.9375", "", ""},
                                          {"lon", "6.9603", "", ""},
                                          {"email", form_mail, "", ""},
                                          {"website", "", "", ""},
                                          {"form_token", s.MintFormToken(10), "", ""}};
  auto fr = s.Client().Post("/formular/meldung", form);
  REQUIRE(fr);
  REQUIRE(fr->status / 100 == 2);
  AppReport(s, {{"description", "Laterne " + text("App")}, {"phone", app_phone}});
  auto o311 = s.Client().Post("/open311/v2/requests.json",
                              FormUrlEncode({{"api_key", "log-probe-open311-key"},
                                             {"service_code", "STR-01"},
                                             {"lat", "50.9475"},
                                             {"long", "6.9703"},
                                             {"email", o311_mail},
                                             {"first_name", "Quirin"},
                                             {"last_name", "Opendreielf"},
                                             {"description", "Gully " + text("Open311")}}),
                              "application/x-www-form-urlencoded");
  REQUIRE(o311);
  INFO(o311->body);
  REQUIRE(o311->status == 200);
  // E-mail.
  std::string mail = "From: Wendelin Mailprobe <" + mail_from +
                     ">\r\nTo: maengel@musterstadt.example\r\nSubject: Bank " + text("Subject") +
                     "\r\nDate: Fri, 27 Nov 2026 09:00:00 +0100\r\nMessage-ID: <probe" + tag +
                     "@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
                     "charset=utf-8\r\n\r\nBank kaputt in der Lindenstraße 13. " +
                     text("Mail") + "\r\n";
  auto mr = s.Client().Post("/api/v1/mail",
                            httplib::Headers{{"Authorization", "Bearer log-probe-mail-secret"}},
                            mail, "message/rfc822");
  REQUIRE(mr);
  REQUIRE(mr->status == 202);
  // WhatsApp with a profile name, Telegram with a first name.
  json wa_body = json::parse(WhatsAppNotification(
      wa, json::array({WaLocation(wa, "wamid.L1"), WaText(wa, "wamid.L2", text("WhatsApp"))})));
  wa_body["entry"][0]["changes"][0]["value"]["contacts"] =
      json::array({{{"profile", {{"name", "Ottokar Waprobe"}}}, {"wa_id", wa}}});
  REQUIRE(PostWhatsApp(s, wa_body.dump())->status == 200);
  json tg = {{"update_id", 900001},
             {"message",
              {{"message_id", 11},
               {"from",
                {{"id", tg_chat},
                 {"is_bot", false},
                 {"first_name", "Hildegunde"},
                 {"last_name", "Tgprobe"},
                 {"language_code", "de"}}},
               {"chat", {{"id", tg_chat}, {"type", "private"}}},
               {"date", 1764250000},
               {"location", {{"latitude", 50.9275}, {"longitude", 6.9503}}}}}};
  REQUIRE(s.Client()
              .Post("/webhooks/telegram",
                    httplib::Headers{{"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}},
                    tg.dump(), "application/json")
              ->status == 200);
  json tg_text = tg;
  tg_text["update_id"] = 900002;
  tg_text["message"]["message_id"] = 12;
  tg_text["message"].erase("location");
  tg_text["message"]["text"] = text("Telegram");
  REQUIRE(s.Client()
              .Post("/webhooks/telegram",
                    httplib::Headers{{"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}},
                    tg_text.dump(), "application/json")
              ->status == 200);
  // A phone call with its recording and transcript.
  const std::string call = "CA" + std::string(28, '0') + tag.substr(0, 4);
  const std::string rec = "RE" + std::string(28, '0') + tag.substr(0, 4);
  fake.AddRecording(rec, std::string("RIFF\x24\0\0\0WAVEfmt ", 16) + std::string(64, '\0'));
  auto twilio = [&](const std::string& path, twilio::Params p) {
    std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + path;
    httplib::Headers h{
        {"X-Twilio-Signature", twilio::ComputeSignature(FakeProviders::kTwilioToken, url, p)}};
    auto r =
        s.Client().Post(path.c_str(), h, FormUrlEncode(p), "application/x-www-form-urlencoded");
    REQUIRE(r);
    REQUIRE(r->status / 100 == 2);
  };
  twilio::Params base = {{"AccountSid", FakeProviders::kTwilioSid},
                         {"CallSid", call},
                         {"From", caller},
                         {"To", FakeProviders::kSmsFrom},
                         {"CallStatus", "in-progress"},
                         {"Direction", "inbound"}};
  auto with = [&](twilio::Params more) {
    twilio::Params p = base;
    p.insert(p.end(), more.begin(), more.end());
    return p;
  };
  twilio("/webhooks/phone/voice", base);
  twilio("/webhooks/phone/menu", with({{"Digits", ""}}));
  twilio("/webhooks/phone/recorded?lang=de", with({{"RecordingSid", rec},
                                                   {"RecordingUrl", fake.RecordingUrl(rec)},
                                                   {"RecordingDuration", "9"},
                                                   {"Digits", "#"}}));
  twilio("/webhooks/phone/sms?lang=de", with({{"Digits", "1"}}));
  twilio("/webhooks/phone/recording", {{"AccountSid", FakeProviders::kTwilioSid},
                                       {"CallSid", call},
                                       {"RecordingSid", rec},
                                       {"RecordingUrl", fake.RecordingUrl(rec)},
                                       {"RecordingStatus", "completed"},
                                       {"RecordingDuration", "9"}});
  twilio("/webhooks/phone/transcription",
         with({{"TranscriptionSid", "TR" + std::string(28, '0') + tag.substr(0, 4)},
               {"TranscriptionText", "In der Lindenstraße dreizehn " + text("Phone")},
               {"TranscriptionStatus", "completed"},
               {"RecordingSid", rec},
               {"RecordingUrl", fake.RecordingUrl(rec)}}));

  // All seven to tickets, and their acknowledgements out.
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 7, std::chrono::seconds(60)));
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel IN"
                     " ('email', 'whatsapp', 'telegram', 'sms') AND status = 'sent'",
                     6, std::chrono::seconds(30)));
  // A status change reaches every citizen too.
  s.Query("UPDATE tickets SET status = 'done', closed_at = now()");
  for (const auto& row : s.Query("SELECT id::text FROM tickets")) {
    pqxx::connection c(s.db_url());
    db::Tx tx(c);
    tickets::EnqueueCitizenNotifications(tx, Config{}, row[0].as<std::string>(), "done",
                                         "Tiefbauamt", "Repariert " + text("Note"), 1);
    tx.commit();
  }
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'status' AND status IN"
                     " ('sent', 'done', 'failed')",
                     5, std::chrono::seconds(30)));

  // Idempotency keys keep their copy of the report only until the broker confirmed it.
  CHECK(s.Count("SELECT count(*) FROM intake_keys") >= 3);  // e-mail, Open311, the call
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE envelope <> ''") == 0);

  std::string logs = s.GatewayLog() + s.WorkerLogs() + s.DispatcherLog();
  REQUIRE(logs.find("ticket created") != std::string::npos);  // the logs are there
  std::vector<std::string> secrets = {form_mail,
                                      o311_mail,
                                      mail_from,
                                      wa,
                                      "1517" + tag,
                                      "15209" + tag,
                                      std::to_string(tg_chat),
                                      "Formprobe",
                                      "Opendreielf",
                                      "Mailprobe",
                                      "Waprobe",
                                      "Tgprobe",
                                      "Lochprobe",
                                      "Zacharias",
                                      "Hildegunde"};
  for (const auto& secret : secrets) {
    size_t at = logs.find(secret);
    if (at == std::string::npos)
      continue;
    size_t from = logs.rfind('\n', at);
    from = from == std::string::npos ? 0 : from + 1;
    FAIL_CHECK(secret << " is in the log line " << logs.substr(from, logs.find('\n', at) - from));
  }
}

}  // namespace privacy_test
