#include "privacy/settings.hpp"

#include "core/config_section.hpp"
#include "core/texts.hpp"

namespace meldestelle::privacy {

Settings::Settings() {}

void Settings::Read(YamlReader& rd, const YAML::Node& n, Config&, Settings& out) {
  if (!n || !rd.ExpectMap(n, "privacy",
                          {"controller", "officer", "authority", "notice", "texts", "retention",
                           "job_interval_minutes", "delete_recordings_at_provider"})) {
    return;
  }
  rd.String(n, "controller", &out.controller, false, "privacy");
  rd.String(n, "officer", &out.officer, false, "privacy");
  rd.String(n, "authority", &out.authority, false, "privacy");
  if (auto t = n["texts"]; t && rd.ExpectMap(t, "privacy.texts", {"de", "en"})) {
    for (const char* lang : {"de", "en"}) {
      auto l = t[lang];
      std::string path = std::string("privacy.texts.") + lang;
      if (!l || !rd.ExpectMap(l, path,
                              {"purpose", "legal_basis", "data", "recipients", "rights", "webform",
                               "app", "open311", "email", "whatsapp", "telegram", "phone"}))
        continue;
      for (const auto& kv : l) {
        std::string value;
        rd.String(l, kv.first.Scalar(), &value, true, path);
        if (!value.empty())
          out.texts[lang][kv.first.Scalar()] = value;
      }
    }
  }
  if (auto t = n["notice"];
      t && rd.ExpectMap(t, "privacy.notice", {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"})) {
    for (const char* lang : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"}) {
      rd.String(t, lang, &out.notice[lang], false, "privacy.notice");
      if (t[lang] && out.notice[lang].find("{url}") == std::string::npos)
        rd.Fail(t[lang], std::string("privacy.notice.") + lang, "must contain {url}");
    }
  }
  if (auto r = n["retention"]; r && !r.IsMap()) {
    rd.Fail(r, "privacy.retention", "must be a mapping");
  } else if (r) {
    RetentionPeriods& k = out.retention;
    std::string allowed;
    for (const auto& rk : RetentionKeys())
      allowed += (allowed.empty() ? "" : ", ") + std::string(rk.name);
    for (const auto& kv : r) {
      std::string key = kv.first.Scalar();
      const RetentionKey* known = nullptr;
      for (const auto& rk : RetentionKeys()) {
        if (key == rk.name)
          known = &rk;
      }
      if (known == nullptr) {
        rd.Fail(kv.first, "privacy.retention." + key, "unknown key (allowed: " + allowed + ")");
        continue;
      }
      rd.Int(r, known->name, &(k.*(known->days)), known->min, known->max, "privacy.retention");
    }
    if (k.contact_open_days < k.contact_after_close_days) {
      rd.Fail(r, "privacy.retention.contact_open_days",
              "must not be shorter than contact_after_close_days");
    }
  }
  rd.Int(n, "job_interval_minutes", &out.job_interval_minutes, 1, 1440, "privacy");
  rd.Bool(n, "delete_recordings_at_provider", &out.delete_recordings_at_provider, "privacy");
}

const std::vector<RetentionKey>& RetentionKeys() {
  using R = RetentionPeriods;
  static const std::vector<RetentionKey> k = {
      {"contact_after_close_days", &R::contact_after_close_days, 1, 3650},
      {"contact_open_days", &R::contact_open_days, 30, 3650},
      {"raw_payload_days", &R::raw_payload_days, 1, 365},
      {"intake_key_days", &R::intake_key_days, 1, 365},
      {"chat_draft_days", &R::chat_draft_days, 1, 365},
      {"chat_contact_days", &R::chat_contact_days, 1, 3650},
      {"followup_days", &R::followup_days, 1, 3650},
      {"transcript_days", &R::transcript_days, 1, 3650},
      {"outbox_days", &R::outbox_days, 1, 3650},
      {"dead_letter_days", &R::dead_letter_days, 1, 365},
      {"access_log_days", &R::access_log_days, 30, 3650}};
  return k;
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

std::string NoticeUrl(const Config& config) {
  return config.gateway.public_base_url + "/datenschutz";
}

std::string NoticeLine(const Config& config, const std::string& language) {
  const auto& s = config.Get<Settings>();
  // privacy.notice (the town's configuration) for the language, else the catalogue's.
  auto it = s.notice.find(language);
  std::string line = it != s.notice.end() && !it->second.empty()
                         ? it->second
                         : texts::For(config, language)("nachricht.datenschutz");
  if (auto at = line.find("{url}"); at != std::string::npos)
    line.replace(at, 5, NoticeUrl(config));
  return line;
}

}  // namespace meldestelle::privacy
