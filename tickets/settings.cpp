#include "tickets/settings.hpp"

#include <regex>

#include "core/config_section.hpp"
#include "tickets/staff_accounts.hpp"

namespace meldestelle::tickets {

namespace {

// tickets.working_days: day names mon … sun, at least one.
void ReadWorkingDays(YamlReader& rd, const YAML::Node& n, Settings& t) {
  auto w = n["working_days"];
  if (!w)
    return;
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

const char* const kEvents[] = {"accepted",  "in_progress", "done",    "rejected",
                               "forwarded", "duplicate",   "question"};

}  // namespace

void Settings::Read(YamlReader& rd, const YAML::Node& n, Config& config, Settings& t) {
  if (!n || !rd.ExpectMap(n, "tickets",
                          {"triage_department", "working_days", "holidays", "remind_after",
                           "reassign_after", "question_timeout", "delivery_max_attempts",
                           "delivery_timeout_seconds", "attach_max_bytes", "jobs_interval_ms",
                           "inbox_idle_minutes", "inbox_session_hours"})) {
    return;
  }
  rd.String(n, "triage_department", &t.triage_department, false, "tickets");
  if (!t.triage_department.empty() && config.FindDepartment(t.triage_department) == nullptr) {
    rd.Fail(n["triage_department"], "tickets.triage_department",
            "unknown department \"" + t.triage_department + "\"");
  }
  ReadWorkingDays(rd, n, t);
  rd.StringList(n, "holidays", &t.holidays, "tickets");
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  for (const auto& h : t.holidays) {
    if (!std::regex_match(h, kDate)) {
      rd.Fail(n["holidays"], "tickets.holidays", "\"" + h + "\" is not a date YYYY-MM-DD");
    }
  }
  ReadSpan(rd, n, "remind_after", "tickets", &t.remind_after);
  ReadSpan(rd, n, "reassign_after", "tickets", &t.reassign_after);
  ReadSpan(rd, n, "question_timeout", "tickets", &t.question_timeout);
  rd.Int(n, "delivery_max_attempts", &t.delivery_max_attempts, 1, 100, "tickets");
  rd.Int(n, "delivery_timeout_seconds", &t.delivery_timeout_seconds, 1, 600, "tickets");
  rd.Int(n, "attach_max_bytes", &t.attach_max_bytes, 0, int64_t{1} << 31, "tickets");
  rd.Int(n, "jobs_interval_ms", &t.jobs_interval_ms, 50, 3'600'000, "tickets");
  rd.Int(n, "inbox_idle_minutes", &t.inbox_idle_minutes, 1, 24 * 60, "tickets");
  rd.Int(n, "inbox_session_hours", &t.inbox_session_hours, 1, 24 * 30, "tickets");
}

void NotificationSettings::Read(YamlReader& rd, const YAML::Node& n, Config& config,
                                NotificationSettings& out) {
  if (!n ||
      !rd.ExpectMap(n, "notifications",
                    {"enabled", "ask_fixed", "texts", "email_subjects", "optout_secret",
                     "typed_recipient_per_hour", "typed_recipient_per_day", "sms_per_hour"})) {
    return;
  }
  rd.Bool(n, "enabled", &out.enabled, "notifications");
  rd.Bool(n, "ask_fixed", &out.ask_fixed, "notifications");
  rd.Int(n, "typed_recipient_per_hour", &out.typed_recipient_per_hour, 1, 1000, "notifications");
  rd.Int(n, "typed_recipient_per_day", &out.typed_recipient_per_day, 1, 10000, "notifications");
  rd.Int(n, "sms_per_hour", &out.sms_per_hour, 0, 1000000, "notifications");
  ReadSecret(rd, n, "optout_secret", "notifications", "MELDESTELLE_OPTOUT_SECRET",
             &out.optout_secret);
  // Opt-out links' own secret (core/links.hpp); else keys.optout_links or the master.
  if (!out.optout_secret.empty())
    config.purpose_secrets["optout_links"] = out.optout_secret;
  if (auto t = n["texts"]; t && rd.ExpectMap(t, "notifications.texts",
                                             {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"})) {
    for (const char* lang : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"}) {
      auto l = t[lang];
      std::string path = std::string("notifications.texts.") + lang;
      if (!l ||
          !rd.ExpectMap(
              l, path, {"accepted", "in_progress", "done", "rejected", "forwarded", "duplicate"})) {
        continue;
      }
      for (const char* ev : kEvents)
        rd.String(l, ev, &out.texts[lang][ev], false, path);
    }
  }
  if (auto t = n["email_subjects"];
      t && rd.ExpectMap(t, "notifications.email_subjects",
                        {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"})) {
    for (const char* lang : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"}) {
      rd.String(t, lang, &out.email_subjects[lang], false, "notifications.email_subjects");
    }
  }
}

void DuplicateSettings::Read(YamlReader& rd, const YAML::Node& n, Config&, DuplicateSettings& out) {
  if (!n || !rd.ExpectMap(n, "duplicates", {"enabled", "distance_m", "window_days"}))
    return;
  rd.Bool(n, "enabled", &out.enabled, "duplicates");
  rd.Double(n, "distance_m", &out.distance_m, 1.0, 1000.0, "duplicates");
  rd.Int(n, "window_days", &out.window_days, 1, 365, "duplicates");
}

ConfigSections Sections() {
  return {SectionOf<Settings>(), SectionOf<NotificationSettings>(), SectionOf<DuplicateSettings>(),
          SectionOf<StaffSettings>()};
}

}  // namespace meldestelle::tickets
