#include "channels/whatsapp/sender.hpp"

#include <algorithm>
#include <ctime>
#include <memory>

#include "channels/chat/json_reader.hpp"
#include "channels/chat/outgoing.hpp"
#include "channels/chat/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/http_client.hpp"
#include "core/sql.hpp"
#include "tickets/reference.hpp"

namespace meldestelle::whatsapp {

namespace {

using outbox::Attempt;

// The business number to answer from, and whether the 24-hour window has closed.
struct Contact {
  std::string account;  // phone_number_id
  bool outside_window = false;
};

Contact ContactOf(db::Tx& tx, const std::string& address) {
  Contact c;
  auto r = tx.exec_params(
      "SELECT account, last_inbound_at < now() - interval '24 hours' FROM chat_contacts"
      " WHERE channel = 'whatsapp' AND address = $1",
      address);
  if (!r.empty()) {
    c.account = r[0][0].as<std::string>();
    c.outside_window = r[0][1].as<bool>();
  }
  return c;
}

// The message after a sent one: the parked receipts of its id apply now.
class Message final : public outbox::Prepared {
 public:
  Message(const Config& config, outbox::Row row, chat::Outgoing out, Contact contact)
      : config_(config), row_(std::move(row)), out_(std::move(out)), contact_(std::move(contact)) {}

  Attempt Send() override {
    const auto& wa = config_.Get<Settings>();
    if (contact_.account.empty() ||
        contact_.account.find_first_not_of("0123456789") != std::string::npos)
      return Attempt::Failed("no WhatsApp phone number id known", true);
    bool use_template = contact_.outside_window || out_.use_template;
    HttpClient::Request req;
    req.method = "POST";
    req.url = wa.api_base + "/" + contact_.account + "/messages";
    req.headers = {{"Authorization", "Bearer " + wa.access_token},
                   {"Content-Type", "application/json"}};
    req.timeout = std::chrono::seconds(config_.Get<chat::Settings>().send_timeout_seconds);
    req.body = use_template ? BuildTemplateMessage(
                                  row_.address, wa.template_name, wa.template_language,
                                  {tickets::DisplayReference(out_.reference), out_.template_line})
                            : BuildTextMessage(row_.address, out_.text, out_.reply_to);
    auto res = http_.Send(req);
    if (!res)
      return Attempt::NotAnswered(res.error());
    auto parsed = ParseSendResponse(static_cast<int>(res->status), res->body);
    if (!parsed) {
      // Only a 2xx answer fails to parse: Meta took the message, its wamid is unknown.
      return Attempt::Unconfirmed(chat::UnreadableAnswer(res->status, parsed.error()), false);
    }
    if (!parsed->message_id.empty())
      return Attempt::Sent(parsed->message_id);
    // 130429 (throughput) and 131056 (pair rate) come as 429 or 400 with Retry-After.
    int wait = RetryAfterSeconds(res->retry_after, std::time(nullptr));
    if (parsed->token_refused)
      wait = std::max(wait, chat::kTokenRefusedWaitSeconds);
    return Attempt::Failed(std::to_string(parsed->error_code) + " " + parsed->error_message,
                           parsed->permanent, wait);
  }

  void Recorded(db::Tx& tx, const Attempt& a, outbox::Outcome outcome) override {
    // A receipt that overtook the provider's answer was parked: apply it now.
    if (outcome == outbox::Outcome::kSent && !a.provider_id.empty()) {
      outbox::ApplyParkedReceipts(tx, "whatsapp", a.provider_id, ResendAsTemplate);
    }
  }

 private:
  const Config& config_;
  const outbox::Row row_;
  const chat::Outgoing out_;
  const Contact contact_;
  HttpClient http_;
};

}  // namespace

bool ResendAsTemplate(int error_code) { return error_code == kOutsideWindow; }

outbox::Plan Sender::Prepare(db::Tx& tx, const outbox::Row& row) {
  auto out = chat::PrepareOutgoing(tx, config_, row);
  if (!out)
    return outbox::Plan::Skip("opted out");
  if (out->text.empty())
    return outbox::Plan::Fail("nothing to send");
  return outbox::Plan::Send(
      std::make_unique<Message>(config_, row, std::move(*out), ContactOf(tx, row.address)));
}

}  // namespace meldestelle::whatsapp
