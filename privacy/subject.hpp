#pragma once

// A citizen's rights of access (Art. 15) and erasure (Art. 17) across every channel
// (docs/datenschutz.md, "Access and erasure"): `meldestelle privacy export` and
// `meldestelle privacy erase`.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"
#include "privacy/anonymise.hpp"
#include "privacy/person.hpp"

namespace meldestelle::privacy {

// Who the selector leads to: their contacts (a reference adds the contacts of its reporter),
// their tickets and the names they gave.
struct Person {
  std::vector<Contact> contacts;
  std::vector<std::string> ticket_ids;
  std::vector<std::string> references;
  std::vector<std::string> names;
};

struct ExportSummary {
  Counts rows;  // per table
  long long files = 0;
  std::filesystem::path data_json;
};

// Writes DIR/data.json (every stored row about the person, each with its table and purpose) and
// copies of their photos, documents and recordings to DIR/files/. DIR is created; an existing
// data.json is refused. Errors: database, an unknown reference, DIR not writable.
Result<ExportSummary> Export(const Config& config, const Selector& selector,
                             const std::filesystem::path& dir);

// Removes or anonymises the person's data everywhere (with `dry_run` counts what it would) and,
// unless dry, records the erasure in privacy_erasures (a keyed hash of the selector, counts,
// time). `dead_letters` drops the dead letters that mention them (may be empty: no broker).
using DeadLetterDrop = std::function<Result<long long>(
    const std::function<bool(const std::string& body)>& mentions, bool dry_run)>;
Result<Counts> Erase(const Config& config, const Selector& selector, bool dry_run,
                     const DeadLetterDrop& dead_letters);

// The purpose of each table with personal data, as data.json and docs/datenschutz.md name it.
const std::vector<std::pair<std::string, std::string>>& TablePurposes();

}  // namespace meldestelle::privacy
