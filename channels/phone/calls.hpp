#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "channels/channel.hpp"
#include "channels/phone/message.hpp"
#include "channels/phone/settings.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace meldestelle::phone {

// Joins the events of a phone call by its call id in `phone_calls` (docs/channels/phone.md).
// Each event is handled once (its dedupe key is remembered in chat_events with channel "phone"),
// so repeated callbacks change nothing. One instance per thread.
class PhoneIntake {
 public:
  // `sends_sms`: whether this configuration sends acknowledgements by SMS; without, a caller's
  // late consent is kept (phone_calls.wants_sms) but the acknowledgement stays none.
  PhoneIntake(const Config& config, metrics::Registry& registry, bool sends_sms);
  // Errors are transient (db_unavailable) or the message's own.
  Status Process(const Message& message);

 private:
  void Recorded(db::Tx& tx, const Message& m);
  void RecordingStatus(db::Tx& tx, const Event& e);
  void Transcription(db::Tx& tx, const Event& e);
  void SmsConsent(db::Tx& tx, const Event& e);

  const Config& config_;
  const bool sends_sms_;
  db::Session session_;
  metrics::Counter& duplicates_;
  metrics::Counter& unsendable_count_;  // meldestelle_acknowledgements_unsendable_total, sms
  bool unsendable_ = false;             // this message's consent recorded as not sendable
};

// Turns recorded calls into tickets once their text is settled: the provider's transcription
// arrived (or its wait ran out), the speech-to-text service answered (or failed for good), or
// there is no transcription. Downloads the recording (with the provider's credentials), stores
// it content-addressed, finds the place in the transcript (gazetteer), and admits the report
// with the recording attached. A failed or empty transcription never loses the report: it goes
// out with the recording, flagged "Sprachaufnahme, nicht transkribiert". Recordings past
// phone.recording_retention_days are deleted by the retention pass (privacy/retention.hpp). One
// instance per thread.
class PhoneCloser final : public channels::Job {
 public:
  // `holder` names the worker ("<host>/<worker instance>", channels::WorkerServices::holder;
  // empty: nobody in particular): calls are claimed under it, and a closer that starts takes up
  // at once the calls its name still holds — a worker killed while it closed them — instead of
  // leaving them to their claim's 10 minutes.
  PhoneCloser(const Config& config, std::unique_ptr<channels::Admission> admission,
              const routing::Gazetteer* gazetteer, metrics::Registry& registry,
              std::string holder = "");
  ~PhoneCloser() override;
  // Closes the ready calls; an error is the database's (the call it held is finished first on
  // the next run, not left to its lease).
  Result<int> RunOnce();
  void Run(const std::atomic<bool>& stop) override;

  struct Call;     // a row of phone_calls (calls.cpp)
  struct Fetched;  // what the downloads and the speech-to-text service gave (calls.cpp)
  struct Claimed;  // a claimed call and what was fetched for it (calls.cpp)

 private:
  Result<std::optional<Call>> Claim();
  // At the first run: the calls this holder claimed and no longer has in hand become due.
  Status TakeUpOwnCalls();
  Fetched Fetch(const Call& c);
  std::string FetchRecording(const Call& c, Fetched& f);
  void Transcribe(const Call& c, const std::string& audio, Fetched& f);
  void DeleteAtProvider(const Call& c);
  bool Finish(db::Tx& tx, const Call& claimed, const Fetched& f);
  void Postpone(db::Tx& tx, const Call& c, const std::string& why);
  channels::AdmitRequest ReportOf(const Call& c, bool recording_lost, std::string* place_kind);
  void Publish(db::Tx& tx, const Call& c, bool recording_lost);
  Status SetAside(const std::string& call_id);

  const Config& config_;
  const Settings& settings_;
  std::unique_ptr<channels::Admission> admission_;
  const routing::Gazetteer* gazetteer_;
  BlobStore blobs_;
  HttpClient http_;
  db::Session session_;
  metrics::Counter& published_;
  metrics::Counter& untranscribed_;
  metrics::Registry& registry_;
  // The call whose last step failed because the database was away: it keeps its lease (10
  // minutes, so that no other closer takes it during a slow download), and this closer
  // finishes it first once the database answers again.
  std::unique_ptr<Claimed> unfinished_;
  const std::string holder_;
  bool took_up_ = false;
};

}  // namespace meldestelle::phone
