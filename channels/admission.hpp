#pragma once

// The admit step as a channel sees it (docs/architecture.md, "The path of a report"): every
// report, whatever channel it came through, is admitted by this one step — routed by the live
// rules and, when configured, by the shadow rules; its department resolved; its ticket written
// with its acknowledgement; counted. The worker implements it (workers::Admitter); a channel's
// handler and background jobs call it once they have the whole report.
#include <string>
#include <vector>

#include "core/envelope.hpp"
#include "core/result.hpp"

namespace meldestelle::channels {

struct AdmitRequest {
  Envelope envelope;               // the report and the raw payload kept for audit
  std::vector<std::string> flags;  // notes for staff added to the routing ("Ort fehlt", …)
  std::string ack_extra;           // a JSON object for the acknowledgement's sender, or ""
};

struct Admitted {
  enum class Outcome { kCreated, kRedelivered, kLinked } outcome = Outcome::kCreated;
  std::string department;        // the department's id
  std::string rule;              // the live rule that routed it ("" = the default)
  std::string linked_reference;  // kLinked: the open ticket it was linked to
};

class Admission {
 public:
  virtual ~Admission() = default;
  // Errors: db_unavailable (try again later: nothing was written), anything else from the store.
  virtual Result<Admitted> Admit(const AdmitRequest& request) = 0;
};

}  // namespace meldestelle::channels
