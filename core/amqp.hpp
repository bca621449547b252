#pragma once

#include <amqp.h>
#include <amqp_framing.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"

namespace meldestelle {

struct AmqpUrl {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
};

// amqp://user:pass@host:port/vhost (vhost percent-encoded; empty path = "/").
Result<AmqpUrl> ParseAmqpUrl(std::string_view url);

// Move-only RAII owner of one librabbitmq connection with channel 1 open. Not thread-safe:
// one connection per thread (or one I/O thread that owns it), as librabbitmq requires.
class AmqpConnection {
 public:
  static Result<AmqpConnection> Open(const AmqpUrl& url, int heartbeat_seconds,
                                     std::chrono::milliseconds timeout);
  AmqpConnection(AmqpConnection&& other) noexcept;
  AmqpConnection& operator=(AmqpConnection&& other) noexcept;
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;
  ~AmqpConnection();

  amqp_connection_state_t get() const { return conn_; }
  static constexpr amqp_channel_t kChannel = 1;
  // Turns the last RPC reply into a Status with a readable reason.
  Status CheckRpc(std::string_view what);
  // Marks the connection as broken so the destructor does not attempt a graceful close.
  void MarkBroken() { broken_ = true; }
  // The node it is connected to, "host:port" (for logs).
  const std::string& node() const { return node_; }

 private:
  explicit AmqpConnection(amqp_connection_state_t conn) : conn_(conn) {}
  amqp_connection_state_t conn_ = nullptr;
  bool broken_ = false;
  std::string node_;
};

// The broker's nodes: amqp.urls (a cluster), else amqp.url.
std::vector<std::string> BrokerUrls(const Config::Amqp& cfg);

// Opens a connection to the first node of `urls` that answers, trying each once from node
// `*cursor` on. A process stays on its node: on success `*cursor` is that node's index, and
// after losing the connection the caller moves the cursor on (NextNode), so that it tries
// another node first when its own died. The error names every node's reason.
Result<AmqpConnection> OpenAnyNode(const std::vector<std::string>& urls, int heartbeat_seconds,
                                   std::chrono::milliseconds timeout, size_t* cursor);
inline void NextNode(size_t* cursor, size_t nodes) {
  if (nodes > 0)
    *cursor = (*cursor + 1) % nodes;
}

std::string DescribeRpcReply(const amqp_rpc_reply_t& reply);

// The broker's own delivery limit on the work queue: a backstop for messages that crash workers
// before they can decide. A constant (not derived from worker.max_attempts, which is at most 15)
// because queue arguments cannot change after declaration: a config change must not make every
// later declaration fail with PRECONDITION_FAILED.
inline constexpr int kBrokerDeliveryLimit = 20;

// Declares the durable exchange, the quorum work queue (with delivery limit and dead-lettering
// into the dead-letter queue) and the quorum dead-letter queue. Idempotent; the gateway and
// every worker call it with the same arguments.
Status DeclareTopology(AmqpConnection& conn, const Config::Amqp& cfg);
// A connection to a node of the configured broker (BrokerUrls; no heartbeats, 5 s to connect
// to each node) with the topology declared: the worker's consumer, the admin commands, the
// retention pass. `cursor` as for OpenAnyNode (nullptr: from the first node).
Result<AmqpConnection> ConnectToBroker(const Config& config, size_t* cursor = nullptr);

inline constexpr std::string_view kReportRoutingKey = "report";

// Appends the frames of one basic.publish (method, content header, body split at frame_max) to
// `out`, encoded by librabbitmq's own encoders: byte for byte what amqp_basic_publish() sends.
// A publisher that gathers many messages sends them with one write instead of three per message.
// Errors: "amqp_encode" when a field does not fit a frame.
Status AppendPublishFrames(std::string& out, amqp_channel_t channel, std::string_view exchange,
                           std::string_view routing_key, bool mandatory,
                           const amqp_basic_properties_t& props, std::string_view body,
                           size_t frame_max);

// Writes all of `data` to the connection's socket (non-blocking in librabbitmq 0.11), waiting
// for it to drain up to `timeout`. Only for the thread that owns the connection, between
// librabbitmq calls, and only with whole frames. Errors: "broker_unavailable".
Status SendRaw(amqp_connection_state_t conn, std::string_view data,
               std::chrono::milliseconds timeout);

// Reads a header value from message properties (string or integer), or "" if absent.
std::string HeaderValue(const amqp_basic_properties_t& props, std::string_view name);

// A message's properties, owned: a deep copy (its headers too) in a pool of its own, for a
// message published again after librabbitmq freed the one it came from (a requeued dead
// letter). Copies share the one immutable copy; thread-safe to read.
class OwnedProperties {
 public:
  OwnedProperties();  // none: no flags set
  explicit OwnedProperties(const amqp_basic_properties_t& props);
  const amqp_basic_properties_t& get() const;

 private:
  struct Held;
  std::shared_ptr<const Held> held_;
};

// A header table's entry; key and value are pointed to, not copied: they must outlive its use.
amqp_table_entry_t StringEntry(const char* key, const char* value);
amqp_table_entry_t IntEntry(const char* key, int64_t value);

// Headers that describe one trip through a queue, not the message, and are not carried when it
// is published again: the broker's (x-delivery-count, x-death, x-first-death-*, x-last-death-*)
// and the dead-letter queue's own (x-meldestelle-*: reason, message id, time of failure).
bool IsPerTripHeader(std::string_view key);

// The properties for publishing `in`'s message again (to the dead-letter queue, or from there
// back to the work queue), so that it is the same message there: its type, message id,
// timestamp, content type and encoding, correlation and app id, priority, and every header but
// the per-trip ones (IsPerTripHeader), then `extra`; persistent; application/json when it had
// no content type. Not carried: user_id (the broker checks it against the publishing user) and
// expiration (a dead letter must not expire). `out` points into `in`, `extra` and `*headers`,
// which must outlive the publish.
void RepublishProperties(const amqp_basic_properties_t& in,
                         const std::vector<amqp_table_entry_t>& extra,
                         std::vector<amqp_table_entry_t>* headers, amqp_basic_properties_t* out);

}  // namespace meldestelle
