#include "gateway/publisher.hpp"

#include <amqp_framing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "core/errors.hpp"
#include "core/log.hpp"

namespace meldestelle::gateway {

bool Publisher::Pending::Settle(std::optional<Error> e) {
  std::lock_guard<std::mutex> lock(mu);
  if (done)
    return false;
  done = true;
  error = std::move(e);
  return true;
}

void Publisher::Pending::Finish(std::optional<Error> e) {
  if (Settle(std::move(e)))
    cv.notify_all();
}

Publisher::Publisher(Config::Amqp config, metrics::Registry& registry)
    : config_(std::move(config)),
      published_(
          registry.GetCounter("meldestelle_published_total", "Messages published to the broker.")),
      confirmed_(
          registry.GetCounter("meldestelle_confirmed_total", "Messages confirmed by the broker.")),
      published_bytes_(registry.GetCounter(
          "meldestelle_published_bytes_total",
          "Bytes of message bodies published to the broker (their mean size: this over "
          "meldestelle_published_total).")),
      failed_(registry.GetCounter("meldestelle_publish_failed_total",
                                  "Publishes that were not confirmed (nack, lost, timeout).")),
      connected_gauge_(registry.GetGauge("meldestelle_broker_connected",
                                         "1 if the gateway's publisher is connected.")),
      batch_size_(registry.GetHistogram(
          "meldestelle_publish_batch_size",
          "Reports sent to the broker together, in one round of the publisher.",
          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512})) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Publisher::~Publisher() {
  Stop();
  if (wake_fd_ >= 0)
    close(wake_fd_);
}

void Publisher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Publisher::Stop() {
  if (stop_.exchange(true))
    return;
  Wake();
  if (thread_.joinable())
    thread_.join();
}

void Publisher::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

Status Publisher::Publish(std::string body, std::string message_id, std::string type,
                          int64_t received_ms, std::chrono::milliseconds timeout,
                          std::string log_line) {
  if (!connected_.load()) {
    return MakeError(errors::kBrokerUnavailable, "broker not connected");
  }
  auto p = std::make_shared<Pending>();
  p->body = std::move(body);
  p->message_id = std::move(message_id);
  p->type = std::move(type);
  p->received_ms = received_ms;
  p->log_line = std::move(log_line);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(p);
    // Wake the I/O thread only when it would act on this publish: a wake per request while a
    // batch waits for its confirm costs a context switch each and sends nothing.
    if (!woken_ && queue_.size() >= wake_at_) {
      woken_ = true;
      wake = true;
    }
  }
  if (wake)
    Wake();
  std::unique_lock<std::mutex> lock(p->mu);
  if (!p->cv.wait_for(lock, timeout, [&] { return p->done; })) {
    // The message may still be confirmed later; the caller answers 503 and the client's retry
    // is deduplicated downstream.
    p->done = true;
    p->error = MakeError(errors::kBrokerTimeout, "no confirm from the broker in time");
  }
  if (p->error) {
    failed_.Inc();
    return *p->error;
  }
  confirmed_.Inc();
  return Ok{};
}

Status Publisher::ConnectOnce() {
  // Any node of the cluster that answers: the one used last first, another after it died.
  auto conn = OpenAnyNode(BrokerUrls(config_), /*heartbeat=*/10, std::chrono::seconds(3), &node_);
  if (!conn)
    return conn.error();
  if (auto st = DeclareTopology(*conn, config_); !st)
    return st;
  amqp_confirm_select(conn->get(), AmqpConnection::kChannel);
  if (auto st = conn->CheckRpc("confirm.select"); !st)
    return st;
  conn_ = std::move(conn).value();
  next_tag_ = 0;
  return Ok{};
}

bool Publisher::ReadyToPublish(bool arm) {
  // Group commit: while kBatchesInFlight batches wait for their confirms, new publishes gather
  // and go out together when the broker has confirmed the first (or when enough have gathered).
  // Larger batches cost the broker and this thread far less per message than a trickle of
  // single ones.
  size_t threshold = batch_ends_.size() < kBatchesInFlight ? 1 : kGatherLimit;
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= threshold)
    return true;
  if (arm) {
    wake_at_ = threshold;
    woken_ = false;
  }
  return false;
}

void Publisher::FailAll(const Error& e) {
  for (auto& [tag, p] : outstanding_) {
    p->Finish(e);
  }
  outstanding_.clear();
  batch_ends_.clear();
  std::deque<std::shared_ptr<Pending>> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(queue_);
  }
  for (auto& p : queued) {
    p->Finish(e);
  }
}

void Publisher::PublishQueued() {
  std::deque<std::shared_ptr<Pending>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  // The whole batch goes out in one write: three sends per message (method, header, body), each
  // through the loopback stack into the broker, cost this thread more than everything else.
  frames_.clear();
  const size_t frame_max = static_cast<size_t>(amqp_get_frame_max(conn_->get()));
  size_t sent = 0;
  size_t sent_bytes = 0;
  for (auto& p : batch) {
    {
      std::lock_guard<std::mutex> lock(p->mu);
      if (p->done)
        continue;  // its request already timed out
    }
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_TYPE_FLAG;
    props.delivery_mode = 2;  // persistent
    props.content_type = amqp_cstring_bytes("application/json");
    props.message_id = amqp_cstring_bytes(p->message_id.c_str());
    // The worker hands the message to the handler registered for its type (channels/).
    props.type = amqp_cstring_bytes(p->type.c_str());
    std::string received = std::to_string(p->received_ms);
    amqp_table_entry_t header;
    header.key = amqp_cstring_bytes("x-received-ms");
    header.value.kind = AMQP_FIELD_KIND_UTF8;
    header.value.value.bytes = amqp_cstring_bytes(received.c_str());
    props.headers = amqp_table_t{1, &header};
    if (auto st =
            AppendPublishFrames(frames_, AmqpConnection::kChannel, config_.exchange,
                                kReportRoutingKey, /*mandatory=*/true, props, p->body, frame_max);
        !st) {
      // This message cannot be framed (nothing of it was written); the others still go.
      p->Finish(st.error());
      continue;
    }
    outstanding_[++next_tag_] = p;
    ++sent;
    sent_bytes += p->body.size();
  }
  if (sent == 0)
    return;
  batch_size_.Observe(static_cast<double>(sent));
  batch_ends_.push_back(next_tag_);
  if (auto st = SendRaw(conn_->get(), frames_, kSendTimeout); !st) {
    // Part of a frame may be on the wire: the connection is unusable. The caller drops it and
    // fails every outstanding publish, this batch included.
    const Error& e = st.error();
    throw std::runtime_error(e.message + (e.detail.empty() ? "" : ": " + e.detail));
  }
  published_.Inc(sent);
  published_bytes_.Inc(sent_bytes);
}

// Reads and handles every frame that is available (or waits for one if `block`).
Status Publisher::ReadFrames(bool block) {
  amqp_connection_state_t c = conn_->get();
  bool first = true;
  while (true) {
    amqp_frame_t frame;
    struct timeval zero {
      0, 0
    };
    struct timeval wait {
      0, 200000
    };
    bool may_block = block && first;
    int rc = amqp_simple_wait_frame_noblock(c, &frame, may_block ? &wait : &zero);
    first = false;
    if (rc == AMQP_STATUS_TIMEOUT)
      return Ok{};
    if (rc != AMQP_STATUS_OK) {
      return MakeError(errors::kBrokerUnavailable, "connection lost", amqp_error_string2(rc));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD)
      continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD:
      case AMQP_BASIC_NACK_METHOD: {
        bool ack = frame.payload.method.id == AMQP_BASIC_ACK_METHOD;
        uint64_t tag;
        bool multiple;
        if (ack) {
          auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          tag = m->delivery_tag;
          multiple = m->multiple;
        } else {
          auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
          tag = m->delivery_tag;
          multiple = m->multiple;
        }
        auto end = multiple ? outstanding_.upper_bound(tag) : outstanding_.find(tag);
        auto begin = multiple ? outstanding_.begin() : end;
        if (!multiple && end != outstanding_.end())
          ++end;
        if (ack) {
          // The lines of the reports this confirm settles go out in one write, before their
          // requests are woken: a report answered 2xx has its line written.
          // (Waking one settled before, whose request gave up or was refused, wakes nobody.)
          lines_.clear();
          for (auto it = begin; it != end; ++it) {
            if (it->second->Settle(std::nullopt))
              lines_ += it->second->log_line;
          }
          log::WriteLines(lines_);
          for (auto it = begin; it != end; ++it)
            it->second->cv.notify_all();
        } else {
          for (auto it = begin; it != end; ++it)
            it->second->Finish(MakeError(errors::kBrokerRefused, "the broker refused the message"));
        }
        outstanding_.erase(begin, end);
        // A batch is confirmed when none of its tags is outstanding any more.
        while (!batch_ends_.empty() &&
               (outstanding_.empty() || batch_ends_.front() < outstanding_.begin()->first)) {
          batch_ends_.pop_front();
        }
        if (!ack) {
          // A quorum queue nacks what it cannot take: no leader yet, or (RabbitMQ 3.10) a
          // channel that first met the queue while its leader was on a node that just died keeps
          // sending to that leader and nacking everything. A fresh connection finds the leader.
          return MakeError(errors::kBrokerRefused, "the broker refused a message",
                           "a nack: opening a fresh connection");
        }
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        // Unroutable (mandatory): the message body follows; the confirm comes afterwards.
        amqp_message_t msg;
        if (amqp_read_message(c, AmqpConnection::kChannel, &msg, 0).reply_type !=
            AMQP_RESPONSE_NORMAL) {
          // We cannot tell which message was returned: treat it as a lost connection so that
          // no request is answered 2xx for an unrouted message.
          return MakeError(errors::kBrokerUnavailable, "could not read a returned message");
        }
        std::string id(static_cast<const char*>(msg.properties.message_id.bytes),
                       msg.properties.message_id.len);
        for (auto& [t, p] : outstanding_) {
          if (p->message_id == id) {
            p->Finish(MakeError(errors::kBrokerRefused, "message was unroutable"));
          }
        }
        amqp_destroy_message(&msg);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        return MakeError(errors::kBrokerUnavailable, "broker closed the connection");
      default:
        break;
    }
  }
}

// Waits out *backoff (less if Stop() wakes this thread), then doubles it, up to 2 s.
void Publisher::BackOff(std::chrono::milliseconds* backoff) {
  pollfd pfd{wake_fd_, POLLIN, 0};
  poll(&pfd, 1, static_cast<int>(backoff->count()));
  uint64_t drained;
  [[maybe_unused]] ssize_t n = read(wake_fd_, &drained, sizeof drained);
  *backoff = std::min(*backoff * 2, std::chrono::milliseconds(2000));
}

void Publisher::Loop() {
  std::chrono::milliseconds backoff(200);
  while (!stop_.load()) {
    if (!conn_) {
      Status st = [&]() -> Status {
        try {
          return ConnectOnce();
        } catch (const std::exception& e) {
          return MakeError(errors::kBrokerUnavailable, "connect failed", e.what());
        }
      }();
      if (!st) {
        connected_gauge_.Set(0);
        FailAll(MakeError(errors::kBrokerUnavailable, "broker not connected"));
        if (last_error_ != st.error().detail) {  // log each new reason once
          log::Warn("broker unavailable", {{"error", st.error().detail}});
          last_error_ = st.error().detail;
        }
        BackOff(&backoff);
        continue;
      }
      if (std::chrono::steady_clock::now() - lost_at_ > std::chrono::seconds(5))
        backoff = std::chrono::milliseconds(200);
      connected_at_ = std::chrono::steady_clock::now();
      last_error_.clear();
      connected_.store(true);
      connected_gauge_.Set(1);
      log::Info("broker connected", {{"exchange", config_.exchange}, {"node", conn_->node()}});
    }
    try {
      // Frames (acks) are allocated from the connection's pool; release it between rounds.
      amqp_maybe_release_buffers(conn_->get());
      if (ReadyToPublish(false))
        PublishQueued();
      Status st = ReadFrames(false);
      if (st) {
        pollfd pfds[2] = {{wake_fd_, POLLIN, 0}, {amqp_get_sockfd(conn_->get()), POLLIN, 0}};
        bool buffered = amqp_frames_enqueued(conn_->get()) || amqp_data_in_buffer(conn_->get());
        if (!buffered && !ReadyToPublish(true)) {
          poll(pfds, 2, 1000);
        }
        if (pfds[0].revents & POLLIN) {
          uint64_t drained;
          [[maybe_unused]] ssize_t n = read(wake_fd_, &drained, sizeof drained);
        }
        continue;
      }
      throw std::runtime_error(st.error().detail);
    } catch (const std::exception& e) {
      log::Warn("broker connection lost", {{"error", e.what()}, {"node", conn_->node()}});
      connected_.store(false);
      connected_gauge_.Set(0);
      conn_->MarkBroken();
      conn_.reset();
      // Every publish not yet confirmed is answered 503 (the client sends it again; the same
      // report id never makes two tickets), and the next connection tries another node first.
      FailAll(MakeError(errors::kBrokerUnavailable, "connection to the broker lost"));
      NextNode(&node_, BrokerUrls(config_).size());
      lost_at_ = std::chrono::steady_clock::now();
      if (lost_at_ - connected_at_ < std::chrono::seconds(1)) {
        // Lost again at once (a queue without a leader nacks everything): wait before the next
        // connection, doubling up to 2 s, rather than churn the broker's connections.
        BackOff(&backoff);
      }
    }
  }
  connected_.store(false);
  FailAll(MakeError(errors::kBrokerUnavailable, "gateway stopping"));
  conn_.reset();
}

}  // namespace meldestelle::gateway
