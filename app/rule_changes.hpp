#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "core/result.hpp"

namespace meldestelle {
struct Config;
}

namespace meldestelle::app {

// `rules shadow-report`: counts of disagreements since `since` (a date or timestamp PostgreSQL
// understands; empty = all) by (live department → candidate department, candidate rule), with
// up to three example references each. `format` is "text" or "json". Returns the total count.
Result<long long> ShadowReport(const std::string& database_url, const std::string& since,
                               const std::string& format, std::ostream& out);

// `rules promote`: checks `candidate` against the fixtures that will be live with it (its own
// `…-tests.yaml` if there is one, else the live fixtures), keeps the live rule and fixture files as
// `*.previous`, and writes the candidate (and its fixtures) over the live files, each by an atomic
// rename. Workers pick the change up by their reload. Records a "promote" swap. Prints what it did.
Status PromoteRules(const Config& config, const std::filesystem::path& candidate,
                    std::ostream& out);
// `rules rollback`: exchanges the live rule (and fixture) files with their `*.previous` copies
// after checking the previous set. Records a "rollback" swap.
Status RollbackRules(const Config& config, std::ostream& out);

}  // namespace meldestelle::app
