#pragma once

// The configuration (docs/configuration.md): one YAML file, parsed once at startup into typed
// settings. Core declares only what every component shares — the town, the gateway's public
// address, the broker, the database, the media store, the departments and the categories. Every
// other section is declared next to the component it configures (routing/settings.hpp,
// tickets/settings.hpp, workers/settings.hpp, channels/<name>/settings.hpp) and registered as a
// ConfigSection; LoadConfig reads the sections it is given and refuses any other top-level key.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include "core/result.hpp"

namespace YAML {
class Node;
}

namespace meldestelle {

class YamlReader;

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

// An extra question of a category (docs/open311.md, "Extra questions"): offered to Open311
// clients as a service attribute, the answer kept with the report and shown to staff.
struct CategoryQuestion {
  std::string code;  // [a-z0-9_]{1,40}
  std::string text;  // the question, for people
  // string | number | datetime | text | singlevaluelist | multivaluelist (Open311's datatypes)
  std::string type = "string";
  bool required = false;
  struct Choice {
    std::string key, name;
  };
  std::vector<Choice> choices;  // the list types' answers
  bool IsList() const { return type == "singlevaluelist" || type == "multivaluelist"; }
};

struct Category {
  std::string code;
  std::string name;
  std::string group;
  std::vector<CategoryKeyword> keywords;
  std::vector<CategoryQuestion> questions;
  // false (`public: false`): reports of this category are never published (Open311's GET
  // requests and updates; docs/open311.md, "Publication") — noise, neighbour disputes.
  bool published = true;
};

struct Config;

namespace texts {
class Catalogue;
}

// How one top-level section of the file is read: its key, and a reader that records every
// problem as "file:line: key: reason" in the YamlReader. Implemented by Section<S>
// (core/config_section.hpp). A section with an empty key is no part of the file: its reader
// only fills in what the program knows (the channel registry's names).
class ConfigSection {
 public:
  virtual ~ConfigSection() = default;
  virtual std::string_view key() const = 0;
  // Reads root[key()] (absent: the defaults, or "is required").
  virtual void Read(YamlReader& rd, const YAML::Node& root, Config& config) const = 0;
};
using ConfigSections = std::vector<std::shared_ptr<const ConfigSection>>;

// The whole configuration, parsed once at startup. Immutable after load.
struct Config {
  std::filesystem::path file;
  // The citizens' texts (core/texts.hpp): the built-in catalogues, with `texts.dir`'s files over
  // them; null = the built-in ones.
  std::shared_ptr<const texts::Catalogue> texts;
  struct Town {
    std::string name;
    std::string timezone = "Europe/Berlin";
  } town;
  // The gateway's address as citizens and providers see it (links in every message, webhook
  // signatures), its instance (references), and its HTTP limits.
  struct Gateway {
    std::string listen = "127.0.0.1";
    int port = 8080;
    std::string public_base_url = "http://127.0.0.1:8080";
    int instance_id = 0;
    int threads = 64;
    int publish_timeout_ms = 5000;
    int64_t max_request_bytes = 60'000'000;  // the largest body of all (multipart with photos)
    int64_t max_body_bytes = 64 * 1024;      // JSON, url-encoded and text bodies
    int max_header_count = 100;
    int64_t max_header_bytes = 32 * 1024;
    // Reports (form, API, Open311) per client address: a burst, then per minute; 0 = no limit.
    int reports_per_minute = 20;
    int reports_burst = 20;
    // Look-ups by reference and of places (status page, JSON status, "Ist es behoben?", the
    // form map's places) per client address: a reference is not a password, so guessing is
    // slowed down (docs/security.md, "Rate limits").
    int lookups_per_minute = 60;
    int lookups_burst = 30;
    // Reverse proxies whose X-Forwarded-For names the client (exact addresses).
    std::vector<std::string> trusted_proxies;
    // Origins ("https://www.musterstadt.example") whose pages may show the citizens' pages in a
    // frame; none by default, and the staff's pages never (docs/security.md, "Pages").
    std::vector<std::string> embed_origins;
    // /readyz and /metrics on their own port (0: on the main port).
    int admin_port = 0;
    std::string admin_listen = "127.0.0.1";
    // Connections (gateway/guarded_server.hpp): open per client address (0: no cap; trusted
    // proxies have none), accepted but waiting for a thread, the deadlines of a request's head
    // and body, idle keep-alive and requests per connection.
    int max_connections_per_client = 16;
    int max_queued_connections = 256;
    int header_timeout_seconds = 10;
    int body_timeout_seconds = 30;
    int64_t min_upload_bytes_per_second = 8 * 1024;
    int keep_alive_seconds = 5;
    int keep_alive_requests = 100;
  } gateway;
  struct Amqp {
    std::string url = "amqp://guest:guest@127.0.0.1:5672/";
    // The nodes of a cluster (amqp.urls: a list, or one string of comma-separated URLs as
    // MELDESTELLE_AMQP_URLS gives it); empty: `url` alone. Read through BrokerUrls.
    std::vector<std::string> urls;
    std::string exchange = "meldestelle.reports";
    std::string queue = "meldestelle.reports";
    std::string dead_letter_queue = "meldestelle.reports.dead";
  } amqp;
  struct Database {
    std::string url = "postgresql://postgres@127.0.0.1:55432/meldestelle";
  } database;
  struct Storage {
    std::filesystem::path media_dir = "var/media";
    // What a process keeps of itself between runs: the gateway's reference clock
    // (core/reference.hpp, reference-clock-<instance_id>).
    std::filesystem::path state_dir = "var/state";
  } storage;
  std::vector<Department> departments;
  std::vector<Category> categories;
  // The master secret of the keys per purpose (core/links.hpp): webform.token_secret, set by
  // that section's reader.
  std::string link_secret;
  // Purposes' own secrets (`keys.<purpose>`, notifications.optout_secret for "optout_links").
  std::map<std::string, std::string> purpose_secrets;
  // The channels of this installation, by name, with their names for people ("whatsapp" →
  // "WhatsApp"): filled from the channel registry when the file is loaded with its sections
  // (channels::Registry::ConfigSections). Empty when no registry took part (tools, tests).
  std::map<std::string, std::string> channel_names;

  const Department* FindDepartment(std::string_view id) const;
  const Category* FindCategory(std::string_view code) const;

  // A component's section (S declares kKey and Read; see Section<S>). A section that was not
  // loaded reads as its defaults.
  template <typename S>
  const S& Get() const {
    auto it = sections_.find(std::type_index(typeid(S)));
    if (it == sections_.end()) {
      static const S kDefaults{};
      return kDefaults;
    }
    return *static_cast<const S*>(it->second.get());
  }
  // The section to fill in (its reader; tests that build a Config by hand). Copies of a
  // Config share their sections until one of them is changed.
  template <typename S>
  S& Set() {
    auto& slot = sections_[std::type_index(typeid(S))];
    if (!slot) {
      slot = std::make_shared<S>();
    } else if (slot.use_count() > 1) {
      slot = std::make_shared<S>(*static_cast<const S*>(slot.get()));
    }
    return *static_cast<S*>(slot.get());
  }

 private:
  std::map<std::type_index, std::shared_ptr<void>> sections_;
};

// Loads and validates the shared sections and `sections`, in order (a section may use what the
// ones before it read, e.g. the departments). Every other top-level key is an error, unless
// `ignore_other_keys` (tools and tests that load only some components' settings). The error
// message lists every problem as "file:line: key: reason".
Result<Config> LoadConfig(const std::filesystem::path& file, const ConfigSections& sections = {},
                          bool ignore_other_keys = false);
// The same from YAML text (fuzz/config.cpp); `file` labels the errors and is where relative paths
// in it are resolved from (ResolveBeside). Nothing is read from disk but texts.dir's folder.
Result<Config> ParseConfig(const std::string& yaml_text, const std::filesystem::path& file,
                           const ConfigSections& sections = {}, bool ignore_other_keys = false);
// --config, else $MELDESTELLE_CONFIG, else config/example/meldestelle.yaml.
std::filesystem::path ResolveConfigPath(const std::string& from_flag);

// Helpers for section readers (core/config.cpp).
// A secret: the value must be exactly ${NAME}; an unset variable leaves it empty (off).
void ReadSecret(YamlReader& rd, const YAML::Node& map, const char* name, const std::string& path,
                const char* example, std::string* out, std::string* var_out = nullptr);
// A time span (ParseSpan) at map[name].
void ReadSpan(YamlReader& rd, const YAML::Node& map, const char* name, const std::string& path,
              Span* out);
// A path relative to the config file's directory (absolute ones as they are).
std::filesystem::path ResolveBeside(const Config& config, const std::string& path);

}  // namespace meldestelle
