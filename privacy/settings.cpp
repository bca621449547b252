#include "privacy/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::privacy {

Settings::Settings() {
  notice["de"] = "Datenschutzhinweise: {url}";
  notice["en"] = "Privacy notice: {url}";
}

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
  if (auto t = n["notice"]; t && rd.ExpectMap(t, "privacy.notice", {"de", "en"})) {
    for (const char* lang : {"de", "en"}) {
      rd.String(t, lang, &out.notice[lang], false, "privacy.notice");
      if (t[lang] && out.notice[lang].find("{url}") == std::string::npos)
        rd.Fail(t[lang], std::string("privacy.notice.") + lang, "must contain {url}");
    }
  }
  if (auto r = n["retention"];
      r && rd.ExpectMap(r, "privacy.retention",
                        {"contact_after_close_days", "contact_open_days", "raw_payload_days",
                         "intake_key_days", "chat_draft_days", "chat_event_days",
                         "chat_contact_days", "followup_days", "transcript_days", "outbox_days",
                         "dead_letter_days", "access_log_days", "media_grace_hours"})) {
    RetentionPeriods& k = out.retention;
    const char* p = "privacy.retention";
    rd.Int(r, "contact_after_close_days", &k.contact_after_close_days, 1, 3650, p);
    rd.Int(r, "contact_open_days", &k.contact_open_days, 30, 3650, p);
    rd.Int(r, "raw_payload_days", &k.raw_payload_days, 1, 365, p);
    rd.Int(r, "intake_key_days", &k.intake_key_days, 1, 365, p);
    rd.Int(r, "chat_draft_days", &k.chat_draft_days, 1, 365, p);
    rd.Int(r, "chat_event_days", &k.chat_event_days, 1, 365, p);
    rd.Int(r, "chat_contact_days", &k.chat_contact_days, 1, 3650, p);
    rd.Int(r, "followup_days", &k.followup_days, 1, 3650, p);
    rd.Int(r, "transcript_days", &k.transcript_days, 1, 3650, p);
    rd.Int(r, "outbox_days", &k.outbox_days, 1, 3650, p);
    rd.Int(r, "dead_letter_days", &k.dead_letter_days, 1, 365, p);
    rd.Int(r, "access_log_days", &k.access_log_days, 30, 3650, p);
    rd.Int(r, "media_grace_hours", &k.media_grace_hours, 1, 720, p);
    if (k.contact_open_days < k.contact_after_close_days) {
      rd.Fail(r, "privacy.retention.contact_open_days",
              "must not be shorter than contact_after_close_days");
    }
  }
  rd.Int(n, "job_interval_minutes", &out.job_interval_minutes, 1, 1440, "privacy");
  rd.Bool(n, "delete_recordings_at_provider", &out.delete_recordings_at_provider, "privacy");
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

std::string NoticeUrl(const Config& config) {
  return config.gateway.public_base_url + "/datenschutz";
}

std::string NoticeLine(const Config& config, const std::string& language) {
  const auto& s = config.Get<Settings>();
  auto it = s.notice.find(language);
  if (it == s.notice.end() || it->second.empty())
    it = s.notice.find("de");
  std::string line = it == s.notice.end() ? std::string("Datenschutzhinweise: {url}") : it->second;
  if (auto at = line.find("{url}"); at != std::string::npos)
    line.replace(at, 5, NoticeUrl(config));
  return line;
}

}  // namespace meldestelle::privacy
