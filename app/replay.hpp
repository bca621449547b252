#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/result.hpp"
#include "routing/rules.hpp"
#include "routing/timezone.hpp"

// `meldestelle rules replay` (docs/routing.md, "Replay"): re-routes the stored tickets of a period
// with a candidate rule set and counts how many would move from which department to which, by
// the candidate's rule. Reads the database in one READ ONLY, REPEATABLE READ transaction and
// streams the rows (COPY), so memory stays bounded however many tickets there are: only the
// counts per (from, to, rule) and a few example references per cell are kept.
namespace meldestelle::app {

// One cell of the table: tickets currently at `from` that the candidate sends to `to` with
// `rule` ("" = the default department).
struct ReplayCell {
  int64_t count = 0;
  std::vector<std::string> examples;  // the first few references, in stream order
};

// The pure aggregation: counts per (from, to, rule). Not thread-safe; one per replay.
class ReplayAggregate {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;  // from, to, rule
  using Cells = std::map<Key, ReplayCell, std::less<>>;

  explicit ReplayAggregate(size_t max_examples = 3) : max_examples_(max_examples) {}

  // Counts one ticket. Allocates only when a new cell appears or an example is kept.
  void Add(std::string_view from, std::string_view to, std::string_view rule,
           std::string_view reference);

  int64_t total() const { return total_; }
  int64_t moved() const { return moved_; }
  int64_t unchanged() const { return total_ - moved_; }
  size_t max_examples() const { return max_examples_; }
  const Cells& cells() const { return cells_; }
  // The cells where from != to, largest first (then by from, to, rule).
  std::vector<std::pair<Key, ReplayCell>> Moves() const;

 private:
  size_t max_examples_;
  int64_t total_ = 0;
  int64_t moved_ = 0;
  Cells cells_;
  // The previous row's cell: runs of tickets with the same outcome skip the map lookup.
  ReplayCell* last_ = nullptr;
  const Key* last_key_ = nullptr;
};

struct ReplayOptions {
  std::optional<int64_t> since;  // Unix seconds, inclusive
  std::optional<int64_t> until;  // Unix seconds, exclusive
  size_t examples = 3;
  // Called about once a second with the rows read so far and the elapsed seconds.
  std::function<void(int64_t rows, double seconds)> progress;
};

struct ReplayResult {
  ReplayAggregate aggregate;
  std::string ruleset_version;
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  double seconds = 0;
};

// Streams the tickets received in [since, until) from `database_url` and routes each with
// `rules`. Changes nothing. Errors: "db_unavailable" (connection), "db_error" (anything else).
Result<ReplayResult> Replay(const std::string& database_url, const routing::RuleSet& rules,
                            const ReplayOptions& options);

// {"ruleset_version", "since", "until", "total", "unchanged", "moved", "seconds",
//  "reports_per_sec", "moves": [{"from", "to", "rule", "count", "examples"}]};
// "rule" is null for the default department, "since"/"until" null when open.
nlohmann::json ReplayToJson(const ReplayResult& r);
// A table, one line per (from, to, rule) that moves, with totals.
std::string ReplayToText(const ReplayResult& r);

}  // namespace meldestelle::app
