// FixMyStreet (mySociety's Open311 client) against the real gateway, broker, worker and
// database (docs/open311.md, "Using FixMyStreet with Meldestelle"): the requests are shaped as
// its published client sends them (tests/data/fixmystreet/README.md), the answers read as it
// reads them; a local HTTP server stands in for FixMyStreet's photo URLs.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <vector>

#include "fake_providers.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace fixmystreet_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

const char* kKey = "it-fms-key";

// The example configuration, its Open311 client's key, loopback photo hosts allowed, and two
// extra questions for potholes (STR-01) that FixMyStreet shows its citizens.
StackOptions FmsOptions(int workers = 1) {
  StackOptions o;
  o.workers = workers;
  o.extra_env = {std::string("MELDESTELLE_OPEN311_API_KEY=") + kKey,
                 "MELDESTELLE_TEST_OTHER_OPEN311_KEY=andere-app-key-123"};
  o.edit_config = [](std::string& text) {
    Replace(text, "  media_timeout_seconds: 20\n",
            "  media_timeout_seconds: 5\n  media_private_networks: true\n");
    // A second client application, to show that a client updates only its own requests.
    Replace(text, "      key: ${MELDESTELLE_OPEN311_API_KEY}\n",
            "      key: ${MELDESTELLE_OPEN311_API_KEY}\n"
            "    - client: andere-app\n      key: ${MELDESTELLE_TEST_OTHER_OPEN311_KEY}\n");
    Replace(text, "               fahrbahn, abgesackt]\n",
            "               fahrbahn, abgesackt]\n"
            "    questions:\n"
            "      - code: depth\n"
            "        text: \"Wie tief ist das Loch?\"\n"
            "        type: singlevaluelist\n"
            "        required: true\n"
            "        choices: [{key: flat, name: unter 5 cm}, {key: deep, name: über 5 cm}]\n"
            "      - code: lanes\n"
            "        text: Welche Fahrstreifen?\n"
            "        type: multivaluelist\n"
            "        choices: [{key: left, name: links}, {key: right, name: rechts}]\n");
  };
  return o;
}

std::string Data(const std::string& name) {
  return ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data/fixmystreet" / name);
}

std::string Fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    for (size_t at; (at = text.find("@" + name + "@")) != std::string::npos;)
      text.replace(at, name.size() + 2, value);
  }
  REQUIRE(text.find('@') == std::string::npos);
  return text;
}

std::string Encoded(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// A UTC time as DateTime::Format::W3CDTF writes it: 2024-05-01T08:00:00Z.
std::string W3c(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The text of every <name>…</name> in `xml` (XML::Simple's view of a repeated element), with
// the five entities undone.
std::vector<std::string> Elements(const std::string& xml, const std::string& name) {
  std::vector<std::string> out;
  std::regex re("<" + name + ">([^<]*)</" + name + ">");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), re); it != std::sregex_iterator();
       ++it) {
    std::string v = (*it)[1].str();
    for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
      for (size_t at; (at = v.find(from)) != std::string::npos;)
        v.replace(at, from.size(), to);
    }
    out.push_back(v);
  }
  return out;
}

// Each <request_update> of an answer as a map of its children.
std::vector<std::map<std::string, std::string>> RequestUpdates(const std::string& xml) {
  std::vector<std::map<std::string, std::string>> out;
  std::regex item("<request_update>(.*?)</request_update>");
  std::regex child("<([a-z_]+)>([^<]*)</\\1>");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), item); it != std::sregex_iterator();
       ++it) {
    std::string body = (*it)[1].str();
    std::map<std::string, std::string> u;
    for (auto c = std::sregex_iterator(body.begin(), body.end(), child);
         c != std::sregex_iterator(); ++c)
      u[(*c)[1].str()] = (*c)[2].str();
    out.push_back(u);
  }
  return out;
}

// A W3C date-time with an offset, as DateTime::Format::W3CDTF parses it.
bool IsW3cWithOffset(const std::string& s) {
  return std::regex_match(s, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d))"));
}

std::string CreateToken(Stack& s) {
  int status = -1;
  std::string out =
      s.RunCommand({"token", "create", "--operator", "--label", "Leitstelle"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  auto p = out.find("mst_");
  REQUIRE(p != std::string::npos);
  return out.substr(p, out.find('\n', p) - p);
}

json Staff(Stack& s, const std::string& token, const std::string& path, const json& body = {}) {
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  auto c = s.Client();
  auto res = body.is_null() ? c.Get(path.c_str(), h)
                            : c.Post(path.c_str(), h, body.dump(), "application/json");
  REQUIRE(res);
  INFO(path << ": " << res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

// The staff inbox's page of a ticket, signed in as an operator through the login form.
std::string InboxPage(Stack& s, const std::string& ref) {
  AddStaffAccount(s, "leitstelle", {"--role", "operator"}, "Leitstelle-Passwort-1");
  auto page = s.Client().Get(("/staff/tickets/" + ref).c_str(),
                             InboxSignIn(s, "leitstelle", "Leitstelle-Passwort-1"));
  REQUIRE(page);
  REQUIRE(page->status == 200);
  return page->body;
}

httplib::Result PostForm(Stack& s, const std::string& path, const std::string& body) {
  return s.Client().Post(path.c_str(), body, "application/x-www-form-urlencoded");
}

// FixMyStreet's report as it sends it, answered as it reads the answer: the id of the first
// <request>.
std::string SendReport(Stack& s, const std::string& media1, const std::string& media2) {
  auto res =
      PostForm(s, "/open311/v2/requests.xml",
               Fill(Data("post-service-request.txt"),
                    {{"API_KEY", kKey}, {"MEDIA1", Encoded(media1)}, {"MEDIA2", Encoded(media2)}}));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  auto ids = Elements(res->body, "service_request_id");
  REQUIRE(ids.size() == 1);
  CHECK(res->body.find("<service_requests><request>") != std::string::npos);
  return ids[0];
}

std::string FetchUpdates(Stack& s) {
  auto now = std::chrono::system_clock::now();
  // UpdatesBase::parse_dates: the last two hours, in UTC.
  std::string query = Fill(Data("get-service-request-updates.query"),
                           {{"API_KEY", kKey},
                            {"START", Encoded(W3c(now - std::chrono::hours(2)))},
                            {"END", Encoded(W3c(now + std::chrono::seconds(5)))}});
  auto res = s.Client().Get(("/open311/v2/servicerequestupdates.xml?" + query).c_str());
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/xml; charset=utf-8");
  CHECK(res->body.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_request_updates>",
                        0) == 0);
  return res->body;
}

}  // namespace

TEST_CASE(
    "FixMyStreet: services with questions, a report with photos and answers, its status "
    "by ids and by updates, and a comment that reopens it",
    "[open311][fixmystreet]") {
  LocalServer photos;
  photos.server().Get("/p/1.jpeg",
                      [](const auto&, auto& res) { res.set_content(Jpeg(), "image/jpeg"); });
  photos.server().Get("/p/2.jpeg", [](const auto&, auto& res) {
    res.set_content(
        ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data/rotated-photo.jpg"),
        "image/jpeg");
  });
  photos.Start();
  Stack s(FmsOptions());

  // PopulateServiceList: metadata "true" makes FixMyStreet fetch the definition.
  auto services = s.Client().Get("/open311/v2/services.xml?jurisdiction_id=musterstadt.example");
  REQUIRE(services);
  REQUIRE(services->status == 200);
  CHECK(services->body.find("<service_code>STR-01</service_code><service_name>Schlagloch"
                            "</service_name><description>Straße und Verkehr: Schlagloch"
                            "</description><metadata>true</metadata>") != std::string::npos);
  CHECK(services->body.find("<service_code>STR-02</service_code><service_name>") !=
        std::string::npos);
  auto definition =
      s.Client().Get("/open311/v2/services/STR-01.xml?jurisdiction_id=musterstadt.example");
  REQUIRE(definition);
  REQUIRE(definition->status == 200);
  CHECK(Elements(definition->body, "code") == std::vector<std::string>{"depth", "lanes"});
  CHECK(Elements(definition->body, "order") == std::vector<std::string>{"1", "2"});
  CHECK(Elements(definition->body, "required") == std::vector<std::string>{"true", "false"});
  CHECK(Elements(definition->body, "key") ==
        std::vector<std::string>{"flat", "deep", "left", "right"});

  // The report: two photos, an answer, fields we do not use.
  std::string id = SendReport(s, photos.Url("/p/1.jpeg"), photos.Url("/p/2.jpeg"));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + id + "'", 1));
  CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id"
                " WHERE t.reference = '" +
                id + "'") == 2);
  std::string op = CreateToken(s);
  json ticket = Staff(s, op, "/api/v1/tickets/" + id);
  CHECK(ticket["text"].get<std::string>().rfind("Tiefes Loch vor Hausnummer 12\n\nDas Loch", 0) ==
        0);
  CHECK(ticket["reporter"]["name"] == "Anna Beispiel");
  // FixMyStreet's own attribute[fixmystreet_id] is no question of ours: not kept.
  REQUIRE(ticket["answers"].size() == 1);
  CHECK(ticket["answers"][0] ==
        json{{"code", "depth"}, {"question", "Wie tief ist das Loch?"}, {"values", {"über 5 cm"}}});
  CHECK(ticket["attachments"].size() == 2);
  auto metrics = s.Client().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("meldestelle_open311_ignored_fields_total{client=\"default\"} 2") !=
        std::string::npos);
  CHECK_THAT(s.GatewayLog(), Catch::Contains("open311 field ignored"));

  // Status polling by ids (GetUpdates): all of a body's ids in one request line. 540 references
  // fill cpp-httplib's 8192 bytes exactly ("GET ", the target, " HTTP/1.1\r\n").
  REQUIRE(id.size() == 12);
  std::string ids = id;
  for (int i = 1; i < 540; ++i)
    ids += "%2CZZZZZZZZZZZZ";
  std::string line = "/open311/v2/requests.xml?" +
                     Fill(Data("get-service-requests.query"), {{"IDS", ids}});
  REQUIRE(line.size() == 8192 - 4 - 11);
  auto polled = s.Client().Get(line.c_str());
  REQUIRE(polled);
  CHECK(polled->status == 200);
  CHECK(Elements(polled->body, "service_request_id") == std::vector<std::string>{id});
  CHECK(Elements(polled->body, "status") == std::vector<std::string>{"open"});
  // One more: the specification's error document, not a dropped connection.
  std::string too_long = "/open311/v2/requests.xml?" +
                         Fill(Data("get-service-requests.query"),
                              {{"IDS", ids + "%2CZZZZZZZZZZZZ"}});
  auto refused = s.Client().Get(too_long.c_str());
  REQUIRE(refused);
  CHECK(refused->status == 414);
  CHECK(refused->get_header_value("Content-Type") == "text/xml; charset=utf-8");
  CHECK(refused->body.find("<errors><error><code>414</code><description>the request line is "
                           "longer than 8192 bytes") != std::string::npos);
  // Another path: our own JSON error.
  auto elsewhere = s.Client().Get(("/api/v1/reports/X?q=" + std::string(9000, 'a')).c_str());
  REQUIRE(elsewhere);
  CHECK(elsewhere->status == 414);
  CHECK(json::parse(elsewhere->body)["error"]["code"] == "uri_too_long");

  // The department takes it on and fixes it: the updates FixMyStreet fetches.
  Staff(s, op, "/api/v1/tickets/" + id + "/accept", {{"public_note", "Wird geprüft."}});
  Staff(s, op, "/api/v1/tickets/" + id + "/status",
        {{"status", "done"}, {"public_note", "Loch verfüllt."}});
  std::string feed = FetchUpdates(s);
  auto updates = RequestUpdates(feed);
  std::vector<std::map<std::string, std::string>> ours;
  for (const auto& u : updates) {
    if (u.at("service_request_id") == id)
      ours.push_back(u);
  }
  REQUIRE(ours.size() == 2);
  CHECK(ours[0].at("status") == "investigating");
  CHECK(ours[1].at("status") == "fixed");
  CHECK_THAT(ours[1].at("description"), Catch::Contains("Loch verfüllt."));
  std::set<std::string> update_ids;
  for (const auto& u : ours) {
    CHECK_FALSE(u.at("update_id").empty());
    CHECK(u.at("update_id") != "0");
    update_ids.insert(u.at("update_id"));
    CHECK(IsW3cWithOffset(u.at("updated_datetime")));
    CHECK(u.count("media_url") == 1);
  }
  CHECK(update_ids.size() == 2);
  // The same window again: the same ids (FixMyStreet skips what it has).
  auto again = RequestUpdates(FetchUpdates(s));
  std::set<std::string> again_ids;
  for (const auto& u : again) {
    if (u.at("service_request_id") == id)
      again_ids.insert(u.at("update_id"));
  }
  CHECK(again_ids == update_ids);
  // The whole window lies before the report: nothing.
  auto empty = s.Client().Get(
      "/open311/v2/servicerequestupdates.xml?start_date=2001-01-01T00%3A00%3A00Z"
      "&end_date=2001-01-01T02%3A00%3A00Z");
  REQUIRE(empty);
  CHECK(empty->body ==
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_request_updates>"
        "</service_request_updates>\n");

  // A comment written right after the closing, before FixMyStreet fetched it (it sends OPEN with
  // every comment on a report it thinks open): kept for staff, the ticket stays done.
  auto now = std::chrono::system_clock::now();
  std::string early_body = Fill(Data("post-service-request-update.txt"),
                                {{"API_KEY", kKey},
                                 {"UPDATED", Encoded(W3c(now))},
                                 {"ID", id},
                                 {"MEDIA1", Encoded(photos.Url("/p/2.jpeg"))}});
  Replace(early_body, "update_id=9001", "update_id=9000");
  auto early = PostForm(s, "/open311/v2/servicerequestupdates.xml", early_body);
  REQUIRE(early);
  REQUIRE(early->status == 200);
  std::string early_id = Elements(early->body, "update_id").at(0);
  REQUIRE(WaitFor([&] { return s.WorkerLogs().find(early_id) != std::string::npos; }));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + id +
                "' AND status = 'done'") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 1);

  // The citizen says on FixMyStreet that it is still there, after the report was closed there: a
  // comment with status OPEN, written later than the grace time after our closing.
  std::string update_body =
      Fill(Data("post-service-request-update.txt"),
           {{"API_KEY", kKey},
            {"UPDATED", Encoded(W3c(now + std::chrono::minutes(16)))},
            {"ID", id},
            {"MEDIA1", Encoded(photos.Url("/p/2.jpeg"))}});
  auto posted = PostForm(s, "/open311/v2/servicerequestupdates.xml", update_body);
  REQUIRE(posted);
  INFO(posted->body);
  REQUIRE(posted->status == 200);
  auto posted_ids = Elements(posted->body, "update_id");
  REQUIRE(posted_ids.size() == 1);
  CHECK(posted_ids[0] != early_id);
  CHECK(posted->body.find("<service_request_updates><request_update><update_id>") !=
        std::string::npos);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM tickets WHERE reference = '" + id + "' AND status = 'accepted'", 1));
  ticket = Staff(s, op, "/api/v1/tickets/" + id);
  REQUIRE(ticket["followups"].size() == 2);
  CHECK(ticket["followups"][1]["channel"] == "open311");
  CHECK(ticket["followups"][1]["text"] == "Das Loch ist immer noch da, jetzt noch größer.");
  CHECK(ticket["followups"][1]["photos"] == 1);
  CHECK(ticket["closed_at"].is_null());
  CHECK(ticket["public_note"] == "");  // "Loch verfüllt." no longer stands
  CHECK(ticket["history"].back()["action"] == "reopened");
  CHECK(ticket["history"].back()["actor"] == "citizen:open311:default");
  // Staff see the answer and the comments in the inbox too.
  std::string page = InboxPage(s, id);
  CHECK_THAT(page, Catch::Contains("<h2>Zusatzangaben</h2><dl id=\"zusatzangaben\"><dt>Wie tief ist "
                                   "das Loch?</dt><dd>über 5 cm</dd></dl>"));
  CHECK_THAT(page, Catch::Contains("open311: Das Loch ist immer noch da, jetzt noch größer. (1 Foto)"));
  CHECK_THAT(page, Catch::Contains("wieder geöffnet"));
  // The department is told (its e-mail delivery, reason "reopened").
  CHECK(
      s.WaitForCount("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                     " WHERE t.reference = '" +
                         id + "' AND o.payload->>'reason' = 'reopened'",
                     1));
  // FixMyStreet sends it again (it did not see our answer): the same update_id, kept once,
  // reopened once.
  Staff(s, op, "/api/v1/tickets/" + id + "/status", {{"status", "done"}});
  auto resent = PostForm(s, "/open311/v2/servicerequestupdates.xml", update_body);
  REQUIRE(resent);
  REQUIRE(resent->status == 200);
  CHECK(Elements(resent->body, "update_id") == posted_ids);
  REQUIRE(WaitFor([&] {
    std::string logs = s.WorkerLogs();
    size_t first = logs.find(posted_ids[0]);
    return first != std::string::npos && logs.find(posted_ids[0], first + 1) != std::string::npos;
  }));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 2);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'reopened'") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + id +
                "' AND status = 'done'") == 1);
  // The reopening is in the feed under the update_id FixMyStreet was given: it skips it.
  bool listed = false;
  for (const auto& u : RequestUpdates(FetchUpdates(s))) {
    if (u.at("service_request_id") == id && u.at("update_id") == posted_ids[0]) {
      listed = true;
      CHECK(u.at("status") == "open");
    }
  }
  CHECK(listed);
  // Another client may not comment on this client's request.
  auto foreign = PostForm(s, "/open311/v2/servicerequestupdates.xml",
                          "api_key=andere-app-key-123&service_request_id=" + id +
                              "&status=REOPEN&description=fremd");
  REQUIRE(foreign);
  CHECK(foreign->status == 404);

  // Broken updates: precise errors in the specification's format, nothing queued.
  auto unknown = PostForm(s, "/open311/v2/servicerequestupdates.xml",
                          std::string("api_key=") + kKey +
                              "&service_request_id=ZZZZZZZZZZZZ&status=OPEN&description=x");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(unknown->body.find("<code>404</code><description>service_request_id ZZZZZZZZZZZZ not "
                           "found</description>") != std::string::npos);
  auto no_key = PostForm(s, "/open311/v2/servicerequestupdates.xml",
                         "service_request_id=" + id + "&status=OPEN&description=x");
  REQUIRE(no_key);
  CHECK(no_key->status == 403);
  auto bad = PostForm(
      s, "/open311/v2/servicerequestupdates.json",
      std::string("api_key=") + kKey + "&service_request_id=" + id + "&updated_datetime=gestern");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body).size() == 2);
}

TEST_CASE(
    "FixMyStreet: a report merged into another shows that ticket's status, in requests "
    "and in updates",
    "[open311][fixmystreet]") {
  Stack s(FmsOptions());
  auto form = [](const std::string& text) {
    return FormUrlEncode({{"api_key", kKey},
                          {"service_code", "STR-01"},
                          {"lat", "50.937531"},
                          {"long", "6.960279"},
                          {"description", text},
                          {"attribute[depth]", "flat"}});
  };
  auto first = PostForm(s, "/open311/v2/requests.json", form("Loch"));
  REQUIRE(first);
  REQUIRE(first->status == 200);
  std::string a = json::parse(first->body)[0]["service_request_id"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + a + "'", 1));
  auto second = PostForm(s, "/open311/v2/requests.json", form("Das gleiche Loch"));
  REQUIRE(second);
  REQUIRE(second->status == 200);
  std::string b = json::parse(second->body)[0]["service_request_id"];
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM tickets WHERE reference = '" + b + "' AND status = 'duplicate'", 1));
  auto status_of = [&](const std::string& ref) {
    auto res = s.Client().Get(("/open311/v2/requests/" + ref + ".json").c_str());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return json::parse(res->body)[0];
  };
  // Open while the ticket it joined is open (FixMyStreet maps "closed" to "fixed").
  CHECK(status_of(b)["status"] == "open");
  auto open_list = s.Client().Get(
      ("/open311/v2/requests.json?status=open&service_request_id=" + a + "," + b).c_str());
  REQUIRE(open_list);
  CHECK(json::parse(open_list->body).size() == 2);
  std::string op = CreateToken(s);
  Staff(s, op, "/api/v1/tickets/" + a + "/status",
        {{"status", "done"}, {"public_note", "Beide Löcher verfüllt."}});
  json closed = status_of(b);
  CHECK(closed["status"] == "closed");
  CHECK(closed["status_notes"] == "Beide Löcher verfüllt.");
  // The joined ticket's change is in the updates of both requests.
  auto res = s.Client().Get("/open311/v2/servicerequestupdates.json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  std::map<std::string, std::string> status_by_request;
  for (const auto& u : json::parse(res->body))
    status_by_request[u["service_request_id"]] = u["status"];
  CHECK(status_by_request[a] == "fixed");
  CHECK(status_by_request[b] == "fixed");
  // "Still broken" on the duplicate: the comment and the reopening go to the ticket staff work on.
  auto update = PostForm(s, "/open311/v2/servicerequestupdates.json",
                         FormUrlEncode({{"api_key", kKey},
                                        {"service_request_id", b},
                                        {"status", "REOPEN"},
                                        {"description", "Das zweite Loch ist noch da."}}));
  REQUIRE(update);
  REQUIRE(update->status == 200);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM tickets WHERE reference = '" + a + "' AND status = 'accepted'", 1));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups f JOIN tickets t ON t.id = f.ticket_id"
                " WHERE t.reference = '" + a + "' AND f.text = 'Das zweite Loch ist noch da.'") ==
        1);
  CHECK(status_of(b)["status"] == "open");
}

TEST_CASE("FixMyStreet: tokens and requests answer as soon as the POST was answered",
          "[open311][fixmystreet]") {
  Stack s(FmsOptions(/*workers=*/0));  // nobody writes the ticket
  auto res = PostForm(s, "/open311/v2/requests.xml",
                      FormUrlEncode({{"api_key", kKey},
                                     {"service_code", "STR-02"},
                                     {"address_string", "Mühlenweg 12"},
                                     {"description", "Platte lose"}}));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  std::string id = Elements(res->body, "service_request_id").at(0);
  auto token = s.Client().Get(("/open311/v2/tokens/" + id + ".xml").c_str());
  REQUIRE(token);
  CHECK(token->status == 200);
  CHECK(Elements(token->body, "service_request_id") == std::vector<std::string>{id});
  auto request = s.Client().Get(("/open311/v2/requests/" + id + ".json").c_str());
  REQUIRE(request);
  CHECK(request->status == 200);
  CHECK(json::parse(request->body)[0]["status"] == "open");
  CHECK(s.Count("SELECT count(*) FROM tickets") == 0);
  CHECK(s.QueueDepth(s.queue()) == 1);
}

}  // namespace fixmystreet_test
