// The schema's migrations and the rule that makes rolling upgrades safe (docs/operations.md,
// "Upgrading"): from version kRollingUpgradesFrom + 1 on, a migration only adds.
#include "app/migrations.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

namespace migrations_test {

using namespace meldestelle::app;

TEST_CASE("migrations are numbered 1, 2, 3 … with a name each", "[migrations]") {
  int want = 1;
  for (const auto& m : Migrations()) {
    CHECK(m.version == want++);
    CHECK(std::string(m.name).size() > 10);
  }
  CHECK(LatestVersion() == Migrations().back().version);
}

TEST_CASE("every migration after rolling upgrades began only adds", "[migrations]") {
  for (const auto& m : Migrations()) {
    if (m.version <= kRollingUpgradesFrom)
      continue;
    INFO("migration " << m.version << " " << m.name);
    CHECK(ContractChanges(m.sql).empty());
  }
}

TEST_CASE("the contract check finds what the previous version would trip over", "[migrations]") {
  struct Case {
    const char* sql;
    const char* says;
  };
  const Case contracting[] = {
      {"ALTER TABLE tickets DROP COLUMN routed_category;", "drops: DROP COLUMN routed_category"},
      {"alter table tickets drop routed_category;", "drops: drop routed_category"},
      {"DROP TABLE IF EXISTS fix_answers;", "drops: DROP TABLE IF EXISTS fix_answers"},
      {"ALTER TABLE tickets ALTER COLUMN status DROP DEFAULT;", "drops: DROP DEFAULT"},
      {"ALTER TABLE tickets RENAME COLUMN text TO body;", "renames: RENAME COLUMN text TO body"},
      {"ALTER TABLE tickets ALTER COLUMN lat TYPE numeric;", "changes the type of the column lat"},
      {"ALTER TABLE tickets ALTER COLUMN lat SET DATA TYPE real;",
       "changes the type of the column lat"},
      {"ALTER TABLE tickets ALTER COLUMN closed_at SET NOT NULL;",
       "makes the column closed_at NOT NULL"},
      {"ALTER TABLE tickets ADD COLUMN owner text NOT NULL;",
       "adds the column owner NOT NULL without a default"},
      {"ALTER TABLE tickets ADD owner text not null references x(id);",
       "adds the column owner NOT NULL without a default"},
      {"DELETE FROM staff_sessions;", "deletes the rows of staff_sessions"},
      {"TRUNCATE TABLE outbox;", "deletes the rows of outbox"},
      {"DROP INDEX outbox_one_ack;", "drops the index outbox_one_ack"},
      {"ALTER TABLE outbox DROP CONSTRAINT outbox_ticket_id_kind_key;",
       "drops the constraint outbox_ticket_id_kind_key"},
      {"CREATE UNIQUE INDEX tickets_text ON tickets (text);",
       "adds a uniqueness the previous version may not keep"},
      {"ALTER TABLE tickets ADD CONSTRAINT one_text UNIQUE (text);",
       "adds a uniqueness the previous version may not keep"},
  };
  for (const auto& c : contracting) {
    INFO(c.sql);
    auto found = ContractChanges(c.sql);
    REQUIRE(found.size() == 1);
    CHECK_THAT(found[0], Catch::StartsWith(c.says));
  }
  const char* adding[] = {
      "CREATE TABLE upgrade_notes (id bigserial PRIMARY KEY, note text NOT NULL);",
      "ALTER TABLE tickets ADD COLUMN note text;",
      "ALTER TABLE tickets ADD COLUMN score int NOT NULL DEFAULT 0;",
      "ALTER TABLE tickets ADD COLUMN folded text GENERATED ALWAYS AS (lower(text)) STORED NOT "
      "NULL;",
      "CREATE INDEX tickets_note ON tickets (note) WHERE note IS NOT NULL;",
      "ALTER TABLE tickets ALTER COLUMN first_rule_id DROP NOT NULL;",
      // A check widened for a new value: dropped and added again under its name.
      "ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;\n"
      "ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check\n"
      "  CHECK (action IN ('routed', 'probe'));",
      "DROP INDEX IF EXISTS outbox_pending; CREATE INDEX outbox_pending ON outbox (id);",
      "UPDATE tickets SET note = '' WHERE note IS NULL;",
      "-- DROP TABLE tickets (a comment)\nALTER TABLE tickets ADD COLUMN note2 text DEFAULT "
      "'DROP';",
      "ALTER TABLE tickets ADD CONSTRAINT note_short CHECK (length(note) < 100) NOT VALID;",
  };
  for (const char* sql : adding) {
    INFO(sql);
    CHECK(ContractChanges(sql).empty());
  }
}

TEST_CASE(
    "the contract check would have caught the migrations that contracted before rolling "
    "upgrades",
    "[migrations]") {
  // Migration 20 ended the token sessions: it deleted their rows, dropped an index and a column,
  // and added columns the previous version's sign-in could not fill.
  const auto& m20 = Migrations()[19];
  REQUIRE(m20.version == 20);
  auto found = ContractChanges(m20.sql);
  std::string all;
  for (const auto& f : found)
    all += f + "\n";
  INFO(all);
  auto has = [&](const std::string& what) {
    return std::count(found.begin(), found.end(), what) == 1;
  };
  CHECK(has("deletes the rows of staff_sessions"));
  CHECK(has("drops the index staff_sessions_token"));
  CHECK(has("drops: DROP COLUMN token_id"));
  for (const char* column : {"username", "display_name", "source", "role"})
    CHECK(has(std::string("adds the column ") + column + " NOT NULL without a default"));
  CHECK(found.size() == 7);
  // Migration 18 only widened a check: nothing.
  CHECK(ContractChanges(Migrations()[17].sql).empty());
}

}  // namespace migrations_test
