#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {

// A time span for deadlines (docs/departments.md, "Deadlines"): "30 minutes", "4 hours",
// "2 days", "2 working days" (German too: "Minuten", "Stunden", "Tage", "Arbeitstage").
// Working days skip the weekend and holidays in `tickets:` and count in the town's time zone.
struct Span {
  enum class Unit { kNone, kMinutes, kHours, kDays, kWorkingDays };
  int64_t amount = 0;
  Unit unit = Unit::kNone;
  std::string text;  // as written, for messages
  bool set() const { return unit != Unit::kNone && amount > 0; }
};
// Parses a Span; nullopt if `text` is none of the forms above.
std::optional<Span> ParseSpan(const std::string& text);

struct Department {
  Department() = default;
  Department(std::string id_, std::string name_, std::string email_ = {})
      : id(std::move(id_)), name(std::move(name_)), email(std::move(email_)) {}
  std::string id;
  std::string name;
  std::string email;
  // How a new ticket reaches the department (docs/departments.md): "email" (to `email`),
  // "webhook" (signed JSON to webhook_url; falls back to `email`), or "none" (staff API only).
  // Default: "email" when an address is set, else "none".
  std::string delivery;
  std::string webhook_url;
  std::string webhook_secret;  // ${VAR}; HMAC-SHA256 key of the X-Meldestelle-Signature header
  bool show_reporter_contact = false;  // may the department see the citizen's contact?
  // Acceptance deadline; unset = the defaults in `tickets:`.
  Span remind_after;
  Span reassign_after;
};

// A word or phrase that suggests a category in free text, with the weight the classifier gives
// it (docs/configuration.md, `categories[].keywords`).
struct CategoryKeyword {
  std::string text;
  double weight = 1.0;
  int line = 0;  // in the config file, for messages
};

struct Category {
  std::string code;
  std::string name;
  std::string group;
  std::vector<CategoryKeyword> keywords;
};

// The whole configuration, parsed once at startup (docs/configuration.md). Immutable after load.
struct Config {
  std::filesystem::path file;
  struct Town {
    std::string name;
    std::string timezone = "Europe/Berlin";
  } town;
  struct Gateway {
    std::string listen = "127.0.0.1";
    int port = 8080;
    std::string public_base_url = "http://127.0.0.1:8080";
    int instance_id = 0;
    int threads = 64;
    int publish_timeout_ms = 5000;
    int64_t max_request_bytes = 60'000'000;
  } gateway;
  struct Amqp {
    std::string url = "amqp://guest:guest@127.0.0.1:5672/";
    std::string exchange = "meldestelle.reports";
    std::string queue = "meldestelle.reports";
    std::string dead_letter_queue = "meldestelle.reports.dead";
  } amqp;
  struct Database {
    std::string url = "postgresql://postgres@127.0.0.1:55432/meldestelle";
  } database;
  struct Storage {
    std::filesystem::path media_dir = "var/media";
  } storage;
  struct Worker {
    int prefetch = 50;
    int max_attempts = 5;
    int metrics_port = 0;
  } worker;
  struct Webform {
    int max_photos = 5;
    int64_t max_photo_bytes = 10 * 1024 * 1024;
    int max_description_chars = 4000;
    std::string token_secret;      // from the environment; empty if unset
    std::string token_secret_var;  // the variable's name, for error messages
    int token_min_age_seconds = 3;
    int token_max_age_seconds = 7200;
  } webform;
  // Messenger channels (docs/channels/whatsapp.md, docs/channels/telegram.md). A channel is
  // enabled when its authentication secret is set in the environment.
  struct WhatsApp {
    std::string app_secret;    // X-Hub-Signature-256 key
    std::string verify_token;  // GET handshake
    std::string access_token;  // Graph API bearer token (media download, sending)
    std::string api_base = "https://graph.facebook.com/v21.0";
    // Approved template used outside the 24-hour window; its body takes the reference and the
    // message text as parameters {{1}} and {{2}}.
    std::string template_name = "meldung_statusupdate";
    std::string template_language = "de";
    bool enabled() const { return !app_secret.empty(); }
  } whatsapp;
  struct Telegram {
    std::string secret_token;  // X-Telegram-Bot-Api-Secret-Token
    std::string bot_token;     // Bot API token (media download, sending)
    std::string api_base = "https://api.telegram.org";
    bool enabled() const { return !secret_token.empty(); }
  } telegram;
  // Phone calls through a Twilio-compatible provider (docs/channels/phone.md). On when the auth
  // token is set (it signs every webhook).
  struct Phone {
    std::string auth_token;   // X-Twilio-Signature key; also the password for recordings and SMS
    std::string account_sid;
    std::string api_base = "https://api.twilio.com";
    std::string sms_from;     // the number SMS confirmations are sent from; empty = no SMS offer
    int max_recording_seconds = 120;
    // Where the text comes from: "provider" (transcribeCallback), "stt" (stt_url), "none";
    // "auto" = stt if stt_url is set, else provider.
    std::string transcription = "auto";
    std::string stt_url;
    int stt_timeout_seconds = 60;
    int transcription_wait_seconds = 120;  // provider: how long to wait for the callback
    std::string transcript_secret;         // POST /webhooks/phone/transcript (HMAC-SHA256)
    int recording_retention_days = 90;
    double location_min_confidence = 0.6;  // below: "Ort unsicher"
    // What the caller hears, per language ("de", "en") and text (greeting, instructions, …):
    // overrides of the built-in script (docs/channels/phone.md, "What the caller hears").
    std::map<std::string, std::map<std::string, std::string>> texts;
    bool enabled() const { return !auth_token.empty(); }
    std::string TranscriptionMode() const {
      if (transcription != "auto") return transcription;
      return stt_url.empty() ? "provider" : "stt";
    }
  } phone;
  // Sending e-mail (docs/channels/email.md): acknowledgements to citizens who left an address
  // and forwards to other authorities. Off (rows wait in the outbox) while smtp_url is empty.
  struct Email {
    std::string smtp_url;
    std::string smtp_user;
    std::string smtp_password;
    std::string from = "maengel@musterstadt.example";
    std::string from_name = "Meldestelle";
    struct Template {
      std::string subject;
      std::string body;
    };
    // Acknowledgement per language; placeholders {reference}, {department}, {town}, {status_url}.
    std::map<std::string, Template> ack_templates = {
        {"de",
         {"[{reference}] Ihre Meldung ist eingegangen",
          "Guten Tag,\n\nvielen Dank für Ihre Meldung. Sie hat die Vorgangsnummer {reference}. "
          "Zuständig ist: {department}.\n\nDen Stand können Sie jederzeit hier "
          "abrufen: {status_url}\n\nBitte nennen Sie die Vorgangsnummer bei Rückfragen. Wenn Sie "
          "etwas ergänzen möchten, antworten Sie einfach auf diese E-Mail.\n\nMit freundlichen "
          "Grüßen\nIhre Stadtverwaltung {town}"}},
        {"en",
         {"[{reference}] Your report has been received",
          "Hello,\n\nthank you for your report. Its reference is {reference}; it has been "
          "passed to: {department}.\n\nYou can check its status at any time: {status_url}\n\n"
          "Please quote the reference if you contact us. To add something, just reply to this "
          "e-mail.\n\nKind regards\nTown of {town}"}}};
    bool enabled() const { return !smtp_url.empty(); }
    // Receiving (docs/channels/email.md): POST /api/v1/mail (mailgate, IMAP poller) needs this
    // bearer secret; empty = off.
    std::string intake_secret;
    std::string imap_url;  // imap://host:port/INBOX; empty = no polling
    std::string imap_user, imap_password;
    int imap_interval_seconds = 30;
    std::string mailgun_signing_key;  // /webhooks/mailgun; empty = off
    std::string sendgrid_secret;      // /webhooks/sendgrid?key=… or Basic auth password; empty = off
    int64_t max_message_bytes = 30 * 1024 * 1024;
    int max_attachments = 20;
    int max_depth = 10;
  } email;
  // How chat messages become reports (docs/channels/whatsapp.md, "Multi-message reports").
  struct Chat {
    int draft_window_seconds = 180;   // a draft closes this long after its last message
    int rate_limit_per_minute = 20;   // messages per sender; beyond that dropped and counted
    int dedupe_days = 7;              // how long provider message ids are remembered
    int64_t max_media_bytes = 20 * 1024 * 1024;
    int media_timeout_seconds = 30;
    int send_max_attempts = 8;        // outgoing chat messages: attempts before "failed"
  } chat;
  std::vector<Department> departments;
  // The ticket's life after routing (docs/departments.md): triage, deadlines, delivery.
  struct Tickets {
    // Where handed-back tickets go when no rule finds another department, and escalations;
    // empty = the rule set's default department.
    std::string triage_department;
    std::vector<int> working_days = {1, 2, 3, 4, 5};  // ISO weekdays, 1 = Monday
    std::vector<std::string> holidays;                // YYYY-MM-DD, not working days
    Span remind_after;    // no acceptance within this: a reminder to the department
    Span reassign_after;  // no acceptance within this: the ticket goes to the triage department
    int delivery_max_attempts = 6;    // department deliveries: attempts before giving up
    int delivery_timeout_seconds = 20;
    int64_t attach_max_bytes = 5 * 1024 * 1024;  // e-mail delivery: photos beyond this are linked
    int jobs_interval_ms = 5000;  // how often workers look for due deadlines and hand-backs
  } tickets;
  // What citizens are told when their ticket changes (docs/departments.md, "Citizens").
  struct Notifications {
    bool enabled = true;
    // texts[language][event], event one of accepted, in_progress, done, rejected, forwarded,
    // duplicate; placeholders {reference}, {department}, {note}, {town}, {status_url},
    // {existing_reference}.
    std::map<std::string, std::map<std::string, std::string>> texts;
    std::map<std::string, std::string> email_subjects;  // per language, same placeholders
    // Signs the opt-out links in e-mails; ${VAR}. Empty = webform.token_secret.
    std::string optout_secret;
  } notifications;
  // Open311 GeoReport v2 (docs/open311.md). On when at least one api key is set.
  struct Open311 {
    std::string jurisdiction_id;
    struct ApiKey {
      std::string client;  // the client application's name
      std::string key;     // ${VAR}
    };
    std::vector<ApiKey> api_keys;
    int64_t max_media_bytes = 10 * 1024 * 1024;
    int media_timeout_seconds = 30;
    // `service_notice` of every created request (e.g. how long the check takes); "" = null.
    std::string service_notice;
    bool enabled() const {
      for (const auto& k : api_keys)
        if (!k.key.empty()) return true;
      return false;
    }
  } open311;
  std::vector<Category> categories;
  // The automatic category for reports without one (docs/routing.md, "Automatic category").
  struct Classifier {
    double min_score = 1.0;       // the best category needs at least this sum of weights
    double min_confidence = 0.5;  // and at least this share of all categories' scores
  } classifier;
  // Duplicate linking (docs/duplicates.md): a report of the same category near an open ticket of
  // the last days is linked to it instead of opening a second ticket.
  struct Duplicates {
    bool enabled = true;
    double distance_m = 30;
    int window_days = 14;
  } duplicates;
  // A named GeoJSON geometry used by routing conditions (`area:`, `near:`); the file is parsed
  // and validated by the routing library when the rule set is loaded.
  struct GeoFile {
    std::string name;            // [a-z0-9_-]+, unique; referenced by rules
    std::filesystem::path file;  // resolved against the config file's directory
    int line = 0;                // line of the entry in the config file, for error messages
  };
  struct Routing {
    std::filesystem::path rules_file;  // resolved against the config file's directory
    std::vector<GeoFile> areas;        // polygons, points and lines, by name
    // A candidate rule set evaluated beside the live one (shadow mode); empty = none.
    std::filesystem::path shadow_rules_file;
    // How often workers look for changed rule, fixture and area files; 0 = only on SIGHUP.
    int reload_interval_ms = 2000;
    // Location checks (docs/routing.md, "Location checks"), evaluated before the rules.
    // The town boundary: a located report outside it gets `outside`. Empty = no check.
    std::string town_area;
    int town_area_line = 0;
    struct Outside {
      std::string action;  // "forward" or "ask"; empty = not configured
      std::string authority;  // forward: who receives the report
      std::string email;
      std::string message;  // ask: the question for the citizen
      int line = 0;
    } outside;
    // The districts whose shared boundaries are checked for "Grenzlage"; empty = no check.
    std::vector<std::string> districts;
    int districts_line = 0;
    double border_distance_m = 25;
    // The street list and landmarks for finding a place in text (phone transcripts, e-mail);
    // empty = none. Resolved against the config file's directory.
    std::filesystem::path gazetteer_file;
  } routing;

  const Department* FindDepartment(std::string_view id) const;
  const Category* FindCategory(std::string_view code) const;
};

// Loads and validates; the error message lists every problem as "file:line: key: reason".
Result<Config> LoadConfig(const std::filesystem::path& file);
// --config, else $MELDESTELLE_CONFIG, else config/example/meldestelle.yaml.
std::filesystem::path ResolveConfigPath(const std::string& from_flag);

}  // namespace meldestelle
