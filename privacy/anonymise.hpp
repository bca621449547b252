#pragma once

// Anonymising one ticket (docs/datenschutz.md, "Anonymising"), the step retention and erasure
// share. What stays is what statistics, routing quality and the public status page need:
// reference, channel, category, department, district and place, status, times, history.
// What goes: the reporter (name, contact), the text (cleared, or for an erasure with the person's
// contacts redacted, so the department can go on), photos and documents, follow-up texts, the
// messages to the citizen, the call's number, transcript and recording, the chat draft, the
// idempotency envelope and the raw payload.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/db.hpp"
#include "core/media.hpp"
#include "privacy/person.hpp"

namespace meldestelle::privacy {

// What a pass did (or would do), per class of data, in the order first counted.
class Counts {
 public:
  void Add(const std::string& klass, long long n);
  long long Get(const std::string& klass) const;
  const std::vector<std::pair<std::string, long long>>& items() const { return items_; }
  std::string ToJson() const;
  // A class that could not be done this time (its store unavailable), and why.
  void Skip(std::string what) { skipped_.push_back(std::move(what)); }
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::vector<std::pair<std::string, long long>> items_;
  std::vector<std::string> skipped_;
};

struct Anonymisation {
  // Erasure: the person's contacts and names are redacted from texts that stay (the ticket's
  // text and address, history notes); retention (empty): texts are cleared.
  std::vector<Contact> redact;
  std::vector<std::string> names;
  bool erasure = false;
};

// Anonymises the ticket `id` in `tx` (a ticket already anonymised is done again, harmlessly) and
// adds the files it no longer needs to `files` (delete them after the commit with
// DeleteUnreferenced). Counts tickets, photos, follow-ups, messages, calls, drafts, envelopes and
// raw payloads.
void AnonymiseTicket(db::Tx& tx, const std::string& id, const Anonymisation& how,
                     std::set<std::string>& files, Counts& counts);

// Redacts `contacts` and `names` in the notes and details of the history rows that match `where`
// (an SQL condition on ticket_history with `param` as $1); returns how many rows changed.
long long RedactHistory(db::Tx& tx, const std::string& where, const std::string& param,
                        const std::vector<Contact>& contacts,
                        const std::vector<std::string>& names);

// Deletes each file of `shas` that no row refers to any more (attachments, chat draft items,
// follow-ups, phone recordings). Returns how many were deleted.
Result<long long> DeleteUnreferenced(db::Session& session, const BlobStore& blobs,
                                     const std::set<std::string>& shas);
// The SQL condition "no row refers to the file `sha`" (an SQL expression of its sha256 hex).
std::string UnreferencedCondition(const std::string& sha);

}  // namespace meldestelle::privacy
