#pragma once

// Data protection (docs/datenschutz.md), the `privacy:` section: who is responsible, the short
// notice every channel carries with a link to GET /datenschutz, and how long each class of
// personal data is kept (privacy/retention.hpp enforces it).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::privacy {

struct RetentionPeriods {
  // A ticket's contact data (reporter, texts, its photos) is anonymised this long after the
  // ticket was closed (done, rejected; a duplicate with the ticket it joined) …
  int contact_after_close_days = 90;
  // … and at the latest this long after it came in, closed or not.
  int contact_open_days = 1095;
  int raw_payload_days = 14;   // raw inbound payloads (raw_payloads)
  int intake_key_days = 14;    // idempotency keys and their envelopes (intake_keys)
  int chat_draft_days = 30;    // chat drafts and their items, after the draft became a ticket
  int chat_contact_days = 90;  // chat contacts (name, language) after their last message
  int followup_days = 365;     // texts of follow-ups
  int transcript_days = 90;    // phone calls: caller number and transcript
  int outbox_days = 90;        // messages sent: recipient address and text
  int dead_letter_days = 14;   // the dead-letter queue
  int access_log_days = 730;   // who saw whose contact data (contact_views)
  // A stored file nothing refers to (a report refused after its photos were stored) is deleted
  // dead_letter_days + 1 after it was written: until then a dead letter may still need it.
};

// The keys of privacy.retention: name, member, smallest and largest value.
struct RetentionKey {
  const char* name;
  int RetentionPeriods::*days;
  int min, max;
};
const std::vector<RetentionKey>& RetentionKeys();

struct Settings {
  static constexpr std::string_view kKey = "privacy";
  static constexpr bool kRequired = false;
  Settings();  // the built-in texts
  // The controller (Verantwortlicher, Art. 13(1)(a)) and the data protection officer (Art.
  // 13(1)(b)): name and address lines, as shown on /datenschutz. Empty: the town's name.
  std::string controller;
  std::string officer;
  // The supervisory authority a citizen may complain to (Art. 77), name and address.
  std::string authority;
  // The one line every channel carries, per language; {url} is the /datenschutz page.
  std::map<std::string, std::string> notice;
  // Replacements of the /datenschutz page's texts, texts[language][key] (privacy/notice.hpp,
  // NoticeTextKeys()); the built-in ones where absent.
  std::map<std::string, std::map<std::string, std::string>> texts;
  RetentionPeriods retention;
  int job_interval_minutes = 60;  // how often each worker runs the retention pass
  // Phone: a recording is deleted at the provider (Twilio's recording resource) once it was
  // downloaded here.
  bool delete_recordings_at_provider = true;
  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

ConfigSections Sections();

// The notice line in `language` (else German) with the page's URL filled in.
std::string NoticeLine(const Config& config, const std::string& language);
// {gateway.public_base_url}/datenschutz
std::string NoticeUrl(const Config& config);

}  // namespace meldestelle::privacy
