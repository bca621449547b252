#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/phone/event.hpp"
#include "core/result.hpp"

// Twilio Programmable Voice (and the generic call-centre transcript endpoint): webhook
// authentication, callback parsing, the TwiML the caller hears, and the SMS we send. Pure: bytes
// in, values out; no I/O, no clock. All functions are thread-safe. Facts and sources:
// shared/reference/channels.md §3; test vectors in shared/reference/vectors/twilio.
namespace meldestelle::twilio {

// Form fields in body order, names and values decoded.
using Params = std::vector<std::pair<std::string, std::string>>;

// Decodes an application/x-www-form-urlencoded body: pairs separated by '&', '+' is a space,
// %XX escapes (either case). Empty segments ("a=1&&b=2", a trailing '&') are skipped, and an
// empty body is an empty list. Error "form_invalid" for: a segment without '=' or with an empty
// name (Twilio always sends name=value, and this keeps JSON and other non-form bodies out), a '%'
// not followed by two hex digits, a decoded name or value that is not valid UTF-8 or contains
// NUL. Repeated names are kept, in order.
Result<Params> ParseForm(std::string_view body);

// The first value of `name`, or nullopt.
std::optional<std::string_view> Find(const Params& params, std::string_view name);

// X-Twilio-Signature (channels.md §3.2): Base64(HMAC-SHA1(auth_token, url + name1 value1 name2
// value2 ...)) over the decoded BODY params sorted by name, then by value (byte order). `url` is
// the full public URL as configured in Twilio, query string included in its original order —
// rebuilt from config, not from the request (a proxy changes scheme and host). Query parameters
// must not be in `body_params` (cpp-httplib's req.params mixes them in: use ParseForm(req.body)).
std::string ComputeSignature(std::string_view auth_token, std::string_view url,
                             const Params& body_params);

enum class SignatureCheck { kOk, kMissing, kMismatch };

// Compares ComputeSignature with the header in constant time. An empty header (after trimming)
// is kMissing; an empty auth token never verifies (kMismatch).
SignatureCheck VerifySignature(std::string_view auth_token, std::string_view url,
                               const Params& body_params, std::string_view header_value);

// The caller's number for the event: "" when withheld ("anonymous", "Restricted", "Unknown" in
// any case, Twilio's placeholder numbers +266696687, +7378742833, +2562533, +86282452253, "")
// and also when it is not an E.164 number ('+', 2..15 digits, no leading 0) — e.g. a SIP or
// client address, which no SMS can reach. Surrounding ASCII whitespace is ignored.
std::string CallerNumber(std::string_view from);

// Callback params -> phone::Event. Errors: "field_missing" (names the field) when a required
// field is absent or empty; "field_value_invalid" for a malformed SID (must be 1..64 of
// [A-Za-z0-9-], which also admits SignalWire's UUIDs), a non-integer duration, a recording URL
// that is not http(s), a status that is not a lower-case token. `from` goes through
// CallerNumber. Only ParseRecorded sets `language`; the others keep the default "de".

// Incoming-call webhook (the number's Voice URL). Required: CallSid, From. Optional: To.
// kCallStarted, dedupe "call:<CallSid>".
Result<phone::Event> ParseIncomingCall(const Params& params);

// The <Record> action request. Required: CallSid, RecordingUrl, RecordingDuration. Optional:
// RecordingSid, From, To. `language` is the one chosen in the menu ("en", anything else is
// "de"); the gateway carries it in the action URL's query. kRecorded, dedupe "recorded:<CallSid>".
Result<phone::Event> ParseRecorded(const Params& params, std::string_view language);

// recordingStatusCallback (carries no From/To: the worker joins on CallSid). Required: CallSid,
// RecordingSid, RecordingStatus. Optional: RecordingUrl, RecordingDuration (negative -> 0).
// kRecordingStatus, dedupe "recording:<RecordingSid>:<RecordingStatus>".
Result<phone::Event> ParseRecordingStatus(const Params& params);

// transcribeCallback. Required: CallSid, TranscriptionSid, TranscriptionStatus. Optional:
// TranscriptionText (only kept when the status is "completed"; trimmed), RecordingSid,
// RecordingUrl, From, To. kTranscription, dedupe "transcription:<TranscriptionSid>".
Result<phone::Event> ParseTranscription(const Params& params);

// What the caller hears. All texts are configurable per town; one struct per language. An empty
// text is left out of the TwiML (an empty <Say> is a Twilio warning).
struct VoiceScript {
  std::string voice_language;   // TwiML language attribute: "de-DE" / "en-GB"
  std::string greeting;         // "Willkommen beim Mängelmelder der Stadt Musterstadt."
  std::string language_offer;   // spoken in the OTHER script's voice: "For English, press 2."
  std::string recording_notice;  // before the beep: recorded and transcribed (Art. 13)
  std::string instructions;     // what to say, then '#'
  std::string reference_intro;  // "… Ihre Vorgangsnummer lautet:"
  std::string repeat_intro;     // "Ich wiederhole:"
  std::string sms_offer;        // "… per SMS …, drücken Sie jetzt die 1."
  std::string sms_yes;          // "Sie erhalten in Kürze eine SMS."
  std::string goodbye;          // "Auf Wiederhören."
  std::string nothing_heard;    // no recording was made
  std::string unavailable;      // the report could not be saved: please call again later
};

// The built-in texts for "en"; anything else gets the German ones.
VoiceScript DefaultScript(std::string_view language);

// The menu key that selects the second script in TwimlIncoming, and the key that asks for the
// SMS in TwimlReference.
inline constexpr std::string_view kKeySecondLanguage = "2";
inline constexpr std::string_view kKeySmsYes = "1";

// Incoming call: <Gather numDigits="1" timeout="3" action=menu_action method="POST"> with
// first.greeting (in first's voice) and first.language_offer (in second's voice), then
// <Redirect method="POST">menu_action</Redirect>: no key means the first language. The menu
// handler picks `second` for Digits == kKeySecondLanguage.
std::string TwimlIncoming(const VoiceScript& first, const VoiceScript& second,
                          std::string_view menu_action);

// After the menu: instructions, <Record action method="POST" maxLength finishOnKey="#"
// playBeep="true" timeout="5" trim="trim-silence" recordingStatusCallback
// recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/>
// (+ transcribe="true" transcribeCallback when given), then nothing_heard and <Hangup/>: Twilio
// goes on past <Record> only when nothing was recorded. `max_length_s` is clamped to 1..3600.
std::string TwimlRecord(const VoiceScript& script, std::string_view record_action,
                        std::string_view status_callback,
                        std::optional<std::string_view> transcribe_callback, int max_length_s);

// After the recording: reference_intro, the spelled reference, a one-second <Pause>,
// repeat_intro, the spelled reference again; then, if offer_sms, <Gather numDigits="1"
// timeout="5" action=sms_action method="POST"> sms_offer </Gather>; then goodbye and <Hangup/>.
// The spelling language follows script.voice_language ("en…" -> English, else German).
std::string TwimlReference(const VoiceScript& script, std::string_view reference, bool offer_sms,
                           std::string_view sms_action);

// The answer to the SMS key: sms_yes (if yes), goodbye, <Hangup/>.
std::string TwimlSmsAnswer(const VoiceScript& script, bool yes);

// When the report could not be accepted (broker unavailable): `unavailable`, <Hangup/>. The
// caller hears no reference we could not keep.
std::string TwimlUnavailable(const VoiceScript& script);

// The reference spelled for text-to-speech so that a caller can write it down: symbols in groups
// of four, symbols separated by ", ", groups by " – " (plain <Say> has no SSML <break>; TTS
// pauses at punctuation), ending with ".". Letters as "K wie Köln" (DIN 5009:2022 place names)
// or "K as in Kilo" (NATO alphabet, English spellings "Alpha", "Juliet" for the TTS), digits one
// by one as words ("zwo" for 2, so that it is not taken for "drei"; "nine", not "niner").
// `language` "en" gives English, anything else German. Letters are upper-cased, spaces and '-'
// skipped, other characters dropped. Example (de, "4KQ7XRT2WNPA"): "vier, K wie Köln, Q wie
// Quickborn, sieben – X wie Xanten, R wie Rostock, T wie Tübingen, zwo – W wie Wuppertal,
// N wie Nürnberg, P wie Potsdam, A wie Aachen."
std::string SpellReference(std::string_view reference, std::string_view language);

// SMS through the Messages API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json): the form
// body From, To, Body. `body` is cut to 1600 code points (Twilio's limit) if it is valid UTF-8.
std::string BuildSmsForm(std::string_view from, std::string_view to, std::string_view body);

struct SmsResult {
  std::string sid;     // the message SID on success
  int error_code = 0;  // Twilio's "code", or 0 (then error_message says why)
  std::string error_message;
  bool permanent = false;  // retrying the same request will not help
  // 21610 ("Attempt to send to unsubscribed recipient"): the number sent STOP to ours; Twilio
  // refuses every message to it until it sends START.
  bool recipient_refuses = false;
};

// Maps the answer of the Messages API. 2xx: a JSON object with a non-empty string "sid", else
// error "response_invalid". Otherwise a SmsResult from {"code","message","status"} read
// leniently (a proxy's HTML page gives "HTTP <status>"): 4xx is permanent except 429 and
// Twilio's code 20429 (too many requests); 5xx and anything else is temporary.
Result<SmsResult> ParseSmsResponse(int http_status, std::string_view body);

// The generic call-centre transcript endpoint (POST /webhooks/phone/transcript).
struct ExternalTranscript {
  std::string call_id, caller, transcript, audio_url, language = "de";
};

// JSON object {"call_id" (required string, 1..200 code points), "caller" (optional string, goes
// through CallerNumber), "transcript" (required string, may be empty), "audio_url" (optional
// http(s) URL), "language" (optional "de"/"en")}. null counts as absent for optional fields.
// Errors: "json_invalid" (syntax, invalid UTF-8, not an object), "unknown_field",
// "field_missing", "field_type_invalid", "field_value_invalid" (length, URL, language, NUL).
Result<ExternalTranscript> ParseExternalTranscript(std::string_view body);

// `X-Meldestelle-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, upper- or lower-case
// hex, compared in constant time. Never true for an empty secret or header.
bool VerifyTranscriptSignature(std::string_view secret, std::string_view body,
                               std::string_view header_value);

}  // namespace meldestelle::twilio
