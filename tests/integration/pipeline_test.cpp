// End-to-end tests of the intake pipeline against the real broker and database.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/crypto.hpp"
#include "core/envelope.hpp"
#include "core/photo.hpp"
#include "core/reference.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace pipeline_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

httplib::MultipartFormDataItems FormItems(const std::string& token) {
  return {
      {"kategorie", "STR-01", "", ""},
      {"beschreibung", "Schlagloch auf der Fahrbahn, ca. 40 cm breit. Radfahrer müssen "
                       "ausweichen – gefährlich bei Dunkelheit!", "", ""},
      {"lat", "50.937531", "", ""},
      {"lon", "6.960279", "", ""},
      {"adresse", "Mühlenweg 12", "", ""},
      {"email", "j.mueller@example.net", "", ""},
      {"website", "", "", ""},
      {"form_token", token, "", ""},
      {"fotos[]", Jpeg(), "Straße_Mühlenweg.jpg", "image/jpeg"},
      {"fotos[]", OtherJpeg(), "IMG_0412.JPG", "image/jpeg"},
  };
}


std::string PostJson(Stack& s, const std::string& body, int* status,
                     const httplib::Headers& headers = {}) {
  auto res = s.Client().Post("/api/v1/reports", headers, body, "application/json");
  REQUIRE(res);
  *status = res->status;
  return res->body;
}

// The references of the gateway log's "report accepted" lines, each as often as it is there.
// Every line of the log must be one JSON object.
std::map<std::string, int> AcceptedLines(const Stack& s) {
  std::map<std::string, int> seen;
  std::istringstream in(s.GatewayLog());
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    json j = json::parse(line);  // throws, and so fails the test, on a torn or mixed line
    if (j.value("msg", "") == "report accepted")
      ++seen[j.value("reference", "")];
  }
  return seen;
}

}  // namespace

TEST_CASE("a form with two photos becomes one routed ticket with both photos stored") {
  Stack s;
  auto res = s.Client().Post("/formular/meldung", FormItems(s.MintFormToken(10)));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  std::string ref = ReferenceOnPage(res->body);
  REQUIRE(ParseReference(ref).ok());
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 1));
  auto t = s.Query("SELECT reference, department_id, rule_id, ruleset_version, category, text,"
                   " lat, location_source, address FROM tickets");
  REQUIRE(t.size() == 1);
  CHECK(t[0][0].as<std::string>() == ref);
  CHECK(t[0][1].as<std::string>() == "tiefbauamt");
  CHECK_FALSE(t[0][2].is_null());
  CHECK(t[0][3].as<std::string>().rfind("sha256:", 0) == 0);
  CHECK(t[0][4].as<std::string>() == "STR-01");
  CHECK_THAT(t[0][5].as<std::string>(), Catch::Contains("gefährlich"));
  CHECK(t[0][6].as<double>() == Approx(50.937531));
  CHECK(t[0][7].as<std::string>() == "device");
  CHECK(t[0][8].as<std::string>() == "Mühlenweg 12");
  // The ticket carries the explanation of its routing decision.
  auto why = s.Query("SELECT routing_explanation::text, rule_id FROM tickets");
  REQUIRE_FALSE(why[0][0].is_null());
  json explanation = json::parse(why[0][0].as<std::string>());
  CHECK(explanation.dump().find(why[0][1].as<std::string>()) != std::string::npos);
  auto att = s.Query("SELECT sha256, media_type, size, filename FROM attachments ORDER BY position");
  REQUIRE(att.size() == 2);
  const std::string photos[] = {StoredCopy(Jpeg()), StoredCopy(OtherJpeg())};
  CHECK(photos[0] != photos[1]);
  CHECK(OtherJpeg().find(std::string("Exif\0\0", 6)) != std::string::npos);
  for (int i = 0; i < 2; ++i) {
    std::string sha = att[i][0].as<std::string>();
    CHECK(sha == Sha256Hex(photos[i]));
    CHECK(photos[i].find(std::string("Exif\0\0", 6)) == std::string::npos);
    CHECK(att[i][1].as<std::string>() == "image/jpeg");
    CHECK(att[i][2].as<long long>() == static_cast<long long>(photos[i].size()));
    auto stored = s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha;
    CHECK(ReadFile(stored) == photos[i]);
  }
  CHECK(att[0][3].as<std::string>() == "Straße_Mühlenweg.jpg");
  // The acknowledgement waits in the outbox for the e-mail sender.
  auto outbox = s.Query("SELECT channel, address, status FROM outbox WHERE kind <> 'delivery'");
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0][0].as<std::string>() == "email");
  CHECK(outbox[0][2].as<std::string>() == "pending");
  // The raw payload is kept for audit, without the photo bytes.
  CHECK(s.Count("SELECT count(*) FROM raw_payloads") == 1);
  // The public status names the department and no personal data.
  auto st = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(st);
  CHECK(st->status == 200);
  json j = json::parse(st->body);
  CHECK(j["reference"] == ref);
  CHECK(j["status"] == "assigned");
  CHECK(j["department"] == "Tiefbauamt");
  CHECK(st->body.find("mueller") == std::string::npos);
}

TEST_CASE("the same submission twice gives one ticket") {
  Stack s;
  SECTION("the form, sent twice with the same token") {
    auto items = FormItems(s.MintFormToken(10));
    auto first = s.Client().Post("/formular/meldung", items);
    auto second = s.Client().Post("/formular/meldung", items);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->status == 200);
    CHECK(second->status == 200);
    std::string ref = ReferenceOnPage(first->body);
    CHECK(ReferenceOnPage(second->body) == ref);
    REQUIRE(s.WaitForCount(kTickets, 1));
    // A third, different submission proves the worker is still consuming; then count again.
    auto other = s.Client().Post("/formular/meldung", FormItems(s.MintFormToken(10)));
    REQUIRE(other);
    REQUIRE(s.WaitForCount(kTickets, 2));
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + ref + "'") == 1);
    CHECK(s.Count(kTickets) == 2);
    CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'delivery'") == 2);
  }
  SECTION("the API, sent twice with the same Idempotency-Key") {
    std::string body = R"({"description":"Laterne brennt nicht","lat":50.9381,"lon":6.9584})";
    int s1 = 0;
    int s2 = 0;
    httplib::Headers h = {{"Idempotency-Key", "app-req-42"}};
    json a = json::parse(PostJson(s, body, &s1, h));
    json b = json::parse(PostJson(s, body, &s2, h));
    CHECK(s1 == 202);
    CHECK(s2 == 202);
    CHECK(a["reference"] == b["reference"]);
    int s3 = 0;
    json c = json::parse(PostJson(s, R"({"description":"etwas anderes"})", &s3, h));
    CHECK(s3 == 422);
    CHECK(c["error"]["code"] == "idempotency_key_reused");
    int s4 = 0;
    PostJson(s, body, &s4, {{"Idempotency-Key", "app-req-43"}});
    REQUIRE(s.WaitForCount(kTickets, 2));
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" +
                  a["reference"].get<std::string>() + "'") == 1);
    CHECK(s.Count(kTickets) == 2);
    // With a key, the gateway named the raw payload itself; both tickets' names are its digest.
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE raw_ref = 'sha256:" + Sha256Hex(body) +
                  "'") == 2);
  }
  SECTION("the same message delivered twice by the broker") {
    Report r;
    r.id = NewUuid();
    r.reference = ReferenceGenerator(999).Next();
    r.channel = "app";
    r.channel_message_id = "dup-1";
    r.received_at = NowTimestamp();
    r.text = "Sperrmüll am Straßenrand";
    std::string body = EncodeEnvelope(Envelope{r, {"application/json", "{}"}, ""});
    s.PublishRaw(body, r.id);
    s.PublishRaw(body, r.id);
    r.id = NewUuid();
    r.reference = ReferenceGenerator(998).Next();
    r.channel_message_id = "marker";
    s.PublishRaw(EncodeEnvelope(Envelope{r, {"application/json", "{}"}, ""}), r.id);
    REQUIRE(s.WaitForCount(kTickets, 2));
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.queue()) == 0; }));
    CHECK(s.Count(kTickets) == 2);
    CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'delivery'") == 2);
  }
}

TEST_CASE("bad input gets a 4xx and leaves no trace in the queue or the database") {
  StackOptions options;
  options.workers = 0;  // whatever were published would stay visible in the queue
  Stack s(options);
  struct Case {
    const char* what;
    std::function<httplib::Result(httplib::Client&)> send;
    int status;
    const char* code;
  };
  std::string big_photo = Jpeg() + std::string(10 * 1024 * 1024, 'x');
  std::vector<Case> cases = {
      {"missing description",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports", R"({"lat":50.9,"lon":6.9})", "application/json");
       },
       422, "description_missing"},
      {"broken JSON",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports", R"({"description": "a)", "application/json");
       },
       400, "json_invalid"},
      {"invalid UTF-8",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports", "{\"description\":\"M\xFCll\"}", "application/json");
       },
       400, "invalid_utf8"},
      {"coordinates out of range",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports", R"({"description":"a","lat":95,"lon":6.9})",
                       "application/json");
       },
       422, "coordinates_out_of_range"},
      {"a file that is not an image",
       [](httplib::Client& c) {
         httplib::MultipartFormDataItems items = {
             {"description", "Müll", "", ""},
             {"photos", "MZ\x90\x00 not a photo", "foto.jpg", "image/jpeg"}};
         return c.Post("/api/v1/reports", items);
       },
       415, "not_an_image"},
      {"too many files",
       [](httplib::Client& c) {
         httplib::MultipartFormDataItems items = {{"description", "Müll", "", ""}};
         for (int i = 0; i < 6; ++i) items.push_back({"photos", Jpeg(), "f.jpg", "image/jpeg"});
         return c.Post("/api/v1/reports", items);
       },
       422, "too_many_photos"},
      {"too large a file",
       [&](httplib::Client& c) {
         httplib::MultipartFormDataItems items = {{"description", "Müll", "", ""},
                                                  {"photos", big_photo, "f.jpg", "image/jpeg"}};
         return c.Post("/api/v1/reports", items);
       },
       413, "photo_too_large"},
      {"broken multipart",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports",
                       "--XYZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
                       "text without end",
                       "multipart/form-data; boundary=XYZ");
       },
       400, "multipart_invalid"},
      {"unsupported content type",
       [](httplib::Client& c) { return c.Post("/api/v1/reports", "hello", "text/plain"); }, 415,
       "unsupported_media_type"},
      {"an unknown category",
       [](httplib::Client& c) {
         return c.Post("/api/v1/reports", R"({"description":"a","category":"NOPE-01"})",
                       "application/json");
       },
       422, "category_unknown"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto client = s.Client();
    auto res = c.send(client);
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == c.status);
    json j = json::parse(res->body, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["error"]["code"] == c.code);
    CHECK_FALSE(j["error"]["message"].get<std::string>().empty());
  }
  SECTION("on the HTML form the message is German and the input is kept") {
    auto items = FormItems(s.MintFormToken(10));
    items[1].content = "";  // no description
    items.erase(items.begin() + 8, items.end());
    auto res = s.Client().Post("/formular/meldung", items);
    REQUIRE(res);
    CHECK(res->status == 422);
    CHECK_THAT(res->body, Catch::Contains("Bitte beschreiben Sie den Mangel."));
    CHECK_THAT(res->body, Catch::Contains("Mühlenweg 12"));
    CHECK_THAT(res->body, Catch::Contains("j.mueller@example.net"));
  }
  CHECK(s.QueueDepth(s.queue()) == 0);
  CHECK(s.Count(kTickets) == 0);
  CHECK(s.Count("SELECT count(*) FROM intake_keys") == 0);
  CHECK(StoredFiles(s.media_dir()) == 0);  // the folder is there from the start, empty
  // The check above can see a published report: a good one shows up in the queue.
  int status = 0;
  PostJson(s, R"({"description":"Schlagloch"})", &status);
  CHECK(status == 202);
  CHECK(s.QueueDepth(s.queue()) == 1);
}

TEST_CASE("bots are answered like citizens but nothing is published") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  auto send = [&](httplib::MultipartFormDataItems items) {
    auto res = s.Client().Post("/formular/meldung", items);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK_THAT(res->body, Catch::Contains("Vielen Dank"));
  };
  auto honeypot = FormItems(s.MintFormToken(10));
  honeypot[6].content = "http://spam.example";
  send(honeypot);
  auto forged = FormItems("1741600000.8f2c1a9e4b7d3f60a5c2e1d0b9a8f7e6.0123456789abcdef");
  send(forged);
  CHECK(s.QueueDepth(s.queue()) == 0);
  auto metrics = s.Client().Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body,
             Catch::Contains("meldestelle_spam_discarded_total{reason=\"honeypot\"} 1"));
  CHECK_THAT(metrics->body,
             Catch::Contains("meldestelle_spam_discarded_total{reason=\"token_bad_signature\"} 1"));
  // A replayed token: the first submission is published once, the replay is not.
  auto items = FormItems(s.MintFormToken(10));
  send(items);
  send(items);
  CHECK(s.QueueDepth(s.queue()) == 1);
}

TEST_CASE(
    "a quick citizen is never told \"Vielen Dank\" for a dropped report: a submission that is only "
    "suspicious is shown again and confirmed with one click") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  auto token_in = [](const std::string& html) {
    std::string marker = "name=\"form_token\" value=\"";
    size_t p = html.find(marker);
    REQUIRE(p != std::string::npos);
    p += marker.size();
    return html.substr(p, html.find('"', p) - p);
  };
  int published = 0;
  // Too fast (autofill, a re-send), a token cut off or missing, a page left open too long.
  for (const std::string& token : {s.MintFormToken(0), s.MintFormToken(0).substr(0, 20),
                                   std::string(), s.MintFormToken(100000)}) {
    INFO("token '" << token << "'");
    auto first = s.Client().Post("/formular/meldung", FormItems(token));
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK_THAT(first->body, !Catch::Contains("Vielen Dank"));
    CHECK_THAT(first->body, Catch::Contains("Meldung absenden"));
    CHECK_THAT(first->body, Catch::Contains("Mühlenweg 12"));  // the values are kept
    CHECK_THAT(first->body, Catch::Contains("Fotos wählen Sie bitte noch einmal aus"));
    CHECK(s.QueueDepth(s.queue()) == published);
    // One click: the page's token passes at once, and the report is published.
    auto again = s.Client().Post("/formular/meldung", FormItems(token_in(first->body)));
    REQUIRE(again);
    CHECK(again->status == 200);
    CHECK_THAT(again->body, Catch::Contains("Vielen Dank"));
    ++published;
    CHECK(s.QueueDepth(s.queue()) == published);
  }
  auto metrics = s.Client().Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("reason=\"token_too_fast\"} 1"));
  CHECK_THAT(metrics->body, Catch::Contains("reason=\"token_malformed\"} 2"));
  CHECK_THAT(metrics->body, Catch::Contains("reason=\"token_expired\"} 1"));
  CHECK_THAT(metrics->body, !Catch::Contains("meldestelle_spam_discarded_total{reason=\"token_"));
}

TEST_CASE(
    "a flood of reports from one address is limited with 429 and Retry-After, reports from other "
    "addresses are all accepted meanwhile") {
  StackOptions options;
  options.workers = 0;
  options.extra_env = {"MELDESTELLE_REPORTS_PER_MINUTE=20",
                       "MELDESTELLE_OPEN311_API_KEY=open311-key-of-a-known-client"};
  options.edit_config = [](std::string& cfg) {
    // The test client stands for the town's reverse proxy: X-Forwarded-For names the citizen.
    Replace(cfg, "  trusted_proxies: []\n", "  trusted_proxies: [127.0.0.1]\n");
  };
  Stack s(options);
  const std::string report = R"({"description":"Laterne dunkel","lat":50.94,"lon":6.96})";
  auto post_as = [&](const std::string& client) {
    httplib::Client c("127.0.0.1", s.port());
    return c.Post("/api/v1/reports", {{"X-Forwarded-For", client}}, report, "application/json");
  };
  // The flood: 100 times the allowance of 20 a minute, from two threads, while citizens at other
  // addresses send theirs.
  std::atomic<int> flood_accepted{0}, flood_limited{0}, other_failed{0};
  std::atomic<bool> retry_after_seen{false};
  auto flood = [&] {
    httplib::Client c("127.0.0.1", s.port());
    for (int i = 0; i < 100; ++i) {
      auto r = c.Post("/api/v1/reports", {{"X-Forwarded-For", "198.51.100.7"}}, report,
                      "application/json");
      if (r && r->status == 202) {
        ++flood_accepted;
      } else if (r && r->status == 429) {
        ++flood_limited;
        if (std::atoi(r->get_header_value("Retry-After").c_str()) >= 1)
          retry_after_seen = true;
      }
    }
  };
  std::thread f1(flood), f2(flood);
  for (int i = 0; i < 10; ++i) {
    auto r = post_as("198.51.100." + std::to_string(20 + i));
    if (!r || r->status != 202)
      ++other_failed;
  }
  f1.join();
  f2.join();
  CHECK(other_failed.load() == 0);
  CHECK(flood_accepted.load() >= 20);
  CHECK(flood_accepted.load() <= 22);  // the burst, and what refilled during the flood
  CHECK(flood_accepted.load() + flood_limited.load() == 200);
  CHECK(retry_after_seen.load());
  CHECK(s.QueueDepth(s.queue()) == flood_accepted.load() + 10);
  // A peer that is no trusted proxy cannot choose its address: 127.0.0.2 is its own client,
  // whatever X-Forwarded-For it sends.
  std::string direct =
      RawHttp(s.port(),
              "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.99\r\n"
              "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(report.size()) + "\r\n\r\n" + report,
              "127.0.0.2");
  CHECK(direct.rfind("HTTP/1.1 202", 0) == 0);
  // The flooding address gets the form's and Open311's refusals in their own formats.
  httplib::Client c("127.0.0.1", s.port());
  auto form = c.Post("/formular/meldung", {{"X-Forwarded-For", "198.51.100.7"}}, "beschreibung=x",
                     "application/x-www-form-urlencoded");
  REQUIRE(form);
  CHECK(form->status == 429);
  CHECK_THAT(form->body, Catch::Contains("Bitte warten Sie"));
  CHECK_THAT(form->get_header_value("Content-Type"), Catch::Contains("text/html"));
  auto o311 = c.Post("/open311/v2/requests.json", {{"X-Forwarded-For", "198.51.100.7"}},
                     "api_key=x", "application/x-www-form-urlencoded");
  REQUIRE(o311);
  CHECK(o311->status == 429);
  CHECK_THAT(o311->body, Catch::Contains("\"code\":429"));
  // An Open311 client with a valid key is not limited per address (one FixMyStreet server sends
  // a whole council's reports).
  auto known = c.Post("/open311/v2/requests.json", {{"X-Forwarded-For", "198.51.100.7"}},
                      "api_key=open311-key-of-a-known-client&service_code=STR-01&lat=50.9375"
                      "&long=6.9603&description=Schlagloch",
                      "application/x-www-form-urlencoded");
  REQUIRE(known);
  INFO(known->body);
  CHECK(known->status == 200);
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body, Catch::Contains("meldestelle_rate_limited_total{channel=\"app\"}"));
}

TEST_CASE(
    "with an admin port, /readyz and /metrics are there on loopback and not on the public "
    "port") {
  StackOptions options;
  options.workers = 0;
  const int admin = FreePort();
  options.extra_env = {"MELDESTELLE_ADMIN_PORT=" + std::to_string(admin)};
  Stack s(options);
  for (const char* path : {"/readyz", "/metrics"}) {
    INFO(path);
    auto pub = s.Client().Get(path);
    REQUIRE(pub);
    CHECK(pub->status == 404);
    httplib::Client a("127.0.0.1", admin);
    auto got = a.Get(path);
    REQUIRE(got);
    CHECK(got->status == 200);
  }
  httplib::Client a("127.0.0.1", admin);
  CHECK_THAT(a.Get("/metrics")->body, Catch::Contains("meldestelle_confirmed_total"));
  CHECK(a.Get("/readyz")->body == R"({"broker":"ok","database":"ok"})");
  // /healthz stays on the public port (load balancers), and is on the admin port too.
  CHECK(s.Client().Get("/healthz")->status == 200);
  CHECK(a.Get("/healthz")->status == 200);
  // Reports are not served on the admin port.
  CHECK(a.Post("/api/v1/reports", "{}", "application/json")->status == 404);
}

TEST_CASE(
    "every report answered 202 has one \"report accepted\" line in the gateway's log, written "
    "before the answer; a refused report none") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  // Many at once, so that one confirm of the broker settles several reports and the publisher
  // writes their lines together.
  constexpr int kThreads = 8, kEach = 40;
  std::mutex mu;
  std::map<std::string, int> answered;  // guarded by mu
  std::atomic<int> failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", s.port());
      for (int i = 0; i < kEach; ++i) {
        std::string body = R"({"description":"Laterne )" + std::to_string(t) + "-" +
                           std::to_string(i) + R"( dunkel","lat":50.94,"lon":6.96})";
        auto r = c.Post("/api/v1/reports", body, "application/json");
        if (!r || r->status != 202) {
          ++failed;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        ++answered[json::parse(r->body)["reference"].get<std::string>()];
      }
    });
  }
  for (auto& th : pool)
    th.join();
  REQUIRE(failed.load() == 0);
  REQUIRE(answered.size() == kThreads * kEach);
  // Each line is there as soon as its report was answered: no wait.
  CHECK(AcceptedLines(s) == answered);
  // A report refused (422) leaves no line.
  int status = 0;
  PostJson(s, R"({"lat":50.94,"lon":6.96})", &status);
  CHECK(status == 422);
  CHECK(AcceptedLines(s) == answered);
}

TEST_CASE("without a broker the gateway answers 503, and recovers by itself", "[serial]") {
  Stack s;
  std::string body = R"({"description":"Ampel ausgefallen","lat":50.94,"lon":6.95})";
  int status = 0;
  PostJson(s, body, &status);
  REQUIRE(status == 202);
  REQUIRE(s.WaitForCount(kTickets, 1));
  StopBroker();
  REQUIRE(WaitFor([&] { return !s.Ready(); }));
  auto res = s.Client().Post("/api/v1/reports", body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->get_header_value("Retry-After") == "5");
  CHECK(json::parse(res->body)["error"]["code"].get<std::string>().rfind("broker_", 0) == 0);
  auto form = s.Client().Post("/formular/meldung", FormItems(s.MintFormToken(10)));
  REQUIRE(form);
  CHECK(form->status == 503);
  CHECK_THAT(form->body, Catch::Contains("Mühlenweg 12"));  // the citizen's input is kept
  StartBroker();
  INFO(s.GatewayLog());
  REQUIRE(WaitFor([&] { return s.Ready(); }, std::chrono::seconds(30)));
  std::string second = json::parse(PostJson(s, body, &status))["reference"];
  CHECK(status == 202);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 2, std::chrono::seconds(30)));
  CHECK(s.Count(kTickets) == 2);  // the refused report left no ticket
  // The gateway's log says "report accepted" for the two answered 202, not for the refused one.
  auto lines = AcceptedLines(s);
  CHECK(lines.size() == 2);
  CHECK(lines[second] == 1);
}

namespace {

// A trigger of the test that refuses the ticket of channel message id `message_id` while the
// SQL `condition` holds, raising `error` (P0001: neither the message's data, dead-lettered at
// once, nor the database away).
void RefuseTicket(Stack& s, const std::string& message_id, const std::string& condition,
                  const std::string& error) {
  s.Query(
      "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " IF NEW.channel_message_id = '" +
      message_id + "' AND (" + condition +
      ") THEN"
      " RAISE EXCEPTION '" +
      error +
      "'; END IF; RETURN NEW; END $$;"
      " CREATE TRIGGER test_refuse BEFORE INSERT ON tickets"
      " FOR EACH ROW EXECUTE FUNCTION test_refuse()");
}

// An app report with channel message id `message_id`.
Report RefusedReport(const std::string& message_id, const std::string& text) {
  static ReferenceGenerator references(997);  // one clock: never the same reference twice
  Report r;
  r.id = NewUuid();
  r.reference = references.Next();
  r.channel = "app";
  r.channel_message_id = message_id;
  r.received_at = NowTimestamp();
  r.text = text;
  return r;
}

}  // namespace

TEST_CASE("poison messages end in the dead-letter queue with the reason") {
  StackOptions options;
  options.max_attempts = 3;
  Stack s(options);
  SECTION("an unparseable message goes there at once") {
    s.PublishRaw("this is not JSON", "poison-1");
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
    // Operators inspect it with a command; listing leaves it in place.
    int status = -1;
    std::string listing = s.RunCommand({"dead-letters", "list"}, &status);
    CHECK(status == 0);
    CHECK_THAT(listing, Catch::Contains("reason: unparseable"));
    CHECK_THAT(listing, Catch::Contains("1 message(s) listed"));
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
    std::string body;
    std::string reason;
    REQUIRE(s.GetDeadLetter(&body, &reason));
    CHECK(body == "this is not JSON");
    CHECK_THAT(reason, Catch::StartsWith("unparseable"));
    CHECK(s.Count(kTickets) == 0);
  }
  SECTION("operators can move dead letters back onto the work queue") {
    s.PublishRaw("still not JSON", "poison-2");
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
    int status = -1;
    std::string out = s.RunCommand({"dead-letters", "requeue"}, &status);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains("1 message(s) requeued"));
    // The worker sees it again and, as it is still broken, dead-letters it a second time.
    REQUIRE(WaitFor([&] {
      std::string logs = s.WorkerLogs();
      size_t first = logs.find("message dead-lettered");
      return first != std::string::npos &&
             logs.find("message dead-lettered", first + 1) != std::string::npos;
    }));
    CHECK(s.QueueDepth(s.dead_letter_queue()) == 1);
  }
  SECTION("a message that keeps failing goes there after max_attempts") {
    // Each failed attempt waits a second in its retry queue (StackOptions), whose copy carries
    // the attempts so far: without them every copy would start again at its first.
    // A failure that is neither the message's data nor the database away: refused every time.
    RefuseTicket(s, "always-fails", "true", "the test refuses this ticket");
    Report r = RefusedReport("always-fails", "Graffiti an der Brücke");
    s.PublishRaw(EncodeEnvelope(Envelope{r, {}, ""}), r.id);
    INFO(s.WorkerLogs());
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
    std::string body;
    std::string reason;
    REQUIRE(s.GetDeadLetter(&body, &reason));
    CHECK_THAT(reason, Catch::StartsWith("failed 3 times"));
    CHECK_THAT(reason, Catch::Contains("the test refuses this ticket"));
    CHECK(s.QueueDepth(s.queue()) == 0);
    CHECK(s.Count(kTickets) == 0);
  }
}

TEST_CASE("a failed attempt waits in its retry queue, and the next one finds the fault passed") {
  StackOptions options;
  options.max_attempts = 3;
  options.retry_delays = {5};
  Stack s(options);
  // A fault that passes (a provider's media away for a while, as it were): this one ticket is
  // refused while test_gate has a row.
  s.Query("CREATE TABLE test_gate (closed boolean); INSERT INTO test_gate VALUES (true)");
  RefuseTicket(s, "fails-for-now", "EXISTS (SELECT 1 FROM test_gate)", "not yet");
  Report r = RefusedReport("fails-for-now", "Ampel ausgefallen");
  s.PublishRaw(EncodeEnvelope(Envelope{r, {}, ""}), r.id);
  INFO(s.WorkerLogs());
  REQUIRE(WaitFor([&] { return s.WorkerLogs().find("message requeued") != std::string::npos; }));
  // Set aside for five seconds in its retry queue (written there, with a confirm, before the
  // log line), not handed back to the work queue to fail again at once; no ticket meanwhile.
  CHECK(WaitFor([&] { return s.QueueDepth(s.retry_queue(5)) == 1; }, std::chrono::seconds(4)));
  CHECK(s.Count(kTickets) == 0);
  s.Query("DELETE FROM test_gate");
  REQUIRE(s.WaitForCount(kTickets, 1, std::chrono::seconds(30)));
  std::string logs = s.WorkerLogs();
  size_t first = logs.find("message requeued");
  CHECK(logs.find("message requeued", first + 1) == std::string::npos);
  CHECK_THAT(logs, Catch::Contains(R"("attempt":"1","retry_in_s":"5")"));
  // The second attempt came after the delay, and only once.
  auto waited = s.Query(
      "SELECT extract(epoch FROM created_at - received_at) FROM tickets WHERE reference = '" +
      r.reference + "'");
  REQUIRE(waited.size() == 1);
  CHECK(waited[0][0].as<double>() >= 4.5);
  CHECK(s.QueueDepth(s.retry_queue(5)) == 0);
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
}

namespace {

// An app report as the gateway writes it, with the JSON of its envelope changed by `mutate`.
std::string EnvelopeWith(const Report& r, const std::function<void(json& report)>& mutate) {
  json j = json::parse(EncodeEnvelope(Envelope{r, {}, ""}));
  mutate(j["report"]);
  return j.dump();
}

Report AppReport(const std::string& text) {
  static ReferenceGenerator references(996);  // one clock: never the same reference twice
  Report r;
  r.id = NewUuid();
  r.reference = references.Next();
  r.channel = "app";
  r.channel_message_id = r.id;
  r.received_at = NowTimestamp();
  r.text = text;
  return r;
}

}  // namespace

TEST_CASE("a message that does not validate is dead-lettered at once, naming the field") {
  StackOptions options;
  options.max_attempts = 3;
  Stack s(options);
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;
    const char* reason;  // in the dead letter's reason
  };
  std::vector<Case> cases = {
      // 2^32 + 1: read as an int it was version 1, and the report was stored.
      {"a huge schema_version", [](json& r) { r["schema_version"] = 4294967297LL; },
       "schema_version_unsupported: schema_version 4294967297 is not supported"},
      {"a negative schema_version", [](json& r) { r["schema_version"] = -1; },
       "schema_version_unsupported"},
      // These reached the database and were retried (22P02, 22007, 22P05).
      {"an id that is no UUID", [](json& r) { r["id"] = "not-a-uuid"; }, "id must be a UUID"},
      {"a received_at that is no time", [](json& r) { r["received_at"] = "garbage"; },
       "received_at must be an RFC 3339 time"},
      {"a text with U+0000", [](json& r) { r["text"] = std::string("Loch\0", 5); },
       "text must not contain U+0000"},
      {"a file name with a path",
       [](json& r) {
         r["attachments"] = json::array({{{"sha256", std::string(64, 'a')},
                                          {"media_type", "image/jpeg"},
                                          {"size", 3},
                                          {"filename", "../../etc/passwd"}}});
       },
       "attachments[].filename must be a file name without a path"},
      {"a language that is none",
       [](json& r) {
         r["reporter"] = {{"language", "xx-evil"}};
       },
       "reporter.language must be a language code"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Report r = AppReport(std::string("Meldung: ") + c.what);
    s.PublishRaw(EnvelopeWith(r, c.mutate), r.id);
    REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
    std::string body, reason;
    REQUIRE(s.GetDeadLetter(&body, &reason));
    CHECK_THAT(reason, Catch::StartsWith("unparseable: report: "));
    CHECK_THAT(reason, Catch::Contains(c.reason));
  }
  // At once: never handed back to the queue for another attempt, and nothing stored.
  CHECK(s.WorkerLogs().find("message requeued") == std::string::npos);
  CHECK(s.Count(kTickets) == 0);
}

TEST_CASE(
    "a report that reuses another report's reference is dead-lettered at once, the first "
    "ticket unchanged") {
  StackOptions options;
  options.max_attempts = 3;
  Stack s(options);
  Report first = AppReport("Graffiti an der Brücke");
  s.PublishRaw(EncodeEnvelope(Envelope{first, {}, ""}), first.id);
  REQUIRE(s.WaitForCount(kTickets, 1));
  // Another report (its own id and channel message id) under the same reference: neither a
  // second ticket nor dropped as a redelivery.
  Report second = AppReport("Etwas ganz anderes");
  second.reference = first.reference;
  s.PublishRaw(EncodeEnvelope(Envelope{second, {}, ""}), second.id);
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
  std::string body, reason;
  REQUIRE(s.GetDeadLetter(&body, &reason));
  CHECK(reason == "reference " + first.reference +
                      " is the reference of another report's ticket already (same reference, "
                      "another channel or channel_message_id)");
  CHECK(body == EncodeEnvelope(Envelope{second, {}, ""}));
  CHECK(s.WorkerLogs().find("message requeued") == std::string::npos);
  CHECK(s.Count(kTickets) == 1);
  auto t =
      s.Query("SELECT id::text, text FROM tickets WHERE reference = '" + first.reference + "'");
  REQUIRE(t.size() == 1);
  CHECK(t[0][0].as<std::string>() == first.id);
  CHECK(t[0][1].as<std::string>() == first.text);
  // The same report again is still a redelivery, settled without a dead letter.
  s.PublishRaw(EncodeEnvelope(Envelope{first, {}, ""}), first.id);
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.queue()) == 0; }));
  REQUIRE(WaitFor(
      [&] { return s.WorkerLogs().find("duplicate report ignored") != std::string::npos; }));
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
  CHECK(s.Count(kTickets) == 1);
}

TEST_CASE(
    "an unknown category is routed as none and an unsendable acknowledgement fails at once, "
    "both flagged") {
  Stack s;
  Report r = AppReport("Laterne defekt");
  r.category = "ZZZ-99";
  r.reporter.ack_channel = "pigeon";
  r.reporter.ack_address = "Dach 3";
  s.PublishRaw(EncodeEnvelope(Envelope{r, {}, ""}), r.id);
  REQUIRE(s.WaitForCount(kTickets, 1));
  auto t = s.Query(
      "SELECT category IS NULL, report->>'category' IS NULL,"
      " routing_explanation->'flags' ? 'Kategorie unbekannt: ZZZ-99',"
      " routing_explanation->'flags' ? 'Eingangsbestätigung nicht sendbar: pigeon'"
      " FROM tickets WHERE id = '" +
      r.id + "'");
  REQUIRE(t.size() == 1);
  CHECK(t[0][0].as<bool>());
  CHECK(t[0][1].as<bool>());
  CHECK(t[0][2].as<bool>());
  CHECK(t[0][3].as<bool>());
  auto ack = s.Query("SELECT status, delivery_state, last_error FROM outbox WHERE ticket_id = '" +
                     r.id + "' AND kind = 'ack'");
  REQUIRE(ack.size() == 1);
  CHECK(ack[0][0].as<std::string>() == "failed");
  CHECK(ack[0][1].as<std::string>() == "failed");
  CHECK(ack[0][2].as<std::string>() == "no channel sends acknowledgements on \"pigeon\"");
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
}

namespace {

// The form with an e-mail address and a phone number, both valid.
httplib::MultipartFormDataItems FormWithBothContacts(const std::string& token) {
  return {{"kategorie", "STR-01", "", ""},
          {"beschreibung", "Schlagloch vor dem Haus", "", ""},
          {"lat", "50.937531", "", ""},
          {"lon", "6.960279", "", ""},
          {"email", "j.mueller@example.net", "", ""},
          {"telefon", "+49 170 1234567", "", ""},
          {"website", "", "", ""},
          {"form_token", token, "", ""}};
}

// Sends the form: its page, and of the ticket it made the acknowledgement's channel, address and
// status and the reporter's address.
std::pair<std::string, std::vector<std::string>> SendForm(
    Stack& s, const httplib::MultipartFormDataItems& items) {
  auto res = s.Client().Post("/formular/meldung", items);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  std::string ref = ReferenceOnPage(res->body);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
  auto t = s.Query(
      "SELECT o.channel, o.address, o.status, t.reporter->>'address'"
      " FROM tickets t JOIN outbox o ON o.ticket_id = t.id AND o.kind = 'ack'"
      " WHERE t.reference = " +
      Q(ref));
  REQUIRE(t.size() == 1);
  std::vector<std::string> row;
  for (const auto& field : t[0])
    row.push_back(field.as<std::string>());
  return {res->body, row};
}

}  // namespace

TEST_CASE(
    "an acknowledgement on a channel without a sender here is recorded as failed at once, gets "
    "no notices, and the form promises none it cannot send") {
  {
    // A town with neither an SMTP relay nor an SMS account (the stack's relay emptied).
    StackOptions options;
    options.extra_env = {"MELDESTELLE_SMTP_URL="};
    options.worker_metrics_port = FreePort();
    Stack s(options);
    INFO(s.WorkerLogs());
    // A report that asks for its acknowledgement by e-mail (as an Open311 client's does).
    Report r = AppReport("Laterne defekt");
    r.category = "STR-01";
    r.reporter.address = "buerger@example.net";
    r.reporter.ack_channel = "email";
    r.reporter.ack_address = "buerger@example.net";
    s.PublishRaw(EncodeEnvelope(Envelope{r, {}, ""}), r.id);
    REQUIRE(s.WaitForCount(kTickets, 1));
    auto ack = s.Query(
        "SELECT o.status, o.last_error, o.attempts,"
        " t.routing_explanation->'flags' ? 'Eingangsbestätigung nicht sendbar: email',"
        " t.department_id FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
        " WHERE o.kind = 'ack' AND t.id = '" +
        r.id + "'");
    REQUIRE(ack.size() == 1);
    CHECK(ack[0][0].as<std::string>() == "failed");
    CHECK_THAT(ack[0][1].as<std::string>(),
               Catch::Contains("no sender for \"email\" is configured"));
    CHECK(ack[0][2].as<int>() == 0);
    CHECK(ack[0][3].as<bool>());
    CHECK_THAT(s.WorkerLogs(), Catch::Contains("\"acknowledgements_sent_on\":\"\""));
    auto metrics = httplib::Client("127.0.0.1", options.worker_metrics_port).Get("/metrics");
    REQUIRE(metrics);
    CHECK_THAT(
        metrics->body,
        Catch::Contains("meldestelle_acknowledgements_unsendable_total{channel=\"email\"} 1"));
    CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);

    // Staff accept the ticket: no notice is queued for an address that heard nothing before
    // (it would wait for ever too).
    const std::string token = s.DepartmentToken(ack[0][4].as<std::string>());
    auto accepted =
        s.Client().Post(("/api/v1/tickets/" + r.reference + "/accept").c_str(),
                        {{"Authorization", "Bearer " + token}}, "{}", "application/json");
    REQUIRE(accepted);
    INFO(accepted->body);
    REQUIRE(accepted->status == 200);
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'accepted'") == 1);
    CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 0);
    // Nor can staff ask them a question there, and they are told why.
    auto asked = s.Client().Post(("/api/v1/tickets/" + r.reference + "/question").c_str(),
                                 {{"Authorization", "Bearer " + token}},
                                 R"({"question":"Welche Laterne genau?"})", "application/json");
    REQUIRE(asked);
    INFO(asked->body);
    CHECK(asked->status == 409);
    CHECK_THAT(asked->body,
               Catch::Contains("no_way_back") &&
                   Catch::Contains("no sender is configured here for their channel \\\"email\\\""));
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'question'") == 0);
    CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'ack' AND kind <> 'delivery'") == 0);
    CHECK(One(s, "SELECT status FROM tickets WHERE id = '" + r.id + "'") == "accepted");
    {
      // A citizen who opted out is not pointed at as one a sender would reach.
      s.Query(
          "INSERT INTO notification_optouts (channel, address, source)"
          " VALUES ('email', 'buerger@example.net', 'test')");
      auto opted = s.Client().Post(("/api/v1/tickets/" + r.reference + "/question").c_str(),
                                   {{"Authorization", "Bearer " + token}},
                                   R"({"question":"Welche Laterne genau?"})", "application/json");
      REQUIRE(opted);
      CHECK(opted->status == 409);
      CHECK_THAT(opted->body,
                 Catch::Contains("asked not to get messages") && !Catch::Contains("no sender"));
      s.Query("DELETE FROM notification_optouts WHERE source = 'test'");
    }

    // The form with both contacts: no acknowledgement, and the page does not promise one; the
    // contact is kept for staff.
    auto [page, ack_row] = SendForm(s, FormWithBothContacts(s.MintFormToken(10)));
    CHECK_THAT(page, Catch::Contains("Eine Bestätigung können wir Ihnen leider nicht schicken."));
    CHECK_THAT(page, !Catch::Contains("in Kürze"));
    CHECK(ack_row == std::vector<std::string>{"none", "", "done", "j.mueller@example.net"});
    // Nor does the form's e-mail field promise one.
    auto form = s.Client().Get("/");
    REQUIRE(form);
    CHECK_THAT(form->body, Catch::Contains("Nur für mögliche Rückfragen.") &&
                               Catch::Contains("Nur für Rückfragen.") &&
                               !Catch::Contains("Eingangsbestätigung"));

    // A second such report, whose citizen's data is erased (Art. 17): nothing to send to.
    Report erased = AppReport("Ampel defekt");
    erased.category = "STR-01";
    erased.reporter.address = "geloescht-" + RandomHex(4) + "@example.net";
    erased.reporter.ack_channel = "email";
    erased.reporter.ack_address = erased.reporter.address;
    s.PublishRaw(EncodeEnvelope(Envelope{erased, {}, ""}), erased.id);
    REQUIRE(
        s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'failed'"
                       " AND ticket_id = '" +
                           erased.id + "'",
                       1));
    int status = -1;
    std::string erasure =
        s.RunCommand({"privacy", "erase", "--reference", erased.reference}, &status);
    INFO(erasure);
    REQUIRE(status == 0);

    // The operator lists the acknowledgement, and sends it once the relay is configured.
    std::string out = s.RunCommand({"outbox", "unsendable"}, &status);
    INFO(out);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains(r.reference + "  email  accepted  ") &&
                        Catch::Contains("1 acknowledgement(s) not sendable") &&
                        !Catch::Contains(erased.reference));
    CHECK_THAT(s.RunCommand({"outbox", "unsendable", "--limit", "1", "--since", "2999-01-01"}),
               Catch::Contains("0 acknowledgement(s) not sendable"));
    const std::string row =
        "SELECT status || '/' || coalesce(last_error, '') FROM outbox"
        " WHERE kind = 'ack' AND ticket_id = '" +
        r.id + "'";
    const std::string flagged = "SELECT count(*) FROM tickets WHERE id = '" + r.id +
                                "' AND routing_explanation->'flags' ? "
                                "'Eingangsbestätigung nicht sendbar: email'";
    out = s.RunCommand({"outbox", "resend-unsendable"}, &status);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains("0 acknowledgement(s) set back to be sent (senders here: none)"
                                    "; 1 left on channels without a sender here"));
    const std::string sink = Env("MELDESTELLE_SMTP_URL", "smtp://127.0.0.1:9");
    const std::vector<std::string> relay = {"MELDESTELLE_SMTP_URL=" + sink,
                                            "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example"};
    out = s.RunCommand({"outbox", "resend-unsendable", "--dry-run"}, &status, relay);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains(
                        "1 acknowledgement(s) would be set back to be sent (senders here: email)"));
    // Options of the other action are refused, and change nothing.
    s.RunCommand({"outbox", "resend-unsendable", "--limit", "5"}, &status, relay);
    CHECK(status == 2);
    s.RunCommand({"outbox", "unsendable", "--dry-run"}, &status, relay);
    CHECK(status == 2);
    CHECK_THAT(One(s, row), Catch::StartsWith("failed/no sender for"));
    out = s.RunCommand({"outbox", "resend-unsendable", "--since", "2000-01-01"}, &status, relay);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains("1 acknowledgement(s) set back to be sent"));
    CHECK(One(s, row) == "pending/");
    CHECK(s.Count(flagged) == 0);
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'note' AND ticket_id = '" +
                  r.id + "' AND note LIKE 'Eingangsbestätigung nachträglich zum Versand%'") == 1);
    CHECK_THAT(s.RunCommand({"outbox", "unsendable"}),
               Catch::Contains("0 acknowledgement(s) not sendable"));
    if (!Env("MELDESTELLE_SMTP_URL").empty()) {
      // A dispatcher with the relay sends it.
      auto dispatcher = s.StartProcess("dispatcher-with-relay", {"dispatcher"}, relay);
      INFO(dispatcher->Log());
      CHECK(
          s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'"
                         " AND ticket_id = '" +
                             r.id + "'",
                         1, std::chrono::seconds(30)));
      dispatcher->Stop();
    }
  }
  {
    // A town with an SMS account and no relay: with both contacts none (the form says the phone
    // is only for questions then), with the phone alone by SMS.
    StackOptions options;
    options.extra_env = {"MELDESTELLE_SMTP_URL=", "MELDESTELLE_TWILIO_AUTH_TOKEN=twilio-test",
                         "MELDESTELLE_TWILIO_ACCOUNT_SID=AC0123",
                         "MELDESTELLE_TWILIO_SMS_FROM=+4922100"};
    Stack s(options);
    auto [both_page, both_row] = SendForm(s, FormWithBothContacts(s.MintFormToken(10)));
    CHECK_THAT(both_page,
               Catch::Contains("Eine Bestätigung können wir Ihnen leider nicht schicken."));
    CHECK(both_row[0] == "none");
    auto items = FormWithBothContacts(s.MintFormToken(10));
    std::erase_if(items, [](const auto& item) { return item.name == "email"; });
    auto [page, row] = SendForm(s, items);
    CHECK_THAT(page, Catch::Contains("Bestätigung per SMS"));
    // The SMS goes to the number's E.164 form; the ticket keeps it as typed.
    CHECK(row == std::vector<std::string>{"sms", "+491701234567", "pending", "+49 170 1234567"});
    CHECK_THAT(s.WorkerLogs(), Catch::Contains("\"acknowledgements_sent_on\":\"sms\""));
    auto form = s.Client().Get("/");
    REQUIRE(form);
    CHECK_THAT(form->body,
               Catch::Contains("Nur für mögliche Rückfragen.") &&
                   Catch::Contains("Ohne E-Mail-Adresse erhalten Sie die Eingangsbestätigung per "
                                   "SMS, wenn Sie eine Handynummer angeben."));
  }
}

TEST_CASE("a typed message comes back from the dead-letter queue as the message it was") {
  Stack s;
  // A phone event the phone handler cannot read: dead-lettered at once. Its message id holds an
  // escape sequence, which `dead-letters list` must not hand to the operator's terminal.
  const std::string id = "m-typed\x1b[2J\x1b]0;owned\x07";
  s.PublishTyped("not a phone event", id, "phone_event",
                 {{"x-received-ms", "1764249539074"}, {"x-custom", "kept"}});
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
  int status = -1;
  std::string listing = s.RunCommand({"dead-letters", "list"}, &status);
  CHECK(status == 0);
  CHECK(listing.find('\x1b') == std::string::npos);
  CHECK(listing.find('\x07') == std::string::npos);
  CHECK_THAT(listing,
             Catch::Contains("message m-typed\\x1b[2J\\x1b]0;owned\\x07 · type phone_event"));
  CHECK_THAT(listing, Catch::Contains("reason: unparseable"));
  // Put back with no worker running, and read as it lies on the work queue.
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
  s.StopWorkers();
  std::string out = s.RunCommand({"dead-letters", "requeue"}, &status);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("1 message(s) requeued"));
  CHECK(out.find('\x1b') == std::string::npos);
  Stack::QueuedMessage m;
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.queue()) == 1; }));
  REQUIRE(s.GetMessage(s.queue(), &m));
  CHECK(m.body == "not a phone event");
  CHECK(m.type == "phone_event");
  CHECK(m.message_id == id);
  CHECK(m.headers["x-received-ms"] == "1764249539074");
  CHECK(m.headers["x-custom"] == "kept");
  // Not the dead-letter queue's own headers, nor the broker's count of deliveries.
  CHECK(m.headers.count("x-meldestelle-reason") == 0);
  CHECK(m.headers.count("x-meldestelle-message-id") == 0);
  CHECK(m.headers.count("x-meldestelle-failed-at-ms") == 0);
  // The broker counts this queue's deliveries afresh (its quorum queue may say 0); the dead-letter
  // queue's count (1 at least: `list` had it delivered and returned) is not carried over.
  CHECK((m.headers.count("x-delivery-count") == 0 || m.headers["x-delivery-count"] == "0"));
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
}

TEST_CASE("several workers share the queue without double work") {
  StackOptions options;
  options.workers = 3;
  Stack s(options);
  const int n = 60;
  for (int i = 0; i < n; ++i) {
    int status = 0;
    PostJson(s, R"({"description":"Wilder Müll Nr. )" + std::to_string(i) + R"("})", &status);
    REQUIRE(status == 202);
  }
  REQUIRE(s.WaitForCount(kTickets, n, std::chrono::seconds(60)));
  REQUIRE(WaitFor([&] { return s.QueueDepth(s.queue()) == 0; }));
  CHECK(s.Count(kTickets) == n);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'delivery'") == n);
  // Each report was written exactly once: no worker saw a duplicate.
  std::string logs = s.WorkerLogs();
  CHECK(logs.find("duplicate report ignored") == std::string::npos);
}

TEST_CASE("an unknown or mistyped reference gets 404 saying which") {
  Stack s;
  std::string ref = ReferenceGenerator(42).Next();
  auto unknown = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::parse(unknown->body)["error"]["code"] == "reference_unknown");
  std::string typo = ref;
  typo[3] = typo[3] == 'A' ? 'B' : 'A';
  auto mistyped = s.Client().Get(("/api/v1/reports/" + typo).c_str());
  REQUIRE(mistyped);
  CHECK(mistyped->status == 404);
  CHECK(json::parse(mistyped->body)["error"]["code"] == "reference_check_failed");
  auto malformed = s.Client().Get("/api/v1/reports/abc");
  REQUIRE(malformed);
  CHECK(json::parse(malformed->body)["error"]["code"] == "reference_malformed");
}

TEST_CASE("operations endpoints report health, readiness and metrics") {
  StackOptions options;
  options.worker_metrics_port = FreePort();
  Stack s(options);
  auto health = s.Client().Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  int status = 0;
  const std::string body = R"({"description":"Baum umgestürzt"})";
  PostJson(s, body, &status);
  auto bad = s.Client().Post("/api/v1/reports", "{", "application/json");
  auto m = s.Client().Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body, Catch::Contains("meldestelle_reports_received_total{channel=\"app\"} 2"));
  CHECK_THAT(m->body, Catch::Contains("meldestelle_reports_accepted_total{channel=\"app\"} 1"));
  CHECK_THAT(m->body, Catch::Contains(
                          "meldestelle_reports_rejected_total{channel=\"app\",reason=\"json_invalid\"} 1"));
  CHECK_THAT(m->body, Catch::Contains("meldestelle_confirmed_total 1"));
  // The bytes published: the raw body, and the report around it (its text given by its place in
  // the raw body), so more than the body and less than twice it with the report's own fields.
  size_t bytes_at = m->body.find("\nmeldestelle_published_bytes_total ");
  REQUIRE(bytes_at != std::string::npos);
  double published = std::stod(m->body.substr(bytes_at + 35));
  CHECK(published > static_cast<double>(body.size()) + 300);
  CHECK(published < static_cast<double>(body.size()) + 1000);
  // The worker's own metrics: processed, and the intake-to-ticket latency.
  REQUIRE(s.WaitForCount(kTickets, 1));
  httplib::Client worker("127.0.0.1", options.worker_metrics_port);
  std::string wm;
  REQUIRE(WaitFor([&] {
    auto r = worker.Get("/metrics");
    wm = r ? r->body : "";
    return wm.find("outcome=\"ticket_created\"} 1") != std::string::npos;
  }));
  CHECK_THAT(wm, Catch::Contains("meldestelle_intake_to_ticket_seconds_count 1"));
  // Sent without an Idempotency-Key, the report's raw payload is named by the worker.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE raw_ref = 'sha256:" + Sha256Hex(body) + "'") ==
        1);
  CHECK(s.Count("SELECT count(*) FROM raw_payloads WHERE sha256 = '" + Sha256Hex(body) +
                "' AND convert_from(body, 'UTF8') = '" + body + "'") == 1);  // no ' in it
  CHECK_THAT(wm, Catch::Contains("meldestelle_worker_dead_lettered_total 0"));
  auto ready = s.Client().Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->body == R"({"broker":"ok","database":"ok"})");
}

TEST_CASE(
    "an app's or a form's description travels once on the queue, in the raw payload, and the "
    "worker stores it as the citizen wrote it") {
  StackOptions options;
  options.workers = 0;  // the messages are looked at before a worker takes them
  Stack s(options);
  const std::string text = R"(Stra\u00dfe \"7\": Schlagloch \\ tief 🚧 \/Ende)";  // JSON
  const std::string want = "Straße \"7\": Schlagloch \\ tief 🚧 /Ende";
  int status = 0;
  PostJson(s, R"({"lat":50.94,"lon":6.96,"beschreibung":")" + text + R"("})", &status);
  REQUIRE(status == 202);
  httplib::MultipartFormDataItems items = {{"lat", "50.9375", "", ""},
                                           {"lon", "6.9603", "", ""},
                                           {"description", want, "", ""},
                                           {"photos", Jpeg(), "foto.jpg", "image/jpeg"}};
  auto photo = s.Client().Post("/api/v1/reports", items);
  REQUIRE(photo);
  INFO(photo->body);
  REQUIRE(photo->status == 202);
  // Trimmed by the intake: the text differs from the value given, and travels in the report.
  PostJson(s, R"({"description":"  Laterne dunkel  "})", &status);
  REQUIRE(status == 202);
  REQUIRE(s.QueueDepth(s.queue()) == 3);
  const std::vector<json> want_text{json{{"in_raw", "/beschreibung"}}, json{{"in_raw", "/2/value"}},
                                    json("Laterne dunkel")};
  for (const json& expected : want_text) {
    std::string body;
    REQUIRE(s.GetMessage(s.queue(), &body));
    INFO(body);
    json message = json::parse(body);
    CHECK(message["report"]["text"] == expected);
    if (expected.is_object())
      CHECK(body.find("Schlagloch") == body.rfind("Schlagloch"));
    s.PublishRaw(body, message["report"]["id"].get<std::string>());
  }
  s.StartWorker();
  REQUIRE(s.WaitForCount(kTickets, 3));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE text = " + Q(want)) == 2);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE text = 'Laterne dunkel'") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE report->>'text' = " + Q(want)) == 2);
}

TEST_CASE("uploads beyond the limits are refused before they are read") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  // Chunked or unsized bodies would bypass cpp-httplib's payload limit: 411 before reading.
  for (const char* te : {"chunked", "Chunked", "gzip, CHUNKED"}) {
    INFO(te);
    std::string answer = RawHttp(
        s.port(), std::string("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") +
                      te + "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
                      "5\r\nhello\r\n0\r\n\r\n");
    INFO(answer);
    CHECK(answer.rfind("HTTP/1.1 411", 0) == 0);
  }
  std::string unsized = RawHttp(s.port(),
                                "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                                "Content-Type: application/json\r\nConnection: close\r\n\r\n{}");
  CHECK(unsized.rfind("HTTP/1.1 411", 0) == 0);
  // A Content-Length over gateway.max_request_bytes: 413 with a message, nothing stored.
  std::string oversized = RawHttp(s.port(),
                                  "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\nConnection: close\r\n"
                                  "Content-Length: 61000000\r\n\r\n{\"description\":");
  CHECK(oversized.rfind("HTTP/1.1 413", 0) == 0);
  CHECK_THAT(oversized, Catch::Contains("payload_too_large"));
  CHECK(s.QueueDepth(s.queue()) == 0);
}

TEST_CASE(
    "300 slow connections from one address do not delay a report from another, they are "
    "refused beyond the address's cap or dropped at the head's deadline") {
  StackOptions options;
  options.workers = 0;
  options.edit_config = [](std::string& cfg) {
    Replace(cfg, "  header_timeout_seconds: 10\n", "  header_timeout_seconds: 3\n");
  };
  Stack s(options);
  // Each sends the start of a head and then nothing (as a slowloris client between its bytes).
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(ConnectTo(s.port(), "127.0.0.2"));
    const std::string start = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n";
    REQUIRE(send(slow.back(), start.data(), start.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(start.size()));
  }
  const std::string report = R"({"description":"Laterne dunkel","lat":50.94,"lon":6.96})";
  auto started = std::chrono::steady_clock::now();
  std::string answer = RawHttp(s.port(),
                               "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nConnection: close\r\n"
                               "Content-Length: " +
                                   std::to_string(report.size()) + "\r\n\r\n" + report,
                               "127.0.0.1");
  auto took = std::chrono::steady_clock::now() - started;
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.1 202", 0) == 0);
  CHECK(took < std::chrono::seconds(1));  // the issue's figure; it takes milliseconds
  // Beyond gateway.max_connections_per_client (16) they were answered 503 at once; the 16 were
  // held until their head's deadline and then dropped.
  int refused = 0, dropped = 0;
  for (int fd : slow) {
    std::string a = ReadAnswer(fd);
    close(fd);
    if (a.rfind("HTTP/1.1 503", 0) == 0)
      ++refused;
    else if (a.find(" 202 ") == std::string::npos)
      ++dropped;
  }
  CHECK(refused == 284);
  CHECK(dropped == 16);
  CHECK(s.QueueDepth(s.queue()) == 1);
  auto m = s.Client().Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(
      m->body,
      Catch::Contains(R"(meldestelle_http_refused_total{reason="connections_per_client"} 284)"));
  CHECK_THAT(m->body,
             Catch::Contains(R"(meldestelle_http_refused_total{reason="request_deadline"} 16)"));
}

TEST_CASE(
    "requests that used to hurt the gateway get their 4xx before a body byte is read, on every "
    "method and path, and the gateway keeps serving") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  auto refused = [&](const std::string& head, const std::string& start_of_body) {
    std::string answer = RawHttp(s.port(), head + "Connection: close\r\n\r\n" + start_of_body);
    INFO(head << "\n" << answer);
    CHECK_THAT(answer, Catch::Contains("Connection: close"));
    return answer.substr(0, 12);
  };
  // A chunked PUT (300 MB announced) to a path nobody serves: refused before the 404 would be.
  CHECK(refused("PUT /irgendwo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
                "11E1A300\r\n" + std::string(1000, 'a')) == "HTTP/1.1 411");
  CHECK(refused("PATCH /api/v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n") == "HTTP/1.1 411");
  // A compressed body (a bomb, with a wrong secret) to a webhook: 415, nothing decompressed.
  CHECK(refused("POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                "X-Telegram-Bot-Api-Secret-Token: falsch\r\nContent-Type: application/json\r\n"
                "Content-Length: 400000\r\n",
                std::string(1000, '\x1f')) == "HTTP/1.1 415");
  // A 5 MB JSON report (text padded with blanks): 413 at once, for JSON the limit is 64 KiB.
  CHECK(refused("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 5000000\r\n",
                "{\"description\": \"Schlagloch\"" + std::string(1000, ' ')) == "HTTP/1.1 413");
  // The same on Open311 and the form.
  CHECK(refused("POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 70000\r\n",
                "api_key=x") == "HTTP/1.1 413");
  CHECK(refused("POST /formular/meldung HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 70000\r\n",
                "beschreibung=") == "HTTP/1.1 413");
  // 150 header fields.
  std::string many;
  for (int i = 0; i < 150; ++i)
    many += "X-Feld-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  CHECK(refused("GET /healthz HTTP/1.1\r\nHost: x\r\n" + many, "") == "HTTP/1.1 431");
  // Two different lengths (request smuggling): 400.
  CHECK(refused("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                "Content-Length: 30\r\nContent-Type: application/json\r\n",
                "{}") == "HTTP/1.1 400");
  auto m = s.Client().Get("/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body,
             Catch::Contains("meldestelle_http_refused_total{reason=\"length_required\"} 2"));
  CHECK_THAT(m->body,
             Catch::Contains("meldestelle_http_refused_total{reason=\"payload_too_large\"} 3"));
  // Still serving: a report is accepted, a photo report over 64 KiB too (multipart).
  int status = 0;
  PostJson(s, R"({"description":"Laterne dunkel","lat":50.94,"lon":6.96})", &status);
  CHECK(status == 202);
  // A photo of 130 KB: the JPEG with two large comment segments (dropped when it is stripped).
  std::string big = Jpeg();
  for (int i = 0; i < 2; ++i) {
    std::string comment = "\xFF\xFE\xFF\xFF" + std::string(0xFFFF - 2, 'k');
    big.insert(2, comment);
  }
  REQUIRE(big.size() > 128 * 1024);
  httplib::MultipartFormDataItems items = {{"description", "Schlagloch mit Foto", "", ""},
                                           {"lat", "50.9375", "", ""},
                                           {"lon", "6.9603", "", ""},
                                           {"photos", big, "foto.jpg", "image/jpeg"}};
  auto photo = s.Client().Post("/api/v1/reports", items);
  REQUIRE(photo);
  INFO(photo->body);
  CHECK(photo->status == 202);
  CHECK(s.QueueDepth(s.queue()) == 2);
}

TEST_CASE(
    "a request that a proxy and the gateway could read as different requests gets one answer, "
    "a 4xx, and its connection ends: nothing behind it is served") {
  StackOptions options;
  options.workers = 0;
  Stack s(options);
  const std::string smuggled = "GET /meldung HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string report = R"({"description":"Laterne dunkel","lat":50.94,"lon":6.96})";
  auto answers = [&](const std::string& request) {
    std::string answer = RawHttp(s.port(), request);
    INFO(request << "\n---\n" << answer);
    size_t n = 0;
    for (size_t at = answer.find("HTTP/1.1 "); at != std::string::npos;
         at = answer.find("HTTP/1.1 ", at + 1))
      n += at == 0 || answer[at - 1] == '\n';  // a status line, not a message's words
    CHECK(n == 1);
    CHECK_THAT(answer, Catch::Contains("Connection: close"));
    return answer.substr(0, 12) + " " +
           (answer.find("\"code\":\"") == std::string::npos
                ? std::string()
                : answer.substr(answer.find("\"code\":\"") + 8,
                                answer.find('"', answer.find("\"code\":\"") + 8) -
                                    answer.find("\"code\":\"") - 8));
  };
  // A body on a GET: cpp-httplib does not read it, so it was the next request (CL.0).
  CHECK(answers("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled) ==
        "HTTP/1.1 400 body_not_allowed");
  // Field lines the library skipped, so the framing checks never saw the Transfer-Encoding.
  for (const char* hidden :
       {"Transfer-Encoding : chunked\r\n", "X-A: 1\r\n Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\n"}) {
    CHECK(answers(
              std::string("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n") + hidden +
              "Content-Type: application/json\r\nContent-Length: " + std::to_string(report.size()) +
              "\r\n\r\n" + report) == "HTTP/1.1 400 header_invalid");
  }
  // A length the library would percent-decode.
  CHECK(answers("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %33%32\r\n\r\n" + smuggled) ==
        "HTTP/1.1 400 content_length_invalid");
  // Two Content-Types: the size limit read the multipart one (60 MB), the handler the JSON one.
  CHECK(answers("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 70000\r\n\r\n"
                "[0,0,0") == "HTTP/1.1 400 header_invalid");
  // A request line the library cannot read: its 400, then the connection ends.
  CHECK(answers("FOO / HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled) == "HTTP/1.1 400 header_invalid");
  // No Host on HTTP/1.1.
  CHECK(answers("GET /healthz HTTP/1.1\r\n\r\n" + smuggled) == "HTTP/1.1 400 header_invalid");
  // Expect: 100-continue for a body over the limit: the 413 at once, no invitation to send it.
  std::string expect = RawHttp(s.port(),
                               "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                               "Content-Length: 100000000\r\n\r\n");
  CHECK(expect.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(expect.find("100 Continue") == std::string::npos);
  // Within the limit, the invitation and then the answer.
  std::string invited = RawHttp(s.port(),
                                "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                                "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                                "Connection: close\r\nContent-Length: " +
                                    std::to_string(report.size()) + "\r\n\r\n" + report);
  CHECK(invited.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202", 0) == 0);
  CHECK(s.QueueDepth(s.queue()) == 1);
  // A target in absolute-form, as a client sends it to a proxy, is routed by its path (RFC 9112
  // 3.2.2: a server must accept it), with the path's own body limit.
  std::string absolute =
      RawHttp(s.port(), "POST http://127.0.0.1:" + std::to_string(s.port()) +
                            "/api/v1/reports?lang=de HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(report.size()) + "\r\n\r\n" + report);
  CHECK(absolute.rfind("HTTP/1.1 202", 0) == 0);
  CHECK(s.QueueDepth(s.queue()) == 2);
}

TEST_CASE("a report outside the town is handed to the other authority through the outbox") {
  Stack s;
  int status = 0;
  json a = json::parse(PostJson(
      s, R"({"description":"Schlagloch auf der Landstraße","lat":51.2,"lon":7.4,)"
         R"("email":"b@example.net"})",
      &status));
  REQUIRE(status == 202);
  int inside_status = 0;
  PostJson(s, R"({"description":"Schlagloch vor Hausnummer 3","lat":50.94,"lon":6.96})",
           &inside_status);
  REQUIRE(s.WaitForCount(kTickets, 2));
  auto fw = s.Query(
      "SELECT o.address, o.payload->>'authority', o.payload->>'reference', t.rule_id"
      " FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.kind = 'forward'");
  REQUIRE(fw.size() == 1);  // only the report outside the town
  CHECK(fw[0][0].as<std::string>() == "maengel@musterkreis.example");
  CHECK(fw[0][1].as<std::string>() == "Kreisverwaltung Musterkreis");
  CHECK(fw[0][2].as<std::string>() == a["reference"].get<std::string>());
  CHECK(fw[0][3].as<std::string>() == "ausserhalb-stadtgebiet");
  auto ack = s.Query("SELECT payload->>'forwarded_to' FROM outbox WHERE kind = 'ack' AND"
                     " address = 'b@example.net'");
  REQUIRE(ack.size() == 1);
  CHECK(ack[0][0].as<std::string>() == "Kreisverwaltung Musterkreis");
}

TEST_CASE("An app report without a place is located by its photo's EXIF GPS, and the stored copy "
          "has no metadata",
          "[integration][photo]") {
  Stack s;
  std::string gps = ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) /
                             "tests/data/gps-photo.jpg");
  httplib::MultipartFormDataItems items = {
      {"description", "Straßenlaterne brennt nicht, Laterne dunkel", "", ""},
      {"photos", gps, "laterne.jpg", "image/jpeg"}};
  auto res = s.Client().Post("/api/v1/reports", items);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  auto t = s.Query("SELECT lat, lon, location_source FROM tickets");
  CHECK(t[0][0].as<double>() == Approx(50.9401).margin(1e-4));
  CHECK(t[0][1].as<double>() == Approx(6.9555).margin(1e-4));
  CHECK(t[0][2].as<std::string>() == "photo");
  std::string sha = s.Query("SELECT sha256 FROM attachments")[0][0].as<std::string>();
  std::string stored = ReadFile(s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha);
  CHECK(gps.find("Musterkamera") != std::string::npos);
  CHECK(stored.find("Musterkamera") == std::string::npos);
  auto meta = ReadPhotoMetadata(stored);
  REQUIRE(meta);
  CHECK_FALSE(meta->lat.has_value());
}

}  // namespace pipeline_test
