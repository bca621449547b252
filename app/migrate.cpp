// `meldestelle migrate`: creates or updates the database schema (app/migrations.cpp).
#include <iostream>

#include "app/command.hpp"
#include "app/migrations.hpp"
#include "core/log.hpp"

namespace meldestelle::app {

namespace {

const char* kMigrateHelp = R"(Usage: meldestelle migrate [--config FILE]

Creates the database named in database.url if it is missing and applies every schema migration
not yet applied. Safe to run twice, concurrently and on every start.
)";

}  // namespace

int RunMigrate(const Args& args) {
  if (args.help) {
    std::cout << kMigrateHelp;
    return kExitOk;
  }
  log::SetComponent("migrate");
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  auto applied = Migrate(cfg->database.url);
  if (!applied) {
    std::cerr << "meldestelle migrate: " << applied.error().message << ": "
              << applied.error().detail << "\n";
    return kExitFailure;
  }
  std::cout << "migrate: " << *applied << " migration(s) applied, schema at version "
            << Migrations().back().version << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
