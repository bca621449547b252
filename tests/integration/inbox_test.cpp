// The staff inbox in a real headless Chromium (tests/browser/staff_inbox.mjs drives it with
// playwright-core); this test prepares the tickets and checks what the clicks changed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace inbox_test {

using meldestelle::testing::Stack;
using meldestelle::testing::VectorFile;
using nlohmann::json;

TEST_CASE(
    "staff inbox in Chromium: log in, open, accept, change the category, finish, hand back, "
    "forward as the operator",
    "[staff][browser]") {
  std::filesystem::path dir = std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/browser";
  {
    INFO("tests/browser/node_modules is missing: scripts/test installs it (npm ci)");
    REQUIRE(std::filesystem::exists(dir / "node_modules/playwright-core"));
  }
  // Department staff sign in against the town's directory (Anna Beispiel of the Tiefbauamt in
  // scripts/services' slapd), the operator with a local account.
  meldestelle::testing::StackOptions options;
  options.extra_env = meldestelle::testing::DirectoryEnv();
  Stack s(options);
  int st = -1;
  std::string out;
  const std::string op_password = "Leitstelle-im-Browser-1";
  meldestelle::testing::AddStaffAccount(
      s, "leitstelle", {"--role", "operator", "--name", "Olaf Leitstelle"}, op_password);
  httplib::MultipartFormDataItems parts = {
      {"description", "Schlagloch vor der Schule", "", ""},
      {"category", "STR-01", "", ""},
      {"lat", "50.948", "", ""},
      {"lon", "6.975", "", ""},
      {"email", "eltern@example.net", "", ""},
      {"photos", VectorFile("webform/tiny-test.jpg"), "loch.jpg", "image/jpeg"}};
  auto r1 = s.Client().Post("/api/v1/reports", parts);
  REQUIRE(r1);
  REQUIRE(r1->status == 202);
  std::string ref = json::parse(r1->body)["reference"];
  auto r2 = s.Client().Post("/api/v1/reports",
                            json{{"description", "Gehweg am Privatweg uneben"},
                                 {"category", "STR-02"},
                                 {"lat", 50.9405},
                                 {"lon", 6.9405}}
                                .dump(),
                            "application/json");
  REQUIRE(r2);
  REQUIRE(r2->status == 202);
  std::string ref2 = json::parse(r2->body)["reference"];
  auto r3 = s.Client().Post("/api/v1/reports",
                            json{{"description", "Schlagloch an der Ampel"},
                                 {"category", "STR-01"},
                                 {"lat", 50.945},
                                 {"lon", 6.950}}
                                .dump(),
                            "application/json");
  REQUIRE(r3);
  REQUIRE(r3->status == 202);
  std::string ref3 = json::parse(r3->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE department_id = 'tiefbauamt'", 3));

  // A message the worker cannot read: the routing console shows it and puts it back.
  s.PublishRaw("this is not a report", "poison-inbox");
  REQUIRE(meldestelle::testing::WaitFor([&] { return s.QueueDepth(s.dead_letter_queue()) == 1; }));
  std::string script =
      "cd '" + dir.string() + "' && BASE_URL=http://127.0.0.1:" + std::to_string(s.port()) +
      " STAFF_USER=anna STAFF_PASSWORD='" + meldestelle::testing::DirectoryPassword() +
      "' OP_USER=leitstelle OP_PASSWORD=" + op_password + " REF=" + ref + " REF2=" + ref2 +
      " REF3=" + ref3 + " node staff_inbox.mjs";
  out = s.RunShell(script, &st);
  INFO("what went wrong:\n" + meldestelle::testing::BrowserProblems(out));
  INFO("the whole output:\n" + out);
  CHECK(st == 0);

  auto t = s.Query(
      "SELECT status, public_note, accepted_at IS NOT NULL FROM tickets"
      " WHERE reference = '" +
      ref + "'");
  CHECK(t[0][0].as<std::string>() == "done");
  CHECK(t[0][1].as<std::string>() == "Das Schlagloch ist verfüllt.");
  CHECK(t[0][2].as<bool>());
  // The text released for the public map, its line break without the browser's CR.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + ref +
                "' AND public_text = E'Schlagloch in der Fahrbahn.\\nWird verfüllt.'") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE t.reference = '" +
                ref2 +
                "' AND h.action = 'handed_back'"
                " AND h.note = 'Privatweg, nicht städtisch'"
                " AND h.actor = 'Anna Beispiel (anna)'") == 1);
  // Accepted with the others from the list, by the person.
  CHECK(s.Count("SELECT count(*) FROM tickets t JOIN ticket_history h ON h.ticket_id = t.id"
                " WHERE t.reference = '" +
                ref3 +
                "' AND t.status = 'accepted' AND h.action = 'accepted'"
                " AND h.actor = 'Anna Beispiel (anna)'") == 1);
  // The category changed and kept; the handed-back ticket forwarded by the operator.
  CHECK(s.Count("SELECT count(*) FROM tickets t JOIN ticket_history h ON h.ticket_id = t.id"
                " WHERE t.reference = '" +
                ref +
                "' AND t.category = 'STR-02' AND t.department_id = 'tiefbauamt'"
                " AND h.action = 'recategorised' AND h.note = 'eher der Gehweg'") == 1);
  CHECK(s.Count(
            "SELECT count(*) FROM tickets t JOIN ticket_history h ON h.ticket_id = t.id"
            " WHERE t.reference = '" +
            ref2 +
            "' AND t.department_id = 'ordnungsamt' AND h.action = 'forwarded'"
            " AND h.to_department = 'ordnungsamt' AND h.actor = 'Olaf Leitstelle (leitstelle)'") ==
        1);
  // The citizen heard of both public changes and the question, once each.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'"
                " AND address = 'eltern@example.net'") == 3);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status' AND address ="
                " 'eltern@example.net' AND payload->>'event' = 'question'"
                " AND payload->>'note' = 'Ist die Stelle abgesperrt?'") == 1);
}

}  // namespace inbox_test
