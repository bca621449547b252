#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"

namespace meldestelle::tickets {

// The shared vocabulary of a ticket's life after routing (docs/departments.md): every change is
// one row of `ticket_history`, written in the same transaction as the change itself, and a public
// change queues the citizens' notifications and, where a department changes, its delivery — all
// through the outbox, so nothing is sent for a change that did not commit, and nothing is lost.
// Used by the worker (routing, re-routing, deadlines), the gateway's staff API and inbox.

struct HistoryEntry {
  std::string actor;             // "token:<id>", "system:router", "system:deadline", …
  std::string actor_department;  // the department the actor acted for; empty = none/operator
  std::string action;            // routed, accepted, handed_back, rerouted, status, note, …
  std::string from_status, to_status;
  std::string from_department, to_department;
  std::string public_note;  // shown to the citizen
  std::string note;         // internal
  std::string details_json = "{}";  // a JSON object: what else the change concerns
};

// `details` as the text of HistoryEntry::details_json (invalid UTF-8 replaced).
std::string DetailsText(const nlohmann::json& details);

// Appends one history row; returns its id.
int64_t RecordHistory(db::Tx& tx, const std::string& ticket_id, const HistoryEntry& e);

// The public events citizens are told of (notifications.texts): accepted, in_progress, done,
// rejected, forwarded, duplicate.
bool IsPublicEvent(const std::string& event);

// Queues a notification of `event` for every citizen who reported `ticket_id`: its own reporter
// and the reporters of every report linked to it as a duplicate, each in the channel of their own
// acknowledgement (which also says whether they can be reached: web form without contact, phone
// without SMS consent → nobody), unless they opted out. One row per citizen per history entry
// (dedupe_key "status:<history_id>:<ticket>"), so a retried transaction sends nothing twice.
// `department` is the name the text mentions; `existing_reference` (event duplicate) the ticket it
// was merged into. Returns how many rows were queued.
int EnqueueCitizenNotifications(db::Tx& tx, const Config& config, const std::string& ticket_id,
                                const std::string& event, const std::string& department,
                                const std::string& public_note, int64_t history_id,
                                const std::string& existing_reference = {});

// Queues the delivery of `ticket_id` to department `department_id` as its configuration says
// (e-mail → channel dept_email, webhook → dept_webhook; none → nothing). `reason`: new,
// reminder, reassigned, rerouted, forwarded, reopened, followup. Returns whether a row was queued.
bool EnqueueDelivery(db::Tx& tx, const Config& config, const std::string& ticket_id,
                     const std::string& department_id, const std::string& reason,
                     int64_t history_id);

// A coarse public status for a ticket status (received, in_progress, done, rejected): the
// `public_status` of the staff API's ticket JSON and of the department deliveries.
std::string PublicStatus(const std::string& status);

}  // namespace meldestelle::tickets
