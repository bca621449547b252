#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace meldestelle::app {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// The versioned schema, oldest first. Never edit a released migration; add a new one.
const std::vector<Migration>& Migrations();
// The version this binary brings the schema to.
int LatestVersion();

// Rolling upgrades (docs/operations.md, "Upgrading"): the new version's migrations run while
// the old version still serves, so from kRollingUpgradesFrom + 1 on a migration may only add
// (tables, nullable columns or columns with a default, indexes, wider checks, backfills). What
// it does that the version before could trip over, in words; empty when it only adds.
constexpr int kRollingUpgradesFrom = 21;
std::vector<std::string> ContractChanges(const std::string& sql);

// The schema version recorded in the database (0 for a database never migrated).
Result<int> SchemaVersion(const std::string& database_url);

// How a migration waits for its tables while the previous version serves. An ALTER TABLE needs
// the table to itself; while it waits, PostgreSQL queues every later reader of that table behind
// it. So each wait for a lock lasts at most lock_timeout (PostgreSQL's lock_timeout), and a
// migration that waited in vain or lost a deadlock against a serving process is rolled back and
// tried again after a back-off (0.1 s, doubling up to 5 s), until give_up_after has passed since
// its first try.
struct MigrateOptions {
  std::chrono::milliseconds lock_timeout{2000};
  std::chrono::milliseconds give_up_after{std::chrono::minutes(5)};
  // Called before each wait for a new try: the migration, the try that failed (1, 2, …) and
  // why ("55P03: canceling statement due to lock timeout"). Optional; the waits are logged.
  std::function<void(const Migration&, int attempt, const std::string& why)> on_retry;
};

// Creates the database if missing, then applies every migration not yet applied, each in its own
// transaction under an advisory lock (safe to run concurrently, twice, and on every start).
// Returns the number of migrations applied.
Result<int> Migrate(const std::string& database_url, const MigrateOptions& options = {});
// The same with other migrations than this version's (the tests' next version), oldest first.
Result<int> Migrate(const std::string& database_url, const std::vector<Migration>& migrations,
                    const MigrateOptions& options);

}  // namespace meldestelle::app
