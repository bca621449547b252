#include "workers/worker.hpp"

#include <amqp_framing.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "core/db.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/wait.hpp"
#include "workers/settings.hpp"

namespace meldestelle::workers {

namespace {

std::string Bytes(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int AttemptOf(const amqp_basic_properties_t& props) {
  // This copy's deliveries (the quorum queue counts them) after the failed attempts of the
  // copies before it (a retry queue's copy says how many).
  auto count = [&](const char* name) {
    std::string v = HeaderValue(props, name);
    long n = v.empty() ? 0 : std::strtol(v.c_str(), nullptr, 10);
    return static_cast<int>(std::clamp(n, 0L, 1000L));
  };
  return 1 + count(kAttemptsHeader) + count("x-delivery-count");
}

Worker::Worker(const Config& config, const channels::Registry& channels,
               channels::WorkerServices& services, metrics::Registry& registry)
    : config_(config),
      settings_(config.Get<Settings>()),
      channels_(channels),
      services_(services),
      dead_lettered_(registry.GetCounter("meldestelle_worker_dead_lettered_total",
                                         "Messages moved to the dead-letter queue.")),
      requeued_(registry.GetCounter("meldestelle_worker_requeued_total",
                                    "Messages handed back to the queue after a failed attempt.")),
      db_retries_(registry.GetCounter("meldestelle_worker_db_retries_total",
                                      "Retries because the database was unavailable.")),
      latency_(registry.GetHistogram(
          "meldestelle_intake_to_ticket_seconds",
          "Time from intake at the gateway to the committed ticket.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})) {}

Status Worker::Connect() {
  // No AMQP heartbeats (ConnectToBroker opens without): while the database is down the worker
  // retries in place without calling into librabbitmq, and a heartbeat timeout would drop the
  // connection and return (and count) every prefetched message. TCP keepalive (set in Open)
  // notices a vanished broker instead.
  auto conn = ConnectToBroker(config_, &node_);
  if (!conn)
    return conn.error();
  amqp_connection_state_t c = conn->get();
  amqp_basic_qos(c, AmqpConnection::kChannel, 0, static_cast<uint16_t>(settings_.prefetch), 0);
  if (auto st = conn->CheckRpc("basic.qos"); !st)
    return st;
  amqp_basic_consume(c, AmqpConnection::kChannel, amqp_cstring_bytes(config_.amqp.queue.c_str()),
                     amqp_empty_bytes, 0, /*no_ack=*/0, 0, amqp_empty_table);
  if (auto st = conn->CheckRpc("basic.consume"); !st)
    return st;
  conn_ = std::move(conn).value();
  // The retry queues, made now rather than on first use, while the cluster's nodes are all
  // there to take a replica each. What fails here is tried again on first use (RetryLater).
  bool declared = true;
  for (int delay : settings_.retry_delays_seconds) {
    Status st = OpenRepublisher();
    if (st)
      st = DeclareRetryQueue(RetryQueueName(config_.amqp.queue, delay), delay);
    if (!st) {
      log::Warn("retry queue not declared",
                {{"delay_s", std::to_string(delay)},
                 {"error", st.error().message + ": " + st.error().detail}});
      declared = false;
      break;
    }
  }
  if (declared)
    retry_queues_refused_until_ = {};
  return Ok{};
}

Status Worker::OpenRepublisher() {
  if (dl_conn_)
    return Ok{};
  declared_.clear();
  auto conn = OpenAnyNode(BrokerUrls(config_.amqp), 0, std::chrono::seconds(5), &node_);
  if (!conn)
    return conn.error();
  amqp_confirm_select(conn->get(), AmqpConnection::kChannel);
  if (auto st = conn->CheckRpc("confirm.select"); !st)
    return st;
  dl_conn_ = std::move(conn).value();
  return Ok{};
}

Status Worker::PublishConfirmed(const std::string& queue, std::string_view body,
                                const amqp_basic_properties_t& in_props,
                                const std::vector<amqp_table_entry_t>& ours) {
  // The connection has no heartbeat and may have died with its node unnoticed: a failure of the
  // connection is tried once more on a new one (to any node). Should the first copy have
  // arrived after all, there are two, which the handlers take as a redelivery.
  Status st = PublishConfirmedOnce(queue, body, in_props, ours);
  if (!st && st.error().code == errors::kBrokerUnavailable) {
    log::Warn("publish failed, trying once more on a new connection",
              {{"queue", queue}, {"error", st.error().message + ": " + st.error().detail}});
    st = PublishConfirmedOnce(queue, body, in_props, ours);
  }
  return st;
}

Status Worker::PublishConfirmedOnce(const std::string& queue, std::string_view body,
                                    const amqp_basic_properties_t& in_props,
                                    const std::vector<amqp_table_entry_t>& ours) {
  if (auto st = OpenRepublisher(); !st)
    return st;
  // The message as it came (its type, message id, timestamp, x-received-ms and other headers),
  // so that the copy is the same message: a typed message without its type would be read as a
  // report envelope and refused. What one trip through the broker added is left behind.
  std::vector<amqp_table_entry_t> headers;
  amqp_basic_properties_t props;
  RepublishProperties(in_props, ours, &headers, &props);
  amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};
  int rc =
      amqp_basic_publish(dl_conn_->get(), AmqpConnection::kChannel, amqp_empty_bytes,
                         amqp_cstring_bytes(queue.c_str()), /*mandatory=*/1, 0, &props, payload);
  if (rc != AMQP_STATUS_OK) {
    dl_conn_->MarkBroken();  // its socket failed: not closed politely (two RPC timeouts)
    dl_conn_.reset();
    return MakeError(errors::kBrokerUnavailable, "publish to " + queue + " failed",
                     amqp_error_string2(rc));
  }
  // Wait for the broker's confirm (only confirms arrive on this connection).
  while (true) {
    amqp_frame_t frame;
    struct timeval tv {
      10, 0
    };
    rc = amqp_simple_wait_frame_noblock(dl_conn_->get(), &frame, &tv);
    if (rc != AMQP_STATUS_OK) {
      dl_conn_->MarkBroken();
      dl_conn_.reset();
      return MakeError(errors::kBrokerUnavailable, "no confirm for the publish to " + queue,
                       amqp_error_string2(rc));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD)
      continue;
    if (frame.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
      // Unroutable (the queue is missing): the ack that follows means nothing.
      dl_conn_->MarkBroken();
      dl_conn_.reset();
      return MakeError(errors::kBrokerError, "the publish to " + queue + " was unroutable");
    }
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD)
      return Ok{};
    if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      return MakeError(errors::kBrokerError, "the publish to " + queue + " was nacked");
    }
    if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
        frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
      dl_conn_->MarkBroken();
      dl_conn_.reset();
      return MakeError(errors::kBrokerError,
                       "broker closed the channel of the publish to " + queue);
    }
  }
}

Status Worker::DeadLetter(std::string_view body, const amqp_basic_properties_t& in_props,
                          const std::string& reason) {
  std::string reason_text = reason.substr(0, 1000);
  std::string original_id =
      (in_props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ? Bytes(in_props.message_id) : "";
  std::string failed_at = std::to_string(NowMs());
  // `dead-letters requeue` brings back the same message, with its attempts counted afresh.
  return PublishConfirmed(config_.amqp.dead_letter_queue, body, in_props,
                          {StringEntry("x-meldestelle-reason", reason_text.c_str()),
                           StringEntry("x-meldestelle-message-id", original_id.c_str()),
                           StringEntry("x-meldestelle-failed-at-ms", failed_at.c_str())});
}

std::string RetryQueueName(std::string_view queue, int delay_seconds) {
  return std::string(queue) + ".retry." + std::to_string(delay_seconds) + "s";
}

Status Worker::DeclareRetryQueue(const std::string& name, int delay_seconds) {
  if (declared_.count(name) != 0)
    return Ok{};
  // A quorum queue without consumers whose messages, after the delay, are dead-lettered back
  // onto the work queue: at least once (a copy is removed only once the work queue has it),
  // which needs reject-publish when it is full. Its arguments never change: the delay is in
  // its name, so a new delay makes a new queue and the old one drains by itself.
  amqp_table_entry_t entries[] = {
      StringEntry("x-queue-type", "quorum"),
      IntEntry("x-message-ttl", static_cast<int64_t>(delay_seconds) * 1000),
      StringEntry("x-dead-letter-exchange", ""),
      StringEntry("x-dead-letter-routing-key", config_.amqp.queue.c_str()),
      StringEntry("x-dead-letter-strategy", "at-least-once"),
      StringEntry("x-overflow", "reject-publish"),
  };
  amqp_table_t args{static_cast<int>(std::size(entries)), entries};
  amqp_queue_declare(dl_conn_->get(), AmqpConnection::kChannel, amqp_cstring_bytes(name.c_str()), 0,
                     /*durable=*/1, 0, 0, args);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(dl_conn_->get());
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    declared_.insert(name);
    return Ok{};
  }
  // Refused by the broker (the user may not configure it: 403; it exists with other arguments:
  // 406) is told apart from a connection that failed (the node went away): only a refusal
  // pauses the retry queues (RetryLater).
  const bool refused =
      r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
      (static_cast<amqp_channel_close_t*>(r.reply.decoded)->reply_code == AMQP_ACCESS_REFUSED ||
       static_cast<amqp_channel_close_t*>(r.reply.decoded)->reply_code == AMQP_PRECONDITION_FAILED);
  Error e =
      MakeError(refused ? errors::kBrokerError : errors::kBrokerUnavailable,
                "queue.declare " + name + (refused ? " refused" : " failed"), DescribeRpcReply(r));
  dl_conn_->MarkBroken();
  dl_conn_.reset();
  return e;
}

Status Worker::RetryLater(std::string_view body, const amqp_basic_properties_t& in_props,
                          int attempt, int delay_seconds, const std::string& reason) {
  if (auto st = OpenRepublisher(); !st)
    return st;
  std::string queue = RetryQueueName(config_.amqp.queue, delay_seconds);
  if (auto st = DeclareRetryQueue(queue, delay_seconds); !st) {
    // Refused (the broker user may not configure it, or it exists otherwise): failed attempts
    // are handed back at once for a minute, without a connection and a refusal for each. A
    // connection that failed, or the publish itself (a node away, a nack), is not this: tried
    // again each time.
    if (st.error().code == errors::kBrokerError)
      retry_queues_refused_until_ = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    return st;
  }
  std::string attempts = std::to_string(attempt);
  std::string reason_text = reason.substr(0, 1000);
  return PublishConfirmed(queue, body, in_props,
                          {StringEntry(kAttemptsHeader, attempts.c_str()),
                           StringEntry("x-meldestelle-last-error", reason_text.c_str())});
}

Worker::Handled Worker::Retrying(const std::function<Status()>& step, int attempt,
                                 const std::atomic<bool>& stop) {
  std::chrono::milliseconds backoff(200);
  bool ran_again = false;  // after a broken constraint (below)
  while (true) {
    auto st = step();
    if (st)
      return {Verdict::kAck, ""};
    if (st.error().code == errors::kStopping)
      return {Verdict::kRequeue, "stopping"};
    if (st.error().code == errors::kMessageInvalid) {
      return {Verdict::kDeadLetter, st.error().message};
    }
    if (db::IsDataError(st.error())) {
      // A broken constraint may be another worker's commit of the same report a moment ago: run
      // once more, and the step sees that row and settles the message as the duplicate it is
      // (or names the conflict: TicketStore::Create). What fails again, and every data
      // exception, fails so however often it is tried: dead-lettered at once.
      if (db::IsConstraintViolation(st.error()) && !ran_again) {
        ran_again = true;
        continue;
      }
      return {Verdict::kDeadLetter,
              "refused by the database: " + st.error().message + ": " + st.error().detail};
    }
    if (!db::IsTransient(st.error())) {
      // Media that could not be fetched for now, or an error of the message itself: the events
      // already handled are remembered, so a retry continues where this one stopped.
      std::string reason = st.error().message + ": " + st.error().detail;
      if (attempt >= settings_.max_attempts) {
        return {Verdict::kDeadLetter,
                "failed " + std::to_string(attempt) + " times; last error: " + reason};
      }
      return {Verdict::kRetry, reason};
    }
    db_retries_.Inc();
    // What failed in its own words ("database unavailable", "media storage failed": a full
    // disk is held and retried as the database is).
    log::Warn(st.error().message + ", retrying", {{"error", st.error().detail}});
    WaitUnlessStopped(backoff, stop);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    if (stop.load())
      return {Verdict::kRequeue, "stopping"};
  }
}

// The handler of the message's type, made on first use; for a message without a type (queued
// before messages carried one), the type the registry recognises it as. Null: nobody handles it.
channels::Handler* Worker::HandlerFor(std::string_view type, std::string_view body) {
  const channels::MessageType* t =
      type.empty() ? channels_.TypeOfUntyped(body) : channels_.Type(type);
  if (t == nullptr)
    return nullptr;
  auto it = handlers_.find(t->name);
  if (it == handlers_.end())
    it = handlers_.emplace(t->name, t->handler(services_)).first;
  return it->second.get();
}

Worker::Handled Worker::Process(std::string_view type, std::string_view body, int attempt,
                                const std::atomic<bool>& stop) {
  channels::Handler* handler = HandlerFor(type, body);
  if (handler == nullptr) {
    return {Verdict::kDeadLetter, "no handler for message type \"" + std::string(type) + "\""};
  }
  channels::Delivery d{body, attempt, attempt >= settings_.max_attempts, &stop};
  return Retrying([&] { return handler->Handle(d); }, attempt, stop);
}

// Acknowledges, requeues or dead-letters the delivery as `h` says.
void Worker::Settle(const amqp_envelope_t& envelope, int attempt, Handled h,
                    const std::atomic<bool>& stop) {
  std::string_view body(static_cast<const char*>(envelope.message.body.bytes),
                        envelope.message.body.len);
  if (h.verdict == Verdict::kDeadLetter) {
    if (auto st = DeadLetter(body, envelope.message.properties, h.reason); !st) {
      log::Error("dead-lettering failed, message stays on the queue",
                 {{"error", st.error().message + ": " + st.error().detail}});
      h.verdict = Verdict::kRequeue;
    } else {
      dead_lettered_.Inc();
      log::Warn("message dead-lettered", {{"reason", h.reason}});
    }
  }
  int delay = 0;
  if (h.verdict == Verdict::kRetry) {
    // Tried again after worker.retry_delays_seconds: through a retry queue, so that what failed
    // for a while (a provider's media, a speech service) is not tried through at once while
    // the other messages go on. If the retry queue cannot take it, it is handed back at once.
    delay = settings_.RetryDelaySeconds(attempt);
    if (delay > 0 && std::chrono::steady_clock::now() < retry_queues_refused_until_) {
      delay = 0;  // the broker refused to declare them a moment ago: not asked for every failure
    } else if (delay > 0) {
      if (auto st = RetryLater(body, envelope.message.properties, attempt, delay, h.reason); !st) {
        log::Warn("retry queue unavailable, message handed back at once",
                  {{"error", st.error().message + ": " + st.error().detail}});
        delay = 0;
      }
    }
    h.verdict = delay > 0 ? Verdict::kAck : Verdict::kRequeue;
    requeued_.Inc();
    if (!stop.load()) {
      log::Warn("message requeued", {{"attempt", std::to_string(attempt)},
                                     {"retry_in_s", std::to_string(delay)},
                                     {"reason", h.reason.substr(0, 300)}});
    }
  } else if (h.verdict == Verdict::kRequeue) {
    requeued_.Inc();
    if (!stop.load()) {
      log::Warn("message requeued",
                {{"attempt", std::to_string(attempt)}, {"reason", h.reason.substr(0, 300)}});
    }
  }
  amqp_connection_state_t c = conn_->get();
  int rc = AMQP_STATUS_OK;
  if (h.verdict == Verdict::kRequeue) {
    rc = amqp_basic_nack(c, AmqpConnection::kChannel, envelope.delivery_tag, 0, /*requeue=*/1);
  } else {
    rc = amqp_basic_ack(c, AmqpConnection::kChannel, envelope.delivery_tag, 0);
    if (h.verdict == Verdict::kAck && delay == 0) {
      std::string received = HeaderValue(envelope.message.properties, "x-received-ms");
      if (!received.empty()) {
        latency_.Observe(static_cast<double>(NowMs() - std::atoll(received.c_str())) / 1000.0);
      }
    }
  }
  if (rc != AMQP_STATUS_OK) {
    log::Warn("ack failed; the broker will redeliver", {{"error", amqp_error_string2(rc)}});
    conn_->MarkBroken();
    conn_.reset();
  }
}

int Worker::Run(const std::atomic<bool>& stop) {
  std::chrono::milliseconds backoff(250);
  while (!stop.load()) {
    if (!conn_) {
      if (auto st = Connect(); !st) {
        log::Warn("broker unavailable, retrying", {{"error", st.error().detail}});
        WaitUnlessStopped(backoff, stop);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      backoff = std::chrono::milliseconds(250);
      log::Info("consuming", {{"queue", config_.amqp.queue}, {"node", conn_->node()}});
    }
    amqp_connection_state_t c = conn_->get();
    amqp_maybe_release_buffers(c);
    amqp_envelope_t envelope;
    struct timeval tv {
      0, 500000
    };
    amqp_rpc_reply_t reply = amqp_consume_message(c, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_TIMEOUT) {
      continue;
    }
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(c, &frame) == AMQP_STATUS_OK &&
            frame.frame_type == AMQP_FRAME_METHOD &&
            frame.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
            frame.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD &&
            frame.payload.method.id != AMQP_BASIC_CANCEL_METHOD) {
          continue;
        }
      }
      log::Warn("broker connection lost",
                {{"error", DescribeRpcReply(reply)}, {"node", conn_->node()}});
      conn_->MarkBroken();
      conn_.reset();
      if (dl_conn_) {
        dl_conn_->MarkBroken();  // likely on the same node: not closed politely, a new one
        dl_conn_.reset();        // when it is needed
      }
      // Its unacknowledged messages go back to the queue; the next connection tries another
      // node first.
      NextNode(&node_, BrokerUrls(config_.amqp).size());
      continue;
    }
    std::string_view body(static_cast<const char*>(envelope.message.body.bytes),
                          envelope.message.body.len);
    std::string type =
        envelope.message.properties._flags & AMQP_BASIC_TYPE_FLAG
            ? std::string(static_cast<const char*>(envelope.message.properties.type.bytes),
                          envelope.message.properties.type.len)
            : std::string();
    int attempt = AttemptOf(envelope.message.properties);
    Handled h;
    try {
      h = Process(type, body, attempt, stop);
    } catch (const std::exception& e) {  // one message fails, never the process
      h = attempt >= settings_.max_attempts
              ? Handled{Verdict::kDeadLetter, std::string("unexpected error: ") + e.what()}
              : Handled{Verdict::kRetry, e.what()};
    }
    Settle(envelope, attempt, std::move(h), stop);
    amqp_destroy_envelope(&envelope);
  }
  conn_.reset();
  dl_conn_.reset();
  return 0;
}

}  // namespace meldestelle::workers
