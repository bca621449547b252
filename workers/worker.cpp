#include "workers/worker.hpp"

#include <amqp_framing.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "channels/open311/open311.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"

namespace meldestelle::workers {

using namespace meldestelle::tickets;  // NOLINT: until the outbox and channel moves

namespace {

using Clock = std::chrono::steady_clock;

std::string Bytes(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Worker::Worker(const Config& config, const RuleSource& rules, metrics::Registry& registry,
               const routing::Gazetteer* gazetteer)
    : config_(config),
      rules_(rules),
      store_(config),
      media_(config),
      chat_(config, media_, registry),
      phone_(config, registry),
      mail_(config, rules, gazetteer, registry),
      open311_media_(config),
      processed_created_(registry.GetCounter("meldestelle_worker_processed_total",
                                             "Reports processed by the worker, by outcome.",
                                             {{"outcome", "ticket_created"}})),
      processed_duplicate_(registry.GetCounter("meldestelle_worker_processed_total",
                                               "Reports processed by the worker, by outcome.",
                                               {{"outcome", "duplicate"}})),
      duplicates_linked_(registry.GetCounter(
          "meldestelle_duplicates_linked_total",
          "Reports linked to an open ticket of the same category nearby (docs/duplicates.md).")),
      dead_lettered_(registry.GetCounter("meldestelle_worker_dead_lettered_total",
                                         "Messages moved to the dead-letter queue.")),
      requeued_(registry.GetCounter("meldestelle_worker_requeued_total",
                                    "Messages handed back to the queue after a failed attempt.")),
      db_retries_(registry.GetCounter("meldestelle_worker_db_retries_total",
                                      "Retries because the database was unavailable.")),
      shadow_evaluated_(
          registry.GetCounter("meldestelle_shadow_evaluated_total",
                              "Tickets also routed by the candidate rule set (shadow mode).")),
      shadow_disagreements_(registry.GetCounter(
          "meldestelle_shadow_disagreements_total",
          "Tickets the candidate rule set would have routed to another department or rule.")),
      latency_(registry.GetHistogram(
          "meldestelle_intake_to_ticket_seconds",
          "Time from intake at the gateway to the committed ticket.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})) {}

Status Worker::Connect() {
  auto url = ParseAmqpUrl(config_.amqp.url);
  if (!url)
    return url.error();
  // No AMQP heartbeats: while the database is down the worker retries in place without calling
  // into librabbitmq, and a heartbeat timeout would drop the connection and return (and count)
  // every prefetched message. TCP keepalive (set in Open) notices a vanished broker instead.
  auto conn = AmqpConnection::Open(*url, 0, std::chrono::seconds(5));
  if (!conn)
    return conn.error();
  if (auto st = DeclareTopology(*conn, config_.amqp); !st) {
    return st;
  }
  amqp_connection_state_t c = conn->get();
  amqp_basic_qos(c, AmqpConnection::kChannel, 0, static_cast<uint16_t>(config_.worker.prefetch), 0);
  if (auto st = conn->CheckRpc("basic.qos"); !st)
    return st;
  amqp_basic_consume(c, AmqpConnection::kChannel, amqp_cstring_bytes(config_.amqp.queue.c_str()),
                     amqp_empty_bytes, 0, /*no_ack=*/0, 0, amqp_empty_table);
  if (auto st = conn->CheckRpc("basic.consume"); !st)
    return st;
  conn_ = std::move(conn).value();
  return Ok{};
}

Status Worker::DeadLetter(std::string_view body, const amqp_basic_properties_t& in_props,
                          const std::string& reason) {
  if (!dl_conn_) {
    auto url = ParseAmqpUrl(config_.amqp.url);
    if (!url)
      return url.error();
    auto conn = AmqpConnection::Open(*url, 0, std::chrono::seconds(5));
    if (!conn)
      return conn.error();
    amqp_confirm_select(conn->get(), AmqpConnection::kChannel);
    if (auto st = conn->CheckRpc("confirm.select"); !st)
      return st;
    dl_conn_ = std::move(conn).value();
  }
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags =
      AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  props.delivery_mode = 2;
  props.content_type = amqp_cstring_bytes("application/json");
  std::string reason_text = reason.substr(0, 1000);
  std::string original_id =
      (in_props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ? Bytes(in_props.message_id) : "";
  std::string failed_at = std::to_string(NowMs());
  amqp_table_entry_t entries[3];
  entries[0].key = amqp_cstring_bytes("x-meldestelle-reason");
  entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[0].value.value.bytes = amqp_cstring_bytes(reason_text.c_str());
  entries[1].key = amqp_cstring_bytes("x-meldestelle-message-id");
  entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[1].value.value.bytes = amqp_cstring_bytes(original_id.c_str());
  entries[2].key = amqp_cstring_bytes("x-meldestelle-failed-at-ms");
  entries[2].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[2].value.value.bytes = amqp_cstring_bytes(failed_at.c_str());
  props.headers = amqp_table_t{3, entries};
  amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};
  int rc = amqp_basic_publish(dl_conn_->get(), AmqpConnection::kChannel, amqp_empty_bytes,
                              amqp_cstring_bytes(config_.amqp.dead_letter_queue.c_str()), 1, 0,
                              &props, payload);
  if (rc != AMQP_STATUS_OK) {
    dl_conn_.reset();
    return MakeError(errors::kBrokerUnavailable, "dead-letter publish failed",
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
      return MakeError(errors::kBrokerUnavailable, "no confirm for dead letter",
                       amqp_error_string2(rc));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD)
      continue;
    if (frame.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
      // Unroutable (the dead-letter queue is missing): the ack that follows means nothing.
      dl_conn_->MarkBroken();
      dl_conn_.reset();
      return MakeError(errors::kBrokerError, "dead letter was unroutable");
    }
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD)
      return Ok{};
    if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      return MakeError(errors::kBrokerError, "dead letter was nacked by the broker");
    }
    if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
        frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
      dl_conn_->MarkBroken();
      dl_conn_.reset();
      return MakeError(errors::kBrokerError, "broker closed the dead-letter channel");
    }
  }
}

Worker::Handled Worker::Retrying(const std::function<Status()>& step, int attempt,
                                 const std::atomic<bool>& stop) {
  std::chrono::milliseconds backoff(200);
  while (true) {
    auto st = step();
    if (st)
      return {Verdict::kAck, ""};
    if (!IsTransientDbError(st.error())) {
      // Media that could not be fetched for now, or an error of the message itself: the events
      // already handled are remembered, so a retry continues where this one stopped.
      std::string reason = st.error().message + ": " + st.error().detail;
      if (attempt >= config_.worker.max_attempts) {
        return {Verdict::kDeadLetter,
                "failed " + std::to_string(attempt) + " times; last error: " + reason};
      }
      return {Verdict::kRequeue, reason};
    }
    db_retries_.Inc();
    log::Warn("database unavailable, retrying", {{"error", st.error().detail}});
    WaitUnlessStopped(backoff, stop);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    if (stop.load())
      return {Verdict::kRequeue, "stopping"};
  }
}

Worker::Handled Worker::ProcessChat(std::string_view body, int attempt,
                                    const std::atomic<bool>& stop) {
  auto batch = chat::DecodeBatch(body);
  if (!batch) {
    return {Verdict::kDeadLetter, "unparseable: " + batch.error().message};
  }
  bool last = attempt >= config_.worker.max_attempts;
  return Retrying([&] { return chat_.Process(*batch, last); }, attempt, stop);
}

Worker::Handled Worker::ProcessPhone(std::string_view body, int attempt,
                                     const std::atomic<bool>& stop) {
  auto message = phone::DecodeMessage(body);
  if (!message) {
    return {Verdict::kDeadLetter, "unparseable: " + message.error().message};
  }
  return Retrying([&] { return phone_.Process(*message); }, attempt, stop);
}

Worker::Handled Worker::ProcessMail(std::string_view body, int attempt,
                                    const std::atomic<bool>& stop) {
  auto message = email::DecodeMessage(body);
  if (!message) {
    return {Verdict::kDeadLetter, "unparseable: " + message.error().message};
  }
  return Retrying([&] { return mail_.Process(*message); }, attempt, stop);
}

Worker::Handled Worker::Process(std::string_view body, int attempt, const std::atomic<bool>& stop) {
  if (chat::IsBatch(body))
    return ProcessChat(body, attempt, stop);
  if (phone::IsMessage(body))
    return ProcessPhone(body, attempt, stop);
  if (email::IsMessage(body))
    return ProcessMail(body, attempt, stop);
  auto env = DecodeEnvelope(body);
  if (!env) {
    return {Verdict::kDeadLetter, "unparseable: " + env.error().message};
  }
  // Open311: the media_url is fetched now, outside the ticket's transaction (docs/open311.md).
  bool photo_missing = false;
  if (env->report.channel == "open311" && env->report.attachments.empty()) {
    if (std::string url = open311::MediaUrlFromRaw(env->raw); !url.empty()) {
      auto photo = open311_media_.Fetch(url, stop);
      if (stop.load())
        return {Verdict::kRequeue, "stopping"};
      if (photo) {
        env->report.attachments.push_back(std::move(photo).value());
      } else if (photo.error().code == errors::kStorageFailed) {
        std::string reason = photo.error().message + ": " + photo.error().detail;
        if (attempt >= config_.worker.max_attempts) {
          return {Verdict::kDeadLetter,
                  "failed " + std::to_string(attempt) + " times; last error: " + reason};
        }
        return {Verdict::kRequeue, reason};
      } else {
        photo_missing = true;
        log::Warn("open311 media_url not fetched", {{"reference", env->report.reference},
                                                    {"url", RedactUrl(url)},
                                                    {"reason", photo.error().message}});
      }
    }
  }
  // One snapshot per report: a reload in the meantime does not affect this one.
  RuleSets sets = rules_.Current();
  routing::Decision decision = routing::Route(*sets.live, env->report);
  if (photo_missing)
    decision.flags.push_back(kFlagPhotoUnavailable);
  std::optional<routing::Decision> shadow;
  if (sets.candidate) {
    routing::Decision candidate = routing::Route(*sets.candidate, env->report);
    if (candidate.department != decision.department || candidate.rule_id != decision.rule_id) {
      shadow = std::move(candidate);
    }
  }
  const Department* dept = config_.FindDepartment(decision.department);
  std::string dept_name = dept != nullptr ? dept->name : decision.department;
  std::chrono::milliseconds backoff(200);
  while (true) {
    std::string linked;
    auto outcome =
        store_.CreateTicket(*env, decision, dept_name, shadow ? &*shadow : nullptr, &linked);
    if (outcome) {
      if (*outcome != TicketStore::Outcome::kDuplicate) {
        if (sets.candidate) {
          shadow_evaluated_.Inc();
        }
        if (shadow) {
          shadow_disagreements_.Inc();
        }
      }
      if (*outcome == TicketStore::Outcome::kLinked) {
        duplicates_linked_.Inc();
        log::Info("report linked to an open ticket", {{"reference", env->report.reference},
                                                      {"existing_reference", linked},
                                                      {"category", decision.category}});
      } else if (*outcome == TicketStore::Outcome::kCreated) {
        processed_created_.Inc();
        log::Info("ticket created", {{"reference", env->report.reference},
                                     {"department", decision.department},
                                     {"rule", decision.rule_id}});
      } else {
        processed_duplicate_.Inc();
        log::Info("duplicate report ignored",
                  {{"reference", env->report.reference}, {"channel", env->report.channel}});
      }
      return {Verdict::kAck, ""};
    }
    if (!IsTransientDbError(outcome.error())) {
      std::string reason = outcome.error().message + ": " + outcome.error().detail;
      if (attempt >= config_.worker.max_attempts) {
        return {Verdict::kDeadLetter,
                "failed " + std::to_string(attempt) + " times; last error: " + reason};
      }
      return {Verdict::kRequeue, reason};
    }
    // The database is unavailable: not the message's fault, so retry in place.
    db_retries_.Inc();
    log::Warn("database unavailable, retrying",
              {{"reference", env->report.reference}, {"error", outcome.error().detail}});
    WaitUnlessStopped(backoff, stop);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    if (stop.load()) {
      return {Verdict::kRequeue, "stopping"};
    }
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
      log::Info("consuming", {{"queue", config_.amqp.queue}});
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
      log::Warn("broker connection lost", {{"error", DescribeRpcReply(reply)}});
      conn_->MarkBroken();
      conn_.reset();
      continue;
    }
    std::string_view body(static_cast<const char*>(envelope.message.body.bytes),
                          envelope.message.body.len);
    std::string count = HeaderValue(envelope.message.properties, "x-delivery-count");
    int attempt = 1 + (count.empty() ? 0 : std::atoi(count.c_str()));
    Handled h;
    try {
      h = Process(body, attempt, stop);
    } catch (const std::exception& e) {  // one message fails, never the process
      h = attempt >= config_.worker.max_attempts
              ? Handled{Verdict::kDeadLetter, std::string("unexpected error: ") + e.what()}
              : Handled{Verdict::kRequeue, e.what()};
    }
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
    int rc = AMQP_STATUS_OK;
    if (h.verdict == Verdict::kRequeue) {
      requeued_.Inc();
      if (!stop.load()) {
        log::Warn("message requeued",
                  {{"attempt", std::to_string(attempt)}, {"reason", h.reason.substr(0, 300)}});
      }
      rc = amqp_basic_nack(c, AmqpConnection::kChannel, envelope.delivery_tag, 0, /*requeue=*/1);
    } else {
      rc = amqp_basic_ack(c, AmqpConnection::kChannel, envelope.delivery_tag, 0);
      if (h.verdict == Verdict::kAck) {
        std::string received = HeaderValue(envelope.message.properties, "x-received-ms");
        if (!received.empty()) {
          latency_.Observe(static_cast<double>(NowMs() - std::atoll(received.c_str())) / 1000.0);
        }
      }
    }
    amqp_destroy_envelope(&envelope);
    if (rc != AMQP_STATUS_OK) {
      log::Warn("ack failed; the broker will redeliver", {{"error", amqp_error_string2(rc)}});
      conn_->MarkBroken();
      conn_.reset();
    }
  }
  conn_.reset();
  dl_conn_.reset();
  return 0;
}

}  // namespace meldestelle::workers
