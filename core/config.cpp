#include "core/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "core/amqp.hpp"
#include "core/errors.hpp"
#include "core/texts.hpp"
#include "core/yaml_reader.hpp"

namespace meldestelle {

const Department* Config::FindDepartment(std::string_view id) const {
  for (const auto& d : departments) {
    if (d.id == id)
      return &d;
  }
  return nullptr;
}

const Category* Config::FindCategory(std::string_view code) const {
  for (const auto& c : categories) {
    if (c.code == code)
      return &c;
  }
  return nullptr;
}

std::optional<Span> ParseSpan(const std::string& text) {
  static const std::regex kSpan(
      R"(^\s*(\d{1,6})\s*(minutes?|minuten?|min|hours?|stunden?|h|days?|tage?|working days?|)"
      R"(arbeitstage?|werktage?)\s*$)",
      std::regex::icase);
  std::smatch m;
  if (!std::regex_match(text, m, kSpan))
    return std::nullopt;
  Span s;
  s.amount = std::stoll(m[1]);
  s.text = text;
  std::string unit = m[2];
  for (char& ch : unit)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (unit.rfind("min", 0) == 0) {
    s.unit = Span::Unit::kMinutes;
  } else if (unit == "h" || unit.rfind("hour", 0) == 0 || unit.rfind("stunde", 0) == 0) {
    s.unit = Span::Unit::kHours;
  } else if (unit.rfind("working", 0) == 0 || unit.rfind("arbeits", 0) == 0 ||
             unit.rfind("werk", 0) == 0) {
    s.unit = Span::Unit::kWorkingDays;
  } else {
    s.unit = Span::Unit::kDays;
  }
  return s;
}

std::filesystem::path ResolveConfigPath(const std::string& from_flag) {
  if (!from_flag.empty())
    return from_flag;
  if (const char* env = std::getenv("MELDESTELLE_CONFIG"); env != nullptr && *env != '\0') {
    return env;
  }
  return "config/example/meldestelle.yaml";
}

// Secrets are referenced by environment variable, never written into the file: the value must be
// exactly ${NAME}. An unset variable leaves the secret empty (the feature stays off).
void ReadSecret(YamlReader& rd, const YAML::Node& map, const char* name, const std::string& path,
                const char* example, std::string* out, std::string* var_out) {
  auto s = map[name];
  if (!s)
    return;
  static const std::regex kEnvRef(R"(^\$\{([A-Z_][A-Z0-9_]*)\}$)");
  std::smatch m;
  const std::string raw = s.IsScalar() ? s.Scalar() : std::string();
  if (!s.IsScalar() || !std::regex_match(raw, m, kEnvRef)) {
    rd.Fail(s, path + "." + name,
            std::string("must reference an environment variable, e.g. ${") + example +
                "}; secrets are never written into the file");
    return;
  }
  if (var_out != nullptr)
    *var_out = m[1];
  const char* v = std::getenv(m[1].str().c_str());
  *out = v != nullptr ? v : "";
}

void ReadSpan(YamlReader& rd, const YAML::Node& map, const char* name, const std::string& path,
              Span* out) {
  auto n = map[name];
  if (!n)
    return;
  std::string raw;
  rd.String(map, name, &raw, false, path);
  auto span = ParseSpan(raw);
  if (!span || !span->set()) {
    rd.Fail(n, path + "." + name,
            "must be a time span like \"4 hours\", \"2 days\" or \"2 working days\", got \"" + raw +
                "\"");
    return;
  }
  *out = *span;
}

std::filesystem::path ResolveBeside(const Config& config, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() ? p : config.file.parent_path() / p;
}

namespace {

// texts.dir: the town's own catalogues over the built-in ones (core/texts.hpp).
void ReadTexts(YamlReader& rd, const YAML::Node& root, Config& c) {
  auto n = root["texts"];
  if (!n || !rd.ExpectMap(n, "texts", {"dir"}))
    return;
  std::string dir;
  rd.String(n, "dir", &dir, false, "texts");
  if (dir.empty())
    return;
  auto loaded = texts::Catalogue::WithFolder(ResolveBeside(c, dir).string());
  if (!loaded) {
    rd.Fail(n["dir"], "texts.dir", loaded.error().message);
    return;
  }
  c.texts = *loaded;
}

void ReadShared(YamlReader& rd, const YAML::Node& root, Config& c) {
  if (auto n = root["town"]; n && rd.ExpectMap(n, "town", {"name", "timezone"})) {
    rd.String(n, "name", &c.town.name, true, "town");
    rd.String(n, "timezone", &c.town.timezone, false, "town");
  } else if (!n) {
    rd.Fail(root, "town", "is required");
  }
  if (auto n = root["gateway"]; n && rd.ExpectMap(n, "gateway",
                                                  {"listen",
                                                   "port",
                                                   "public_base_url",
                                                   "instance_id",
                                                   "threads",
                                                   "publish_timeout_ms",
                                                   "max_request_bytes",
                                                   "max_body_bytes",
                                                   "max_header_count",
                                                   "max_header_bytes",
                                                   "reports_per_minute",
                                                   "reports_burst",
                                                   "lookups_per_minute",
                                                   "lookups_burst",
                                                   "trusted_proxies",
                                                   "embed_origins",
                                                   "admin_port",
                                                   "admin_listen",
                                                   "max_connections_per_client",
                                                   "max_queued_connections",
                                                   "header_timeout_seconds",
                                                   "body_timeout_seconds",
                                                   "min_upload_bytes_per_second",
                                                   "keep_alive_seconds",
                                                   "keep_alive_requests"})) {
    rd.String(n, "listen", &c.gateway.listen, false, "gateway");
    rd.Int(n, "port", &c.gateway.port, 0, 65535, "gateway");
    rd.String(n, "public_base_url", &c.gateway.public_base_url, false, "gateway");
    rd.Int(n, "instance_id", &c.gateway.instance_id, 0, 1023, "gateway");
    rd.Int(n, "threads", &c.gateway.threads, 2, 1024, "gateway");
    rd.Int(n, "publish_timeout_ms", &c.gateway.publish_timeout_ms, 100, 60000, "gateway");
    rd.Int(n, "max_request_bytes", &c.gateway.max_request_bytes, 1024, int64_t{1} << 32, "gateway");
    rd.Int(n, "max_body_bytes", &c.gateway.max_body_bytes, 1024, int64_t{1} << 30, "gateway");
    rd.Int(n, "max_header_count", &c.gateway.max_header_count, 16, 1000, "gateway");
    rd.Int(n, "max_header_bytes", &c.gateway.max_header_bytes, 4096, 1 << 20, "gateway");
    rd.Int(n, "reports_per_minute", &c.gateway.reports_per_minute, 0, 100000, "gateway");
    rd.Int(n, "reports_burst", &c.gateway.reports_burst, 1, 100000, "gateway");
    rd.Int(n, "lookups_per_minute", &c.gateway.lookups_per_minute, 0, 100000, "gateway");
    rd.Int(n, "lookups_burst", &c.gateway.lookups_burst, 1, 100000, "gateway");
    rd.StringList(n, "trusted_proxies", &c.gateway.trusted_proxies, "gateway");
    rd.StringList(n, "embed_origins", &c.gateway.embed_origins, "gateway");
    static const std::regex kOrigin(R"(^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$)");
    for (const auto& origin : c.gateway.embed_origins) {
      if (!std::regex_match(origin, kOrigin))
        rd.Fail(n["embed_origins"], "gateway.embed_origins",
                "\"" + origin + "\" is not an origin (https://host or https://host:port)");
    }
    rd.Int(n, "admin_port", &c.gateway.admin_port, 0, 65535, "gateway");
    rd.String(n, "admin_listen", &c.gateway.admin_listen, false, "gateway");
    rd.Int(n, "max_connections_per_client", &c.gateway.max_connections_per_client, 0, 100000,
           "gateway");
    rd.Int(n, "max_queued_connections", &c.gateway.max_queued_connections, 0, 100000, "gateway");
    rd.Int(n, "header_timeout_seconds", &c.gateway.header_timeout_seconds, 1, 3600, "gateway");
    rd.Int(n, "body_timeout_seconds", &c.gateway.body_timeout_seconds, 1, 3600, "gateway");
    rd.Int(n, "min_upload_bytes_per_second", &c.gateway.min_upload_bytes_per_second, 1,
           int64_t{1} << 30, "gateway");
    rd.Int(n, "keep_alive_seconds", &c.gateway.keep_alive_seconds, 1, 3600, "gateway");
    rd.Int(n, "keep_alive_requests", &c.gateway.keep_alive_requests, 1, 100000, "gateway");
  }
  if (auto n = root["amqp"];
      n && rd.ExpectMap(n, "amqp", {"url", "urls", "exchange", "queue", "dead_letter_queue"})) {
    if (n["urls"] && n["urls"].IsSequence()) {
      rd.StringList(n, "urls", &c.amqp.urls, "amqp");
    } else if (n["urls"]) {
      std::string joined;
      rd.String(n, "urls", &joined, false, "amqp");
      std::stringstream in(joined);
      for (std::string one; std::getline(in, one, ',');) {
        const auto first = one.find_first_not_of(" \t");
        if (first == std::string::npos)
          continue;
        c.amqp.urls.push_back(one.substr(first, one.find_last_not_of(" \t") - first + 1));
      }
    }
    rd.String(n, "url", &c.amqp.url, c.amqp.urls.empty(), "amqp");
    for (const auto& u : c.amqp.urls) {
      if (auto parsed = ParseAmqpUrl(u); !parsed)
        rd.Fail(n["urls"], "amqp.urls",
                "'" + u + "' is not an AMQP URL (amqp://user:password@host:port/vhost): " +
                    parsed.error().message);
    }
    if (!c.amqp.urls.empty())
      c.amqp.url = c.amqp.urls.front();
    rd.String(n, "exchange", &c.amqp.exchange, false, "amqp");
    rd.String(n, "queue", &c.amqp.queue, false, "amqp");
    rd.String(n, "dead_letter_queue", &c.amqp.dead_letter_queue, false, "amqp");
  }
  if (auto n = root["database"]; n && rd.ExpectMap(n, "database", {"url"})) {
    rd.String(n, "url", &c.database.url, true, "database");
  }
  if (auto n = root["storage"]; n && rd.ExpectMap(n, "storage", {"media_dir", "state_dir"})) {
    std::string dir = c.storage.media_dir.string();
    rd.String(n, "media_dir", &dir, false, "storage");
    c.storage.media_dir = dir;
    std::string state = c.storage.state_dir.string();
    rd.String(n, "state_dir", &state, false, "storage");
    if (state.empty())
      rd.Fail(n["state_dir"], "storage.state_dir", "must not be empty");
    c.storage.state_dir = state;
  }
  // Purposes' own secrets (core/links.hpp); without one a purpose's key comes from the master.
  if (auto n = root["keys"];
      n && rd.ExpectMap(n, "keys",
                        {"form_tokens", "optout_links", "media_links", "inbox", "privacy_audit",
                         "fix_answers", "message_ids"})) {
    for (const char* name : {"form_tokens", "optout_links", "media_links", "inbox", "privacy_audit",
                             "fix_answers", "message_ids"}) {
      std::string secret;
      std::string example = "MELDESTELLE_KEY_";
      for (const char* p = name; *p != '\0'; ++p)
        example += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
      ReadSecret(rd, n, name, "keys", example.c_str(), &secret);
      if (!secret.empty())
        c.purpose_secrets[name] = secret;
    }
  }
}

void ReadDepartments(YamlReader& rd, const YAML::Node& root, Config& c) {
  static const std::regex kId("^[a-z0-9_-]+$");
  auto n = root["departments"];
  if (!n) {
    rd.Fail(root, "departments", "is required");
    return;
  }
  if (!rd.ExpectSequence(n, "departments"))
    return;
  std::set<std::string> seen;
  for (const auto& item : n) {
    if (!rd.ExpectMap(item, "departments[]",
                      {"id", "name", "email", "delivery", "webhook", "show_reporter_contact",
                       "remind_after", "reassign_after"}))
      continue;
    Department d;
    rd.String(item, "id", &d.id, true, "departments[]");
    rd.String(item, "name", &d.name, true, "departments[]");
    rd.String(item, "email", &d.email, false, "departments[]");
    std::string path = "departments[" + d.id + "]";
    if (!d.id.empty() && !std::regex_match(d.id, kId)) {
      rd.Fail(item["id"], "departments[].id", "must match [a-z0-9_-]+, got \"" + d.id + "\"");
    }
    if (!seen.insert(d.id).second) {
      rd.Fail(item["id"], "departments[].id", "duplicate id \"" + d.id + "\"");
    }
    if (!d.email.empty() && d.email.find('@') == std::string::npos) {
      rd.Fail(item["email"], path + ".email", "must be an e-mail address");
    }
    rd.String(item, "delivery", &d.delivery, false, path);
    if (d.delivery.empty())
      d.delivery = d.email.empty() ? "none" : "email";
    if (d.delivery != "email" && d.delivery != "webhook" && d.delivery != "none") {
      rd.Fail(item["delivery"], path + ".delivery",
              "must be email, webhook or none, got \"" + d.delivery + "\"");
    }
    if (d.delivery == "email" && d.email.empty()) {
      rd.Fail(item, path + ".email", "is required for delivery: email");
    }
    if (auto w = item["webhook"]; w && rd.ExpectMap(w, path + ".webhook", {"url", "secret"})) {
      rd.String(w, "url", &d.webhook_url, true, path + ".webhook");
      ReadSecret(rd, w, "secret", path + ".webhook", "MELDESTELLE_WEBHOOK_SECRET",
                 &d.webhook_secret);
      if (!d.webhook_url.empty() && d.webhook_url.rfind("http://", 0) != 0 &&
          d.webhook_url.rfind("https://", 0) != 0) {
        rd.Fail(w["url"], path + ".webhook.url", "must be an http:// or https:// URL");
      }
    }
    if (d.delivery == "webhook" && d.webhook_url.empty()) {
      rd.Fail(item, path + ".webhook", "is required for delivery: webhook (url and secret)");
    }
    rd.Bool(item, "show_reporter_contact", &d.show_reporter_contact, path);
    ReadSpan(rd, item, "remind_after", path, &d.remind_after);
    ReadSpan(rd, item, "reassign_after", path, &d.reassign_after);
    c.departments.push_back(std::move(d));
  }
  if (c.departments.empty()) {
    rd.Fail(n, "departments", "must list at least one department");
  }
}

constexpr double kMaxKeywordWeight = 100.0;

void ReadKeywords(YamlReader& rd, const YAML::Node& n, const std::string& key,
                  std::vector<CategoryKeyword>& out) {
  if (!n || n.IsNull()) {
    return;
  }
  if (n.IsScalar()) {
    out.push_back({rd.Expand(n.Scalar()), 1.0, YamlReader::Line(n)});
    return;
  }
  if (!n.IsSequence()) {
    rd.Fail(n, key, "must be a list of keywords (\"word\" or {\"phrase\": weight})");
    return;
  }
  for (const auto& item : n) {
    CategoryKeyword kw;
    kw.line = YamlReader::Line(item);
    if (item.IsScalar()) {
      kw.text = rd.Expand(item.Scalar());
    } else if (item.IsMap() && item.size() == 1) {
      auto kv = *item.begin();
      kw.text = kv.first.IsScalar() ? rd.Expand(kv.first.Scalar()) : "";
      if (!rd.ScalarDouble(kv.second, &kw.weight) || kw.weight <= 0 ||
          kw.weight > kMaxKeywordWeight) {
        rd.Fail(kv.second, key,
                "weight of \"" + kw.text + "\" must be a number > 0 and <= 100, got \"" +
                    (kv.second.IsScalar() ? kv.second.Scalar() : "") + "\"");
        continue;
      }
    } else {
      rd.Fail(item, key, "entries must be \"word\" or {\"phrase\": weight}");
      continue;
    }
    if (kw.text.empty()) {
      rd.Fail(item, key, "keyword must not be empty");
      continue;
    }
    out.push_back(std::move(kw));
  }
}

void ReadQuestions(YamlReader& rd, const YAML::Node& n, const std::string& key,
                   std::vector<CategoryQuestion>& out) {
  static const std::regex kQuestionCode("^[a-z0-9_]{1,40}$");
  static const std::set<std::string> kTypes = {"string", "number",          "datetime",
                                               "text",   "singlevaluelist", "multivaluelist"};
  if (!n || n.IsNull() || !rd.ExpectSequence(n, key))
    return;
  std::set<std::string> seen;
  for (const auto& item : n) {
    if (!rd.ExpectMap(item, key + "[]", {"code", "text", "type", "required", "choices"}))
      continue;
    CategoryQuestion q;
    rd.String(item, "code", &q.code, true, key + "[]");
    rd.String(item, "text", &q.text, true, key + "[]");
    rd.String(item, "type", &q.type, false, key + "[]");
    rd.Bool(item, "required", &q.required, key + "[]");
    if (!q.code.empty() && !std::regex_match(q.code, kQuestionCode)) {
      rd.Fail(item["code"], key + "[].code",
              "must be 1 to 40 of a-z, 0-9 and _, got \"" + q.code + "\"");
    }
    if (!q.code.empty() && !seen.insert(q.code).second)
      rd.Fail(item["code"], key + "[].code", "duplicate code \"" + q.code + "\"");
    if (kTypes.count(q.type) == 0) {
      rd.Fail(item["type"], key + "[].type",
              "must be string, number, datetime, text, singlevaluelist or multivaluelist, got \"" +
                  q.type + "\"");
    }
    auto choices = item["choices"];
    if (choices && !choices.IsNull() && rd.ExpectSequence(choices, key + "[].choices")) {
      for (const auto& c : choices) {
        if (!rd.ExpectMap(c, key + "[].choices[]", {"key", "name"}))
          continue;
        CategoryQuestion::Choice choice;
        rd.String(c, "key", &choice.key, true, key + "[].choices[]");
        rd.String(c, "name", &choice.name, true, key + "[].choices[]");
        q.choices.push_back(std::move(choice));
      }
    }
    if (q.IsList() == q.choices.empty()) {
      rd.Fail(item, key + "[].choices",
              q.IsList() ? "a " + q.type + " question needs its choices"
                         : "only singlevaluelist and multivaluelist questions have choices");
    }
    out.push_back(std::move(q));
  }
}

void ReadCategories(YamlReader& rd, const YAML::Node& root, Config& c) {
  static const std::regex kCode("^[A-Z]{2,4}-[0-9]{2}$");
  auto n = root["categories"];
  if (!n)
    return;
  if (!rd.ExpectSequence(n, "categories"))
    return;
  std::set<std::string> seen;
  for (const auto& item : n) {
    if (!rd.ExpectMap(item, "categories[]", {"code", "name", "group", "keywords", "questions", "public"}))
      continue;
    Category cat;
    rd.String(item, "code", &cat.code, true, "categories[]");
    rd.String(item, "name", &cat.name, true, "categories[]");
    rd.String(item, "group", &cat.group, false, "categories[]");
    ReadKeywords(rd, item["keywords"], "categories[" + cat.code + "].keywords", cat.keywords);
    ReadQuestions(rd, item["questions"], "categories[" + cat.code + "].questions", cat.questions);
    rd.Bool(item, "public", &cat.published, "categories[]");
    if (!cat.code.empty() && !std::regex_match(cat.code, kCode)) {
      rd.Fail(item["code"], "categories[].code",
              "must look like STR-01 ([A-Z]{2,4}-[0-9]{2}), got \"" + cat.code + "\"");
    }
    if (!seen.insert(cat.code).second) {
      rd.Fail(item["code"], "categories[].code", "duplicate code \"" + cat.code + "\"");
    }
    c.categories.push_back(std::move(cat));
  }
}

// The sections of a loaded file (LoadConfig, ParseConfig).
Result<Config> ReadConfig(YamlReader& rd, const YAML::Node& root, const std::filesystem::path& file,
                          const ConfigSections& sections, bool ignore_other_keys) {
  if (!rd.ok())
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  Config c;
  c.file = file;
  if (!root.IsMap()) {
    rd.FailAtLine(YamlReader::Line(root), "(file)",
                  "must be a mapping of sections (town, gateway, …)");
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  }
  std::vector<std::string> known = {"town", "gateway",     "amqp",       "database", "storage",
                                    "keys", "departments", "categories", "texts"};
  for (const auto& s : sections)
    if (!s->key().empty())  // a section reading several keys (channels' names) has none
      known.emplace_back(s->key());
  if (!ignore_other_keys) {
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& k : known)
          list += (list.empty() ? "" : ", ") + k;
        rd.Fail(kv.first, key, "unknown key (allowed: " + list + ")");
      }
    }
  }
  ReadShared(rd, root, c);
  ReadTexts(rd, root, c);
  ReadDepartments(rd, root, c);
  ReadCategories(rd, root, c);
  for (const auto& s : sections)
    s->Read(rd, root, c);
  if (!rd.ok())
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  return c;
}

}  // namespace

Result<Config> LoadConfig(const std::filesystem::path& file, const ConfigSections& sections,
                          bool ignore_other_keys) {
  YamlReader rd(file.string());
  YAML::Node root = rd.LoadFile();
  return ReadConfig(rd, root, file, sections, ignore_other_keys);
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::filesystem::path& file,
                           const ConfigSections& sections, bool ignore_other_keys) {
  YamlReader rd(file.string());
  YAML::Node root = rd.LoadText(yaml_text);
  return ReadConfig(rd, root, file, sections, ignore_other_keys);
}

}  // namespace meldestelle
