#pragma once

// The channel contract (docs/adding-a-channel.md): what a channel registers in one place — its
// HTTP routes, the message types it puts on the work queue with their worker handlers, the
// background jobs it needs in the worker, the senders it adds to the outbox and its configuration
// section — and what the gateway and the worker offer it in return. The gateway and the worker
// know no channel by name: they take a Registry (channels/builtin.hpp: the built-in channels).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/admission.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace meldestelle::routing {
class Gazetteer;
}

namespace meldestelle::outbox {
class Senders;
}

namespace meldestelle::tickets {
class IntakeStore;
}

namespace meldestelle::webform {
struct Intake;
}

namespace meldestelle::channels {

// --- The work queue ---

// One message for the work queue. Its type travels in the AMQP `type` property; the worker hands
// the message to the handler registered for that type.
struct QueueMessage {
  std::string type;
  std::string body;
  std::string message_id;  // the AMQP message-id (tracing; the worker deduplicates by content)
};

// The common web intake of reports with a form's fields (web form, app API, Open311).
struct ReportIntake {
  std::string channel;
  std::string message_type = "report";  // what the worker runs it through
  std::string dedup_key;                // a nonce or Idempotency-Key; "" = none
  // SHA-256 (hex) of raw.body. "" = AcceptReport computes it when a dedup key needs it; a
  // report without a key leaves the digest to the worker (DecodeEnvelope names raw_ref).
  std::string request_hash;
  RawPayload raw;
  std::string channel_data;  // a JSON object the channel's worker needs (Open311: media_url)
  // Whether the dedup key's row keeps the envelope, to publish the same report again when a
  // retry with that key finds it unconfirmed. A key no retry can repeat (Open311's own keys)
  // keeps only the reference.
  bool keep_envelope = true;
};

// What became of a ReportIntake.
struct Accepted {
  int status = 202;  // 202, or the HTTP status of the error
  std::string reference;
  bool replay = false;  // the same dedup key again: the first answer
  Error error;
  std::string error_field;  // the canonical field the error is about ("photos"), or ""
};

// What the gateway offers a channel's HTTP handlers. Thread-safe.
class Intake {
 public:
  virtual ~Intake() = default;
  virtual const Config& config() const = 0;
  virtual metrics::Registry& metrics() = 0;
  // A new reference (unique across gateways).
  virtual std::string NewReference() = 0;
  // Publishes persistently and waits for the broker's confirm. Errors: broker_unavailable,
  // broker_timeout, broker_refused: the request is answered 503 and the provider retries.
  virtual Status Publish(QueueMessage message, int64_t received_ms) = 0;
  // Deduplication keys (intake_keys) and the public status of references.
  virtual tickets::IntakeStore& store() = 0;
  // The web intake: photos read for their position and stripped (a photo that cannot be cleaned
  // refuses the whole request: error_field "photos", nothing stored), the report's reference and
  // dedup key reserved, the photos stored, the report published, the key confirmed.
  virtual Accepted AcceptReport(ReportIntake request, webform::Intake intake) = 0;
  // Counts a request by channel and outcome (meldestelle_webhook_requests_total) and a refused
  // submission by channel and reason (meldestelle_reports_rejected_total).
  virtual void CountWebhook(const std::string& channel, const std::string& outcome) = 0;
  virtual void CountRejected(const std::string& channel, const std::string& reason) = 0;
  // The per-client limit on reports (gateway.reports_per_minute; docs/security.md): 0 if the
  // client of `req` may send one now, else the seconds until it may — the route answers 429 with
  // Retry-After in its own format. Takes one report from the client's allowance; counted.
  virtual int ReportRateLimited(const httplib::Request& req, const std::string& channel) = 0;
  // Where a map of the town starts: webform.map.center, else the middle of the street list
  // (routing.gazetteer_file); nullopt when neither is known.
  virtual std::optional<std::pair<double, double>> TownCentre() const = 0;
  // The outbox channels on which acknowledgements can be sent here
  // (Registry::AcknowledgementSenders of the gateway's configuration).
  virtual const std::set<std::string, std::less<>>& AcknowledgementSenders() const = 0;
};

// --- The worker ---

// One message from the work queue.
struct Delivery {
  std::string_view body;
  int attempt = 1;            // counts from 1 (the broker's delivery count)
  bool last_attempt = false;  // worker.max_attempts reached: give up what cannot be had now
  const std::atomic<bool>* stop = nullptr;
};

// Handles the messages of one type. Ok: done (the message is acknowledged). Errors:
// db_unavailable — the worker retries in place without counting an attempt; message_invalid —
// dead-lettered at once; stopping — requeued; anything else counts an attempt (requeued,
// dead-lettered after worker.max_attempts). One instance per consumer thread.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Status Handle(const Delivery& delivery) = 0;
};

// A loop a channel runs in the worker beside the consumer (closing chat drafts, joining phone
// calls), in a thread of its own, until `stop`.
class Job {
 public:
  virtual ~Job() = default;
  virtual void Run(const std::atomic<bool>& stop) = 0;
};

// What the worker offers a channel's handlers and jobs.
class WorkerServices {
 public:
  virtual ~WorkerServices() = default;
  virtual const Config& config() const = 0;
  virtual metrics::Registry& metrics() = 0;
  // The street list for finding places in text; null when none is configured.
  virtual const routing::Gazetteer* gazetteer() const = 0;
  // A new admit step for the calling thread (each owns a database connection).
  virtual std::unique_ptr<Admission> NewAdmission() = 0;
  // The worker's name among all workers, "<host>/<worker --instance>", or "" when it was started
  // without one: a job that claims rows under it takes up its own claims when it starts again.
  virtual const std::string& holder() const = 0;
  // Whether this configuration has an acknowledgement sender for the outbox channel ("sms",
  // "email", …; Registry::AcknowledgementSenders): a handler that turns an acknowledgement onto
  // another channel later (a caller's late "1" for an SMS) asks first.
  virtual bool SendsAcknowledgementsOn(std::string_view channel) const = 0;
};

struct MessageType {
  std::string name;  // the AMQP type
  std::function<std::unique_ptr<Handler>(WorkerServices&)> handler;
  // Messages published before they carried a type: whether this type takes such a body (by its
  // shape). May be empty. The worker asks the other types before the `untyped_default` one.
  std::function<bool(std::string_view body)> claims_untyped;
  bool untyped_default = false;
};

// A message type whose handler is H, constructed from the WorkerServices.
template <typename H>
MessageType HandledBy(std::string_view name,
                      std::function<bool(std::string_view body)> claims_untyped = {}) {
  MessageType t;
  t.name = std::string(name);
  t.handler = [](WorkerServices& s) { return std::make_unique<H>(s); };
  t.claims_untyped = std::move(claims_untyped);
  return t;
}

struct JobSpec {
  std::string name;
  std::function<std::unique_ptr<Job>(WorkerServices&)> make;
};

// --- A channel ---

// The largest request body one of a channel's routes takes (the gateway refuses a larger
// Content-Length before reading a byte of it; docs/security.md). Paths match by prefix; 0 means
// the gateway's default for text bodies (gateway.max_body_bytes).
struct BodyLimit {
  std::string path_prefix;
  int64_t bytes = 0;            // any body but multipart/form-data
  int64_t multipart_bytes = 0;  // multipart/form-data (photos); 0: as `bytes`
};

struct Channel {
  std::string name;          // the report's and the outbox's channel name: "whatsapp"
  std::string display_name;  // for people: "WhatsApp"
  // Registers the channel's HTTP routes with the gateway's server. May be empty.
  std::function<void(httplib::Server&, Intake&)> routes;
  // The answer to a request whose request line is longer than the HTTP library takes (414,
  // before it parsed the line): `target` is the start of the request's target ("/open311/v2/
  // requests.xml?service_request_id=…", maybe cut short). Returns whether it is one of the
  // channel's paths and `res` was filled in the channel's error format. May be empty.
  std::function<bool(std::string_view target, httplib::Response& res)> uri_too_long;
  // The body limits of those routes where they differ from the default. May be empty.
  std::function<std::vector<BodyLimit>(const Config&)> body_limits;
  std::vector<MessageType> message_types;
  std::vector<JobSpec> jobs;
  // Adds the channel's senders to the outbox's table (the citizens' lane). May be empty.
  std::function<void(outbox::Senders&, const Config&)> senders;
  // The outbox channels its senders send acknowledgements on ("sms" for the phone), whether
  // configured or not: a report's `reporter.ack.channel` must name one of the registry's, or
  // "none" (docs/report-schema.md). Its acknowledgement is recorded as failed at once
  // otherwise, since nothing would ever send it.
  std::vector<std::string> ack_channels;
  // Whether the channel is configured (its secrets are set); off: routes answer 404.
  std::function<bool(const Config&)> enabled;
  // The channel's sections of the configuration file (channels/<name>/settings.hpp). A section
  // several channels share (chat:) may be listed by each; it is read once.
  ConfigSections config_sections;
};

// The channels of one process. Built once at startup, read-only afterwards (thread-safe then).
class Registry {
 public:
  // Adds a channel. A channel or message type whose name is taken already is a programming
  // error: Add aborts with a message.
  void Add(Channel channel);
  const std::vector<Channel>& channels() const { return channels_; }
  const Channel* Find(std::string_view name) const;
  const MessageType* Type(std::string_view name) const;
  // The type of a message without one (published before messages were typed).
  const MessageType* TypeOfUntyped(std::string_view body) const;
  // Whether a channel sends acknowledgements on the outbox channel `name` (Channel::ack_channels).
  bool SendsAcknowledgements(std::string_view name) const;
  // The outbox channels on which `config` can send acknowledgements: those for which a
  // channel's `senders` adds an acknowledgement sender with it (the SMS with a Twilio account,
  // e-mail with a relay; docs/operations.md). The dispatcher builds the same senders from the
  // same configuration; the web form and the worker ask this instead of leaving an
  // acknowledgement to wait for a sender that this town has not configured.
  std::set<std::string, std::less<>> AcknowledgementSenders(const Config& config) const;
  // "WhatsApp" for "whatsapp"; the name itself for an unknown one.
  std::string DisplayName(std::string_view channel) const;
  // The configuration sections of all channels, each key once, in the order of the channels;
  // first a reader that fills Config::channel_names.
  meldestelle::ConfigSections ConfigSections() const;

 private:
  std::vector<Channel> channels_;
};

}  // namespace meldestelle::channels
