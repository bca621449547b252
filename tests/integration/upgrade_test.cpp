// Upgrading while the old version serves (issue 17, point 4; docs/operations.md, "Upgrading"):
// the next version's migrations, of the kinds the rule allows (app/migrations.hpp,
// ContractChanges), run under a running gateway, worker and dispatcher, which go on taking
// reports, making tickets, recording staff actions and sending; a gateway restarted onto the
// newer schema serves; and a process refuses a schema older than its own.
#include <catch2/catch.hpp>
#include <future>
#include <nlohmann/json.hpp>

#include "app/migrations.hpp"
#include "core/crypto.hpp"
#include "core/sql.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace upgrade_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

void Exec(Stack& s, const std::string& sql) {
  pqxx::connection c(s.db_url());
  pqxx::work w(c);
  w.exec(sql);
  w.commit();
}

// Reports far enough apart not to be linked as duplicates.
std::string Report(Stack& s, const std::string& text, double lat) {
  json body{{"description", text},
            {"category", "STR-01"},
            {"lat", lat},
            {"lon", 6.975},
            {"email", "buerger-" + RandomHex(4) + "@example.net"},
            {"language", "de"}};
  auto res = s.Client().Post("/api/v1/reports", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  return json::parse(res->body)["reference"];
}

}  // namespace

TEST_CASE(
    "an upgrade's migrations run while the previous version serves, and no process starts "
    "on a schema older than its own",
    "[integration][upgrade]") {
  StackOptions o;
  o.dispatcher = true;
  const bool smtp = !Env("MELDESTELLE_SMTP_URL").empty();  // the SMTP sink of scripts/test
  if (smtp) {
    o.extra_env = {"MELDESTELLE_SMTP_URL=" + Env("MELDESTELLE_SMTP_URL"),
                   "MELDESTELLE_SMTP_FROM=maengel@musterstadt.example"};
  }
  Stack s(o);
  const std::string before = Report(s, "Schlagloch vor dem Rathaus", 50.948);
  REQUIRE(s.WaitForCount(kTickets, 1));

  // The next version's migration: a table, nullable columns, a column with a default, an index
  // on the tables every process writes. The rule lets it through.
  const int next = app::LatestVersion() + 1;
  const std::string migration = R"SQL(
CREATE TABLE upgrade_probe (id bigserial PRIMARY KEY, note text NOT NULL);
ALTER TABLE tickets ADD COLUMN upgrade_note text;
ALTER TABLE tickets ADD COLUMN upgrade_score int NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN upgrade_note text;
ALTER TABLE outbox_attempts ADD COLUMN upgrade_note text;
ALTER TABLE ticket_history ADD COLUMN upgrade_note text;
ALTER TABLE intake_keys ADD COLUMN upgrade_note text;
ALTER TABLE attachments ADD COLUMN upgrade_note text;
CREATE INDEX tickets_upgrade_note ON tickets (upgrade_note) WHERE upgrade_note IS NOT NULL;
)SQL";
  REQUIRE(app::ContractChanges(migration).empty());
  // Applied as `meldestelle migrate` applies it: against the serving processes' locks (it once
  // lost a deadlock to one of them, and is tried again for that).
  std::vector<app::Migration> upgraded = app::Migrations();
  upgraded.push_back({next, "the next version", migration.c_str()});
  auto applied = app::Migrate(s.db_url(), upgraded, {});
  INFO((applied ? "" : applied.error().message + ": " + applied.error().detail));
  REQUIRE(applied);
  CHECK(*applied == 1);

  // The old version goes on: reports, tickets, a staff action, the citizens' notices.
  const std::string after = Report(s, "Laterne am Markt ist dunkel", 50.938);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 2));
  int status = -1;
  std::string out = s.RunCommand(
      {"token", "create", "--department", "tiefbauamt", "--label", "Upgrade"}, &status);
  REQUIRE(status == 0);
  const auto p = out.find("mst_");
  REQUIRE(p != std::string::npos);
  const std::string token = out.substr(p, out.find('\n', p) - p);
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  for (const auto& ref : {before, after}) {
    auto res =
        s.Client().Post(("/api/v1/tickets/" + ref + "/accept").c_str(), h, "", "application/json");
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == 200);
  }
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'accepted'") == 2);
  // The dispatcher sends the acknowledgements and the acceptance notices by e-mail.
  if (smtp) {
    const bool sent = s.WaitForCount(
        "SELECT count(*) FROM outbox WHERE kind IN ('ack', 'status')"
        " AND channel = 'email' AND status = 'sent'",
        4, std::chrono::seconds(45));
    INFO(s.DispatcherLog());
    CHECK(sent);
  } else {
    WARN("MELDESTELLE_SMTP_URL unset (MELDESTELLE_MAIL_SERVICES=0): the sending is not tried");
  }

  // A gateway restarted (as in a rolling restart) runs on the newer schema and says so.
  s.StartGateway();
  CHECK_THAT(s.GatewayLog(), Catch::Contains("newer than this version"));
  Report(s, "Müll am Waldweg", 50.943);
  CHECK(s.WaitForCount(kTickets, 3));
  out = s.RunCommand({"migrate", "--check"}, &status);
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("at version " + std::to_string(next)));
  CHECK_THAT(out, Catch::Contains("newer than this version"));

  // A schema older than the binary: `migrate --check` lists what is pending and exits 1; the
  // gateway, worker and dispatcher refuse to start and say what to do.
  Exec(s, "DELETE FROM schema_migrations WHERE version >= " + std::to_string(next - 1));
  out = s.RunCommand({"migrate", "--check"}, &status);
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("pending: " + std::to_string(next - 1)));
  for (const char* process : {"gateway", "worker", "dispatcher"}) {
    INFO(process);
    auto p2 = s.StartProcess(std::string("old-schema-") + process, {process},
                             {"MELDESTELLE_HTTP_PORT=" + std::to_string(FreePort()),
                              "MELDESTELLE_INSTANCE_ID=9", "MELDESTELLE_WORKER_METRICS_PORT=0"});
    const bool ended = WaitFor([&] { return !p2->Running(); }, std::chrono::seconds(20));
    CHECK(ended);
    if (!ended)
      p2->Stop();
    CHECK(p2->exit_status() == 1);
    CHECK_THAT(p2->Log(),
               Catch::Contains("the database schema is at version " + std::to_string(next - 2) +
                               ", this version needs " + std::to_string(next - 1) +
                               ": run 'meldestelle migrate' first"));
  }
  // Put back what the test took away, so that the stack's processes stop on a consistent record.
  Exec(s, "INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(next - 1) +
              ", 'restored'), (" + std::to_string(next) + ", 'the next version')");
}

TEST_CASE("migrate on several machines at once creates the database once and migrates it once",
          "[integration][upgrade]") {
  Stack s;
  // A database that does not exist yet, as on a town's first start of every machine's units.
  const std::string name = "concurrent_" + RandomHex(6);
  const std::string url = db::WithDatabase(s.db_url(), name);
  int status = -1;
  std::string out =
      s.RunShell("logs=$(mktemp -d); pids=; for i in 1 2 3 4; do MELDESTELLE_DATABASE_URL='" + url +
                     "' \"$MELDESTELLE\" migrate > \"$logs/$i.log\" 2>&1 & pids=\"$pids $!\"; done;"
                     " failed=0; for pid in $pids; do wait $pid || failed=$((failed + 1)); done;"
                     " cat \"$logs\"/*.log; rm -r \"$logs\"; exit $failed",
                 &status);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("duplicate key") == std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM pg_database WHERE datname = " + Q(name)) == 1);
  {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    CHECK(n.exec1("SELECT max(version) FROM schema_migrations")[0].as<int>() ==
          app::LatestVersion());
  }
  pqxx::connection c(s.db_url());
  pqxx::nontransaction n(c);
  n.exec0("DROP DATABASE IF EXISTS " + n.quote_name(name) + " WITH (FORCE)");
}

namespace {

// A connection of a running process that holds a table in an open transaction, as a worker's
// or the dispatcher's does between its statements.
struct Holder {
  pqxx::connection conn;
  pqxx::work tx;
  Holder(const std::string& url, const std::string& table) : conn(url), tx(conn) {
    tx.exec("SELECT count(*) FROM " + table);
  }
};

bool HasColumn(Stack& s, const std::string& table, const std::string& column) {
  return s.Count("SELECT count(*) FROM information_schema.columns WHERE table_name = " + Q(table) +
                 " AND column_name = " + Q(column)) == 1;
}

}  // namespace

TEST_CASE(
    "a migration that waits in vain for a table in use is rolled back and tried again until it "
    "gets it, and gives up whole",
    "[integration][upgrade]") {
  StackOptions o;
  o.processes = false;  // the stack's database alone; the test holds the locks itself
  Stack s(o);
  const int next = app::LatestVersion() + 1;
  const std::string sql = "ALTER TABLE tickets ADD COLUMN waited text;";
  std::vector<app::Migration> upgraded = app::Migrations();
  upgraded.push_back({next, "waits for tickets", sql.c_str()});
  const std::string recorded =
      "SELECT count(*) FROM schema_migrations WHERE version = " + std::to_string(next);

  SECTION("the table is let go after the first try") {
    auto holder = std::make_unique<Holder>(s.db_url(), "tickets");
    std::vector<std::string> why;
    app::MigrateOptions options;
    options.lock_timeout = std::chrono::milliseconds(200);
    options.on_retry = [&](const app::Migration& m, int attempt, const std::string& reason) {
      CHECK(m.version == next);
      CHECK(attempt == static_cast<int>(why.size()) + 1);
      why.push_back(reason);
      // Between the tries, nothing of the migration is there.
      CHECK_FALSE(HasColumn(s, "tickets", "waited"));
      if (holder) {           // (a second wait, an autovacuum's, finds it gone)
        holder->tx.commit();  // the process's transaction ends
        holder.reset();
      }
    };
    auto applied = app::Migrate(s.db_url(), upgraded, options);
    INFO((applied ? "" : applied.error().message + ": " + applied.error().detail));
    REQUIRE(applied);
    CHECK(*applied == 1);
    REQUIRE_FALSE(why.empty());
    CHECK_THAT(why[0], Catch::StartsWith("55P03: ") && Catch::Contains("lock timeout"));
    CHECK(HasColumn(s, "tickets", "waited"));
    CHECK(s.Count(recorded) == 1);
  }

  SECTION("the table stays in use: it gives up after --give-up-after, with nothing applied") {
    Holder holder(s.db_url(), "tickets");
    int tries = 0;
    app::MigrateOptions options;
    options.lock_timeout = std::chrono::milliseconds(100);
    options.give_up_after = std::chrono::milliseconds(800);
    options.on_retry = [&](const app::Migration&, int, const std::string&) { ++tries; };
    auto applied = app::Migrate(s.db_url(), upgraded, options);
    REQUIRE_FALSE(applied);
    CHECK(tries >= 1);
    CHECK_THAT(applied.error().message,
               Catch::Contains("migration " + std::to_string(next) + " (waits for tickets)") &&
                   Catch::Contains("could not take its tables' locks") &&
                   Catch::Contains("nothing of it was applied"));
    CHECK_THAT(applied.error().message,
               Catch::Matches(".* in [0-9]+\\.[0-9] s \\([0-9]+ tries\\).*"));
    CHECK_THAT(applied.error().detail,
               Catch::StartsWith("last: 55P03: ") && Catch::Contains("--give-up-after"));
    CHECK_FALSE(db::IsTransient(applied.error()));
    holder.tx.commit();
    CHECK_FALSE(HasColumn(s, "tickets", "waited"));
    CHECK(s.Count(recorded) == 0);
  }

  SECTION("it loses a deadlock against a process, and the next try applies it") {
    // The migration takes tickets, then waits for outbox, which a process reads in its open
    // transaction; the process then reads tickets. PostgreSQL's deadlock check ends one of the
    // two: the migrator, whose wait began first (its one check comes 5 s after its wait began,
    // the process's own much later).
    const std::string both =
        "ALTER TABLE tickets ADD COLUMN waited text; ALTER TABLE outbox ADD COLUMN waited text;";
    upgraded.back().sql = both.c_str();
    {
      pqxx::connection c(s.db_url());
      pqxx::nontransaction n(c);
      n.exec0("ALTER DATABASE " + n.quote_name(db::DatabaseName(s.db_url())) +
              " SET deadlock_timeout = '5s'");
    }
    std::vector<std::string> why;
    app::MigrateOptions options;
    options.lock_timeout = std::chrono::seconds(60);
    options.give_up_after = std::chrono::seconds(90);
    options.on_retry = [&](const app::Migration&, int, const std::string& reason) {
      why.push_back(reason);
    };
    // Declared before the holder, so that a failure below ends the holder's transaction first
    // and the migrator is not left waiting for it.
    std::future<Result<int>> migrated;
    Holder holder(s.db_url(), "outbox");
    holder.tx.exec0("SET LOCAL deadlock_timeout = '120s'");
    migrated =
        std::async(std::launch::async, [&] { return app::Migrate(s.db_url(), upgraded, options); });
    const std::string waits_for_outbox =
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND c.relname = 'outbox' AND l.mode = 'AccessExclusiveLock' AND NOT l.granted";
    REQUIRE(WaitFor([&] { return s.Count(waits_for_outbox) == 1; }, std::chrono::seconds(30)));
    holder.tx.exec("SELECT count(*) FROM tickets");  // waits until the migrator is ended
    holder.tx.commit();
    auto applied = migrated.get();
    INFO((applied ? "" : applied.error().message + ": " + applied.error().detail));
    REQUIRE(applied);
    CHECK(*applied == 1);
    REQUIRE(why.size() == 1);
    CHECK(why[0] == "40P01: ERROR:  deadlock detected");
    CHECK(HasColumn(s, "tickets", "waited"));
    CHECK(HasColumn(s, "outbox", "waited"));
    CHECK(s.Count(recorded) == 1);
  }
}

}  // namespace upgrade_test
