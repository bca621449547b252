#pragma once

// The phone channel's settings (docs/configuration.md, `phone:`).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/phone.hpp"

namespace meldestelle::phone {

// Phone calls through a Twilio-compatible provider (docs/channels/phone.md). On when the auth
// token is set (it signs every webhook).
struct Settings {
  static constexpr std::string_view kKey = "phone";
  static constexpr bool kRequired = false;

  std::string auth_token;  // X-Twilio-Signature key; also the password for recordings and SMS
  std::string account_sid;
  std::string api_base = "https://api.twilio.com";
  std::string sms_from;  // the number SMS confirmations are sent from; empty = no SMS offer
  // The callers offered an SMS: numbers beginning with one of these (E.164). A landline takes
  // none (Twilio refuses it, 21635), so the default is Germany's mobile ranges; empty = every
  // number.
  std::vector<std::string> sms_prefixes = {"+4915", "+4916", "+4917"};
  // The country calling code of numbers typed without one ("0170 1234567" in the web form):
  // an SMS goes to +<country_code>1701234567, as Twilio takes only E.164 numbers.
  std::string country_code = "49";
  // One send to the Messages API, connecting included; a later answer leaves the SMS
  // unconfirmed (tried again).
  int sms_timeout_seconds = 20;
  int max_recording_seconds = 120;
  // Where the text comes from: "provider" (transcribeCallback), "stt" (stt_url), "none";
  // "auto" = stt if stt_url is set, else provider for English calls (Twilio's transcription is
  // English-only) and none for German ones (staff listen to the recording).
  std::string transcription = "auto";
  std::string stt_url;
  int stt_timeout_seconds = 60;
  int transcription_wait_seconds = 120;  // provider: how long to wait for the callback
  std::string transcript_secret;         // POST /webhooks/phone/transcript (HMAC-SHA256)
  // A call-centre's audio_url may be on a private address (its server in the town's network);
  // by default only public addresses are fetched (docs/security.md, "Outbound fetches").
  bool audio_private_networks = false;
  int recording_retention_days = 90;
  double location_min_confidence = 0.6;  // below: "Ort unsicher"
  // What the caller hears, per language ("de", "en") and text (greeting, instructions, …):
  // overrides of the built-in script (docs/channels/phone.md, "What the caller hears").
  std::map<std::string, std::map<std::string, std::string>> texts;
  bool enabled() const { return !auth_token.empty(); }
  // A number as typed ("0170 123 45 67"), as the E.164 number an SMS goes to ("+491701234567";
  // core/phone.hpp, national numbers with country_code); "" if it is none.
  std::string InternationalNumber(std::string_view typed) const {
    std::string digits = PhoneE164Digits(typed, country_code);
    return digits.empty() ? std::string() : "+" + digits;
  }
  // Whether a caller's number (E.164, as twilio::CallerNumber gives it) can take an SMS.
  bool TakesSms(std::string_view number) const {
    if (number.empty())
      return false;
    if (sms_prefixes.empty())
      return true;
    for (const auto& p : sms_prefixes) {
      if (number.substr(0, p.size()) == p)
        return true;
    }
    return false;
  }
  // For a call in `language` ("de", "en"). A mode set explicitly holds for every language (a
  // provider that transcribes German, say).
  std::string TranscriptionMode(std::string_view language) const {
    if (transcription != "auto")
      return transcription;
    if (!stt_url.empty())
      return "stt";
    return language == "en" ? "provider" : "none";
  }

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::phone
