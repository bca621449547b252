#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/result.hpp"

namespace meldestelle::tickets {

// The gateway's view of the database: deduplication keys of submissions (Idempotency-Key, form
// nonce) and the public status of a reference. Holds a small pool of connections; each call
// borrows one. Thread-safe (db::Pool).
class IntakeStore {
 public:
  explicit IntakeStore(std::string url, size_t max_idle = 16);

  struct Key {
    std::string reference;
    std::string report_id;
    std::string request_hash;
    std::string state;  // "pending" or "confirmed"
    std::string envelope;
  };

  // Reserves (channel, key) for a new submission. If it already exists, returns the existing row
  // instead (and inserts nothing).
  Result<std::optional<Key>> Reserve(const std::string& channel, const std::string& key,
                                     const Key& fresh);
  // The broker confirmed the message: the key is kept (for retries with the same key), its copy
  // of the envelope is emptied.
  Status MarkConfirmed(const std::string& channel, const std::string& key);

  struct PublicStatus {
    std::string reference;
    std::string status;
    std::string department;
    std::string category;
    std::string received_at;
    std::string updated_at;
    // A report linked to an open ticket (docs/duplicates.md): that ticket's reference; the
    // status, department and updated_at above are then that ticket's.
    std::string duplicate_of;
    // Filled only when Lookup is given the town's time zone (the status page, GET /meldung/…):
    // the place, and the history a citizen may see (no internal notes, no staff names, no
    // hand-backs), oldest first, with the times as local text ("04.12.2026, 09:15").
    std::optional<double> lat, lon;
    std::string received_local;
    struct Event {
      std::string at_local, action, status, department, public_note;
    };
    std::vector<Event> history;
    // Done, and this closing not yet answered: the page asks "Ist es behoben?".
    bool awaits_fix_answer = false;
    // The category routing used (the original's for a duplicate), else the citizen's; the
    // citizen's own ("" if none); the channel the shown ticket came through.
    std::string routed_category, shown_category, channel;
  };
  // The public status of a reference: a ticket, or a report accepted and not yet routed.
  // With `timezone` (an IANA name, the town's), also the place and the public history.
  Result<std::optional<PublicStatus>> Lookup(const std::string& reference,
                                             const std::string& timezone = {});

  // The public map and list of reports (GET /meldungen, docs/intake-api.md): tickets that are
  // neither rejected nor linked duplicates, whose category (the one routing used, and the
  // citizen's if any) is in `published_categories`, filed through Open311 when `open311_only`,
  // done ones only for `done_days` after their closing; newest first,
  // `page_size` from `page` (1-based). Nothing a citizen wrote: the text is the one staff
  // released (public_text), the place is the exact one (the caller rounds it).
  struct PublicReport {
    std::string reference;
    std::string status;  // open, work or done
    std::string category, public_text, channel;
    std::string received_local;  // "04.12.2026" in the town's time zone
    std::optional<double> lat, lon;
    bool awaits_fixing = false;  // open or in work: others may say "Ich auch"
  };
  struct PublicQuery {
    std::vector<std::string> published_categories;
    bool open311_only = true;  // open311.publish: open311_only
    std::string status;  // "" (all), open, work, done
    int done_days = 30;
    int page = 1, page_size = 25;
    std::string timezone = "UTC";
  };
  struct PublicPage {
    std::vector<PublicReport> reports;
    int64_t total = 0;  // over all pages
  };
  Result<PublicPage> ListPublic(const PublicQuery& query);
  Status Ping();
  // A citizen declined status notifications (docs/departments.md, "Citizens"); idempotent.
  Status RecordOptOut(const std::string& channel, const std::string& address,
                      const std::string& source);
  // The address the message `message_id` (an outbox row on `channel`) went to; nullopt when
  // there is no such message or its address is no longer kept (retention, erasure).
  Result<std::optional<std::string>> MessageAddress(const std::string& channel, int64_t message_id);
  // Runs `read` on a borrowed connection (read-only queries of other handlers, e.g. Open311's
  // GET requests). A database error is returned; a failed connection is not reused.
  Status Read(const std::function<void(db::Connection&)>& read);
  // Runs `write` in a transaction on a borrowed connection; it commits itself (db::Tx::commit).
  Status Write(const std::function<void(db::Tx&)>& write);

 private:
  db::Pool pool_;
};

}  // namespace meldestelle::tickets
