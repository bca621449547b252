#include "channels/telegram/sender.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "channels/chat/json_reader.hpp"
#include "channels/chat/outgoing.hpp"
#include "channels/chat/settings.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/telegram/telegram.hpp"
#include "core/http_client.hpp"

namespace meldestelle::telegram {

namespace {

using outbox::Attempt;

class Message final : public outbox::Prepared {
 public:
  Message(const Config& config, std::string address, chat::Outgoing out)
      : config_(config), address_(std::move(address)), out_(std::move(out)) {}

  Attempt Send() override {
    const auto& tg = config_.Get<Settings>();
    std::optional<int64_t> reply;
    // Our chat message ids are "<chat id>:<message id>".
    if (auto colon = out_.reply_to.rfind(':'); colon != std::string::npos) {
      reply = std::strtoll(out_.reply_to.c_str() + colon + 1, nullptr, 10);
    }
    HttpClient::Request req;
    req.method = "POST";
    req.url = tg.api_base + "/bot" + tg.bot_token + "/sendMessage";
    req.headers = {{"Content-Type", "application/json"}};
    req.timeout = std::chrono::seconds(config_.Get<chat::Settings>().send_timeout_seconds);
    req.body = BuildSendMessage(address_, out_.text, reply);
    auto res = http_.Send(req);
    if (!res)
      return Attempt::NotAnswered(res.error());
    auto parsed = ParseSendResponse(static_cast<int>(res->status), res->body);
    if (!parsed) {
      // Only a 2xx answer fails to parse: Telegram took the message, its id is unknown.
      return Attempt::Unconfirmed(chat::UnreadableAnswer(res->status, parsed.error()), false);
    }
    if (!parsed->message_id.empty())
      return Attempt::Sent(parsed->message_id);
    // Telegram's retry_after, as every Retry-After, at most an hour: a wrong one must not park
    // an acknowledgement for days.
    int wait = std::min(parsed->retry_after, kMaxRetryAfterSeconds);
    if (parsed->token_refused)
      wait = std::max(wait, chat::kTokenRefusedWaitSeconds);
    Attempt failed = Attempt::Failed(std::to_string(parsed->error_code) + " " + parsed->description,
                                     parsed->permanent, wait);
    failed.recipient_refuses = parsed->recipient_refuses;
    return failed;
  }

  void Recorded(db::Tx& tx, const Attempt& a, outbox::Outcome outcome) override {
    if (outcome == outbox::Outcome::kSent && !a.provider_id.empty())
      outbox::ApplyParkedReceipts(tx, "telegram", a.provider_id);
  }

 private:
  const Config& config_;
  const std::string address_;
  const chat::Outgoing out_;
  HttpClient http_;
};

}  // namespace

outbox::Plan Sender::Prepare(db::Tx& tx, const outbox::Row& row) {
  auto out = chat::PrepareOutgoing(tx, config_, row);
  if (!out)
    return outbox::Plan::Skip("opted out");
  if (out->text.empty())
    return outbox::Plan::Fail("nothing to send");
  return outbox::Plan::Send(std::make_unique<Message>(config_, row.address, std::move(*out)));
}

}  // namespace meldestelle::telegram
