// The worker's ticket jobs (re-routing after a hand-back, acceptance deadlines with an injected
// clock) and `meldestelle stats`, on the real broker and database.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace jobs_test {

using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// Two rules for street lamps: the first one's department hands a lamp on a mast back, the
// second rule's department gets it.
const char* kRules =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: laterne-licht\n"
    "    when: {keywords: [laterne]}\n"
    "    department: strassenbeleuchtung\n"
    "  - id: laterne-mast\n"
    "    when: {keywords: [laterne, mast]}\n"
    "    department: tiefbauamt\n"
    "  - id: graffiti\n"
    "    when: {keywords: [graffiti]}\n"
    "    department: abfallwirtschaft\n";

StackOptions JobsOptions() {
  StackOptions o;
  o.rules_yaml = kRules;
  o.edit_config = [](std::string& text) {
    // Triage by a department that gets deliveries (the example's Bürgerservice has none), and
    // the jobs often enough for a test.
    Replace(text, "  triage_department: buergerservice\n",
            "  triage_department: ordnungsamt\n  jobs_interval_ms: 200\n");
  };
  return o;
}

std::string PostAndWait(Stack& s, const json& body) {
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string ref = json::parse(res->body)["reference"].get<std::string>();
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = " + Q(ref), 1));
  return ref;
}

// What the staff API does for a hand-back, in one transaction.
void HandBack(Stack& s, const std::string& ref, const std::string& reason) {
  s.Query(
      "WITH t AS (UPDATE tickets SET status = 'handed_back',"
      " excluded_departments = array_append(excluded_departments, department_id),"
      " updated_at = now() WHERE reference = " +
      Q(ref) +
      " RETURNING id, department_id)"
      " INSERT INTO ticket_history (ticket_id, actor, actor_department, action, from_status,"
      " to_status, from_department, note)"
      " SELECT id, 'token:t1', department_id, 'handed_back', 'assigned', 'handed_back',"
      " department_id, " +
      Q(reason) + " FROM t");
}

std::string Field(Stack& s, const std::string& ref, const std::string& expr) {
  auto r =
      s.Query("SELECT coalesce((" + expr + ")::text, '') FROM tickets WHERE reference = " + Q(ref));
  REQUIRE(r.size() == 1);
  return r[0][0].as<std::string>();
}

long long Deliveries(Stack& s, const std::string& ref, const std::string& department,
                     const std::string& reason) {
  return s.Count(
      "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.reference = " +
      Q(ref) + " AND o.kind = 'delivery' AND o.payload->>'department' = " + Q(department) +
      " AND o.payload->>'reason' = " + Q(reason));
}

const json* Row(const json& rows, const char* key, const json& value) {
  for (const auto& r : rows) {
    if (r[key] == value)
      return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a handed-back ticket is re-routed to the next matching rule's department", "[jobs]") {
  Stack s(JobsOptions());
  INFO(s.WorkerLogs());
  std::string ref = PostAndWait(s, {{"description", "Die Laterne am Mast ist umgefahren worden"},
                             {"email", "buerger@example.net"}});
  REQUIRE(Field(s, ref, "department_id") == "strassenbeleuchtung");
  REQUIRE(Deliveries(s, ref, "strassenbeleuchtung", "new") == 1);

  HandBack(s, ref, "Mast gehört dem Tiefbauamt");
  // The worker's jobs thread routes it again without the department that handed it back.
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'assigned' AND"
                     " department_id = 'tiefbauamt' AND reference = " +
                         Q(ref),
                     1));
  CHECK(Field(s, ref, "rule_id") == "laterne-mast");
  CHECK(Field(s, ref, "department_name") == "Tiefbauamt");
  CHECK(Field(s, ref, "first_rule_id") == "laterne-licht");
  CHECK(Field(s, ref, "first_department_id") == "strassenbeleuchtung");
  CHECK(Field(s, ref, "escalation_level") == "0");
  CHECK(Field(s, ref, "routing_explanation->'excluded'->'skipped_rules'->>0") == "laterne-licht");
  auto h = s.Query(
      "SELECT h.actor, h.from_department, h.to_department, h.details->>'rule', h.from_status,"
      " h.to_status FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
      " WHERE h.action = 'rerouted' AND t.reference = " +
      Q(ref));
  REQUIRE(h.size() == 1);
  CHECK(h[0][0].as<std::string>() == "system:router");
  CHECK(h[0][1].as<std::string>() == "strassenbeleuchtung");
  CHECK(h[0][2].as<std::string>() == "tiefbauamt");
  CHECK(h[0][3].as<std::string>() == "laterne-mast");
  CHECK(h[0][4].as<std::string>() == "handed_back");
  CHECK(h[0][5].as<std::string>() == "assigned");
  CHECK(Deliveries(s, ref, "tiefbauamt", "rerouted") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                " WHERE o.kind = 'status' AND o.channel = 'email'"
                " AND o.address = 'buerger@example.net' AND o.payload->>'event' = 'forwarded'"
                " AND o.payload->>'department' = 'Tiefbauamt' AND t.reference = " +
                Q(ref)) == 1);

  SECTION("handed back by the last candidate too: the triage department") {
    HandBack(s, ref, "auch nicht unseres");
    REQUIRE(
        s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'assigned' AND"
                       " department_id = 'ordnungsamt' AND reference = " +
                           Q(ref),
                       1));
    CHECK(Field(s, ref, "excluded_departments") == "{strassenbeleuchtung,tiefbauamt}");
    CHECK(Field(s, ref, "rule_id").empty());
    CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                  " WHERE h.action = 'rerouted' AND h.to_department = 'ordnungsamt'"
                  " AND (h.details->>'triage')::boolean AND t.reference = " +
                  Q(ref)) == 1);
    CHECK(Deliveries(s, ref, "ordnungsamt", "rerouted") == 1);
    // Triage hands it back as well: triage anyway, nobody else is left.
    HandBack(s, ref, "bitte prüfen");
    REQUIRE(
        s.WaitForCount("SELECT count(*) FROM ticket_history h JOIN tickets t"
                       " ON t.id = h.ticket_id WHERE h.action = 'rerouted'"
                       " AND t.reference = " +
                           Q(ref),
                       3));
    CHECK(Field(s, ref, "status") == "assigned");
    CHECK(Field(s, ref, "department_id") == "ordnungsamt");
  }
}

TEST_CASE("a ticket only one rule matches goes to triage when handed back", "[jobs]") {
  Stack s(JobsOptions());
  INFO(s.WorkerLogs());
  std::string ref = PostAndWait(s, {{"description", "Graffiti an der Wand der Grundschule"}});
  REQUIRE(Field(s, ref, "department_id") == "abfallwirtschaft");
  HandBack(s, ref, "Graffiti macht das Ordnungsamt");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'assigned' AND"
                     " department_id = 'ordnungsamt' AND reference = " +
                         Q(ref),
                     1));
  CHECK(Deliveries(s, ref, "ordnungsamt", "rerouted") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE h.action = 'rerouted' AND h.from_department = 'abfallwirtschaft'"
                " AND h.details->>'triage_reason' = 'no other rule matched'"
                " AND t.reference = " +
                Q(ref)) == 1);
  // No contact given: no citizen notification.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 0);
}

TEST_CASE("the acceptance deadline reminds, then escalates to triage, with an injected clock",
          "[jobs]") {
  Stack s(JobsOptions());
  INFO(s.WorkerLogs());
  std::string ref =
      PostAndWait(s, {{"description", "Laterne vor Nr. 7 ist dunkel"}, {"email", "buerger@example.net"}});
  REQUIRE(Field(s, ref, "department_id") == "strassenbeleuchtung");
  // Assigned on Friday 2036-11-28 14:00 (far from the real clock, which the worker's own jobs
  // use): remind_after 2 working days = Tuesday 14:00, reassign_after 4 = Thursday 14:00.
  s.Query("UPDATE tickets SET assigned_at = '2036-11-28T14:00:00+01:00' WHERE reference = " +
          Q(ref));
  auto run = [&](const std::string& now) {
    int status = -1;
    std::string out = s.RunCommand({"deadlines", "run", "--now", now}, &status);
    INFO(out);
    REQUIRE(status == 0);
    return out;
  };
  auto history = [&](const std::string& action) {
    return s.Count(
        "SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
        " WHERE h.action = " +
        Q(action) + " AND t.reference = " + Q(ref));
  };
  const char* kOutbox = "SELECT count(*) FROM outbox";
  long long outbox = s.Count(kOutbox);

  CHECK(run("2036-12-02T13:59:00+01:00").find("0 ticket(s) changed") != std::string::npos);
  CHECK(history("reminder") == 0);
  CHECK(s.Count(kOutbox) == outbox);

  std::string out = run("2036-12-02T14:00:00+01:00");
  CHECK(out.find(ref + "  reminder  strassenbeleuchtung") != std::string::npos);
  CHECK(history("reminder") == 1);
  CHECK(Field(s, ref, "escalation_level") == "1");
  CHECK(Field(s, ref, "department_id") == "strassenbeleuchtung");
  CHECK(Deliveries(s, ref, "strassenbeleuchtung", "reminder") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE h.action = 'reminder' AND h.actor = 'system:deadline'"
                " AND h.details->>'deadline' = '2036-12-02T13:00:00Z'"
                " AND t.reference = " +
                Q(ref)) == 1);
  // Again at the same time, and later but before the reassignment: nothing more.
  outbox = s.Count(kOutbox);
  CHECK(run("2036-12-02T14:00:00+01:00").find("0 ticket(s) changed") != std::string::npos);
  CHECK(run("2036-12-04T13:59:00+01:00").find("0 ticket(s) changed") != std::string::npos);
  CHECK(history("reminder") == 1);
  CHECK(s.Count(kOutbox) == outbox);

  out = run("2036-12-04T14:30:00+01:00");
  CHECK(out.find(ref + "  escalated  strassenbeleuchtung -> ordnungsamt") != std::string::npos);
  CHECK(history("escalated") == 1);
  CHECK(Field(s, ref, "department_id") == "ordnungsamt");
  CHECK(Field(s, ref, "department_name") == "Ordnungsamt");
  CHECK(Field(s, ref, "status") == "assigned");
  CHECK(Field(s, ref, "escalation_level") == "2");
  CHECK(Field(s, ref, "excluded_departments") == "{strassenbeleuchtung}");
  CHECK(Field(s, ref, "assigned_at = '2036-12-04T14:30:00+01:00'::timestamptz") == "true");
  CHECK(Deliveries(s, ref, "ordnungsamt", "reassigned") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                " WHERE o.kind = 'status' AND o.payload->>'event' = 'forwarded'"
                " AND o.payload->>'department' = 'Ordnungsamt' AND t.reference = " +
                Q(ref)) == 1);

  // Idempotent, and triage is never escalated from, however late.
  outbox = s.Count(kOutbox);
  CHECK(run("2036-12-04T14:30:00+01:00").find("0 ticket(s) changed") != std::string::npos);
  CHECK(run("2037-06-01T12:00:00+02:00").find("0 ticket(s) changed") != std::string::npos);
  CHECK(history("escalated") == 1);
  CHECK(history("reminder") == 1);
  CHECK(s.Count(kOutbox) == outbox);

  SECTION("a bad --now is refused and changes nothing") {
    int status = -1;
    std::string bad = s.RunCommand({"deadlines", "run", "--now", "übermorgen"}, &status);
    CHECK(status == 2);
    CHECK(bad.find("--now") != std::string::npos);
    status = -1;
    s.RunCommand({"deadlines", "walk"}, &status);
    CHECK(status == 2);
    CHECK(s.Count(kOutbox) == outbox);
  }
}

TEST_CASE("stats and the worker metrics show the misroute rate and the times per rule", "[jobs]") {
  StackOptions o = JobsOptions();
  o.worker_metrics_port = FreePort();
  Stack s(o);
  INFO(s.WorkerLogs());
  std::vector<std::string> lamps;
  for (int i = 0; i < 3; ++i) {
    lamps.push_back(PostAndWait(s, {{"description", "Laterne Nr. " + std::to_string(i) + " dunkel"}}));
  }
  std::string graffiti = PostAndWait(s, {{"description", "Graffiti am Rathaus"}});
  HandBack(s, lamps[0], "kein Strom, sondern der Mast");
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'assigned' AND"
                     " department_id = 'tiefbauamt' AND reference = " +
                         Q(lamps[0]),
                     1));
  // The graffiti is accepted an hour after its creation and done two hours after it.
  s.Query(
      "UPDATE tickets SET status = 'done', accepted_at = created_at + interval '1 hour',"
      " closed_at = created_at + interval '2 hours' WHERE reference = " +
      Q(graffiti));
  s.Query(
      "UPDATE tickets SET status = 'accepted', accepted_at = created_at + interval '3 hours'"
      " WHERE reference = " +
      Q(lamps[1]));

  int status = -1;
  std::string out = s.RunCommand({"stats", "--format", "json"}, &status);
  INFO(out);
  REQUIRE(status == 0);
  json j = ParseJsonOutput(out);
  REQUIRE(j["rules"].size() == 2);
  // Sorted by misroute rate: the lamp rule first.
  const json& lamp = j["rules"][0];
  CHECK(lamp["rule"] == "laterne-licht");
  CHECK(lamp["routed"] == 3);
  CHECK(lamp["handed_back"] == 1);
  CHECK(lamp["misroute_rate"].get<double>() == Approx(1.0 / 3));
  CHECK(lamp["escalated"] == 0);
  CHECK(lamp["accepted"] == 1);
  CHECK(lamp["accept_seconds"]["p50"].get<double>() == Approx(3 * 3600));
  CHECK(lamp["done"] == 0);
  CHECK(lamp["done_seconds"]["p50"].is_null());
  const json& g = j["rules"][1];
  CHECK(g["rule"] == "graffiti");
  CHECK(g["routed"] == 1);
  CHECK(g["misroute_rate"].get<double>() == 0);
  CHECK(g["accept_seconds"]["p90"].get<double>() == Approx(3600));
  CHECK(g["done_seconds"]["p50"].get<double>() == Approx(7200));

  const json* sb = Row(j["departments"], "department", "strassenbeleuchtung");
  REQUIRE(sb != nullptr);
  CHECK((*sb)["routed"] == 3);
  CHECK((*sb)["handed_back"] == 1);
  CHECK((*sb)["accepted"] == 1);
  const json* second = Row(j["departments"], "department", "tiefbauamt");
  REQUIRE(second != nullptr);  // it has the re-routed ticket now, but got none first
  CHECK((*second)["routed"] == 0);
  CHECK((*second)["handed_back"] == 0);
  CHECK(j["departments"][0]["department"] == "strassenbeleuchtung");

  SECTION("text: an aligned table, the worst rule on top") {
    std::string text = s.RunCommand({"stats"}, &status);
    INFO(text);
    REQUIRE(status == 0);
    auto lamp_at = text.find("laterne-licht");
    auto graffiti_at = text.find("graffiti");
    REQUIRE(lamp_at != std::string::npos);
    REQUIRE(graffiti_at != std::string::npos);
    CHECK(lamp_at < graffiti_at);
    CHECK(text.find("33.3 %") != std::string::npos);
    CHECK(text.find("2.0 h") != std::string::npos);  // the graffiti's time to done
  }
  SECTION("a period without tickets, and bad dates") {
    std::string none =
        s.RunCommand({"stats", "--since", "2090-01-01", "--format", "json"}, &status);
    INFO(none);
    REQUIRE(status == 0);
    json e = ParseJsonOutput(none);
    CHECK(e["rules"].empty());
    CHECK(e["since"] == "2089-12-31T23:00:00Z");
    s.RunCommand({"stats", "--since", "gestern"}, &status);
    CHECK(status == 2);
    s.RunCommand({"stats", "--since", "2026-12-01", "--until", "2026-11-01"}, &status);
    CHECK(status == 2);
  }
  SECTION("the worker's gauges") {
    httplib::Client metrics("127.0.0.1", o.worker_metrics_port);
    std::string body;
    bool seen = WaitFor([&] {
      auto res = metrics.Get("/metrics");
      body = res ? res->body : "";
      return body.find("meldestelle_rule_handed_back{rule=\"laterne-licht\"} 1") !=
             std::string::npos;
    });
    INFO(body);
    REQUIRE(seen);
    CHECK(body.find("meldestelle_rule_tickets{rule=\"laterne-licht\"} 3") != std::string::npos);
    CHECK(body.find("meldestelle_department_handed_back{department=\"strassenbeleuchtung\"} 1") !=
          std::string::npos);
    CHECK(body.find("meldestelle_tickets_rerouted_total 1") != std::string::npos);
  }
}

}  // namespace jobs_test
