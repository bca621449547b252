#pragma once

// The ticket domain's settings (docs/configuration.md, `tickets:`, `notifications:`,
// `duplicates:`).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::tickets {

// The ticket's life after routing (docs/departments.md): triage, deadlines, delivery.
struct Settings {
  static constexpr std::string_view kKey = "tickets";
  static constexpr bool kRequired = false;
  // Where handed-back tickets go when no rule finds another department, and escalations;
  // empty = the rule set's default department.
  std::string triage_department;
  std::vector<int> working_days = {1, 2, 3, 4, 5};  // ISO weekdays, 1 = Monday
  std::vector<std::string> holidays;                // YYYY-MM-DD, not working days
  Span remind_after;    // no acceptance within this: a reminder to the department
  Span reassign_after;  // no acceptance within this: the ticket goes to the triage department
  // No answer to a question within this: the ticket returns to its department with a note
  // (tickets/questions.hpp).
  Span question_timeout = *ParseSpan("5 working days");
  int delivery_max_attempts = 6;  // department deliveries: attempts before giving up
  int delivery_timeout_seconds = 20;
  int64_t attach_max_bytes = 5 * 1024 * 1024;  // e-mail delivery: photos beyond this are linked
  int jobs_interval_ms = 5000;  // how often workers look for due deadlines and hand-backs
  // Inbox sessions (tickets/staff_sessions.hpp) end after this long unused, and at the latest
  // this long after the login.
  int inbox_idle_minutes = 30;
  int inbox_session_hours = 12;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// What citizens are told when their ticket changes (docs/departments.md, "Citizens").
struct NotificationSettings {
  static constexpr std::string_view kKey = "notifications";
  static constexpr bool kRequired = false;
  bool enabled = true;
  // "Ist es behoben?" (tickets/fix_answers.hpp): the notice that a ticket is done asks the
  // citizen whether it is fixed — in chats to answer JA or NEIN, in e-mails with the status
  // page's link.
  bool ask_fixed = true;
  // The town's own texts[language][event], event one of accepted, in_progress, done, rejected,
  // forwarded, duplicate; placeholders {reference}, {department}, {note}, {town}, {status_url},
  // {existing_reference}. Unset: the catalogue's (core/texts.hpp, "nachricht.status.*").
  std::map<std::string, std::map<std::string, std::string>> texts;
  // Per language, same placeholders; unset: "nachricht.email.betreff_status".
  std::map<std::string, std::string> email_subjects;
  // Signs the opt-out links in e-mails; ${VAR}. Empty = webform.token_secret.
  std::string optout_secret;
  // What notices may cost (tickets/notice_limits.hpp): acknowledgements to an address typed
  // into a report, per address; SMS in all, per hour (0: no budget).
  int typed_recipient_per_hour = 1;
  int typed_recipient_per_day = 5;
  int sms_per_hour = 500;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config,
                   NotificationSettings& out);
};

// Duplicate linking (docs/duplicates.md): a report of the same category near an open ticket of
// the last days is linked to it instead of opening a second ticket.
struct DuplicateSettings {
  static constexpr std::string_view kKey = "duplicates";
  static constexpr bool kRequired = false;
  bool enabled = true;
  double distance_m = 30;
  int window_days = 14;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, DuplicateSettings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::tickets
