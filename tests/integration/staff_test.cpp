// The staff API and tokens (docs/api.md) against the real gateway, worker, broker and database.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/crypto.hpp"
#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace staff_test {

using meldestelle::testing::ReadFile;
using meldestelle::testing::Stack;
using nlohmann::json;

namespace {

// Creates a token with `meldestelle token create`; returns the bearer secret.
std::string CreateToken(Stack& s, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"token", "create"};
  argv.insert(argv.end(), args.begin(), args.end());
  int status = -1;
  std::string out = s.RunCommand(argv, &status);
  INFO(out);
  REQUIRE(status == 0);
  // The secret is the one line that starts with mst_.
  auto p = out.find("mst_");
  REQUIRE(p != std::string::npos);
  return out.substr(p, out.find('\n', p) - p);
}

// Submits a report through the app API and waits for its ticket; returns the reference.
std::string ReportAt(Stack& s, const std::string& category, double lat, double lon,
                     const std::string& email = "buerger@example.net",
                     const std::string& text = "Tiefes Loch in der Fahrbahn") {
  json body{{"description", text},
            {"category", category},
            {"lat", lat},
            {"lon", lon},
            {"language", "de"}};
  if (!email.empty())
    body["email"] = email;
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string ref = json::parse(res->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + ref + "'", 1));
  return ref;
}

struct Answer {
  int status = 0;
  json body;
};

Answer Call(Stack& s, const std::string& method, const std::string& path, const std::string& token,
            const std::string& body = "") {
  httplib::Headers h;
  if (!token.empty())
    h.emplace("Authorization", "Bearer " + token);
  auto c = s.Client();
  httplib::Result res =
      method == "GET" ? c.Get(path.c_str(), h) : c.Post(path.c_str(), h, body, "application/json");
  REQUIRE(res);
  Answer a;
  a.status = res->status;
  a.body = json::parse(res->body, nullptr, false);
  return a;
}

long long StatusRows(Stack& s, const std::string& ref, const std::string& event) {
  return s.Count(
      "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.kind = 'status'"
      " AND t.reference = '" +
      ref + "' AND o.payload->>'event' = '" + event + "'");
}

}  // namespace

TEST_CASE("staff API: a department sees and works only its own tickets, with history", "[staff]") {
  Stack s;
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt", "--label", "Frau Berg"});
  std::string gruen = CreateToken(s, {"--department", "gruenflaechenamt", "--label", "Herr Linde"});
  std::string ref = ReportAt(s, "STR-01", 50.948, 6.975);

  SECTION("no token or a wrong one is 401 and shows nothing") {
    CHECK(Call(s, "GET", "/api/v1/tickets", "").status == 401);
    auto bad = Call(s, "GET", "/api/v1/tickets",
                    "mst_00000000_000000000000000000000000000000000000000000000000");
    CHECK(bad.status == 401);
    CHECK(bad.body["error"]["code"] == "unauthorized");
    CHECK(Call(s, "GET", "/api/v1/tickets/" + ref, "garbage").status == 401);
  }

  SECTION("the list and the ticket carry the department's id and name") {
    auto list = Call(s, "GET", "/api/v1/tickets", tiefbau);
    REQUIRE(list.status == 200);
    REQUIRE(list.body["total"] == 1);
    CHECK(list.body["items"][0]["reference"] == ref);
    CHECK(list.body["items"][0]["department"]["id"] == "tiefbauamt");
    CHECK(list.body["items"][0]["department"]["name"] == "Tiefbauamt");
    // The Tiefbauamt may not see the citizen's contact (show_reporter_contact is off).
    CHECK(list.body["items"][0]["reporter"].is_null());
    auto one = Call(s, "GET", "/api/v1/tickets/" + ref, tiefbau);
    REQUIRE(one.status == 200);
    CHECK(one.body["history"][0]["action"] == "routed");
    CHECK(one.body["history"][0]["to_department"] == "tiefbauamt");
  }

  SECTION("another department gets 404 for the ticket and an empty list") {
    auto other = Call(s, "GET", "/api/v1/tickets/" + ref, gruen);
    CHECK(other.status == 404);
    CHECK(other.body["error"]["code"] == "not_found");
    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/accept", gruen).status == 404);
    CHECK(Call(s, "GET", "/api/v1/tickets", gruen).body["total"] == 0);
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'accepted'") == 0);
  }

  SECTION("accept, in progress, done: each recorded once, each told to the citizen once") {
    auto a = Call(s, "POST", "/api/v1/tickets/" + ref + "/accept", tiefbau);
    REQUIRE(a.status == 200);
    CHECK(a.body["status"] == "accepted");
    CHECK(a.body["changed"] == true);
    CHECK(!a.body["accepted_at"].is_null());
    // Accepting again changes nothing and tells nobody again.
    auto again = Call(s, "POST", "/api/v1/tickets/" + ref + "/accept", tiefbau);
    CHECK(again.status == 200);
    CHECK(again.body["changed"] == false);
    CHECK(StatusRows(s, ref, "accepted") == 1);

    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/status", tiefbau,
               R"({"status":"in_progress"})")
              .status == 200);
    auto done = Call(s, "POST", "/api/v1/tickets/" + ref + "/status", tiefbau,
                     R"({"status":"done","public_note":"Das Loch ist verfüllt."})");
    REQUIRE(done.status == 200);
    CHECK(done.body["status"] == "done");
    CHECK(done.body["public_note"] == "Das Loch ist verfüllt.");
    CHECK(!done.body["closed_at"].is_null());
    CHECK(StatusRows(s, ref, "in_progress") == 1);
    CHECK(StatusRows(s, ref, "done") == 1);
    auto row = s.Query(
        "SELECT o.channel, o.address, o.payload->>'note' FROM outbox o"
        " WHERE o.kind = 'status' AND o.payload->>'event' = 'done'");
    REQUIRE(row.size() == 1);
    CHECK(row[0][0].as<std::string>() == "email");
    CHECK(row[0][1].as<std::string>() == "buerger@example.net");
    CHECK(row[0][2].as<std::string>() == "Das Loch ist verfüllt.");

    // A closed ticket cannot be handed back or set again.
    auto late = Call(s, "POST", "/api/v1/tickets/" + ref + "/hand-back", tiefbau,
                     R"({"reason":"doch nicht"})");
    CHECK(late.status == 409);
    CHECK(late.body["error"]["code"] == "ticket_closed");

    auto one = Call(s, "GET", "/api/v1/tickets/" + ref, tiefbau);
    std::vector<std::string> actions;
    for (const auto& h : one.body["history"])
      actions.push_back(h["action"]);
    CHECK(actions == std::vector<std::string>{"routed", "accepted", "status", "status"});
    std::string actor = one.body["history"][1]["actor"];
    CHECK(actor.rfind("Frau Berg (token ", 0) == 0);
    CHECK(one.body["history"][1]["actor_department"] == "tiefbauamt");
  }

  SECTION("bad requests are refused precisely and change nothing") {
    auto a =
        Call(s, "POST", "/api/v1/tickets/" + ref + "/status", tiefbau, R"({"status":"rejected"})");
    CHECK(a.status == 400);
    CHECK(a.body["error"]["code"] == "invalid_request");
    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/status", tiefbau, R"({"status":"weg"})")
              .status == 400);
    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/status", tiefbau, R"({"status":)")
              .body["error"]["code"] == "invalid_json");
    CHECK(
        Call(s, "POST", "/api/v1/tickets/" + ref + "/accept", tiefbau, R"({"wer":"ich"})").status ==
        400);
    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/hand-back", tiefbau, "{}").status == 400);
    CHECK(Call(s, "POST", "/api/v1/tickets/" + ref + "/notes", tiefbau, R"({"note":42})").status ==
          400);
    // A mistyped reference (check character) is 404 with a reason.
    std::string typo = ref;
    typo[3] = typo[3] == 'A' ? 'B' : 'A';
    auto t = Call(s, "GET", "/api/v1/tickets/" + typo, tiefbau);
    CHECK(t.status == 404);
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action <> 'routed'") == 0);
    CHECK(s.Count("SELECT count(*) FROM tickets WHERE status <> 'assigned'") == 0);
  }

  SECTION("hand back with a reason, an internal note stays internal") {
    CHECK(
        Call(s, "POST", "/api/v1/tickets/" + ref + "/notes", tiefbau, R"({"note":"Bauhof fragen"})")
            .status == 200);
    CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 0);
    auto h = Call(s, "POST", "/api/v1/tickets/" + ref + "/hand-back", tiefbau,
                  R"({"reason":"Privatgrundstück, nicht städtisch"})");
    REQUIRE(h.status == 200);
    CHECK(h.body["changed"] == true);
    auto t =
        s.Query("SELECT excluded_departments::text FROM tickets WHERE reference = '" + ref + "'");
    CHECK(t[0][0].as<std::string>() == "{tiefbauamt}");
    // The worker re-routes it without the Tiefbauamt (workers/ticket_jobs), which then no
    // longer sees it.
    CHECK(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + ref +
                             "' AND status = 'assigned' AND department_id <> 'tiefbauamt'",
                         1));
    CHECK(Call(s, "GET", "/api/v1/tickets/" + ref, tiefbau).status == 404);
    CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'handed_back' AND note ="
                  " 'Privatgrundstück, nicht städtisch' AND from_department = 'tiefbauamt'") == 1);
  }
}

TEST_CASE("staff API: marking a duplicate links the tickets and tells both reporters", "[staff]") {
  Stack s;
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt", "--label", "Frau Berg"});
  std::string first = ReportAt(s, "STR-01", 50.948, 6.975, "erste@example.net");
  std::string second = ReportAt(s, "STR-02", 50.9482, 6.9752, "zweite@example.net",
                                "Gehwegplatte locker neben dem Loch");
  auto d = Call(s, "POST", "/api/v1/tickets/" + second + "/duplicate", tiefbau,
                json{{"duplicate_of", first}}.dump());
  INFO(d.body.dump());
  REQUIRE(d.status == 200);
  CHECK(d.body["status"] == "duplicate");
  CHECK(d.body["duplicate_of"] == first);
  // The second reporter is told the reference it was merged into.
  auto told = s.Query(
      "SELECT address, payload->>'merged_into' FROM outbox"
      " WHERE kind = 'status' AND payload->>'event' = 'duplicate'");
  REQUIRE(told.size() == 1);
  CHECK(told[0][0].as<std::string>() == "zweite@example.net");
  CHECK(told[0][1].as<std::string>() == first);
  // From now on, a change of the first ticket reaches both reporters, once each.
  REQUIRE(Call(s, "POST", "/api/v1/tickets/" + first + "/accept", tiefbau).status == 200);
  auto both = s.Query(
      "SELECT address FROM outbox WHERE kind = 'status'"
      " AND payload->>'event' = 'accepted' ORDER BY address");
  REQUIRE(both.size() == 2);
  CHECK(both[0][0].as<std::string>() == "erste@example.net");
  CHECK(both[1][0].as<std::string>() == "zweite@example.net");
  CHECK(Call(s, "GET", "/api/v1/tickets/" + first, tiefbau).body["reporters"] == 2);
  // The merge is recorded on the original too, naming the merged ticket.
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE t.reference = '" +
                first + "' AND h.details->>'merged' = '" + second + "'") == 1);
  // The duplicate itself cannot be worked on; a ticket cannot duplicate itself.
  CHECK(Call(s, "POST", "/api/v1/tickets/" + second + "/accept", tiefbau).status == 409);
  CHECK(Call(s, "POST", "/api/v1/tickets/" + first + "/duplicate", tiefbau,
             json{{"duplicate_of", second}}.dump())
            .status == 400);
  // Another department's ticket cannot be linked to, nor probed: the same answer as for none.
  std::string tree = ReportAt(s, "GRU-01", 50.9405, 6.9405, "baum@example.net", "Baum umgestürzt");
  REQUIRE(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + tree +
                  "' AND department_id <> 'tiefbauamt'") == 1);
  std::string third = ReportAt(s, "STR-03", 50.9435, 6.9405, "", "Glatteis auf dem Gehweg");
  auto probe = Call(s, "POST", "/api/v1/tickets/" + third + "/duplicate", tiefbau,
                    json{{"duplicate_of", tree}}.dump());
  CHECK(probe.status == 400);
  auto none = Call(s, "POST", "/api/v1/tickets/" + third + "/duplicate", tiefbau,
                   json{{"duplicate_of", "ZZZZZZZZZZZZ"}}.dump());
  CHECK(none.status == 400);
  CHECK(probe.body["error"]["message"].get<std::string>().find("for this department") !=
        std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE status = 'duplicate'") == 1);
  // An operator may merge across departments.
  std::string op = CreateToken(s, {"--operator", "--label", "Leitstelle"});
  CHECK(Call(s, "POST", "/api/v1/tickets/" + third + "/duplicate", op,
             json{{"duplicate_of", tree}}.dump())
            .status == 200);
}

TEST_CASE("staff inbox: login sets the session, forms need their token, error texts are fixed",
          "[staff]") {
  Stack s;
  const std::string pw = "Pflaster-und-Kies-2026";
  AddStaffAccount(s, "frau.berg", {"--department", "tiefbauamt", "--name", "Frau Berg"}, pw);
  // A department's token is for machines: the inbox's form does not take it.
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt", "--label", "Fachverfahren"});
  std::string ref = ReportAt(s, "STR-01", 50.948, 6.975);
  auto c = s.Client();
  auto bare = c.Get("/staff");
  REQUIRE(bare);
  CHECK(bare->status == 303);
  CHECK(bare->get_header_value("Location").rfind("/staff/login", 0) == 0);
  // The login page sets its cookie and signs it into the form (login CSRF).
  auto form = c.Get("/staff/login");
  REQUIRE(form);
  std::string login_cookie = form->get_header_value("Set-Cookie");
  REQUIRE(login_cookie.rfind("ms_login=", 0) == 0);
  CHECK(login_cookie.find("Path=/staff/login") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(form->body, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  const std::string login_csrf = m[1];
  httplib::Headers with_page{{"Cookie", login_cookie.substr(0, login_cookie.find(';'))}};
  auto post_login = [&](const std::string& fields, const httplib::Headers& headers) {
    return c.Post("/staff/login", headers, fields, "application/x-www-form-urlencoded");
  };
  // Posted from elsewhere (no cookie, or no signature): the login page again, no session.
  const std::string account = "benutzer=frau.berg&passwort=" + pw;
  for (const auto& [fields, headers] : std::vector<std::pair<std::string, httplib::Headers>>{
           {account + "&csrf=" + login_csrf, {}},
           {account, with_page},
           {account + "&csrf=" + std::string(32, '0'), with_page}}) {
    auto r = post_login(fields, headers);
    REQUIRE(r);
    CHECK(r->status == 303);
    CHECK(r->get_header_value("Location").rfind("/staff/login?fehler=seite", 0) == 0);
    CHECK(r->get_header_value("Set-Cookie").empty());
  }
  CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 0);
  for (const std::string& fields : std::vector<std::string>{
           "benutzer=frau.berg&passwort=falsch&weiter=/staff",
           "token=" + tiefbau + "&weiter=/staff", "benutzer=frau.berg&passwort=&weiter=/staff",
           "benutzer=" + tiefbau + "&passwort=" + pw}) {
    auto wrong = post_login(fields + "&csrf=" + login_csrf, with_page);
    REQUIRE(wrong);
    INFO(fields);
    CHECK(wrong->get_header_value("Location").rfind("/staff/login?fehler=1", 0) == 0);
    CHECK(wrong->get_header_value("Set-Cookie").empty());
  }
  auto wrong_page = c.Get("/staff/login?fehler=1");
  REQUIRE(wrong_page);
  CHECK(wrong_page->body.find("Benutzername oder Passwort ist falsch.") != std::string::npos);
  // After login only paths under /staff are followed (no open redirect); the name is typed as
  // people type it.
  auto login = post_login(
      "benutzer=+Frau.Berg+&passwort=" + pw + "&weiter=https://evil.example/&csrf=" + login_csrf,
      with_page);
  REQUIRE(login);
  CHECK(login->status == 303);
  CHECK(login->get_header_value("Location") == "/staff");
  std::string cookie = login->get_header_value("Set-Cookie", 0);
  CHECK(cookie.rfind("ms_staff=", 0) == 0);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Max-Age=43200") != std::string::npos);
  // The cookie holds a random session id; the database only its hash, and who signed in.
  const std::string session_id = cookie.substr(9, cookie.find(';') - 9);
  CHECK(session_id.size() == 64);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE username = 'frau.berg' AND source ="
                " 'local' AND department_id = 'tiefbauamt'") == 1);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions WHERE id_sha256 = " +
                meldestelle::testing::Q(meldestelle::Sha256Hex(session_id))) == 1);
  httplib::Headers h{{"Cookie", cookie.substr(0, cookie.find(';'))}};
  auto page =
      c.Get(("/staff/tickets/" + ref + "?fehler=Bitte%20neuen%20Schl%C3%BCssel").c_str(), h);
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("neuen Schl") == std::string::npos);
  auto known = c.Get(("/staff/tickets/" + ref + "?fehler=grund").c_str(), h);
  REQUIRE(known);
  CHECK(known->body.find("Bitte geben Sie einen Grund") != std::string::npos);
  // A form without its token (another site posting it) changes nothing.
  auto forged = c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), h, "aktion=accept&csrf=x",
                       "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE status = 'accepted'") == 0);
  // Logout needs the session's token too; then the session is gone and its cookie worthless.
  auto forged_logout = c.Post("/staff/logout", h, "csrf=x", "application/x-www-form-urlencoded");
  REQUIRE(forged_logout);
  CHECK(forged_logout->status == 403);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 1);
  std::smatch csrf;
  REQUIRE(std::regex_search(page->body, csrf, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  // What she does is recorded as hers.
  auto accepted =
      c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), h,
             "aktion=accept&csrf=" + csrf[1].str(), "application/x-www-form-urlencoded");
  REQUIRE(accepted);
  CHECK(accepted->status == 303);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'accepted'"
                " AND actor = 'Frau Berg (frau.berg)' AND actor_department = 'tiefbauamt'") == 1);
  // A note of 1,700 Cyrillic characters: 10 KB as a form, beyond cpp-httplib's own 8 KiB for a
  // url-encoded body, within the inbox's 5,000 characters.
  std::string cyrillic;
  for (int i = 0; i < 1700; ++i)
    cyrillic += "ж";
  const std::string note_form = "aktion=notes&csrf=" + csrf[1].str() +
                                "&note=" + httplib::detail::encode_query_param(cyrillic);
  REQUIRE(note_form.size() > 8192);
  auto long_note = c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), h, note_form,
                          "application/x-www-form-urlencoded");
  REQUIRE(long_note);
  CHECK(long_note->status == 303);
  CHECK(long_note->get_header_value("Location") == "/staff/tickets/" + ref + "?ok=notes");
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'note' AND note = " +
                meldestelle::testing::Q(cyrillic)) == 1);
  // A control character (a bell from a pasted template) is refused with its own message; a NUL
  // would have cut the note in the database.
  for (const std::string bad : {"Klingel%07", "vorher%00nachher"}) {
    auto refused = c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), h,
                          "aktion=notes&csrf=" + csrf[1].str() + "&note=" + bad,
                          "application/x-www-form-urlencoded");
    REQUIRE(refused);
    CHECK(refused->status == 303);
    CHECK(refused->get_header_value("Location") ==
          "/staff/tickets/" + ref + "?fehler=steuerzeichen");
  }
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'note'") == 1);
  auto explained = c.Get(("/staff/tickets/" + ref + "?fehler=steuerzeichen").c_str(), h);
  REQUIRE(explained);
  CHECK(explained->body.find("Steuerzeichen") != std::string::npos);
  // Every staff page, an error page too, is kept by no browser or proxy.
  auto unknown = c.Get("/staff/tickets/ZZZZZZZZZZZZ", h);
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(unknown->get_header_value("Cache-Control") == "no-store");
  auto logout =
      c.Post("/staff/logout", h, "csrf=" + csrf[1].str(), "application/x-www-form-urlencoded");
  REQUIRE(logout);
  CHECK(logout->status == 303);
  CHECK(logout->get_header_value("Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(logout->get_header_value("Clear-Site-Data") == "\"cache\"");
  CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 0);
  // A form sent after the session ended: back to the ticket's page after signing in (its
  // action's address answers only POST), with word that the text was not kept.
  auto late = c.Post(("/staff/tickets/" + ref + "/aktion").c_str(), h,
                     "aktion=notes&csrf=" + csrf[1].str() + "&note=zu+spaet",
                     "application/x-www-form-urlencoded");
  REQUIRE(late);
  CHECK(late->status == 303);
  CHECK(late->get_header_value("Location") ==
        "/staff/login?fehler=abgelaufen&weiter=/staff/tickets/" + ref);
  auto late_page = c.Get("/staff/login?fehler=abgelaufen");
  REQUIRE(late_page);
  CHECK(late_page->body.find("wurde nicht gespeichert") != std::string::npos);
  auto after = c.Get("/staff", h);
  REQUIRE(after);
  CHECK(after->status == 303);
  CHECK(after->get_header_value("Location").rfind("/staff/login", 0) == 0);
}

TEST_CASE(
    "staff inbox sessions end when idle, after their hours, when the account is disabled and with "
    "a new password",
    "[staff]") {
  Stack s;
  std::string pw = "Herr-Stein-sein-Passwort";
  AddStaffAccount(s, "stein", {"--department", "tiefbauamt", "--name", "Herr Stein"}, pw);
  auto c = s.Client();
  auto status = [&](const httplib::Headers& h) {
    auto r = c.Get("/staff", h);
    REQUIRE(r);
    return r->status;
  };
  auto idle = InboxSignIn(s, "stein", pw);
  CHECK(status(idle) == 200);
  s.Query("UPDATE staff_sessions SET last_seen = now() - interval '31 minutes'");
  CHECK(status(idle) == 303);
  CHECK(s.Count("SELECT count(*) FROM staff_sessions") == 0);  // the ended one is deleted
  auto old = InboxSignIn(s, "stein", pw);
  s.Query("UPDATE staff_sessions SET created_at = now() - interval '13 hours'");
  CHECK(status(old) == 303);
  // Disabled: the open session ends at once, and no new one is opened.
  auto disabled = InboxSignIn(s, "stein", pw);
  CHECK(status(disabled) == 200);
  int rc = -1;
  std::string out = s.RunCommand({"staff", "disable", "stein"}, &rc);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(status(disabled) == 303);
  auto refused = PostSignIn(s, "stein", pw);
  REQUIRE(refused);
  CHECK(refused->get_header_value("Location").rfind("/staff/login?fehler=1", 0) == 0);
  // Even a session the command did not end (a row left over) ends when the account is disabled.
  REQUIRE(s.RunCommand({"staff", "enable", "stein"}, &rc).find("enabled stein") !=
          std::string::npos);
  auto again = InboxSignIn(s, "stein", pw);
  s.Query("UPDATE staff_accounts SET disabled_at = now()");
  CHECK(status(again) == 303);
  s.Query("UPDATE staff_accounts SET disabled_at = NULL");
  // A new password ends the sessions of the old one.
  auto before = InboxSignIn(s, "stein", pw);
  const std::string new_pw = "Ein-ganz-neues-Passwort";
  out = s.RunShell(
      "printf '%s\\n' '" + new_pw + "' | \"$MELDESTELLE\" staff password stein --password-stdin",
      &rc);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(status(before) == 303);
  CHECK(
      PostSignIn(s, "stein", pw)->get_header_value("Location").rfind("/staff/login?fehler=1", 0) ==
      0);
  CHECK(status(InboxSignIn(s, "stein", new_pw)) == 200);
  // A made-up id is no session.
  CHECK(status({{"Cookie", "ms_staff=" + std::string(64, 'a')}}) == 303);
}

TEST_CASE("staff API: filters and pages, operators see every department", "[staff]") {
  Stack s;
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt"});
  std::string op = CreateToken(s, {"--operator", "--label", "Leitstelle"});
  std::string altstadt = ReportAt(s, "STR-01", 50.948, 6.975);
  std::string nordstadt = ReportAt(s, "STR-02", 50.945, 6.950, "", "Gehwegplatte kaputt");
  std::string grün = ReportAt(s, "GRU-01", 50.9405, 6.9405, "", "Baum umgestürzt");
  auto dept = [&](const std::string& r) {
    return s.Query("SELECT department_id FROM tickets WHERE reference = '" + r + "'")[0][0]
        .as<std::string>();
  };
  REQUIRE(dept(altstadt) == "tiefbauamt");
  REQUIRE(dept(nordstadt) == "tiefbauamt");
  REQUIRE(dept(grün) != "tiefbauamt");
  auto refs = [&](const std::string& query, const std::string& token) {
    auto a = Call(s, "GET", "/api/v1/tickets" + query, token);
    INFO(query << " " << a.body.dump());
    REQUIRE(a.status == 200);
    std::set<std::string> out;
    for (const auto& t : a.body["items"])
      out.insert(t["reference"].get<std::string>());
    return out;
  };
  CHECK(refs("", tiefbau) == std::set<std::string>{altstadt, nordstadt});
  CHECK(refs("?area=altstadt", tiefbau) == std::set<std::string>{altstadt});
  CHECK(refs("?bbox=6.94,50.94,6.96,50.95", tiefbau) == std::set<std::string>{nordstadt});
  CHECK(refs("?bbox=6.94,%2050.94,+6.96,%2B50.95", tiefbau) == std::set<std::string>{nordstadt});
  CHECK(refs("?category=STR-02", tiefbau) == std::set<std::string>{nordstadt});
  CHECK(refs("?status=closed", tiefbau).empty());
  CHECK(refs("?status=open&since=2020-01-01", tiefbau).size() == 2);
  CHECK(refs("?until=2020-01-01", tiefbau).empty());
  // Search: every word somewhere in the reference (dashes ignored), the text or the address.
  CHECK(refs("?q=GEHWEGPLATTE", tiefbau) == std::set<std::string>{nordstadt});
  CHECK(refs("?q=gehweg%20kaputt", tiefbau) == std::set<std::string>{nordstadt});
  CHECK(refs("?q=gehweg%20loch", tiefbau).empty());
  CHECK(refs("?q=" + altstadt.substr(0, 4) + "-" + altstadt.substr(4, 4), tiefbau) ==
        std::set<std::string>{altstadt});
  CHECK(refs("?q=100%25", tiefbau).empty());  // % is a character, not a wildcard
  CHECK(refs("?overdue=true", tiefbau).empty());
  auto oldest = Call(s, "GET", "/api/v1/tickets?sort=oldest", tiefbau);
  REQUIRE(oldest.status == 200);
  CHECK(oldest.body["items"][0]["reference"] == altstadt);
  CHECK(Call(s, "GET", "/api/v1/tickets?overdue=ja", tiefbau).status == 400);
  CHECK(Call(s, "GET", "/api/v1/tickets?sort=up", tiefbau).status == 400);
  CHECK(Call(s, "GET", "/api/v1/tickets?q=" + std::string(201, 'x'), tiefbau).status == 400);
  CHECK(refs("", op) == std::set<std::string>{altstadt, nordstadt, grün});
  CHECK(refs("?department=tiefbauamt", op).size() == 2);
  // Pages: one at a time, newest first, with the next offset.
  auto p1 = Call(s, "GET", "/api/v1/tickets?limit=1", tiefbau);
  CHECK(p1.body["total"] == 2);
  CHECK(p1.body["items"].size() == 1);
  CHECK(p1.body["next_offset"] == 1);
  CHECK(p1.body["items"][0]["reference"] == nordstadt);
  auto p2 = Call(s, "GET", "/api/v1/tickets?limit=1&offset=1", tiefbau);
  CHECK(p2.body["items"][0]["reference"] == altstadt);
  CHECK(p2.body["next_offset"].is_null());
  // Bad parameters are named.
  for (const char* q :
       {"?status=offen", "?area=mond", "?bbox=1,2,3", "?bbox=nan,nan,nan,nan", "?limit=0",
        "?since=gestern", "?department=gruenflaechenamt", "?farbe=rot", "?category=XYZ-99"}) {
    auto a = Call(s, "GET", std::string("/api/v1/tickets") + q, tiefbau);
    INFO(q);
    CHECK(a.status == 400);
    CHECK(a.body["error"]["code"] == "invalid_parameter");
  }
}

TEST_CASE("tokens: listed without their secret, revoked at once, unknown departments refused",
          "[staff]") {
  Stack s;
  std::string token = CreateToken(s, {"--department", "tiefbauamt", "--label", "Laptop 3"});
  std::string id = token.substr(4, 8);
  CHECK(Call(s, "GET", "/api/v1/tickets", token).status == 200);
  int status = -1;
  std::string list = s.RunCommand({"token", "list"}, &status);
  CHECK(status == 0);
  CHECK(list.find(id) != std::string::npos);
  CHECK(list.find("Laptop 3") != std::string::npos);
  CHECK(list.find(token.substr(14)) == std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM api_tokens WHERE secret_sha256 LIKE '%" + token.substr(14) +
                "%'") == 0);
  std::string out = s.RunCommand({"token", "revoke", id}, &status);
  CHECK(status == 0);
  CHECK(Call(s, "GET", "/api/v1/tickets", token).status == 401);
  s.RunCommand({"token", "revoke", "ffffffff"}, &status);
  CHECK(status == 1);
  out = s.RunCommand({"token", "create", "--department", "mondamt"}, &status);
  CHECK(status == 2);
  CHECK(out.find("unknown department") != std::string::npos);
  s.RunCommand({"token", "create"}, &status);
  CHECK(status == 2);
}

TEST_CASE(
    "staff API: the category changed and kept or routed again, a ticket forwarded by an operator "
    "or triage, each recorded and counted as routing quality",
    "[staff]") {
  Stack s;
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt", "--label", "Frau Berg"});
  std::string gruen = CreateToken(s, {"--department", "gruenflaechenamt"});
  std::string triage = CreateToken(s, {"--department", "buergerservice", "--label", "Frau Tor"});
  std::string op = CreateToken(s, {"--operator", "--label", "Leitstelle"});
  std::string ref = ReportAt(s, "STR-01", 50.948, 6.975);
  // Elsewhere: not linked to the first as its duplicate.
  std::string other = ReportAt(s, "STR-01", 50.945, 6.950, "zweite@example.net");
  std::string vague = ReportAt(s, "", 50.948, 6.975, "dritte@example.net", "Da stimmt was nicht");
  auto field = [&](const std::string& r, const std::string& column) {
    return s
        .Query("SELECT coalesce(" + column + "::text, '') FROM tickets WHERE reference = '" + r +
               "'")[0][0]
        .as<std::string>();
  };
  REQUIRE(field(ref, "department_id") == "tiefbauamt");
  REQUIRE(field(other, "department_id") == "tiefbauamt");
  REQUIRE(field(vague, "department_id") == "buergerservice");
  auto deliveries = [&](const std::string& r, const std::string& department,
                        const std::string& reason) {
    return s.Count(
        "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.reference = '" +
        r + "' AND o.kind = 'delivery' AND o.payload->>'department' = '" + department +
        "' AND o.payload->>'reason' = '" + reason + "'");
  };
  const std::string category = "/api/v1/tickets/" + ref + "/category";

  // Refused precisely, nothing changed.
  auto empty = Call(s, "POST", category, tiefbau, "{}");
  CHECK(empty.status == 400);
  CHECK(empty.body["error"]["code"] == "invalid_request");
  auto unknown = Call(s, "POST", category, tiefbau, R"({"category":"XYZ-99"})");
  CHECK(unknown.status == 400);
  CHECK(unknown.body["error"]["code"] == "category_unknown");
  CHECK(Call(s, "POST", category, tiefbau, R"({"category":"STR-02","reroute":"ja"})").status ==
        400);
  CHECK(Call(s, "POST", category, gruen, R"({"category":"STR-02"})").status == 404);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'recategorised'") == 0);

  // Kept: the category changes, the ticket stays accepted with the Tiefbauamt.
  REQUIRE(Call(s, "POST", "/api/v1/tickets/" + ref + "/accept", tiefbau).status == 200);
  auto kept =
      Call(s, "POST", category, tiefbau, R"({"category":"STR-02","note":"eher der Gehweg"})");
  REQUIRE(kept.status == 200);
  CHECK(kept.body["changed"] == true);
  CHECK(kept.body["category"] == "STR-02");
  CHECK(kept.body["status"] == "accepted");
  CHECK(kept.body["department"]["id"] == "tiefbauamt");
  const json& last = kept.body["history"].back();
  CHECK(last["action"] == "recategorised");
  CHECK(last["note"] == "eher der Gehweg");
  CHECK(last["details"]["from"] == "STR-01");
  CHECK(last["details"]["to"] == "STR-02");
  CHECK(last["details"]["reroute"] == false);
  CHECK(field(ref, "report->>'category'") == "STR-02");
  CHECK(Call(s, "POST", category, tiefbau, R"({"category":"STR-02"})").body["changed"] == false);

  // Routed again by the rules with a category of the same department: kept as it was, nothing
  // delivered again, the citizen not told.
  auto same = Call(s, "POST", category, tiefbau, R"({"category":"STR-03","reroute":true})");
  REQUIRE(same.status == 200);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id ="
                     " h.ticket_id WHERE t.reference = '" +
                         ref + "' AND h.action = 'rerouted'",
                     1));
  CHECK(field(ref, "status") == "accepted");
  CHECK(field(ref, "department_id") == "tiefbauamt");
  CHECK(field(ref, "accepted_at IS NOT NULL") == "true");
  CHECK(deliveries(ref, "tiefbauamt", "rerouted") == 0);
  CHECK(StatusRows(s, ref, "forwarded") == 0);

  // Routed again to another department: it gets the ticket as new, the citizen is told.
  auto away = Call(s, "POST", category, tiefbau, R"({"category":"MUE-02","reroute":true})");
  REQUIRE(away.status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + ref +
                             "' AND department_id = 'abfallwirtschaft' AND status = 'assigned'",
                         1));
  CHECK(deliveries(ref, "abfallwirtschaft", "rerouted") == 1);
  CHECK(
      s.WaitForCount("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                     " WHERE o.kind = 'status' AND t.reference = '" +
                         ref + "' AND o.payload->>'event' = 'forwarded'",
                     1));
  CHECK(Call(s, "GET", "/api/v1/tickets/" + ref, tiefbau).status == 404);

  // Forwarding: not for a department, only for operators and triage.
  const std::string forward = "/api/v1/tickets/" + other + "/forward";
  auto refused = Call(s, "POST", forward, tiefbau, R"({"department":"ordnungsamt"})");
  CHECK(refused.status == 403);
  CHECK(refused.body["error"]["code"] == "forbidden");
  auto nowhere = Call(s, "POST", forward, op, R"({"department":"nirgendwo"})");
  CHECK(nowhere.status == 400);
  CHECK(nowhere.body["error"]["code"] == "unknown_department");
  CHECK(field(other, "department_id") == "tiefbauamt");
  auto sent = Call(s, "POST", forward, op, R"({"department":"ordnungsamt","reason":"Parkplatz"})");
  REQUIRE(sent.status == 200);
  CHECK(sent.body["department"]["id"] == "ordnungsamt");
  CHECK(sent.body["status"] == "assigned");
  CHECK(sent.body["history"].back()["action"] == "forwarded");
  CHECK(sent.body["history"].back()["from_department"] == "tiefbauamt");
  CHECK(sent.body["history"].back()["to_department"] == "ordnungsamt");
  CHECK(sent.body["history"].back()["note"] == "Parkplatz");
  CHECK(std::string(sent.body["history"].back()["actor"]).rfind("Leitstelle (token ", 0) == 0);
  CHECK(deliveries(other, "ordnungsamt", "forwarded") == 1);
  CHECK(StatusRows(s, other, "forwarded") == 1);
  // The triage desk forwards its own tickets.
  auto desk = Call(s, "POST", "/api/v1/tickets/" + vague + "/forward", triage,
                   R"({"department":"gruenflaechenamt"})");
  REQUIRE(desk.status == 200);
  CHECK(desk.body["department"]["id"] == "gruenflaechenamt");
  CHECK(Call(s, "POST", "/api/v1/tickets/" + other + "/forward", triage,
             R"({"department":"umweltamt"})")
            .status == 404);
  // The citizen's status page names the new department.
  auto page = s.Client().Get(("/meldung/" + other).c_str());
  REQUIRE(page);
  CHECK(page->body.find("Ordnungsamt") != std::string::npos);

  // Routing quality: a change of department is a misroute of the rule that chose the first.
  int status = -1;
  std::string out = s.RunCommand({"stats", "--format", "json"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  json j = meldestelle::testing::ParseJsonOutput(out);
  const json* tiefbau_rule = nullptr;
  const json* default_rule = nullptr;
  for (const auto& r : j["rules"]) {
    if (r["rule"] == "kategorie-tiefbau")
      tiefbau_rule = &r;
    if (r["rule"].is_null())
      default_rule = &r;
  }
  REQUIRE(tiefbau_rule != nullptr);
  CHECK((*tiefbau_rule)["routed"] == 2);
  CHECK((*tiefbau_rule)["handed_back"] == 2);
  CHECK((*tiefbau_rule)["recategorised"] == 1);
  REQUIRE(default_rule != nullptr);
  CHECK((*default_rule)["routed"] == 1);
  CHECK((*default_rule)["handed_back"] == 1);
  CHECK((*default_rule)["recategorised"] == 0);
}

TEST_CASE(
    "meldestelle report: received, open, done, duplicates, forwarded and times by category, "
    "district and channel, per month, as table, CSV and JSON",
    "[staff][report]") {
  Stack s;
  std::string tiefbau = CreateToken(s, {"--department", "tiefbauamt"});
  std::string op = CreateToken(s, {"--operator"});
  std::string done = ReportAt(s, "STR-01", 50.948, 6.975);
  std::string moved = ReportAt(s, "STR-01", 50.945, 6.950, "zwei@example.net");
  std::string again = ReportAt(s, "STR-01", 50.945, 6.950, "drei@example.net");
  std::string tree = ReportAt(s, "GRU-01", 50.9405, 6.9405, "", "Baum umgestürzt");
  REQUIRE(s.Count("SELECT count(*) FROM tickets WHERE status = 'duplicate' AND reference = '" +
                  again + "'") == 1);
  REQUIRE(Call(s, "POST", "/api/v1/tickets/" + done + "/accept", tiefbau).status == 200);
  REQUIRE(Call(s, "POST", "/api/v1/tickets/" + done + "/status", tiefbau,
               R"({"status":"done","public_note":"Verfüllt."})")
              .status == 200);
  REQUIRE(Call(s, "POST", "/api/v1/tickets/" + moved + "/forward", op,
               R"({"department":"ordnungsamt"})")
              .status == 200);

  auto report = [&](const std::vector<std::string>& more, int expected = 0) {
    std::vector<std::string> args = {"report"};
    args.insert(args.end(), more.begin(), more.end());
    int status = -1;
    std::string out = s.RunCommand(args, &status);
    INFO(out);
    REQUIRE(status == expected);
    return out;
  };
  auto row = [](const json& rows, const char* key, const json& value) -> json {
    for (const auto& r : rows) {
      if (r[key] == value)
        return r;
    }
    return json();
  };
  json by_category =
      meldestelle::testing::ParseJsonOutput(report({"--by", "category", "--format", "json"}));
  json str = row(by_category["rows"], "category", "STR-01");
  REQUIRE(str.is_object());
  CHECK(str["received"] == 3);
  CHECK(str["duplicates"] == 1);
  CHECK(str["done"] == 1);
  CHECK(str["open"] == 1);
  CHECK(str["forwarded"] == 1);
  CHECK(str["accept_seconds"]["p50"].is_number());
  CHECK(str["done_seconds"]["p50"].is_number());
  json gru = row(by_category["rows"], "category", "GRU-01");
  REQUIRE(gru.is_object());
  CHECK(gru["received"] == 1);
  CHECK(gru["open"] == 1);
  CHECK(gru["done_seconds"]["p50"].is_null());
  CHECK(by_category["rows"][0]["category"] == "STR-01");  // most reports first

  json by_district =
      meldestelle::testing::ParseJsonOutput(report({"--by", "district", "--format", "json"}));
  CHECK(row(by_district["rows"], "district", "altstadt")["received"] == 1);
  CHECK(row(by_district["rows"], "district", "nordstadt")["received"] == 3);  // and the tree
  CHECK(row(by_district["rows"], "district", "stadtgebiet")["received"] == 4);

  std::string csv = report({"--by", "channel", "--period", "month", "--format", "csv"});
  CHECK(csv.rfind("month,channel,received,", 0) == 0);
  std::string month = s.Query("SELECT to_char(now() AT TIME ZONE 'Europe/Berlin', 'YYYY-MM')")[0][0]
                          .as<std::string>();
  CHECK(csv.find("\r\n" + month + ",app,4,1,2,1,0,0,1,") != std::string::npos);

  std::string table = report({"--by", "department"});
  CHECK(table.find("department") == 0);
  CHECK(table.find("ordnungsamt") != std::string::npos);
  // Nothing in a period before: an empty report, not an error.
  CHECK(report({"--until", "2020-01-01"}).find("(no reports in the period)") != std::string::npos);
  // Wrong options: usage, exit 2.
  CHECK(report({"--by", "street"}, 2)
            .find("--by must be category, district, department or "
                  "channel") != std::string::npos);
  CHECK(report({"--period", "year"}, 2).find("--period must be week or month") !=
        std::string::npos);
  CHECK(report({"--since", "gestern"}, 2).find("--since") != std::string::npos);
  CHECK(report({"--help"}).find("Usage: meldestelle report") == 0);
}

}  // namespace staff_test
