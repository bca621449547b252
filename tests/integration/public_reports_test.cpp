// What is already reported, for everyone (docs/intake-api.md, "What is already reported"): the
// public list GET /meldungen, the text staff release for it, and "Ich auch" — against the real
// gateway, worker, broker and database.
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace public_reports_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// A report of `category` at its own place (none is linked to another as a duplicate).
std::string Report(Stack& s, const std::string& text, const std::string& category,
                   const std::string& email = "") {
  static int n = 0;
  json body{{"description", text},
            {"category", category},
            {"lat", 50.9351234 + 0.0005 * ++n},
            {"lon", 6.9512345}};
  if (!email.empty())
    body["email"] = email;
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string ref = json::parse(res->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
  return ref;
}

httplib::Result Act(Stack& s, const std::string& token, const std::string& ref,
                    const std::string& action, const json& body) {
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  return s.Client().Post(("/api/v1/tickets/" + ref + "/" + action).c_str(), h, body.dump(),
                         "application/json");
}

std::string Get(Stack& s, const std::string& path) {
  auto res = s.Client().Get(path.c_str());
  REQUIRE(res);
  INFO(path << " -> " << res->status);
  REQUIRE(res->status == 200);
  return res->body;
}

// The town publishes every channel's reports (open311.publish: all), as the public list then
// shows them; the default shows Open311's only.
void PublishAll(std::string& cfg) { Replace(cfg, "  publish: open311_only\n", "  publish: all\n"); }

bool Has(const std::string& body, const std::string& part) {
  return body.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "public reports: public categories with the text staff released, never the citizen's "
    "words, places rounded, without hidden categories, rejected reports and old done ones, "
    "filters and pages",
    "[integration][public_reports]") {
  StackOptions o;
  o.edit_config = [](std::string& cfg) {
    Replace(cfg, "    page_size: 25\n", "    page_size: 5\n");
    PublishAll(cfg);
  };
  Stack s(o);
  const std::string token = s.DepartmentToken("tiefbauamt");
  const std::string open =
      Report(s, "Schlagloch vor meinem Haus, Gruß Erika Privat", "STR-01", "erika@example.net");
  const std::string parking = Report(s, "Falschparker Kennzeichen K-AB 123", "ORD-03");
  const std::string rejected = Report(s, "Schlagloch, das keines ist", "STR-01");
  const std::string done = Report(s, "Schlagloch an der Ecke", "STR-01");
  REQUIRE(Act(s, token, rejected, "status", {{"status", "rejected"}, {"public_note", "Kein Loch."}})
              ->status == 200);
  REQUIRE(Act(s, token, done, "status", {{"status", "done"}})->status == 200);

  std::string list = Get(s, "/meldungen");
  CHECK(Has(list, "<h1>Gemeldete Mängel</h1>"));
  CHECK(Has(list, open));
  CHECK(Has(list, done));
  CHECK_FALSE(Has(list, parking));   // a category with public: false
  CHECK_FALSE(Has(list, rejected));  // closed without action
  CHECK_FALSE(Has(list, "Erika"));   // the citizen's words, never
  CHECK_FALSE(Has(list, "K-AB"));
  CHECK(Has(list, ">Schlagloch</a></h2>"));
  CHECK(Has(list, "2 Meldungen."));
  // The place to about 100 m: 50.93x / 6.951, not the exact 6.9512345.
  auto at = s.Query("SELECT lat FROM tickets WHERE reference = " + Q(open))[0][0].as<double>();
  char rounded[32];
  std::snprintf(rounded, sizeof rounded, "data-lat=\"%.6f\"", std::round(at * 1000.0) / 1000.0);
  CHECK(Has(list, rounded));
  CHECK(Has(list, "data-lon=\"6.951000\""));
  CHECK_FALSE(Has(list, "6.951234"));
  // Open reports offer "Ich auch", done ones do not.
  CHECK(Has(list, "href=\"/meldung/" + open + "#ich-auch\""));
  CHECK_FALSE(Has(list, "href=\"/meldung/" + done + "#ich-auch\""));

  // Staff release a text for the map; it is shown, the citizen's still not.
  auto released =
      Act(s, token, open, "public-text",
          {{"public_text", "Schlagloch in der Fahrbahn, wird nächste Woche verfüllt."}});
  REQUIRE(released);
  INFO(released->body);
  REQUIRE(released->status == 200);
  CHECK(json::parse(released->body)["changed"] == true);
  CHECK(json::parse(released->body)["public_text"] ==
        "Schlagloch in der Fahrbahn, wird nächste Woche verfüllt.");
  list = Get(s, "/meldungen");
  CHECK(Has(list, "wird nächste Woche verfüllt."));
  CHECK_FALSE(Has(list, "Erika"));
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE t.reference = " +
                Q(open) + " AND h.action = 'published'") == 1);
  // Too long, a wrong field, another department's ticket: refused, nothing changed.
  CHECK(Act(s, token, open, "public-text", {{"public_text", std::string(501, 'x')}})->status ==
        400);
  CHECK(Act(s, token, open, "public-text", {{"text", "x"}})->status == 400);
  const std::string other = s.DepartmentToken("gruenflaechenamt");
  CHECK(Act(s, other, open, "public-text", {{"public_text", "x"}})->status == 404);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE public_text LIKE 'Schlagloch in der%'") == 1);

  // Filters: done only; a word we do not know is the whole list.
  std::string only_done = Get(s, "/meldungen?stand=erledigt");
  CHECK(Has(only_done, done));
  CHECK_FALSE(Has(only_done, open));
  CHECK(Has(only_done, "aria-current=\"page\">Erledigt"));
  auto odd = s.Client().Get("/meldungen?stand=kaputt");
  REQUIRE(odd);
  CHECK(odd->status == 303);
  CHECK(odd->get_header_value("Location") == "/meldungen");
  // A done report is shown for webform.public_reports.done_days (30) after its closing.
  s.Query("UPDATE tickets SET closed_at = now() - interval '31 days' WHERE reference = " + Q(done));
  CHECK_FALSE(Has(Get(s, "/meldungen"), done));

  // Pages of five, newest first.
  std::vector<std::string> more;
  for (int i = 0; i < 5; ++i)
    more.push_back(Report(s, "Gehweg kaputt " + std::to_string(i), "STR-02"));
  std::string first = Get(s, "/meldungen");
  CHECK(Has(first, "6 Meldungen. Seite 1 von 2"));
  CHECK(Has(first, more.back()));
  CHECK_FALSE(Has(first, open));  // the oldest is on page 2
  CHECK(Has(first, "rel=\"next\" href=\"/meldungen?seite=2\""));
  std::string second = Get(s, "/meldungen?seite=2");
  CHECK(Has(second, open));
  CHECK(Has(second, "rel=\"prev\" href=\"/meldungen\""));
  auto beyond = s.Client().Get("/meldungen?seite=9");
  REQUIRE(beyond);
  CHECK(beyond->status == 303);
  CHECK(beyond->get_header_value("Location") == "/meldungen?seite=2");
  auto garbage = s.Client().Get("/meldungen?seite=-1");
  REQUIRE(garbage);
  CHECK(garbage->status == 303);
  CHECK(Has(Get(s, "/meldungen?lang=en"), "<h1>Reported problems</h1>"));
}

TEST_CASE("Ich auch is not offered where no e-mail can be sent", "[integration][public_reports]") {
  StackOptions o;
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=");  // no relay
  o.edit_config = PublishAll;
  Stack s(o);
  const std::string ref = Report(s, "Tiefes Schlagloch", "STR-01");
  std::string page = Get(s, "/meldung/" + ref);
  CHECK(Has(page, ref));
  CHECK_FALSE(Has(page, "id=\"ich-auch\""));
  std::string list = Get(s, "/meldungen");
  CHECK(Has(list, ref));
  CHECK_FALSE(Has(list, "#ich-auch\""));
  // A page from before (or a hand-made request): refused, nothing made.
  httplib::Params form{{"email", "nachbar@example.net"}, {"website", ""}};
  auto sent = s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(), form);
  REQUIRE(sent);
  CHECK(sent->status == 404);
  CHECK(s.Count(kTickets) == 1);
  CHECK(s.QueueDepth(s.queue()) == 0);
}

TEST_CASE(
    "Ich auch: an e-mail address on an open report's page makes a linked report whose sender "
    "gets the acknowledgement and the ticket's notices, twice is once, wrong input changes "
    "nothing",
    "[integration][public_reports]") {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env.push_back("MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"));
  o.extra_env.push_back("MELDESTELLE_SMTP_FROM=maengel@musterstadt.example");
  o.edit_config = PublishAll;
  Stack s(o);
  const std::string token = s.DepartmentToken("tiefbauamt");
  const std::string ref = Report(s, "Tiefes Schlagloch", "STR-01");
  const std::string hidden = Report(s, "Falschparker", "ORD-03");

  std::string page = Get(s, "/meldung/" + ref);
  CHECK(Has(page, "id=\"ich-auch\""));
  CHECK(Has(page, "action=\"/meldung/" + ref + "/ich-auch\""));
  CHECK_FALSE(Has(Get(s, "/meldung/" + hidden), "id=\"ich-auch\""));

  const std::string mail =
      "ich-auch-" + std::to_string(s.port()) + "-" + RandomHex(4) + "@example.net";
  httplib::Params form{{"email", " " + mail + " "}, {"website", ""}};
  auto sent = s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(), form);
  REQUIRE(sent);
  INFO(sent->body);
  REQUIRE(sent->status == 303);
  CHECK(sent->get_header_value("Location") == "/meldung/" + ref + "?ich-auch=danke");
  CHECK(Has(Get(s, "/meldung/" + ref + "?ich-auch=danke"), "Danke!"));
  INFO(s.WorkerLogs());
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets t JOIN tickets o ON o.id = t.duplicate_of"
                     " WHERE o.reference = " +
                         Q(ref) + " AND t.status = 'duplicate'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM ticket_reporters r JOIN tickets t ON t.id = r.ticket_id"
                " WHERE t.reference = " +
                Q(ref)) == 1);
  CHECK(One(s, "SELECT reporter->'ack'->>'address' FROM tickets WHERE duplicate_of IS NOT NULL") ==
        mail);
  // The acknowledgement names the report it joined.
  REQUIRE(WaitFor([&] { return SinkMessagesTo(mail).size() == 1; }));
  CHECK(Has(SinkMessagesTo(mail)[0], ref.substr(0, 4)));

  // Twice is once (the same address, in other letters); nothing is published again.
  std::string upper = mail;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  httplib::Params again{{"email", upper}};
  REQUIRE(s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(), again)->status == 303);
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE key LIKE 'ich-auch:%'") == 1);

  // Wrong input: said, kept in the field, nothing stored.
  auto bad = s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(),
                             httplib::Params{{"email", "keine-adresse"}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(Has(bad->body, "Bitte prüfen Sie die E-Mail-Adresse"));
  CHECK(Has(bad->body, "value=\"keine-adresse\""));
  CHECK(Has(bad->body, "aria-invalid=\"true\""));
  auto bot = s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(),
                             httplib::Params{{"email", "bot@example.net"}, {"website", "x"}});
  REQUIRE(bot);
  CHECK(bot->status == 303);
  CHECK(s.Client()
            .Post(("/meldung/" + hidden + "/ich-auch").c_str(),
                  httplib::Params{{"email", "a@example.net"}})
            ->status == 404);
  CHECK(s.Count("SELECT count(*) FROM intake_keys WHERE key LIKE 'ich-auch:%'") == 1);

  // Done: both reporters are told; the page offers "Ich auch" no more, and refuses it.
  REQUIRE(
      Act(s, token, ref, "status", {{"status", "done"}, {"public_note", "Verfüllt."}})->status ==
      200);
  REQUIRE(WaitFor([&] { return SinkMessagesTo(mail).size() == 2; }));
  CHECK(Has(SinkMessagesTo(mail)[1], "Hinweis: Verf"));  // quoted-printable "Verfüllt."
  CHECK_FALSE(Has(Get(s, "/meldung/" + ref), "id=\"ich-auch\""));
  auto late = s.Client().Post(("/meldung/" + ref + "/ich-auch").c_str(),
                              httplib::Params{{"email", "spaet@example.net"}});
  REQUIRE(late);
  CHECK(late->status == 409);
  CHECK(Has(late->body, "schon abgeschlossen"));
}

TEST_CASE(
    "public reports follow the publication policy: by default only Open311's reports, none "
    "with open311.publish: none",
    "[integration][public_reports]") {
  Stack s;
  const std::string app = Report(s, "Schlagloch, per App gemeldet", "STR-01");
  std::string list = Get(s, "/meldungen");
  CHECK_FALSE(Has(list, app));
  CHECK(Has(list, "Keine Meldungen in dieser Auswahl."));
  CHECK_FALSE(Has(Get(s, "/meldung/" + app), "id=\"ich-auch\""));
  auto refused = s.Client().Post(("/meldung/" + app + "/ich-auch").c_str(),
                                 httplib::Params{{"email", "a@example.net"}});
  REQUIRE(refused);
  CHECK(refused->status == 404);
  // The status page of an app report shows its place as the list would, to about 100 m.
  auto exact = s.Query("SELECT lat FROM tickets WHERE reference = " + Q(app))[0][0].as<double>();
  char rounded[32];
  std::snprintf(rounded, sizeof rounded, "data-lat=\"%.6f\"", std::round(exact * 1000.0) / 1000.0);
  CHECK(Has(Get(s, "/meldung/" + app), rounded));

  StackOptions none;
  none.edit_config = [](std::string& cfg) {
    Replace(cfg, "  publish: open311_only\n", "  publish: none\n");
  };
  Stack off(none);
  auto gone = off.Client().Get("/meldungen");
  REQUIRE(gone);
  CHECK(gone->status == 404);
}

}  // namespace public_reports_test
