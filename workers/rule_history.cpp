#include "workers/rule_history.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/crypto.hpp"
#include "core/sql.hpp"

namespace meldestelle::workers {

std::string ProcessIdentity() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) {
    host[0] = '\0';
  }
  return std::string(host) + ":" + std::to_string(getpid());
}

Status RecordSwap(const std::string& database_url, const SwapRecord& swap) {
  auto conn = db::Connect(database_url);
  if (!conn) {
    return conn.error();
  }
  return db::Guard<Ok>([&]() -> Ok {
    db::Tx tx(**conn);
    tx.exec_params0(
        "INSERT INTO ruleset_swaps (rule_set, version, previous_version, source, worker,"
        " accepted, error) VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, NULLIF($7, ''))",
        swap.rule_set, swap.version, swap.previous_version, swap.source, ProcessIdentity(),
        swap.accepted, swap.error.substr(0, 10000));
    tx.commit();
    return Ok{};
  });
}

Status CheckSwapsWritable(const std::string& database_url) {
  auto conn = db::Connect(database_url);
  if (!conn) {
    return conn.error();
  }
  return db::Guard<Ok>([&]() -> Ok {
    db::Tx tx(**conn);
    // The privilege a record needs, not only the table (an unmigrated database fails here too:
    // the table does not exist).
    auto r = tx.exec("SELECT has_table_privilege('ruleset_swaps', 'INSERT')");
    if (!r[0][0].as<bool>())
      throw std::runtime_error("no INSERT privilege on ruleset_swaps");
    return Ok{};
  });
}

}  // namespace meldestelle::workers
