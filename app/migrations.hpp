#pragma once

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

// Creates the database if missing, then applies every migration not yet applied, each in its own
// transaction under an advisory lock (safe to run concurrently, twice, and on every start).
// Returns the number of migrations applied.
Result<int> Migrate(const std::string& database_url);

}  // namespace meldestelle::app
