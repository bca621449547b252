// The phone channel end to end (docs/channels/phone.md): the real gateway, worker and dispatcher
// against the real broker and database, with a local stand-in for the provider's REST API
// (serves the recording, accepts SMS) and for the speech-to-text service.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "channels/phone/calls.hpp"
#include "channels/phone/twilio.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/metrics.hpp"
#include "fake_providers.hpp"
#include "routing/gazetteer.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace phone_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

constexpr const char* kCaller = "+4917612345678";

StackOptions PhoneOptions(const FakeProviders& fake, bool stt, int wait_seconds = 60) {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env(stt);
  o.extra_env.push_back("MELDESTELLE_PHONE_TRANSCRIPTION_WAIT_SECONDS=" +
                        std::to_string(wait_seconds));
  return o;
}

// A short WAV file: 8 kHz, 16 bit, mono, `samples` samples of a square wave.
std::string Wav(int samples, int seed) {
  auto le = [](uint32_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s += static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
  };
  std::string data;
  for (int i = 0; i < samples; ++i)
    data += le(((i / (8 + seed)) % 2) ? 8000 : 0xe0c0, 2);
  return "RIFF" + le(36 + static_cast<uint32_t>(data.size()), 4) + "WAVEfmt " + le(16, 4) +
         le(1, 2) + le(1, 2) + le(8000, 4) + le(16000, 4) + le(2, 2) + le(16, 2) + "data" +
         le(static_cast<uint32_t>(data.size()), 4) + data;
}

// Posts like the provider: form-encoded, signed over the public URL and the body's parameters.
httplib::Result PostTwilio(Stack& s, const std::string& path_and_query,
                           const twilio::Params& params, bool sign = true) {
  std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + path_and_query;
  httplib::Headers h;
  if (sign) {
    h.emplace("X-Twilio-Signature",
              twilio::ComputeSignature(FakeProviders::kTwilioToken, url, params));
  }
  return s.Client().Post(path_and_query.c_str(), h, FormUrlEncode(params),
                         "application/x-www-form-urlencoded");
}

twilio::Params CallParams(const std::string& call_sid, const std::string& from = kCaller) {
  return {{"AccountSid", FakeProviders::kTwilioSid},
          {"ApiVersion", "2010-04-01"},
          {"CallSid", call_sid},
          {"CallStatus", "in-progress"},
          {"From", from},
          {"To", FakeProviders::kSmsFrom},
          {"Direction", "inbound"}};
}

twilio::Params With(twilio::Params p, const twilio::Params& more) {
  p.insert(p.end(), more.begin(), more.end());
  return p;
}

routing::Gazetteer ExampleGazetteer() {
  auto g = routing::LoadGazetteer(std::filesystem::path(MELDESTELLE_SOURCE_DIR) /
                                  "config/example/streets.yaml");
  REQUIRE(g.ok());
  return std::move(g).value();
}

size_t Occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "A call naming Lindenstraße dreizehn becomes one located ticket with its recording and "
    "one SMS, and repeated callbacks change nothing",
    "[integration][phone]") {
  FakeProviders fake;
  Stack s(PhoneOptions(fake, /*stt=*/false));
  const std::string call = "CA00000000000000000000000000000001";
  const std::string rec = "RE00000000000000000000000000000001";
  std::string wav = Wav(4000, 1);
  fake.AddRecording(rec, wav);

  auto voice = PostTwilio(s, "/webhooks/phone/voice", CallParams(call));
  REQUIRE(voice);
  INFO(voice->body);
  REQUIRE(voice->status == 200);
  CHECK(voice->body.find("<Gather") != std::string::npos);
  // The greeting configured in phone.texts (config/example) replaces the built-in one.
  CHECK(voice->body.find("Willkommen beim Mängelmelder der Stadt Musterstadt.") !=
        std::string::npos);
  CHECK(voice->body.find("For English, press 2.") != std::string::npos);
  CHECK(voice->body.find("/webhooks/phone/menu") != std::string::npos);
  auto menu = PostTwilio(s, "/webhooks/phone/menu", With(CallParams(call), {{"Digits", ""}}));
  REQUIRE(menu->status == 200);
  CHECK(menu->body.find("<Record") != std::string::npos);
  // The caller hears that the message is recorded and transcribed before the recording starts.
  CHECK(menu->body.find("aufgezeichnet und zur Bearbeitung") < menu->body.find("<Record"));
  CHECK(menu->body.find("/webhooks/phone/recorded?lang=de") != std::string::npos);
  CHECK(menu->body.find("transcribeCallback") != std::string::npos);

  twilio::Params recorded = With(CallParams(call), {{"RecordingSid", rec},
                                                    {"RecordingUrl", fake.RecordingUrl(rec)},
                                                    {"RecordingDuration", "21"},
                                                    {"Digits", "#"}});
  auto done = PostTwilio(s, "/webhooks/phone/recorded?lang=de", recorded);
  REQUIRE(done->status == 200);
  std::string twiml = done->body;
  CHECK(twiml.find("/webhooks/phone/sms") != std::string::npos);  // the SMS offer
  REQUIRE(PostTwilio(s, "/webhooks/phone/sms?lang=de", With(CallParams(call), {{"Digits", "1"}}))
              ->status == 200);
  twilio::Params status = {{"AccountSid", FakeProviders::kTwilioSid},
                           {"CallSid", call},
                           {"RecordingSid", rec},
                           {"RecordingUrl", fake.RecordingUrl(rec)},
                           {"RecordingStatus", "completed"},
                           {"RecordingDuration", "21"}};
  REQUIRE(PostTwilio(s, "/webhooks/phone/recording", status)->status / 100 == 2);
  twilio::Params transcription =
      With(CallParams(call),
           {{"TranscriptionSid", "TR00000000000000000000000000000001"},
            {"TranscriptionText",
             "Guten Tag in der Lindenstraße dreizehn ist ein tiefes Schlagloch auf der Fahrbahn"},
            {"TranscriptionStatus", "completed"},
            {"RecordingSid", rec},
            {"RecordingUrl", fake.RecordingUrl(rec)}});
  REQUIRE(PostTwilio(s, "/webhooks/phone/transcription", transcription)->status / 100 == 2);

  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'phone'", 1,
                         std::chrono::seconds(40)));
  auto t = s.Query(
      "SELECT reference, lat, lon, location_source, address, department_id, text"
      " FROM tickets");
  std::string reference = t[0][0].as<std::string>();
  // The caller heard exactly this reference, spelled, twice.
  std::string spelled = twilio::SpellReference(reference, "de");
  CHECK(Occurrences(twiml, spelled) == 2);
  auto place = routing::FindPlace(ExampleGazetteer(), "Lindenstraße 13");
  REQUIRE(place);
  CHECK(t[0][1].as<double>() == Approx(place->lat));
  CHECK(t[0][2].as<double>() == Approx(place->lon));
  CHECK(t[0][3].as<std::string>() == "address");
  CHECK(t[0][4].as<std::string>().find("Lindenstraße") == 0);
  CHECK(t[0][5].as<std::string>() == "tiefbauamt");
  CHECK(t[0][6].as<std::string>().find("Schlagloch") != std::string::npos);
  auto att = s.Query("SELECT sha256, media_type FROM attachments");
  REQUIRE(att.size() == 1);
  CHECK(att[0][0].as<std::string>() == Sha256Hex(wav));
  CHECK(att[0][1].as<std::string>() == "audio/wav");
  // Downloaded and kept here, the recording is deleted at the provider (docs/datenschutz.md).
  CHECK(fake.deleted_recordings() == std::vector<std::string>{rec});

  INFO(s.DispatcherLog());
  REQUIRE(fake.WaitForSent(1));
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE channel = 'sms' AND status = 'sent'", 1));
  auto sms = fake.sent();
  REQUIRE(sms.size() == 1);
  CHECK(sms[0].channel == "sms");
  CHECK(sms[0].body["To"] == kCaller);
  CHECK(sms[0].body["From"] == FakeProviders::kSmsFrom);
  CHECK(sms[0].body["Body"].get<std::string>().find(reference.substr(0, 4)) != std::string::npos);

  // Repeated callbacks: the same reference is read out again, and nothing else changes.
  auto again = PostTwilio(s, "/webhooks/phone/recorded?lang=de", recorded);
  REQUIRE(again->status == 200);
  CHECK(Occurrences(again->body, spelled) == 2);
  REQUIRE(PostTwilio(s, "/webhooks/phone/transcription", transcription)->status / 100 == 2);
  REQUIRE(PostTwilio(s, "/webhooks/phone/sms?lang=de", With(CallParams(call), {{"Digits", "1"}}))
              ->status == 200);
  REQUIRE(PostTwilio(s, "/webhooks/phone/recording", status)->status / 100 == 2);
  // A marker call shows the repeated events were consumed before we count.
  const std::string marker = "CA00000000000000000000000000000099";
  REQUIRE(PostTwilio(s, "/webhooks/phone/sms?lang=de", With(CallParams(marker), {{"Digits", "1"}}))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM phone_calls WHERE call_id = '" + marker + "'", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'delivery'") == 1);
  CHECK(fake.sent().size() == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE channel = 'phone'") == 5);

  // Forged or unsigned callbacks are refused and publish nothing.
  auto forged = s.Client().Post("/webhooks/phone/recorded?lang=de",
                                {{"X-Twilio-Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
                                FormUrlEncode(recorded), "application/x-www-form-urlencoded");
  CHECK(forged->status == 403);
  CHECK(PostTwilio(s, "/webhooks/phone/recorded?lang=de", recorded, /*sign=*/false)->status == 403);
  // Signed for another URL (the query is part of what is signed).
  auto moved =
      s.Client().Post("/webhooks/phone/recorded?lang=en",
                      {{"X-Twilio-Signature",
                        twilio::ComputeSignature(FakeProviders::kTwilioToken,
                                                 "http://127.0.0.1:" + std::to_string(s.port()) +
                                                     "/webhooks/phone/recorded?lang=de",
                                                 recorded)}},
                      FormUrlEncode(recorded), "application/x-www-form-urlencoded");
  CHECK(moved->status == 403);
  CHECK(s.QueueDepth(s.queue()) == 0);

  // Staff cannot ask this caller a question by SMS: the answer could not come back. Refused,
  // saying why; nothing sent, nothing changed.
  auto asked = s.Client().Post(("/api/v1/tickets/" + reference + "/question").c_str(),
                               {{"Authorization", "Bearer " + s.DepartmentToken("tiefbauamt")}},
                               R"({"question":"Welche Seite der Straße?"})", "application/json");
  REQUIRE(asked);
  INFO(asked->body);
  CHECK(asked->status == 409);
  CHECK_THAT(asked->body, Catch::Contains("no_way_back") && Catch::Contains("reached by SMS"));
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'question'") == 0);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'status'") == 0);
  CHECK(One(s, "SELECT status FROM tickets") == "assigned");
}

namespace {

// A call that hangs up after its recording, before the SMS offer's answer: its ticket's
// acknowledgement is none. Returns the ticket's id.
std::string CallWithoutConsent(Stack& s, FakeProviders& fake, const std::string& call,
                               const std::string& rec, int seed) {
  fake.AddRecording(rec, Wav(2000, seed));
  auto recorded = PostTwilio(s, "/webhooks/phone/recorded?lang=de",
                             With(CallParams(call), {{"RecordingSid", rec},
                                                     {"RecordingUrl", fake.RecordingUrl(rec)},
                                                     {"RecordingDuration", "9"}}));
  REQUIRE(recorded);
  REQUIRE(recorded->status == 200);
  const std::string ticket =
      "SELECT id::text FROM tickets WHERE channel_message_id = '" + call + "'";
  REQUIRE(s.WaitForCount("SELECT count(*) FROM (" + ticket + ") t", 1, std::chrono::seconds(40)));
  const std::string id = One(s, ticket);
  CHECK(One(s, "SELECT channel FROM outbox WHERE kind = 'ack' AND ticket_id = '" + id + "'") ==
        "none");
  return id;
}

}  // namespace

TEST_CASE(
    "A caller's 1 for an SMS after the ticket was written sends it where SMS can be sent, and "
    "promises or queues none where it cannot",
    "[integration][phone]") {
  FakeProviders fake;
  Stack s(PhoneOptions(fake, /*stt=*/true));
  fake.SetStt("Die Straßenlaterne am Rathaus ist seit drei Tagen dunkel");
  INFO(s.WorkerLogs());
  auto press_one = [&](const std::string& call) {
    auto answer =
        PostTwilio(s, "/webhooks/phone/sms?lang=de", With(CallParams(call), {{"Digits", "1"}}));
    REQUIRE(answer);
    REQUIRE(answer->status == 200);
    return answer->body;
  };

  // Where SMS is sent: the acknowledgement turns to SMS and goes out.
  const std::string call = "CA00000000000000000000000000000031";
  const std::string id = CallWithoutConsent(s, fake, call, "RE00000000000000000000000000000031", 1);
  CHECK_THAT(press_one(call), Catch::Contains("Sie erhalten in Kürze eine SMS."));
  INFO(s.DispatcherLog());
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND channel = 'sms'"
                     " AND status = 'sent' AND ticket_id = '" +
                         id + "'",
                     1));
  REQUIRE(fake.WaitForSent(1));
  CHECK(fake.sent()[0].body["To"] == kCaller);

  // A worker configured without the SMS account (the gateway still has it, and promised one):
  // the consent is kept, and the acknowledgement is recorded as failed at once and flagged, as a
  // report's is, instead of waiting for a lane that no dispatcher has.
  s.StopWorkers();
  auto worker =
      s.StartProcess("worker-without-sms", {"worker"},
                     {"MELDESTELLE_TWILIO_SMS_FROM=", "MELDESTELLE_WORKER_METRICS_PORT=0"});
  const std::string call2 = "CA00000000000000000000000000000032";
  const std::string id2 =
      CallWithoutConsent(s, fake, call2, "RE00000000000000000000000000000032", 2);
  press_one(call2);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM phone_calls WHERE wants_sms AND call_id = '" + call2 + "'", 1));
  INFO(worker->Log());
  CHECK(One(s,
            "SELECT channel || '/' || status || '/' || attempts || '/' || address"
            " FROM outbox WHERE kind = 'ack' AND ticket_id = '" +
                id2 + "'") == std::string("sms/failed/0/") + kCaller);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE id = '" + id2 +
                "' AND routing_explanation->'flags' ? 'Eingangsbestätigung nicht sendbar: sms'") ==
        1);
  CHECK_THAT(s.RunCommand({"outbox", "unsendable"}),
             Catch::Contains(One(s, "SELECT reference FROM tickets WHERE id = '" + id2 + "'") +
                             "  sms  "));
  CHECK_THAT(worker->Log(), Catch::Contains("late consent to an SMS is not sent"));
  worker->Stop();

  // A gateway without the SMS account neither promises an SMS nor passes the 1 on.
  const int port = FreePort();
  auto gateway = s.StartProcess("gateway-without-sms", {"gateway"},
                                {"MELDESTELLE_HTTP_PORT=" + std::to_string(port),
                                 "MELDESTELLE_INSTANCE_ID=9", "MELDESTELLE_TWILIO_SMS_FROM="});
  httplib::Client other("127.0.0.1", port);
  REQUIRE(WaitFor([&] { return static_cast<bool>(other.Get("/readyz")); }));
  const std::string call3 = "CA00000000000000000000000000000033";
  const twilio::Params params = With(CallParams(call3), {{"Digits", "1"}});
  // Signed for the stack's public URL, as the provider signs it.
  auto answer =
      other.Post("/webhooks/phone/sms?lang=de",
                 {{"X-Twilio-Signature",
                   twilio::ComputeSignature(FakeProviders::kTwilioToken,
                                            "http://127.0.0.1:" + std::to_string(s.port()) +
                                                "/webhooks/phone/sms?lang=de",
                                            params)}},
                 FormUrlEncode(params), "application/x-www-form-urlencoded");
  REQUIRE(answer);
  INFO(gateway->Log());
  CHECK(answer->status == 200);
  CHECK_THAT(answer->body, !Catch::Contains("SMS") && Catch::Contains("<Hangup/>"));
  // A marker through the stack's own gateway, consumed after anything published before it.
  s.StartWorker();
  const std::string marker = "CA00000000000000000000000000000039";
  press_one(marker);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM phone_calls WHERE call_id = '" + marker + "'", 1));
  CHECK(s.Count("SELECT count(*) FROM phone_calls WHERE call_id = '" + call3 + "'") == 0);
  gateway->Stop();
}

TEST_CASE("A failed transcription becomes a ticket with the recording and no text",
          "[integration][phone]") {
  FakeProviders fake;
  Stack s(PhoneOptions(fake, /*stt=*/false));
  const std::string call = "CA00000000000000000000000000000002";
  const std::string rec = "RE00000000000000000000000000000002";
  std::string wav = Wav(3000, 2);
  fake.AddRecording(rec, wav);
  // A withheld number: accepted, but no SMS offer.
  twilio::Params recorded =
      With(CallParams(call, "anonymous"), {{"RecordingSid", rec},
                                           {"RecordingUrl", fake.RecordingUrl(rec)},
                                           {"RecordingDuration", "12"}});
  auto done = PostTwilio(s, "/webhooks/phone/recorded?lang=de", recorded);
  REQUIRE(done->status == 200);
  CHECK(done->body.find("/webhooks/phone/sms") == std::string::npos);
  twilio::Params failed = With(CallParams(call, "anonymous"),
                               {{"TranscriptionSid", "TR00000000000000000000000000000002"},
                                {"TranscriptionText", ""},
                                {"TranscriptionStatus", "failed"},
                                {"RecordingSid", rec}});
  REQUIRE(PostTwilio(s, "/webhooks/phone/transcription", failed)->status / 100 == 2);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(40)));
  CHECK(One(s, "SELECT text FROM tickets") == "");
  CHECK(One(s, "SELECT department_id FROM tickets") == "buergerservice");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Sprachaufnahme, nicht transkribiert'") == 1);
  CHECK(One(s, "SELECT sha256 FROM attachments") == Sha256Hex(wav));
  CHECK(One(s, "SELECT reporter->>'address' FROM tickets") == "");
}

TEST_CASE(
    "By default the provider transcribes English calls only: a German call goes out at once "
    "with its recording, flagged, without waiting for an English transcription",
    "[integration][phone]") {
  FakeProviders fake;
  StackOptions o = PhoneOptions(fake, /*stt=*/false, /*wait_seconds=*/600);
  std::erase_if(o.extra_env, [](const std::string& e) {
    return e.rfind("MELDESTELLE_PHONE_TRANSCRIPTION=", 0) == 0;  // phone.transcription: auto
  });
  Stack s(o);
  const std::string english = "CA00000000000000000000000000000051";
  auto en = PostTwilio(s, "/webhooks/phone/menu", With(CallParams(english), {{"Digits", "2"}}));
  REQUIRE(en->status == 200);
  CHECK(en->body.find("transcribeCallback") != std::string::npos);

  const std::string call = "CA00000000000000000000000000000052";
  const std::string rec = "RE00000000000000000000000000000052";
  std::string wav = Wav(3000, 5);
  fake.AddRecording(rec, wav);
  auto de = PostTwilio(s, "/webhooks/phone/menu", With(CallParams(call), {{"Digits", ""}}));
  REQUIRE(de->status == 200);
  CHECK(de->body.find("/webhooks/phone/recorded?lang=de") != std::string::npos);
  CHECK(de->body.find("transcribeCallback") == std::string::npos);
  REQUIRE(PostTwilio(s, "/webhooks/phone/recorded?lang=de",
                     With(CallParams(call), {{"RecordingSid", rec},
                                             {"RecordingUrl", fake.RecordingUrl(rec)},
                                             {"RecordingDuration", "12"}}))
              ->status == 200);
  INFO(s.WorkerLogs());
  // The wait for a provider's transcription is 600 s here: the ticket comes long before it.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(40)));
  CHECK(One(s, "SELECT text FROM tickets") == "");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Sprachaufnahme, nicht transkribiert'") == 1);
  CHECK(One(s, "SELECT sha256 FROM attachments") == Sha256Hex(wav));

  // A landline gets no SMS offer (phone.sms_prefixes: Germany's mobile ranges by default), and
  // a 1 from it (a replayed callback) is no consent: nothing is promised, nothing passed on.
  const std::string landline = "+492211234567";
  const std::string call2 = "CA00000000000000000000000000000053";
  const std::string rec2 = "RE00000000000000000000000000000053";
  fake.AddRecording(rec2, Wav(2000, 6));
  auto done =
      PostTwilio(s, "/webhooks/phone/recorded?lang=de",
                 With(CallParams(call2, landline), {{"RecordingSid", rec2},
                                                    {"RecordingUrl", fake.RecordingUrl(rec2)},
                                                    {"RecordingDuration", "8"}}));
  REQUIRE(done->status == 200);
  CHECK(done->body.find("<Say") != std::string::npos);
  CHECK(done->body.find("/webhooks/phone/sms") == std::string::npos);
  const std::string promise = twilio::TwimlSmsAnswer(twilio::DefaultScript("de"), true);
  auto one = PostTwilio(s, "/webhooks/phone/sms?lang=de",
                        With(CallParams(call2, landline), {{"Digits", "1"}}));
  REQUIRE(one->status == 200);
  CHECK(one->body == twilio::TwimlSmsAnswer(twilio::DefaultScript("de"), false));
  CHECK(one->body != promise);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2, std::chrono::seconds(40)));
  CHECK(One(s, "SELECT reporter->'ack'->>'channel' FROM tickets WHERE reporter->>'address' = '" +
                   landline + "'") == "none");
}

TEST_CASE(
    "Speech-to-text: the town's service transcribes the recording, and when it fails the "
    "report goes out with the recording only",
    "[integration][phone]") {
  FakeProviders fake;
  Stack s(PhoneOptions(fake, /*stt=*/true));
  fake.SetStt("Die Straßenlaterne am Rathaus ist seit drei Tagen dunkel");
  const std::string call = "CA00000000000000000000000000000003";
  const std::string rec = "RE00000000000000000000000000000003";
  fake.AddRecording(rec, Wav(2000, 3));
  auto menu = PostTwilio(s, "/webhooks/phone/menu", With(CallParams(call), {{"Digits", "2"}}));
  CHECK(menu->body.find("/webhooks/phone/recorded?lang=en") != std::string::npos);
  CHECK(menu->body.find("transcribeCallback") == std::string::npos);  // our own STT instead
  REQUIRE(PostTwilio(s, "/webhooks/phone/recorded?lang=en",
                     With(CallParams(call), {{"RecordingSid", rec},
                                             {"RecordingUrl", fake.RecordingUrl(rec)},
                                             {"RecordingDuration", "9"}}))
              ->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(40)));
  CHECK(One(s, "SELECT text FROM tickets").find("Rathaus") != std::string::npos);
  CHECK(One(s, "SELECT department_id FROM tickets") == "strassenbeleuchtung");
  CHECK(One(s, "SELECT location_source FROM tickets") == "address");
  CHECK(One(s, "SELECT reporter->>'language' FROM tickets") == "en");
  CHECK(fake.stt_requests() == 1);

  // The service fails: retried, then the ticket carries the recording without text.
  fake.SetStt("", /*fail=*/true);
  const std::string call2 = "CA00000000000000000000000000000004";
  const std::string rec2 = "RE00000000000000000000000000000004";
  fake.AddRecording(rec2, Wav(2500, 4));
  REQUIRE(PostTwilio(s, "/webhooks/phone/recorded?lang=de",
                     With(CallParams(call2), {{"RecordingSid", rec2},
                                              {"RecordingUrl", fake.RecordingUrl(rec2)},
                                              {"RecordingDuration", "7"}}))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2, std::chrono::seconds(60)));
  CHECK(One(s, "SELECT text FROM tickets WHERE channel_message_id = '" + call2 + "'") == "");
  CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id"
                " WHERE t.channel_message_id = '" +
                call2 + "'") == 1);
  CHECK(fake.stt_requests() == 1 + 3);
}

TEST_CASE("Call-centre transcripts: a signed JSON transcript becomes a ticket at once",
          "[integration][phone]") {
  FakeProviders fake;
  Stack s(PhoneOptions(fake, /*stt=*/false));
  json body{{"call_id", "cc-4711"},
            {"caller", "+4930123456"},
            {"transcript", "Wilder Müll, Sperrmüll abgeladen in der Hauptstraße zwölf"}};
  std::string raw = body.dump();
  auto post = [&](const std::string& b, const std::string& sig) {
    httplib::Headers h;
    if (!sig.empty())
      h.emplace("X-Meldestelle-Signature", sig);
    return s.Client().Post("/webhooks/phone/transcript", h, b, "application/json");
  };
  std::string sig = "sha256=" + HmacSha256Hex(FakeProviders::kTranscriptSecret, raw);
  auto res = post(raw, sig);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string reference = json::parse(res->body)["reference"];
  CHECK(post(raw, sig)->status == 202);  // a retry: same reference, nothing new
  CHECK(json::parse(post(raw, sig)->body)["reference"] == reference);
  CHECK(post(raw, "")->status == 401);
  CHECK(post(raw, "sha256=" + std::string(64, '0'))->status == 403);
  CHECK(post("{\"call_id\": 5}",
             "sha256=" + HmacSha256Hex(FakeProviders::kTranscriptSecret, "{\"call_id\": 5}"))
            ->status == 400);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  CHECK(One(s, "SELECT reference FROM tickets") == reference);
  CHECK(One(s, "SELECT department_id FROM tickets") == "abfallwirtschaft");
  CHECK(One(s, "SELECT address FROM tickets").find("Hauptstraße") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  // The retries published nothing (they published an empty message, dead-lettered): a later
  // call's ticket is written after anything they could have queued.
  // Its audio_url points into our own network, at the provider's API: fetched as any URL from
  // outside, it is refused (before, it was fetched with the provider's credentials and then
  // deleted there).
  fake.AddRecording("RE0000000000000000000000000000cc12", "RIFF....WAVEfmt ");
  json later{{"call_id", "cc-4712"},
             {"transcript", "Laterne dunkel in der Hauptstraße drei"},
             {"audio_url", fake.RecordingUrl("RE0000000000000000000000000000cc12") + ".wav"}};
  REQUIRE(
      post(later.dump(), "sha256=" + HmacSha256Hex(FakeProviders::kTranscriptSecret, later.dump()))
          ->status == 202);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2));
  CHECK(s.QueueDepth(s.dead_letter_queue()) == 0);
  CHECK(fake.recording_requests() == 0);
  CHECK(fake.deleted_recordings().empty());
  CHECK(s.Count("SELECT count(*) FROM attachments") == 0);
}

TEST_CASE(
    "A call whose ticket could not be written while the database was away is finished as soon "
    "as it answers again, not after its claim's lease",
    "[integration][phone]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  Config config = s.ConfigHere();
  s.Query(
      "INSERT INTO phone_calls (call_id, caller, reference, report_id, state, transcript,"
      " transcript_source, recorded_at, deadline) VALUES ('CA00000000000000000000000000000042',"
      " '+4917612345678', '2SJ92AHD6XC6', gen_random_uuid(), 'recorded',"
      " 'Schlagloch vor dem Rathaus', 'provider', now(), now())");
  int admits = 0;
  metrics::Registry registry;
  phone::PhoneCloser closer(config, std::make_unique<FlakyAdmission>(&admits), nullptr, registry);
  auto first = closer.RunOnce();
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().code == errors::kDbUnavailable);
  CHECK(One(s, "SELECT state FROM phone_calls") == "recorded");
  // Its claim still holds it for minutes: no other closer takes it during a slow download.
  CHECK(s.Count("SELECT count(*) FROM phone_calls WHERE deadline > now() + interval '5 minutes'") ==
        1);
  // This closer finishes it on its next run.
  auto second = closer.RunOnce();
  REQUIRE(second.ok());
  CHECK(*second == 1);
  CHECK(admits == 2);
  CHECK(One(s, "SELECT state FROM phone_calls") == "published");
}

TEST_CASE(
    "A worker started again takes up at once the calls it was closing when it died; another "
    "worker leaves them to their claim",
    "[integration][phone]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  Config config = s.ConfigHere();
  // A call the worker "host-a/1" claimed (its lease runs 10 minutes) before it was killed.
  s.Query(
      "INSERT INTO phone_calls (call_id, caller, reference, report_id, state, transcript,"
      " transcript_source, recorded_at, deadline, claimed_by) VALUES"
      " ('CA00000000000000000000000000000043', '+4917612345678', '2SJ92AHD6XC7',"
      " gen_random_uuid(), 'recorded', 'Laterne dunkel am Markt', 'provider', now(),"
      " now() + interval '10 minutes', 'host-a/1')");
  int admits = 1;  // FlakyAdmission fails only its first call
  metrics::Registry registry;
  {
    phone::PhoneCloser other(config, std::make_unique<FlakyAdmission>(&admits), nullptr, registry,
                             "host-a/2");
    auto r = other.RunOnce();
    REQUIRE(r.ok());
    CHECK(*r == 0);
    CHECK(One(s, "SELECT state FROM phone_calls") == "recorded");
  }
  {
    phone::PhoneCloser unnamed(config, std::make_unique<FlakyAdmission>(&admits), nullptr,
                               registry);
    auto r = unnamed.RunOnce();
    REQUIRE(r.ok());
    CHECK(*r == 0);
  }
  phone::PhoneCloser again(config, std::make_unique<FlakyAdmission>(&admits), nullptr, registry,
                           "host-a/1");
  auto r = again.RunOnce();
  REQUIRE(r.ok());
  CHECK(*r == 1);
  CHECK(admits == 2);
  CHECK(One(s, "SELECT state FROM phone_calls") == "published");
  // A call claimed now carries the claimer's name.
  s.Query(
      "INSERT INTO phone_calls (call_id, caller, reference, report_id, state, transcript,"
      " transcript_source, recorded_at, deadline) VALUES"
      " ('CA00000000000000000000000000000044', '+4917612345678', '2SJ92AHD6XC8',"
      " gen_random_uuid(), 'recorded', 'Müll am Spielplatz', 'provider', now(), now())");
  auto next = again.RunOnce();
  REQUIRE(next.ok());
  CHECK(*next == 1);
  CHECK(One(s,
            "SELECT claimed_by FROM phone_calls WHERE call_id ="
            " 'CA00000000000000000000000000000044'") == "host-a/1");
}

}  // namespace phone_test
