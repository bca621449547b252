#include "channels/phone/sms_sender.hpp"

#include <ctime>

#include "channels/chat/json_reader.hpp"
#include "channels/phone/settings.hpp"
#include "channels/phone/twilio.hpp"
#include "core/crypto.hpp"
#include "core/http_client.hpp"
#include "core/texts.hpp"
#include "tickets/notice_limits.hpp"
#include "tickets/notices.hpp"

namespace meldestelle::phone {

namespace {

using outbox::Attempt;

// The SMS text of the row; nullopt: a status notice to a citizen who opted out.
std::optional<std::string> SmsText(db::Tx& tx, const Config& config, const outbox::Row& row) {
  if (row.kind == outbox::Kind::kStatus) {
    if (tickets::OptedOut(tx, row.channel, row.address))
      return std::nullopt;
    return tickets::StatusText(config, tickets::ReadStatusNotice(row.payload),
                               tickets::NoticeStyle::kSms);
  }
  tickets::Acknowledgement a = tickets::ReadAcknowledgement(row.payload);
  return tickets::SmsAckText(texts::For(config, a.language), config.town.name, a.reference,
                             a.department, a.existing_reference);
}

Attempt Send(HttpClient& http, const Config& config, const std::string& to,
             const std::string& text) {
  const auto& ph = config.Get<Settings>();
  HttpClient::Request req;
  req.method = "POST";
  req.url = ph.api_base + "/2010-04-01/Accounts/" + ph.account_sid + "/Messages.json";
  req.headers = {{"Authorization", "Basic " + Base64Encode(ph.account_sid + ":" + ph.auth_token)},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.timeout = std::chrono::seconds(ph.sms_timeout_seconds);
  req.body = twilio::BuildSmsForm(ph.sms_from, to, text);
  auto res = http.Send(req);
  if (!res)
    return Attempt::NotAnswered(res.error());
  auto parsed = twilio::ParseSmsResponse(static_cast<int>(res->status), res->body);
  if (!parsed) {
    // Only a 2xx answer fails to parse: Twilio took the message, its sid is unknown.
    return Attempt::Unconfirmed(chat::UnreadableAnswer(res->status, parsed.error()), false);
  }
  if (!parsed->sid.empty())
    return Attempt::Sent(parsed->sid);
  // 429 (and 20429) come with Retry-After.
  Attempt failed =
      Attempt::Failed(std::to_string(parsed->error_code) + " " + parsed->error_message,
                      parsed->permanent, RetryAfterSeconds(res->retry_after, std::time(nullptr)));
  failed.recipient_refuses = parsed->recipient_refuses;
  return failed;
}

}  // namespace

outbox::Plan SmsSender::Prepare(db::Tx& tx, const outbox::Row& row) {
  auto text = SmsText(tx, config_, row);
  if (!text)
    return outbox::Plan::Skip("opted out");
  // The intake writes E.164 numbers (a caller's, a typed mobile number made one); a row queued
  // by a version before it may hold the number as typed ("0170 123 45 67"): made the E.164
  // number Twilio takes (error 21211 otherwise), and not tried where no SMS can reach it.
  const auto& ph = config_.Get<Settings>();
  std::string to = ph.InternationalNumber(row.address);
  if (to.empty())
    return outbox::Plan::Fail(
        "not a number an SMS can reach: it needs its area code (0170 …) or its country code "
        "(+49 170 …)");
  // A landline takes no SMS (Twilio 21614): not tried, as no caller from one is offered one.
  if (!ph.TakesSms(to))
    return outbox::Plan::Fail("not a mobile number (phone.sms_prefixes): no SMS sent");
  if (auto held = tickets::NoticeLimit(tx, config_, row))
    return std::move(*held);
  if (text->empty())
    return outbox::Plan::Fail("nothing to send");
  return outbox::Plan::Send([this, to = std::move(to), text = std::move(*text)] {
    return Send(http_, config_, to, text);
  });
}

}  // namespace meldestelle::phone
