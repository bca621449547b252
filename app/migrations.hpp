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

// Creates the database if missing, then applies every migration not yet applied, each in its own
// transaction under an advisory lock (safe to run concurrently, twice, and on every start).
// Returns the number of migrations applied.
Result<int> Migrate(const std::string& database_url);

}  // namespace meldestelle::app
