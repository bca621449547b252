#include "channels/phone/calls.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "channels/chat/settings.hpp"
#include "channels/phone/message.hpp"
#include "channels/phone/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/speech.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/wait.hpp"
#include "outbox/outbox.hpp"
#include "privacy/settings.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/followups.hpp"
#include "tickets/provider_events.hpp"

namespace meldestelle::phone {

// --- The intake of a call's events ---

PhoneIntake::PhoneIntake(const Config& config, metrics::Registry& registry, bool sends_sms)
    : config_(config),
      sends_sms_(sends_sms),
      session_(config.database.url),
      duplicates_(registry.GetCounter("meldestelle_phone_duplicate_events_total",
                                      "Repeated phone callbacks recognised and ignored.")),
      unsendable_count_(outbox::UnsendableCounter(registry, "sms")) {}

Status PhoneIntake::Process(const Message& m) {
  unsendable_ = false;
  Status st = session_.Transact<Ok>([&](db::Tx& tx) -> Ok {
    unsendable_ = false;  // (a try again after a failed one)
    const Event& e = m.event;
    if (!tickets::RememberProviderEvent(tx, "phone", e.dedupe_key, "", "phone")) {
      duplicates_.Inc();
      return Ok{};
    }
    if (!m.raw.body.empty())
      tickets::StoreRawPayload(tx, m.raw);
    switch (e.kind) {
      case EventKind::kCallStarted:
        tx.exec_params0(
            "INSERT INTO phone_calls (call_id, caller, called) VALUES ($1, $2, $3)"
            " ON CONFLICT (call_id) DO NOTHING",
            e.call_id, e.from, e.to);
        break;
      case EventKind::kRecorded:
      case EventKind::kExternalTranscript:
        Recorded(tx, m);
        break;
      case EventKind::kRecordingStatus:
        RecordingStatus(tx, e);
        break;
      case EventKind::kTranscription:
        Transcription(tx, e);
        break;
      case EventKind::kSmsConsent:
        SmsConsent(tx, e);
        break;
    }
    tx.commit();
    return Ok{};
  });
  // Counted once it is recorded, as the admit step counts a report's.
  if (st && unsendable_)
    unsendable_count_.Inc();
  return st;
}

// The recording (or a call centre's transcript): the call is ready after the provider's
// transcription has come or its wait ran out; at once without provider transcription.
void PhoneIntake::Recorded(db::Tx& tx, const Message& m) {
  const Event& e = m.event;
  const Settings& settings = config_.Get<Settings>();
  const int wait = settings.TranscriptionMode(e.language) == "provider"
                       ? settings.transcription_wait_seconds
                       : 0;
  bool external = e.kind == EventKind::kExternalTranscript;
  std::optional<std::string> transcript;
  if (external)
    transcript = e.transcription_text;
  tx.exec_params0(
      "INSERT INTO phone_calls (call_id, caller, called, language, reference, report_id,"
      " state, recording_sid, recording_url, recording_duration_s, transcript,"
      " transcript_source, recorded_at, deadline)"
      " VALUES ($1, $2, $3, $4, $5, $6::uuid, 'recorded', $7, $8, $9, $10,"
      " CASE WHEN $10::text IS NULL THEN NULL ELSE 'call_centre' END, now(),"
      " now() + make_interval(secs => $11))"
      " ON CONFLICT (call_id) DO UPDATE SET"
      " caller = CASE WHEN phone_calls.caller = '' THEN EXCLUDED.caller"
      "          ELSE phone_calls.caller END,"
      " called = CASE WHEN phone_calls.called = '' THEN EXCLUDED.called"
      "          ELSE phone_calls.called END,"
      " language = EXCLUDED.language,"
      " reference = COALESCE(phone_calls.reference, EXCLUDED.reference),"
      " report_id = COALESCE(phone_calls.report_id, EXCLUDED.report_id),"
      " state = CASE WHEN phone_calls.state = 'published' THEN 'published'"
      "         ELSE 'recorded' END,"
      " recording_sid = CASE WHEN phone_calls.recording_sid = ''"
      "   THEN EXCLUDED.recording_sid ELSE phone_calls.recording_sid END,"
      " recording_url = CASE WHEN phone_calls.recording_url = ''"
      "   THEN EXCLUDED.recording_url ELSE phone_calls.recording_url END,"
      " recording_duration_s = GREATEST(phone_calls.recording_duration_s,"
      "   EXCLUDED.recording_duration_s),"
      " recorded_at = COALESCE(phone_calls.recorded_at, now()),"
      // A transcription that came first makes the call ready at once.
      " deadline = CASE WHEN phone_calls.transcript IS NOT NULL THEN now()"
      "            ELSE EXCLUDED.deadline END",
      e.call_id, e.from, e.to, e.language, m.reference, m.report_id, e.recording_sid,
      external ? m.audio_url : e.recording_url, e.recording_duration_s, transcript,
      external ? 0 : wait);
}

void PhoneIntake::RecordingStatus(db::Tx& tx, const Event& e) {
  tx.exec_params0(
      "INSERT INTO phone_calls (call_id, recording_sid, recording_url, recording_status,"
      " recording_duration_s) VALUES ($1, $2, $3, $4, $5)"
      " ON CONFLICT (call_id) DO UPDATE SET recording_status = EXCLUDED.recording_status,"
      " recording_sid = CASE WHEN phone_calls.recording_sid = ''"
      "   THEN EXCLUDED.recording_sid ELSE phone_calls.recording_sid END,"
      " recording_url = CASE WHEN phone_calls.recording_url = ''"
      "   THEN EXCLUDED.recording_url ELSE phone_calls.recording_url END,"
      " recording_duration_s = GREATEST(phone_calls.recording_duration_s,"
      "   EXCLUDED.recording_duration_s)",
      e.call_id, e.recording_sid, e.recording_url, e.recording_status, e.recording_duration_s);
}

void PhoneIntake::Transcription(db::Tx& tx, const Event& e) {
  std::string text = e.transcription_status == "completed" ? e.transcription_text : "";
  auto row = tx.exec_params(
      "INSERT INTO phone_calls (call_id, transcript, transcript_source)"
      " VALUES ($1, $2, 'provider')"
      " ON CONFLICT (call_id) DO UPDATE SET"
      " transcript = CASE WHEN phone_calls.state = 'published' THEN phone_calls.transcript"
      "              ELSE EXCLUDED.transcript END,"
      " transcript_source = CASE WHEN phone_calls.state = 'published'"
      "   THEN phone_calls.transcript_source ELSE 'provider' END,"
      " deadline = CASE WHEN phone_calls.state = 'recorded' THEN now()"
      "            ELSE phone_calls.deadline END"
      " RETURNING state, coalesce(ticket_id::text, '')",
      e.call_id, text);
  // Too late for the ticket (the wait ran out): added to it as a follow-up for staff.
  if (!row.empty() && row[0][0].as<std::string>() == "published" && !text.empty() &&
      !row[0][1].as<std::string>().empty()) {
    tickets::RecordFollowup(tx, config_,
                            {row[0][1].as<std::string>(), "phone", e.dedupe_key,
                             "Transkription: " + text, "", std::nullopt, std::nullopt});
  }
}

// Pressed after the ticket was written: its acknowledgement goes out by SMS after all.
void PhoneIntake::SmsConsent(db::Tx& tx, const Event& e) {
  // A call with its ticket written: the ticket first, as an erasure locks it before the call and
  // the outbox row; a ticket erased meanwhile gets no caller's number back.
  auto written = tx.exec_params(
      "SELECT t.anonymised_at IS NOT NULL FROM phone_calls c JOIN tickets t ON t.id = c.ticket_id"
      " WHERE c.call_id = $1 FOR NO KEY UPDATE OF t",
      e.call_id);
  if (!written.empty() && written[0][0].as<bool>())
    return;
  auto row = tx.exec_params(
      "INSERT INTO phone_calls (call_id, caller, wants_sms) VALUES ($1, $2, true)"
      " ON CONFLICT (call_id) DO UPDATE SET wants_sms = true,"
      " caller = CASE WHEN phone_calls.caller = '' THEN EXCLUDED.caller"
      "          ELSE phone_calls.caller END"
      " RETURNING coalesce(ticket_id::text, ''), caller",
      e.call_id, e.from);
  // Pressed after the ticket was written: its acknowledgement goes out by SMS after all, where
  // this configuration sends SMS (the gateway offers it only then; a worker configured without
  // the account would queue one that no dispatcher's lane sends).
  if (!row.empty() && !row[0][0].as<std::string>().empty() &&
      !row[0][1].as<std::string>().empty()) {
    const bool redirected = outbox::RedirectAcknowledgement(
        tx, row[0][0].as<std::string>(), "sms", row[0][1].as<std::string>(),
        sends_sms_ ? std::string() : outbox::NoSenderError("sms"));
    if (redirected && !sends_sms_) {
      // As the admit step records a report's: failed at once and flagged, for staff and for
      // `meldestelle outbox resend-unsendable` once the sender is configured here.
      log::Warn("a caller's late consent to an SMS is not sent: no SMS sender is configured here",
                {{"ticket_id", row[0][0].as<std::string>()}});
      unsendable_ = true;
    }
  }
}

// --- Turning calls into tickets ---

struct PhoneCloser::Call {
  std::string call_id, caller, language, reference, report_id, recording_url, recording_status;
  // The recording is a call-centre's audio_url (POST /webhooks/phone/transcript): fetched as any
  // URL from outside (public addresses only, no credentials) and never deleted. Otherwise it is
  // the provider's: fetched with its credentials and deleted there afterwards.
  bool call_centre = false;
  std::optional<std::string> recording_sha, recording_type, transcript;
  int64_t recording_size = 0;
  bool wants_sms = false;
  int attempts = 0;
  std::string recorded_at;
};

namespace {

// Twilio's RecordingUrl has no extension: ".wav" asks for the WAV file.
std::string RecordingDownloadUrl(const std::string& url, const std::string& api_base) {
  if (!UrlUnder(url, api_base))
    return url;
  size_t slash = url.rfind('/');
  if (url.find('.', slash == std::string::npos ? 0 : slash) != std::string::npos)
    return url;
  return url + ".wav";
}

constexpr const char* kCallColumns =
    "call_id, caller, language, reference, report_id::text, recording_url, recording_status,"
    " recording_sha256, recording_type, coalesce(recording_size, 0), transcript, wants_sms,"
    " attempts, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " coalesce(transcript_source, '') = 'call_centre'";

}  // namespace

namespace {

PhoneCloser::Call ReadCall(const pqxx::row& row) {
  using Call = PhoneCloser::Call;
  Call c;
  c.call_id = row[0].as<std::string>();
  c.caller = row[1].as<std::string>();
  c.language = row[2].as<std::string>();
  c.reference = row[3].as<std::string>();
  c.report_id = row[4].as<std::string>();
  c.recording_url = row[5].as<std::string>();
  c.recording_status = row[6].as<std::string>();
  if (!row[7].is_null())
    c.recording_sha = row[7].as<std::string>();
  if (!row[8].is_null())
    c.recording_type = row[8].as<std::string>();
  c.recording_size = row[9].as<int64_t>();
  if (!row[10].is_null())
    c.transcript = row[10].as<std::string>();
  c.wants_sms = row[11].as<bool>();
  c.attempts = row[12].as<int>();
  c.recorded_at = row[13].as<std::string>();
  c.call_centre = row[14].as<bool>();
  return c;
}

}  // namespace

// What the slow part (downloads, speech-to-text) found out, outside any transaction.
struct PhoneCloser::Fetched {
  std::optional<std::string> sha, type;
  int64_t size = 0;
  std::optional<std::string> transcript;  // from the STT service
  std::string retry;                      // non-empty: try again later, with this reason
  bool recording_lost = false;
};

struct PhoneCloser::Claimed {
  Call call;
  Fetched fetched;
};

PhoneCloser::~PhoneCloser() = default;

PhoneCloser::PhoneCloser(const Config& config, std::unique_ptr<channels::Admission> admission,
                         const routing::Gazetteer* gazetteer, metrics::Registry& registry,
                         std::string holder)
    : config_(config),
      settings_(config.Get<Settings>()),
      admission_(std::move(admission)),
      gazetteer_(gazetteer),
      blobs_(config.storage.media_dir),
      session_(config.database.url),
      published_(registry.GetCounter("meldestelle_phone_reports_total",
                                     "Phone calls turned into tickets.")),
      untranscribed_(
          registry.GetCounter("meldestelle_phone_untranscribed_total",
                              "Phone tickets without text (transcription failed, empty or off).")),
      registry_(registry),
      holder_(std::move(holder)) {}

Status PhoneCloser::TakeUpOwnCalls() {
  if (took_up_ || holder_.empty())
    return Ok{};
  auto n = session_.Transact<int>([&](db::Tx& tx) {
    auto r = tx.exec_params(
        "UPDATE phone_calls SET deadline = now() WHERE state = 'recorded' AND claimed_by = $1"
        " AND deadline > now()",
        holder_);
    tx.commit();
    return static_cast<int>(r.affected_rows());
  });
  if (!n)
    return n.error();
  took_up_ = true;
  if (*n > 0) {
    log::Info("took up the phone calls this worker had claimed before it stopped",
              {{"holder", holder_}, {"calls", std::to_string(*n)}});
  }
  return Ok{};
}

Result<int> PhoneCloser::RunOnce() {
  if (auto st = TakeUpOwnCalls(); !st)
    return st.error();
  int handled = 0;
  while (true) {
    // 1. The call left unfinished when the database went away, else one ready call claimed
    //    with a lease, so the slow work holds no lock: the intake (an SMS key, a late
    //    transcription) never waits for a download.
    std::unique_ptr<Claimed> claim = std::move(unfinished_);
    if (!claim) {
      auto claimed = Claim();
      if (!claimed)
        return claimed.error();
      if (!*claimed)
        return handled;
      claim = std::make_unique<Claimed>(Claimed{std::move(**claimed), {}});
      // 2. The slow part: the recording (once), then the text from the STT service.
      claim->fetched = Fetch(claim->call);
    }
    const Call& c = claim->call;
    const Fetched& f = claim->fetched;
    // 3. One short transaction: re-read the call (an SMS key or a transcription may have come
    //    meanwhile), record what was fetched, and write the ticket or postpone.
    auto r = session_.Transact<bool>([&](db::Tx& tx) { return Finish(tx, c, f); });
    if (!r) {
      if (db::IsTransient(r.error())) {
        unfinished_ = std::move(claim);
        return r.error();
      }
      // Not the environment's fault: set this call aside for a while so the others proceed.
      log::Error(
          "phone call could not be published; retrying it in 5 minutes",
          {{"reference", c.reference}, {"error", r.error().message + ": " + r.error().detail}});
      if (auto st = SetAside(c.call_id); !st)
        return st.error();
      continue;
    }
    // The recording is kept here now (its digest committed with the call): the provider's copy
    // goes (docs/datenschutz.md, "Minimisation").
    if (f.sha && *r && config_.Get<privacy::Settings>().delete_recordings_at_provider)
      DeleteAtProvider(c);
    ++handled;
  }
}

Result<std::optional<PhoneCloser::Call>> PhoneCloser::Claim() {
  return session_.Transact<std::optional<Call>>([&](db::Tx& tx) -> std::optional<Call> {
    auto rows = tx.exec(std::string("SELECT ") + kCallColumns +
                        " FROM phone_calls WHERE state = 'recorded' AND deadline <= now()"
                        " AND reference IS NOT NULL ORDER BY deadline LIMIT 1"
                        " FOR UPDATE SKIP LOCKED");
    if (rows.empty())
      return std::nullopt;
    Call c = ReadCall(rows[0]);
    tx.exec_params0(
        "UPDATE phone_calls SET deadline = now() + interval '10 minutes',"
        " claimed_by = NULLIF($2, '') WHERE call_id = $1",
        c.call_id, holder_);
    tx.commit();
    return c;
  });
}

PhoneCloser::Fetched PhoneCloser::Fetch(const Call& c) {
  Fetched f;
  std::string audio = FetchRecording(c, f);
  if (f.retry.empty() && !c.transcript && settings_.TranscriptionMode(c.language) == "stt" &&
      !audio.empty()) {
    Transcribe(c, audio, f);
  }
  return f;
}

// The recording, downloaded once (with the provider's credentials, to the provider only) and
// stored; the bytes, for the speech-to-text service.
std::string PhoneCloser::FetchRecording(const Call& c, Fetched& f) {
  constexpr int kMaxAttempts = 5;
  std::string audio;
  if (!c.recording_sha && !c.recording_url.empty()) {
    HttpClient::Request req;
    const bool provider = !c.call_centre;
    req.url =
        provider ? RecordingDownloadUrl(c.recording_url, settings_.api_base) : c.recording_url;
    if (provider && UrlUnder(req.url, settings_.api_base) && !settings_.account_sid.empty()) {
      // The provider's credentials go to the provider only.
      req.headers.emplace_back(
          "Authorization",
          "Basic " + Base64Encode(settings_.account_sid + ":" + settings_.auth_token));
    }
    // A call-centre's link: not our own network, unless the town says its server is in it.
    req.public_only = !provider && !settings_.audio_private_networks;
    req.timeout = std::chrono::seconds(60);
    req.max_bytes = config_.Get<chat::Settings>().max_media_bytes;
    auto res = http_.Send(req);
    bool transient = !res ? res.error().code != errors::kHttpTooLarge &&
                                res.error().code != errors::kHttpAddressRefused
                          : (res->status == 404 || res->status == 429 || res->status >= 500);
    if (res && res->status == 200 && !res->body.empty()) {
      std::string type = SniffMediaType(res->body);
      if (type.empty())
        type = "application/octet-stream";
      std::string sha = Sha256Hex(res->body);
      if (auto put = blobs_.Put(res->body, sha); !put) {
        f.retry = "storing the recording failed: " + put.error().message;
      } else {
        f.sha = sha;
        f.type = type;
        f.size = static_cast<int64_t>(res->body.size());
        audio = std::move(res->body);
      }
    } else if (transient && c.attempts < kMaxAttempts) {
      // 404: the provider may not have finished writing the file yet.
      f.retry =
          res ? "recording answered HTTP " + std::to_string(res->status) : res.error().message;
    } else {
      f.recording_lost = true;
      log::Warn("recording not loadable",
                {{"reference", c.reference}, {"url", RedactUrl(req.url)}});
    }
  } else if (c.recording_sha) {
    if (auto got = blobs_.Get(*c.recording_sha); got)
      audio = std::move(got).value();
  }
  return audio;
}

// Twilio's recording resource (DELETE …/Recordings/{sid}.json, 204). A failure is logged and
// counted; the recording stays at the provider until the town deletes it there.
void PhoneCloser::DeleteAtProvider(const Call& c) {
  if (c.call_centre)
    return;  // a call-centre's audio link: nothing of the provider's to delete
  std::string url = c.recording_url;
  if (auto q = url.find('?'); q != std::string::npos)
    url.resize(q);
  for (const char* ext : {".wav", ".mp3", ".json"}) {
    if (url.size() > 5 && url.compare(url.size() - std::string_view(ext).size(),
                                      std::string_view(ext).size(), ext) == 0)
      url.resize(url.size() - std::string_view(ext).size());
  }
  url += ".json";
  if (!UrlUnder(url, settings_.api_base) || settings_.account_sid.empty())
    return;  // not the provider's (a call-centre's audio link): nothing to delete there
  HttpClient::Request req;
  req.method = "DELETE";
  req.url = url;
  req.headers.emplace_back(
      "Authorization", "Basic " + Base64Encode(settings_.account_sid + ":" + settings_.auth_token));
  req.timeout = std::chrono::seconds(10);
  const char* outcome = "failed";
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto res = http_.Send(req);
    if (res && (res->status == 204 || res->status == 200 || res->status == 404)) {
      outcome = res->status == 404 ? "gone" : "deleted";
      break;
    }
    if (res && res->status < 500 && res->status != 429)
      break;
  }
  registry_
      .GetCounter("meldestelle_phone_recordings_deleted_at_provider_total",
                  "Recordings deleted at the provider after download, by outcome.",
                  {{"outcome", outcome}})
      .Inc();
  if (std::string_view(outcome) == "failed")
    log::Warn("recording not deleted at the provider", {{"reference", c.reference}});
}

void PhoneCloser::Transcribe(const Call& c, const std::string& audio, Fetched& f) {
  auto text = meldestelle::Transcribe(
      http_, {settings_.stt_url, std::chrono::seconds(settings_.stt_timeout_seconds)}, audio,
      f.type.value_or(c.recording_type.value_or("audio/wav")));
  if (text) {
    f.transcript = std::move(text).value();
  } else if (c.attempts < 2) {  // two more tries (2 s, 4 s), then without text
    f.retry = text.error().message;
  } else {
    log::Warn("speech-to-text failed; the recording goes out without text",
              {{"reference", c.reference}, {"error", text.error().message}});
  }
}

bool PhoneCloser::Finish(db::Tx& tx, const Call& claimed, const Fetched& f) {
  auto rows = tx.exec_params(std::string("SELECT ") + kCallColumns +
                                 " FROM phone_calls WHERE call_id = $1 AND state = 'recorded'"
                                 " FOR UPDATE",
                             claimed.call_id);
  if (rows.empty())
    return true;  // published by another closer meanwhile
  Call now = ReadCall(rows[0]);
  if (f.sha) {
    tx.exec_params0(
        "UPDATE phone_calls SET recording_sha256 = $2, recording_type = $3,"
        " recording_size = $4 WHERE call_id = $1",
        now.call_id, *f.sha, *f.type, f.size);
    now.recording_sha = f.sha;
    now.recording_type = f.type;
    now.recording_size = f.size;
  }
  if (f.transcript && !now.transcript) {
    tx.exec_params0(
        "UPDATE phone_calls SET transcript = $2, transcript_source = 'stt' WHERE call_id = $1",
        now.call_id, *f.transcript);
    now.transcript = f.transcript;
  }
  if (!f.retry.empty()) {
    Postpone(tx, now, f.retry);
  } else {
    Publish(tx, now, f.recording_lost);
  }
  return true;
}

void PhoneCloser::Postpone(db::Tx& tx, const Call& c, const std::string& why) {
  int delay = std::min(600, 2 << std::min(c.attempts, 8));  // 2 s, 4 s, 8 s, …
  tx.exec_params0(
      "UPDATE phone_calls SET attempts = attempts + 1,"
      " deadline = now() + make_interval(secs => $2) WHERE call_id = $1",
      c.call_id, delay);
  tx.commit();
  log::Warn("phone call postponed",
            {{"reference", c.reference}, {"reason", why}, {"retry_in_s", std::to_string(delay)}});
}

// The report of a call: the transcript, the recording attached, the caller's SMS wish, the place
// found in what they said (or "Ort fehlt"), admitted like any report.
channels::AdmitRequest PhoneCloser::ReportOf(const Call& c, bool recording_lost,
                                             std::string* place_kind) {
  channels::AdmitRequest request;
  Report& report = request.envelope.report;
  if (recording_lost)
    request.flags.push_back("Aufnahme nicht geladen");
  const std::string text = c.transcript.value_or("");
  report.id = c.report_id;
  report.reference = c.reference;
  report.channel = "phone";
  report.channel_message_id = c.call_id;
  report.received_at = c.recorded_at;
  report.reporter.address = c.caller;
  report.reporter.language = c.language;
  bool sms = c.wants_sms && !c.caller.empty();
  report.reporter.ack_channel = sms ? "sms" : "none";
  report.reporter.ack_address = sms ? c.caller : "";
  report.text = text;
  if (c.recording_sha) {
    report.attachments.push_back({*c.recording_sha, c.recording_type.value_or(""), c.recording_size,
                                  "aufnahme-" + c.reference + ".wav"});
  }
  if (text.empty()) {
    request.flags.push_back("Sprachaufnahme, nicht transkribiert");
    untranscribed_.Inc();
  }
  std::optional<routing::PlaceMatch> place;
  if (gazetteer_ != nullptr && !text.empty())
    place = routing::FindPlace(*gazetteer_, text);
  if (place) {
    report.location.lat = place->lat;
    report.location.lon = place->lon;
    report.location.source = LocationSource::kAddress;
    report.location.address =
        place->street + (place->house_number.empty() ? "" : " " + place->house_number);
    if (place->confidence < settings_.location_min_confidence) {
      request.flags.push_back("Ort unsicher");
    }
    request.flags.push_back("Ort aus Sprache: " + place->matched_text + " (Sicherheit " +
                            std::to_string(static_cast<int>(place->confidence * 100)) + " %)");
    *place_kind = place->kind;
  } else {
    request.flags.push_back("Ort fehlt");
    *place_kind = "none";
  }
  return request;
}

void PhoneCloser::Publish(db::Tx& tx, const Call& c, bool recording_lost) {
  std::string place;
  channels::AdmitRequest request = ReportOf(c, recording_lost, &place);
  auto admitted = admission_->Admit(request);
  if (!admitted) {
    if (db::IsTransient(admitted.error()))
      throw pqxx::broken_connection("ticket store");
    throw std::runtime_error("ticket for call " + c.reference + ": " + admitted.error().message +
                             ": " + admitted.error().detail);
  }
  tx.exec_params0(
      "UPDATE phone_calls SET state = 'published', published_at = now(),"
      " ticket_id = (SELECT id FROM tickets WHERE channel = 'phone'"
      "              AND channel_message_id = $1)"
      " WHERE call_id = $1",
      c.call_id);
  tx.commit();
  published_.Inc();
  log::Info("phone report published", {{"reference", c.reference},
                                       {"department", admitted->department},
                                       {"text", c.transcript.value_or("").empty() ? "none" : "yes"},
                                       {"place", place}});
}

Status PhoneCloser::SetAside(const std::string& call_id) {
  return session_.Transact<Ok>([&](db::Tx& tx) {
    tx.exec_params0(
        "UPDATE phone_calls SET deadline = now() + interval '5 minutes' WHERE call_id = $1",
        call_id);
    tx.commit();
    return Ok{};
  });
}

void PhoneCloser::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto r = RunOnce();
    if (!r) {
      log::Warn("closing phone calls failed, retrying",
                {{"error", r.error().message + ": " + r.error().detail}});
    }
    WaitUnlessStopped(std::chrono::milliseconds(500), stop);
  }
}

}  // namespace meldestelle::phone
