#include "channels/phone/settings.hpp"

#include <algorithm>

#include "core/config_section.hpp"

namespace meldestelle::phone {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node ||
      !rd.ExpectMap(node, "phone",
                    {"auth_token", "account_sid", "api_base", "sms_from", "sms_prefixes",
                     "country_code", "sms_timeout_seconds", "max_recording_seconds",
                     "transcription", "stt_url", "stt_timeout_seconds",
                     "transcription_wait_seconds", "transcript_secret", "recording_retention_days",
                     "location_min_confidence", "texts", "audio_private_networks"}))
    return;
  const YAML::Node& n = node;

  ReadSecret(rd, n, "auth_token", "phone", "MELDESTELLE_TWILIO_AUTH_TOKEN", &out.auth_token);
  rd.String(n, "account_sid", &out.account_sid, false, "phone");
  rd.String(n, "api_base", &out.api_base, false, "phone");
  while (!out.api_base.empty() && out.api_base.back() == '/')
    out.api_base.pop_back();
  rd.String(n, "sms_from", &out.sms_from, false, "phone");
  if (auto listed = n["sms_prefixes"]; listed && !listed.IsNull()) {
    out.sms_prefixes.clear();
    rd.StringList(n, "sms_prefixes", &out.sms_prefixes, "phone");
    for (const auto& p : out.sms_prefixes) {
      const bool e164 =
          p.size() >= 2 && p.size() <= 16 && p[0] == '+' && p[1] != '0' &&
          std::all_of(p.begin() + 1, p.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!e164) {
        rd.Fail(n["sms_prefixes"], "phone.sms_prefixes",
                "\"" + p + "\" is no number prefix: a + and 1 to 15 digits, e.g. +4917");
        break;
      }
    }
  }
  if (auto cc = n["country_code"]; cc && !cc.IsNull()) {
    rd.String(n, "country_code", &out.country_code, true, "phone");
    if (out.country_code.starts_with("+"))
      out.country_code.erase(0, 1);
    const bool code = !out.country_code.empty() && out.country_code.size() <= 3 &&
                      out.country_code[0] != '0' &&
                      std::all_of(out.country_code.begin(), out.country_code.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
    if (!code)
      rd.Fail(cc, "phone.country_code",
              "\"" + out.country_code + "\" is no country calling code: 1 to 3 digits, e.g. 49");
  }
  rd.Int(n, "sms_timeout_seconds", &out.sms_timeout_seconds, 1, 300, "phone");
  rd.Int(n, "max_recording_seconds", &out.max_recording_seconds, 10, 3600, "phone");
  rd.String(n, "transcription", &out.transcription, false, "phone");
  if (auto t = n["transcription"]; t && out.transcription != "auto" &&
                                   out.transcription != "provider" && out.transcription != "stt" &&
                                   out.transcription != "none") {
    rd.Fail(t, "phone.transcription", "must be auto, provider, stt or none");
  }
  rd.String(n, "stt_url", &out.stt_url, false, "phone");
  if (auto t = n["transcription"]; t && out.transcription == "stt" && out.stt_url.empty()) {
    rd.Fail(t, "phone.transcription", "stt needs phone.stt_url");
  }
  rd.Int(n, "stt_timeout_seconds", &out.stt_timeout_seconds, 1, 3600, "phone");
  rd.Int(n, "transcription_wait_seconds", &out.transcription_wait_seconds, 1, 86400, "phone");
  ReadSecret(rd, n, "transcript_secret", "phone", "MELDESTELLE_PHONE_TRANSCRIPT_SECRET",
             &out.transcript_secret);
  rd.Bool(n, "audio_private_networks", &out.audio_private_networks, "phone");
  rd.Int(n, "recording_retention_days", &out.recording_retention_days, 1, 3650, "phone");
  rd.Double(n, "location_min_confidence", &out.location_min_confidence, 0.0, 1.0, "phone");
  if (auto t = n["texts"]; t && rd.ExpectMap(t, "phone.texts", {"de", "en"})) {
    for (const char* lang : {"de", "en"}) {
      auto l = t[lang];
      std::string path = std::string("phone.texts.") + lang;
      if (!l || !rd.ExpectMap(l, path,
                              {"greeting", "language_offer", "recording_notice", "instructions",
                               "reference_intro", "repeat_intro", "sms_offer", "sms_yes", "goodbye",
                               "nothing_heard", "unavailable"})) {
        continue;
      }
      for (const auto& kv : l) {
        std::string key = kv.first.Scalar();
        std::string value;
        rd.String(l, key, &value, true, path);
        if (!value.empty())
          out.texts[lang][key] = value;
      }
    }
  }
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::phone
