#include "core/config.hpp"

#include <cstdlib>
#include <regex>
#include <set>

#include "core/errors.hpp"
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

namespace {

template <typename T>
void ReadInt(YamlReader& rd, const YAML::Node& map, const char* name, T* out, int64_t min,
             int64_t max, const char* path) {
  int64_t v = *out;
  rd.Int(map, name, &v, min, max, path);
  *out = static_cast<T>(v);
}

// Secrets are referenced by environment variable, never written into the file: the value must be
// exactly ${NAME}. An unset variable leaves the secret empty (the feature stays off).
void ReadSecret(YamlReader& rd, const YAML::Node& map, const char* name, const char* path,
                const char* example, std::string* out, std::string* var_out = nullptr) {
  auto s = map[name];
  if (!s)
    return;
  static const std::regex kEnvRef(R"(^\$\{([A-Z_][A-Z0-9_]*)\}$)");
  std::smatch m;
  const std::string raw = s.IsScalar() ? s.Scalar() : std::string();
  if (!s.IsScalar() || !std::regex_match(raw, m, kEnvRef)) {
    rd.Fail(s, std::string(path) + "." + name,
            std::string("must reference an environment variable, e.g. ${") + example +
                "}; secrets are never written into the file");
    return;
  }
  if (var_out != nullptr)
    *var_out = m[1];
  const char* v = std::getenv(m[1].str().c_str());
  *out = v != nullptr ? v : "";
}

void ReadMessengers(YamlReader& rd, const YAML::Node& root, Config& c) {
  if (auto n = root["whatsapp"];
      n && rd.ExpectMap(n, "whatsapp",
                        {"app_secret", "verify_token", "access_token", "api_base", "template"})) {
    ReadSecret(rd, n, "app_secret", "whatsapp", "MELDESTELLE_WHATSAPP_APP_SECRET",
               &c.whatsapp.app_secret);
    ReadSecret(rd, n, "verify_token", "whatsapp", "MELDESTELLE_WHATSAPP_VERIFY_TOKEN",
               &c.whatsapp.verify_token);
    ReadSecret(rd, n, "access_token", "whatsapp", "MELDESTELLE_WHATSAPP_ACCESS_TOKEN",
               &c.whatsapp.access_token);
    rd.String(n, "api_base", &c.whatsapp.api_base, false, "whatsapp");
    if (auto t = n["template"]; t && rd.ExpectMap(t, "whatsapp.template", {"name", "language"})) {
      rd.String(t, "name", &c.whatsapp.template_name, true, "whatsapp.template");
      rd.String(t, "language", &c.whatsapp.template_language, true, "whatsapp.template");
    }
  }
  if (auto n = root["telegram"];
      n && rd.ExpectMap(n, "telegram", {"secret_token", "bot_token", "api_base"})) {
    ReadSecret(rd, n, "secret_token", "telegram", "MELDESTELLE_TELEGRAM_SECRET_TOKEN",
               &c.telegram.secret_token);
    ReadSecret(rd, n, "bot_token", "telegram", "MELDESTELLE_TELEGRAM_BOT_TOKEN",
               &c.telegram.bot_token);
    rd.String(n, "api_base", &c.telegram.api_base, false, "telegram");
  }
  for (std::string* base : {&c.whatsapp.api_base, &c.telegram.api_base}) {
    while (!base->empty() && base->back() == '/')
      base->pop_back();
  }
  if (auto n = root["phone"];
      n && rd.ExpectMap(n, "phone",
                        {"auth_token", "account_sid", "api_base", "sms_from",
                         "max_recording_seconds", "transcription", "stt_url", "stt_timeout_seconds",
                         "transcription_wait_seconds", "transcript_secret",
                         "recording_retention_days", "location_min_confidence", "texts"})) {
    Config::Phone& p = c.phone;
    ReadSecret(rd, n, "auth_token", "phone", "MELDESTELLE_TWILIO_AUTH_TOKEN", &p.auth_token);
    rd.String(n, "account_sid", &p.account_sid, false, "phone");
    rd.String(n, "api_base", &p.api_base, false, "phone");
    while (!p.api_base.empty() && p.api_base.back() == '/')
      p.api_base.pop_back();
    rd.String(n, "sms_from", &p.sms_from, false, "phone");
    ReadInt(rd, n, "max_recording_seconds", &p.max_recording_seconds, 10, 3600, "phone");
    rd.String(n, "transcription", &p.transcription, false, "phone");
    if (auto t = n["transcription"]; t && p.transcription != "auto" &&
                                     p.transcription != "provider" && p.transcription != "stt" &&
                                     p.transcription != "none") {
      rd.Fail(t, "phone.transcription", "must be auto, provider, stt or none");
    }
    rd.String(n, "stt_url", &p.stt_url, false, "phone");
    if (auto t = n["transcription"]; t && p.transcription == "stt" && p.stt_url.empty()) {
      rd.Fail(t, "phone.transcription", "stt needs phone.stt_url");
    }
    ReadInt(rd, n, "stt_timeout_seconds", &p.stt_timeout_seconds, 1, 3600, "phone");
    ReadInt(rd, n, "transcription_wait_seconds", &p.transcription_wait_seconds, 1, 86400, "phone");
    ReadSecret(rd, n, "transcript_secret", "phone", "MELDESTELLE_PHONE_TRANSCRIPT_SECRET",
               &p.transcript_secret);
    ReadInt(rd, n, "recording_retention_days", &p.recording_retention_days, 1, 3650, "phone");
    rd.Double(n, "location_min_confidence", &p.location_min_confidence, 0.0, 1.0, "phone");
    if (auto t = n["texts"]; t && rd.ExpectMap(t, "phone.texts", {"de", "en"})) {
      for (const char* lang : {"de", "en"}) {
        auto l = t[lang];
        std::string path = std::string("phone.texts.") + lang;
        if (!l || !rd.ExpectMap(l, path,
                                {"greeting", "language_offer", "instructions", "reference_intro",
                                 "repeat_intro", "sms_offer", "sms_yes", "goodbye", "nothing_heard",
                                 "unavailable"})) {
          continue;
        }
        for (const auto& kv : l) {
          std::string key = kv.first.Scalar();
          std::string value;
          rd.String(l, key, &value, true, path);
          if (!value.empty())
            p.texts[lang][key] = value;
        }
      }
    }
  }
  if (auto n = root["email"];
      n && rd.ExpectMap(n, "email",
                        {"smtp_url", "smtp_user", "smtp_password", "from", "from_name", "templates",
                         "intake_secret", "imap_url", "imap_user", "imap_password",
                         "imap_interval_seconds", "mailgun_signing_key", "sendgrid_secret",
                         "max_message_bytes", "max_attachments", "max_depth"})) {
    Config::Email& e = c.email;
    rd.String(n, "smtp_url", &e.smtp_url, false, "email");
    rd.String(n, "smtp_user", &e.smtp_user, false, "email");
    ReadSecret(rd, n, "smtp_password", "email", "MELDESTELLE_SMTP_PASSWORD", &e.smtp_password);
    rd.String(n, "from", &e.from, false, "email");
    rd.String(n, "from_name", &e.from_name, false, "email");
    ReadSecret(rd, n, "intake_secret", "email", "MELDESTELLE_MAIL_SECRET", &e.intake_secret);
    rd.String(n, "imap_url", &e.imap_url, false, "email");
    rd.String(n, "imap_user", &e.imap_user, false, "email");
    ReadSecret(rd, n, "imap_password", "email", "MELDESTELLE_IMAP_PASSWORD", &e.imap_password);
    ReadInt(rd, n, "imap_interval_seconds", &e.imap_interval_seconds, 1, 86400, "email");
    ReadSecret(rd, n, "mailgun_signing_key", "email", "MELDESTELLE_MAILGUN_SIGNING_KEY",
               &e.mailgun_signing_key);
    ReadSecret(rd, n, "sendgrid_secret", "email", "MELDESTELLE_SENDGRID_SECRET",
               &e.sendgrid_secret);
    ReadInt(rd, n, "max_message_bytes", &e.max_message_bytes, 1024, int64_t{1} << 31, "email");
    ReadInt(rd, n, "max_attachments", &e.max_attachments, 0, 1000, "email");
    ReadInt(rd, n, "max_depth", &e.max_depth, 1, 100, "email");
    if (auto f = n["from"]; f && e.from.find('@') == std::string::npos) {
      rd.Fail(f, "email.from", "must be an e-mail address");
    }
    if (auto t = n["templates"]; t && rd.ExpectMap(t, "email.templates", {"de", "en"})) {
      for (const char* lang : {"de", "en"}) {
        auto l = t[lang];
        std::string path = std::string("email.templates.") + lang;
        if (!l || !rd.ExpectMap(l, path, {"subject", "body"}))
          continue;
        rd.String(l, "subject", &e.ack_templates[lang].subject, true, path);
        rd.String(l, "body", &e.ack_templates[lang].body, true, path);
      }
    }
  }
  if (auto n = root["chat"];
      n && rd.ExpectMap(n, "chat",
                        {"draft_window_seconds", "rate_limit_per_minute", "dedupe_days",
                         "max_media_bytes", "media_timeout_seconds", "send_max_attempts"})) {
    ReadInt(rd, n, "draft_window_seconds", &c.chat.draft_window_seconds, 1, 86400, "chat");
    ReadInt(rd, n, "rate_limit_per_minute", &c.chat.rate_limit_per_minute, 1, 100000, "chat");
    ReadInt(rd, n, "dedupe_days", &c.chat.dedupe_days, 1, 365, "chat");
    ReadInt(rd, n, "max_media_bytes", &c.chat.max_media_bytes, 1024, int64_t{1} << 31, "chat");
    ReadInt(rd, n, "media_timeout_seconds", &c.chat.media_timeout_seconds, 1, 600, "chat");
    ReadInt(rd, n, "send_max_attempts", &c.chat.send_max_attempts, 1, 100, "chat");
  }
}

void ReadSections(YamlReader& rd, const YAML::Node& root, Config& c) {
  if (auto n = root["town"]; n && rd.ExpectMap(n, "town", {"name", "timezone"})) {
    rd.String(n, "name", &c.town.name, true, "town");
    rd.String(n, "timezone", &c.town.timezone, false, "town");
  } else if (!n) {
    rd.Fail(root, "town", "is required");
  }
  if (auto n = root["gateway"];
      n && rd.ExpectMap(n, "gateway",
                        {"listen", "port", "public_base_url", "instance_id", "threads",
                         "publish_timeout_ms", "max_request_bytes"})) {
    rd.String(n, "listen", &c.gateway.listen, false, "gateway");
    ReadInt(rd, n, "port", &c.gateway.port, 0, 65535, "gateway");
    rd.String(n, "public_base_url", &c.gateway.public_base_url, false, "gateway");
    ReadInt(rd, n, "instance_id", &c.gateway.instance_id, 0, 1023, "gateway");
    ReadInt(rd, n, "threads", &c.gateway.threads, 2, 1024, "gateway");
    ReadInt(rd, n, "publish_timeout_ms", &c.gateway.publish_timeout_ms, 100, 60000, "gateway");
    ReadInt(rd, n, "max_request_bytes", &c.gateway.max_request_bytes, 1024, int64_t{1} << 32,
            "gateway");
  }
  if (auto n = root["amqp"];
      n && rd.ExpectMap(n, "amqp", {"url", "exchange", "queue", "dead_letter_queue"})) {
    rd.String(n, "url", &c.amqp.url, true, "amqp");
    rd.String(n, "exchange", &c.amqp.exchange, false, "amqp");
    rd.String(n, "queue", &c.amqp.queue, false, "amqp");
    rd.String(n, "dead_letter_queue", &c.amqp.dead_letter_queue, false, "amqp");
  }
  if (auto n = root["database"]; n && rd.ExpectMap(n, "database", {"url"})) {
    rd.String(n, "url", &c.database.url, true, "database");
  }
  if (auto n = root["storage"]; n && rd.ExpectMap(n, "storage", {"media_dir"})) {
    std::string dir = c.storage.media_dir.string();
    rd.String(n, "media_dir", &dir, false, "storage");
    c.storage.media_dir = dir;
  }
  if (auto n = root["worker"];
      n && rd.ExpectMap(n, "worker", {"prefetch", "max_attempts", "metrics_port"})) {
    ReadInt(rd, n, "prefetch", &c.worker.prefetch, 1, 10000, "worker");
    ReadInt(rd, n, "max_attempts", &c.worker.max_attempts, 1, 15, "worker");
    ReadInt(rd, n, "metrics_port", &c.worker.metrics_port, 0, 65535, "worker");
  }
  if (auto n = root["webform"];
      n && rd.ExpectMap(n, "webform",
                        {"max_photos", "max_photo_bytes", "max_description_chars", "token_secret",
                         "token_min_age_seconds", "token_max_age_seconds"})) {
    ReadInt(rd, n, "max_photos", &c.webform.max_photos, 0, 20, "webform");
    ReadInt(rd, n, "max_photo_bytes", &c.webform.max_photo_bytes, 1024, int64_t{1} << 30,
            "webform");
    ReadInt(rd, n, "max_description_chars", &c.webform.max_description_chars, 1, 100000, "webform");
    ReadInt(rd, n, "token_min_age_seconds", &c.webform.token_min_age_seconds, 0, 3600, "webform");
    ReadInt(rd, n, "token_max_age_seconds", &c.webform.token_max_age_seconds, 10, 7 * 86400,
            "webform");
    ReadSecret(rd, n, "token_secret", "webform", "MELDESTELLE_FORM_SECRET", &c.webform.token_secret,
               &c.webform.token_secret_var);
  }
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
      ReadSecret(rd, w, "secret", (path + ".webhook").c_str(), "MELDESTELLE_WEBHOOK_SECRET",
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

void ReadTickets(YamlReader& rd, const YAML::Node& root, Config& c) {
  auto n = root["tickets"];
  if (!n || !rd.ExpectMap(n, "tickets",
                          {"triage_department", "working_days", "holidays", "remind_after",
                           "reassign_after", "delivery_max_attempts", "delivery_timeout_seconds",
                           "attach_max_bytes", "jobs_interval_ms"}))
    return;
  Config::Tickets& t = c.tickets;
  rd.String(n, "triage_department", &t.triage_department, false, "tickets");
  if (!t.triage_department.empty() && c.FindDepartment(t.triage_department) == nullptr) {
    rd.Fail(n["triage_department"], "tickets.triage_department",
            "unknown department \"" + t.triage_department + "\"");
  }
  if (auto w = n["working_days"]) {
    static const std::map<std::string, int> kDays = {{"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4},
                                                     {"fri", 5}, {"sat", 6}, {"sun", 7}};
    std::vector<std::string> names;
    rd.StringList(n, "working_days", &names, "tickets");
    t.working_days.clear();
    for (const auto& d : names) {
      auto it = kDays.find(d);
      if (it == kDays.end()) {
        rd.Fail(w, "tickets.working_days", "unknown day \"" + d + "\" (mon … sun)");
      } else {
        t.working_days.push_back(it->second);
      }
    }
    if (t.working_days.empty() && !names.empty())
      t.working_days = {1, 2, 3, 4, 5};
    if (names.empty())
      rd.Fail(w, "tickets.working_days", "must name at least one day");
  }
  rd.StringList(n, "holidays", &t.holidays, "tickets");
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  for (const auto& h : t.holidays) {
    if (!std::regex_match(h, kDate)) {
      rd.Fail(n["holidays"], "tickets.holidays", "\"" + h + "\" is not a date YYYY-MM-DD");
    }
  }
  ReadSpan(rd, n, "remind_after", "tickets", &t.remind_after);
  ReadSpan(rd, n, "reassign_after", "tickets", &t.reassign_after);
  ReadInt(rd, n, "delivery_max_attempts", &t.delivery_max_attempts, 1, 100, "tickets");
  ReadInt(rd, n, "delivery_timeout_seconds", &t.delivery_timeout_seconds, 1, 600, "tickets");
  ReadInt(rd, n, "attach_max_bytes", &t.attach_max_bytes, 0, int64_t{1} << 31, "tickets");
  ReadInt(rd, n, "jobs_interval_ms", &t.jobs_interval_ms, 50, 3'600'000, "tickets");
}

// The default texts citizens get when their ticket changes; the config may override each.
void DefaultNotificationTexts(Config::Notifications& n) {
  n.texts["de"] = {
      {"accepted",
       "Ihre Meldung {reference} wurde von {department} übernommen und wird bearbeitet.{note}"},
      {"in_progress", "Ihre Meldung {reference} ist in Bearbeitung ({department}).{note}"},
      {"done", "Ihre Meldung {reference} ist erledigt. Vielen Dank für Ihren Hinweis!{note}"},
      {"rejected",
       "Ihre Meldung {reference} wurde abgeschlossen, ohne dass wir tätig werden "
       "konnten.{note}"},
      {"forwarded", "Ihre Meldung {reference} wurde an {department} weitergegeben.{note}"},
      {"duplicate",
       "Ihre Meldung {reference} betrifft denselben Mangel wie die Meldung "
       "{existing_reference}; wir bearbeiten beide gemeinsam.{note}"}};
  n.texts["en"] = {
      {"accepted", "Your report {reference} has been taken on by {department}.{note}"},
      {"in_progress", "Your report {reference} is being worked on ({department}).{note}"},
      {"done", "Your report {reference} has been dealt with. Thank you!{note}"},
      {"rejected", "Your report {reference} has been closed without action.{note}"},
      {"forwarded", "Your report {reference} has been passed to {department}.{note}"},
      {"duplicate",
       "Your report {reference} concerns the same problem as report "
       "{existing_reference}; we handle them together.{note}"}};
  n.email_subjects["de"] = "[{reference}] Neuigkeiten zu Ihrer Meldung";
  n.email_subjects["en"] = "[{reference}] News about your report";
}

void ReadNotifications(YamlReader& rd, const YAML::Node& root, Config& c) {
  DefaultNotificationTexts(c.notifications);
  auto n = root["notifications"];
  if (!n ||
      !rd.ExpectMap(n, "notifications", {"enabled", "texts", "email_subjects", "optout_secret"}))
    return;
  rd.Bool(n, "enabled", &c.notifications.enabled, "notifications");
  ReadSecret(rd, n, "optout_secret", "notifications", "MELDESTELLE_OPTOUT_SECRET",
             &c.notifications.optout_secret);
  if (auto t = n["texts"]; t && rd.ExpectMap(t, "notifications.texts", {"de", "en"})) {
    for (const char* lang : {"de", "en"}) {
      auto l = t[lang];
      std::string path = std::string("notifications.texts.") + lang;
      if (!l ||
          !rd.ExpectMap(l, path,
                        {"accepted", "in_progress", "done", "rejected", "forwarded", "duplicate"}))
        continue;
      for (const char* ev :
           {"accepted", "in_progress", "done", "rejected", "forwarded", "duplicate"}) {
        rd.String(l, ev, &c.notifications.texts[lang][ev], false, path);
      }
    }
  }
  if (auto t = n["email_subjects"];
      t && rd.ExpectMap(t, "notifications.email_subjects", {"de", "en"})) {
    for (const char* lang : {"de", "en"}) {
      rd.String(t, lang, &c.notifications.email_subjects[lang], false,
                "notifications.email_subjects");
    }
  }
}

void ReadOpen311(YamlReader& rd, const YAML::Node& root, Config& c) {
  auto n = root["open311"];
  if (!n || !rd.ExpectMap(n, "open311",
                          {"jurisdiction_id", "api_keys", "max_media_bytes",
                           "media_timeout_seconds", "service_notice"}))
    return;
  rd.String(n, "jurisdiction_id", &c.open311.jurisdiction_id, false, "open311");
  rd.String(n, "service_notice", &c.open311.service_notice, false, "open311");
  ReadInt(rd, n, "max_media_bytes", &c.open311.max_media_bytes, 1024, int64_t{1} << 30, "open311");
  ReadInt(rd, n, "media_timeout_seconds", &c.open311.media_timeout_seconds, 1, 600, "open311");
  if (auto k = n["api_keys"]; k && rd.ExpectSequence(k, "open311.api_keys")) {
    std::set<std::string> clients;
    for (const auto& item : k) {
      if (!rd.ExpectMap(item, "open311.api_keys[]", {"client", "key"}))
        continue;
      Config::Open311::ApiKey key;
      rd.String(item, "client", &key.client, true, "open311.api_keys[]");
      ReadSecret(rd, item, "key", "open311.api_keys[]", "MELDESTELLE_OPEN311_API_KEY", &key.key);
      if (!item["key"])
        rd.Fail(item, "open311.api_keys[].key", "is required");
      if (!key.client.empty() && !clients.insert(key.client).second) {
        rd.Fail(item["client"], "open311.api_keys[].client",
                "duplicate client \"" + key.client + "\"");
      }
      c.open311.api_keys.push_back(std::move(key));
    }
  }
}

void ReadAreas(YamlReader& rd, const YAML::Node& routing, const std::filesystem::path& file,
               Config& c) {
  static const std::regex kName("^[a-z0-9_-]+$");
  YAML::Node areas = routing["areas"];
  if (!areas || !rd.ExpectSequence(areas, "routing.areas")) {
    return;
  }
  std::set<std::string> names;
  for (const auto& node : areas) {
    if (!rd.ExpectMap(node, "routing.areas[]", {"name", "file"})) {
      continue;
    }
    Config::GeoFile g;
    g.line = YamlReader::Line(node);
    std::string path;
    rd.String(node, "name", &g.name, true, "routing.areas[]");
    rd.String(node, "file", &path, true, "routing.areas[" + g.name + "]");
    if (!g.name.empty() && !std::regex_match(g.name, kName)) {
      rd.Fail(node["name"], "routing.areas[].name", "must match [a-z0-9_-]+");
    } else if (!g.name.empty() && !names.insert(g.name).second) {
      rd.Fail(node["name"], "routing.areas[].name", "duplicate area name \"" + g.name + "\"");
    }
    if (!path.empty()) {
      std::filesystem::path p(path);
      g.file = p.is_absolute() ? p : file.parent_path() / p;
    }
    c.routing.areas.push_back(std::move(g));
  }
}

constexpr double kMaxKeywordWeight = 100.0;

// `keywords`: a list whose entries are a string (weight 1) or a one-key mapping
// `{phrase: weight}`; a single string is a one-item list.
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

void ReadCategories(YamlReader& rd, const YAML::Node& root, Config& c) {
  static const std::regex kCode("^[A-Z]{2,4}-[0-9]{2}$");
  auto n = root["categories"];
  if (!n)
    return;
  if (!rd.ExpectSequence(n, "categories"))
    return;
  std::set<std::string> seen;
  for (const auto& item : n) {
    if (!rd.ExpectMap(item, "categories[]", {"code", "name", "group", "keywords"}))
      continue;
    Category cat;
    rd.String(item, "code", &cat.code, true, "categories[]");
    rd.String(item, "name", &cat.name, true, "categories[]");
    rd.String(item, "group", &cat.group, false, "categories[]");
    ReadKeywords(rd, item["keywords"], "categories[" + cat.code + "].keywords", cat.keywords);
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

// routing.town_area / outside / districts / border_distance_m (docs/configuration.md). Area names
// must be in routing.areas; that they are polygons is checked when the GeoJSON is loaded.
void ReadLocationChecks(YamlReader& rd, const YAML::Node& n, Config& c) {
  auto known = [&](const std::string& name) {
    for (const auto& a : c.routing.areas) {
      if (a.name == name) {
        return true;
      }
    }
    return false;
  };
  if (YAML::Node t = n["town_area"]) {
    c.routing.town_area_line = YamlReader::Line(t);
    rd.String(n, "town_area", &c.routing.town_area, false, "routing");
    if (!c.routing.town_area.empty() && !known(c.routing.town_area)) {
      rd.Fail(t, "routing.town_area",
              "unknown area \"" + c.routing.town_area + "\" (not in routing.areas)");
    }
  }
  if (YAML::Node o = n["outside"]) {
    auto& out = c.routing.outside;
    out.line = YamlReader::Line(o);
    if (rd.ExpectMap(o, "routing.outside", {"action", "authority", "email", "message"})) {
      rd.String(o, "action", &out.action, true, "routing.outside");
      rd.String(o, "authority", &out.authority, false, "routing.outside");
      rd.String(o, "email", &out.email, false, "routing.outside");
      rd.String(o, "message", &out.message, false, "routing.outside");
      if (!out.action.empty() && out.action != "forward" && out.action != "ask") {
        rd.Fail(o["action"], "routing.outside.action",
                "must be forward or ask, got \"" + out.action + "\"");
        out.action.clear();
      }
      if (out.action == "forward") {
        if (out.authority.empty()) {
          rd.Fail(o, "routing.outside.authority", "is required for action forward");
        }
        if (out.email.empty() || out.email.find('@') == std::string::npos) {
          rd.Fail(o["email"] ? o["email"] : o, "routing.outside.email",
                  "needs an e-mail address for action forward");
        }
      }
      if (c.routing.town_area.empty()) {
        rd.Fail(o, "routing.outside", "needs routing.town_area (the town boundary)");
      }
    }
  }
  if (YAML::Node d = n["districts"]) {
    c.routing.districts_line = YamlReader::Line(d);
    rd.StringList(n, "districts", &c.routing.districts, "routing");
    std::set<std::string> seen;
    for (const auto& name : c.routing.districts) {
      if (!known(name)) {
        rd.Fail(d, "routing.districts", "unknown area \"" + name + "\" (not in routing.areas)");
      } else if (!seen.insert(name).second) {
        rd.Fail(d, "routing.districts", "duplicate district \"" + name + "\"");
      }
    }
  }
  rd.Double(n, "border_distance_m", &c.routing.border_distance_m, 0.0, 1000.0, "routing");
}

}  // namespace

Result<Config> LoadConfig(const std::filesystem::path& file) {
  YamlReader rd(file.string());
  YAML::Node root = rd.LoadFile();
  if (!rd.ok()) {
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  }
  Config c;
  c.file = file;
  if (!root.IsMap()) {
    rd.FailAtLine(YamlReader::Line(root), "(file)",
                  "must be a mapping of sections (town, gateway, …)");
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  }
  rd.ExpectMap(root, "", {"town",    "gateway",    "amqp",        "database",   "storage",
                          "worker",  "webform",    "whatsapp",    "telegram",   "phone",
                          "email",   "chat",       "departments", "tickets",    "notifications",
                          "open311", "categories", "classifier",  "duplicates", "routing"});
  ReadSections(rd, root, c);
  ReadMessengers(rd, root, c);
  ReadDepartments(rd, root, c);
  ReadTickets(rd, root, c);
  ReadNotifications(rd, root, c);
  ReadOpen311(rd, root, c);
  ReadCategories(rd, root, c);
  if (auto n = root["classifier"];
      n && rd.ExpectMap(n, "classifier", {"min_score", "min_confidence"})) {
    rd.Double(n, "min_score", &c.classifier.min_score, 0.0, 10000.0, "classifier");
    rd.Double(n, "min_confidence", &c.classifier.min_confidence, 0.0, 1.0, "classifier");
  }
  if (auto n = root["duplicates"];
      n && rd.ExpectMap(n, "duplicates", {"enabled", "distance_m", "window_days"})) {
    rd.Bool(n, "enabled", &c.duplicates.enabled, "duplicates");
    rd.Double(n, "distance_m", &c.duplicates.distance_m, 1.0, 1000.0, "duplicates");
    int64_t days = c.duplicates.window_days;
    rd.Int(n, "window_days", &days, 1, 365, "duplicates");
    c.duplicates.window_days = static_cast<int>(days);
  }
  if (auto n = root["routing"];
      n &&
      rd.ExpectMap(n, "routing",
                   {"rules_file", "areas", "shadow_rules_file", "reload_interval_ms", "town_area",
                    "outside", "districts", "border_distance_m", "gazetteer_file"})) {
    std::string rules;
    rd.String(n, "rules_file", &rules, true, "routing");
    if (!rules.empty()) {
      std::filesystem::path p(rules);
      c.routing.rules_file = p.is_absolute() ? p : file.parent_path() / p;
    }
    std::string shadow;
    rd.String(n, "shadow_rules_file", &shadow, false, "routing");
    if (!shadow.empty()) {
      std::filesystem::path p(shadow);
      c.routing.shadow_rules_file = p.is_absolute() ? p : file.parent_path() / p;
    }
    std::string gazetteer;
    rd.String(n, "gazetteer_file", &gazetteer, false, "routing");
    if (!gazetteer.empty()) {
      std::filesystem::path p(gazetteer);
      c.routing.gazetteer_file = p.is_absolute() ? p : file.parent_path() / p;
    }
    int64_t interval = c.routing.reload_interval_ms;
    rd.Int(n, "reload_interval_ms", &interval, 0, 3'600'000, "routing");
    c.routing.reload_interval_ms = static_cast<int>(interval);
    ReadAreas(rd, n, file, c);
    ReadLocationChecks(rd, n, c);
  } else if (!n) {
    rd.Fail(root, "routing", "is required");
  }
  if (!rd.ok()) {
    return MakeError(errors::kConfigInvalid, rd.JoinedErrors());
  }
  return c;
}

}  // namespace meldestelle
