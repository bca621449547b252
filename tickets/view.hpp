#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"

namespace meldestelle::tickets {

// One ticket as staff, departments' systems and mails see it (docs/api.md, "Ticket"): read by
// the staff API and inbox, the department deliveries (e-mail, webhook) and Open311.
struct TicketView {
  std::string id, reference, channel, status, department_id, department_name;
  std::string category, rule_id, text, address, location_source;
  std::string received_at, updated_at, assigned_at, accepted_at, closed_at;  // ISO 8601 UTC
  std::string public_note;
  std::string duplicate_of;  // the original's reference, for a linked duplicate
  std::string public_text;   // released by staff for the public map (GET /meldungen)
  std::optional<double> lat, lon, accuracy_m;
  // The citizen as stored with the report; nullopt when none was stored.
  struct Contact {
    std::string name;
    std::string channel;  // the stored `ack_channel`
    std::string address;  // the stored `ack_address`
    std::string language = "de";
  };
  std::optional<Contact> reporter;
  std::vector<std::string> flags;  // routing flags ("Ort fehlt", …)
  int escalation_level = 0;
  int reporters = 1;  // this ticket's reporter and those of its duplicates
  struct Photo {
    int position = 0;
    std::string sha256, media_type, filename;
    int64_t size = 0;
  };
  std::vector<Photo> attachments;
  struct History {
    int64_t id = 0;
    std::string at, actor, actor_department, action, from_status, to_status, from_department,
        to_department, public_note, note;
    std::string details_json = "{}";  // a JSON object
  };
  std::vector<History> history;  // oldest first; filled only when asked for
  // Answers to the category's extra questions (Open311 attributes), as stored with the report.
  struct Answer {
    std::string code, question;
    std::vector<std::string> values;
  };
  std::vector<Answer> answers;
  // What the citizen sent after the report (ticket_followups): chat replies, later e-mails,
  // Open311 updates. Oldest first.
  struct Followup {
    std::string at, channel, text;
    int photos = 0;
  };
  std::vector<Followup> followups;
};

// Loads by reference (normalised, without spaces or dashes) or by id; nullopt if none.
std::optional<TicketView> LoadTicketByReference(db::Tx& tx, const std::string& reference,
                                                bool with_history);
std::optional<TicketView> LoadTicketById(db::Tx& tx, const std::string& id, bool with_history);

// The ticket as JSON (docs/api.md). The reporter's contact only with `include_contact`.
// Attachment URLs point at the staff API under `base_url`.
nlohmann::json TicketToJson(const TicketView& t, const Config& config, bool include_contact,
                            const std::string& base_url);
// An OpenStreetMap link to the ticket's place; "" without coordinates.
std::string MapLink(const TicketView& t);
std::string MapLink(double lat, double lon);

}  // namespace meldestelle::tickets
