#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace meldestelle::gateway {

// Publishes persistent messages with publisher confirms, pipelined: one I/O thread owns the
// AMQP connection and keeps many publishes outstanding, so concurrent HTTP requests share round
// trips. Publish() blocks the calling request thread until the broker confirmed, refused, or the
// deadline passed. Reconnects by itself with backoff. Thread-safe: mu_ guards the queues.
class Publisher {
 public:
  Publisher(Config::Amqp config, metrics::Registry& registry);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();
  void Stop();

  // Errors: "broker_unavailable" (not connected or connection lost before the confirm),
  // "broker_timeout" (no confirm before the deadline), "broker_refused" (nack or return).
  // `type` goes into the AMQP type property: the worker dispatches on it. `log_line` (from
  // log::Line) is written when the broker confirms the message, before the caller is woken,
  // together with the lines of the others the same confirm settles: one write(2) for many
  // reports instead of one each. It is not written if the publish fails or times out.
  Status Publish(std::string body, std::string message_id, std::string type, int64_t received_ms,
                 std::chrono::milliseconds timeout, std::string log_line = {});
  bool Connected() const { return connected_.load(); }

 private:
  struct Pending {
    std::string body;
    std::string message_id;
    std::string type;
    int64_t received_ms = 0;
    std::string log_line;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;           // guarded by mu
    std::optional<Error> error;  // guarded by mu
    // Settles the publish with `e` (none: confirmed) unless it is settled already, its request
    // having given up; true if this call settled it. The caller then wakes the request.
    bool Settle(std::optional<Error> e);
    void Finish(std::optional<Error> e);  // Settle, then wake the request
  };

  void Loop();
  void BackOff(std::chrono::milliseconds* backoff);
  Status ConnectOnce();
  void FailAll(const Error& e);
  void PublishQueued();
  Status ReadFrames(bool block);
  void Wake();
  // Whether queued publishes should go out now (I/O thread only). With `arm`, a request thread
  // that queues the publish that makes it so will wake this thread.
  bool ReadyToPublish(bool arm);
  // Publishes gathered while batches are in flight are sent at the latest at this many.
  static constexpr size_t kGatherLimit = 256;
  // Batches sent before the first of them is confirmed. With one, a request that came just after
  // a batch went out waited for that batch's confirm and then for its own: two of the broker's
  // fsyncs (docs/benchmarks.md, "The gateway's own cost").
  static constexpr size_t kBatchesInFlight = 2;

  const Config::Amqp config_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: request threads wake the I/O thread

  std::mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_;  // guarded by mu_
  size_t wake_at_ = 1;                          // guarded by mu_: queue size that needs a wake
  bool woken_ = false;                          // guarded by mu_: a wake is on its way

  // Owned by the I/O thread only.
  std::optional<AmqpConnection> conn_;
  uint64_t next_tag_ = 0;
  size_t node_ = 0;  // the broker node to try first (OpenAnyNode)
  std::chrono::steady_clock::time_point connected_at_{}, lost_at_{};
  std::map<uint64_t, std::shared_ptr<Pending>> outstanding_;
  std::deque<uint64_t> batch_ends_;  // the last delivery tag of each batch not wholly confirmed
  std::string frames_;  // the batch being sent, encoded (capacity kept between batches)
  std::string lines_;   // the log lines of the publishes one confirm settles
  static constexpr std::chrono::milliseconds kSendTimeout{5000};
  std::string last_error_;

  metrics::Counter& published_;
  metrics::Counter& confirmed_;
  metrics::Counter& published_bytes_;
  metrics::Counter& failed_;
  metrics::Gauge& connected_gauge_;
  metrics::Histogram& batch_size_;
};

}  // namespace meldestelle::gateway
