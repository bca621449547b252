#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <pqxx/pqxx>

#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace meldestelle::workers {

// Sends what the outbox holds for the chat channels — acknowledgements, questions, replies —
// through the WhatsApp Cloud API and the Telegram Bot API (docs/channels/whatsapp.md, "Replies"),
// and SMS acknowledgements through the phone provider's Messages API (docs/channels/phone.md).
// Only channels whose credentials are configured are taken; rows of the others wait.
// A row is claimed with a lease (status 'sending', next_attempt_at = now + 2 min), so several
// dispatchers never send the same row at once and a crashed one's rows are taken up again.
// Temporary failures are retried with exponential backoff (Telegram's retry_after respected)
// up to chat.send_max_attempts; permanent ones mark the row failed. The provider's message id and
// delivery state are recorded. WhatsApp: free text within 24 hours of the citizen's last message,
// the configured template after that (or when Meta reported 131047). Status notices to citizens
// (kind `status`, docs/departments.md, "Citizens") go the same way, e-mail threaded to our
// acknowledgement; a row for an address that opted out meanwhile is marked done, not sent. Every
// attempt is recorded in outbox_attempts.
class ChatDispatcher {
 public:
  ChatDispatcher(const Config& config, metrics::Registry& registry);
  // Sends every due row once; returns how many were attempted.
  Result<int> RunOnce();
  void Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval);

 private:
  struct Row;
  struct Outcome {
    bool ok = false;
    bool permanent = false;
    std::string provider_message_id;
    std::string error;
    int retry_after_s = 0;
  };
  Outcome Send(const Row& row);
  Outcome SendWhatsApp(const Row& row);
  Outcome SendTelegram(const Row& row);
  Outcome SendSms(const Row& row);
  Outcome SendEmail(const Row& row);

  const Config& config_;
  HttpClient http_;
  std::string channels_;  // PostgreSQL array literal of the configured channels, e.g. {whatsapp}
  std::unique_ptr<pqxx::connection> conn_;
  metrics::Registry& registry_;
};

}  // namespace meldestelle::workers
