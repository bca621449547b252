#pragma once

#include <string>

#include "core/result.hpp"

// The ruleset_swaps log (hot reload, startup; `rules promote` and `rollback` write it too). Each
// call opens its own short-lived connection (these are rare events), so any thread may call it.
namespace meldestelle::workers {

struct SwapRecord {
  std::string rule_set = "live";  // "live" or "shadow"
  std::string version;
  std::string previous_version;  // empty = none
  std::string source;            // sighup | file_change | promote | rollback | startup
  bool accepted = true;
  std::string error;  // why it was refused
};

// "host:pid" of this process.
std::string ProcessIdentity();

Status RecordSwap(const std::string& database_url, const SwapRecord& swap);

// Whether ruleset_swaps can be written now (the database answers and is migrated): `rules
// promote` and `rollback` ask before they change a file, so that no swap goes unrecorded.
Status CheckSwapsWritable(const std::string& database_url);

}  // namespace meldestelle::workers
