// `meldestelle migrate`: creates or updates the database schema (app/migrations.cpp).
#include <iostream>

#include "app/command.hpp"
#include "app/migrations.hpp"
#include "core/log.hpp"

namespace meldestelle::app {

namespace {

const char* kMigrateHelp = R"(Usage: meldestelle migrate [--check] [--lock-timeout SECONDS]
                        [--give-up-after SECONDS] [--config FILE]

Creates the database named in database.url if it is missing and applies every schema migration
not yet applied. Safe to run twice, concurrently and on every start, and while the previous
version still serves: migrations only add (docs/operations.md, "Upgrading").

  --check                  apply nothing: print the database's schema version and the
                           migrations this version would apply; exit 0 when there are none, 1
                           when there are (or the database cannot be read)
  --lock-timeout SECONDS   how long a migration waits, each time, for a table that the
                           running processes use (default 2, at least 2: PostgreSQL moves an
                           autovacuum out of its way after 1 s; while it waits, their queries on
                           that table wait behind it). A migration that waited in vain, or lost
                           a deadlock against them, is rolled back and tried again
  --give-up-after SECONDS  stop trying one migration after this long and exit 1, with nothing
                           of it applied (default 300)

The gateway, worker and dispatcher refuse to start on a schema older than their own.
)";

}  // namespace

int RunMigrate(const Args& args) {
  if (args.help) {
    std::cout << kMigrateHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kMigrateHelp, "migrate"))
    return kExitUsage;
  if (!args.positional.empty()) {
    std::cerr << "meldestelle migrate: takes no arguments, not '" << args.positional[0]
              << "' (see --help)\n";
    return kExitUsage;
  }
  log::SetComponent("migrate");
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (args.check) {
    auto at = SchemaVersion(cfg->database.url);
    if (!at) {
      std::cerr << "meldestelle migrate: cannot read the schema version of "
                << RedactUrl(cfg->database.url) << ": " << at.error().message << "\n";
      return kExitFailure;
    }
    int pending = 0;
    std::cout << "migrate: the database is at version " << *at << ", this version brings it to "
              << LatestVersion() << "\n";
    for (const auto& m : Migrations()) {
      if (m.version > *at) {
        std::cout << "  pending: " << m.version << " " << m.name << "\n";
        ++pending;
      }
    }
    if (*at > LatestVersion())
      std::cout << "migrate: the database is newer than this version (an upgrade in progress, "
                   "or a rollback): it runs on it\n";
    return pending == 0 ? kExitOk : kExitFailure;
  }
  MigrateOptions options;
  options.lock_timeout = std::chrono::seconds(args.lock_timeout);
  options.give_up_after = std::chrono::seconds(args.give_up_after);
  auto applied = Migrate(cfg->database.url, options);
  if (!applied) {
    std::cerr << "meldestelle migrate: " << applied.error().message << ": "
              << applied.error().detail << "\n";
    return kExitFailure;
  }
  // The database's own version: a newer one (an upgrade in progress elsewhere) is said as such.
  auto at = SchemaVersion(cfg->database.url);
  const int version = at ? *at : LatestVersion();
  std::cout << "migrate: " << *applied << " migration(s) applied, schema at version " << version
            << "\n";
  if (version > LatestVersion())
    std::cout << "migrate: the database is newer than this version (" << LatestVersion()
              << "; an upgrade in progress, or a rollback): it runs on it\n";
  return kExitOk;
}

}  // namespace meldestelle::app
