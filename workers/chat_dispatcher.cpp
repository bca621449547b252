#include "workers/chat_dispatcher.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "channels/email/compose.hpp"
#include "channels/phone/twilio.hpp"
#include "channels/telegram/telegram.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/optout.hpp"
#include "core/smtp_client.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "tickets/notices.hpp"
#include "tickets/reference.hpp"
#include "workers/chat_status.hpp"
#include "workers/chat_texts.hpp"

namespace meldestelle::workers {

using namespace meldestelle::tickets;  // NOLINT: until the outbox and channel moves

using nlohmann::json;

struct ChatDispatcher::Row {
  int64_t id = 0;
  std::string ticket_id, kind, channel, address;
  json payload;
  int attempts = 0;
  // Looked up with the row:
  std::string text;             // what to say
  std::string template_param;   // WhatsApp template {{2}} (one line)
  std::string reference;        // WhatsApp template {{1}}
  std::string reply_to;         // provider message id to quote, if any
  std::string account;          // WhatsApp phone_number_id
  bool outside_window = false;  // WhatsApp: last citizen message older than 24 h
  std::string subject;          // e-mail
  std::string optout_url;       // e-mail status notices: List-Unsubscribe
};

ChatDispatcher::ChatDispatcher(const Config& config, metrics::Registry& registry)
    : config_(config), registry_(registry) {
  std::vector<std::string> on;
  if (!config.whatsapp.access_token.empty())
    on.push_back("whatsapp");
  if (!config.telegram.bot_token.empty())
    on.push_back("telegram");
  if (config.email.enabled())
    on.push_back("email");
  if (config.phone.enabled() && !config.phone.account_sid.empty() &&
      !config.phone.sms_from.empty()) {
    on.push_back("sms");
  }
  channels_ = "{";
  for (size_t i = 0; i < on.size(); ++i)
    channels_ += (i ? "," : "") + on[i];
  channels_ += "}";
}

namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\t')
      c = ' ';
  }
  return s.substr(0, 900);
}

bool HasFlag(const json& flags, const char* flag) {
  if (!flags.is_array())
    return false;
  for (const auto& f : flags) {
    if (f.is_string() && f.get<std::string>() == flag)
      return true;
  }
  return false;
}

}  // namespace

Result<int> ChatDispatcher::RunOnce() {
  if (channels_ == "{}")
    return 0;
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  std::vector<Row> rows;
  auto claimed = RunDb<Ok>([&] {
    db::Tx tx(*conn_);
    auto r = tx.exec_params(
        "UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,"
        " next_attempt_at = now() + interval '2 minutes', updated_at = now()"
        " FROM (SELECT id FROM outbox WHERE channel = ANY($1::text[])"
        "       AND status IN ('pending', 'sending') AND next_attempt_at <= now()"
        "       ORDER BY next_attempt_at LIMIT 4 FOR UPDATE SKIP LOCKED) due"
        " WHERE o.id = due.id"
        " RETURNING o.id, coalesce(o.ticket_id::text, ''), o.kind, o.channel, o.address,"
        " o.payload::text, o.attempts",
        channels_);
    for (const auto& row : r) {
      Row x;
      x.id = row[0].as<int64_t>();
      x.ticket_id = row[1].as<std::string>();
      x.kind = row[2].as<std::string>();
      x.channel = row[3].as<std::string>();
      x.address = row[4].as<std::string>();
      x.payload = json::parse(row[5].as<std::string>(), nullptr, false);
      x.attempts = row[6].as<int>();
      auto contact = tx.exec_params(
          "SELECT account, last_inbound_at < now() - interval '24 hours' FROM chat_contacts"
          " WHERE channel = $1 AND address = $2",
          x.channel, x.address);
      if (!contact.empty()) {
        x.account = contact[0][0].as<std::string>();
        x.outside_window = contact[0][1].as<bool>();
      }
      std::string language = x.payload.value("language", "de");
      x.reference = x.payload.value("reference", "");
      if (x.kind == "ack") {
        json flags;
        if (!x.ticket_id.empty()) {
          auto t = tx.exec_params(
              "SELECT coalesce(routing_explanation->'flags', '[]')::text,"
              " coalesce((SELECT first_message_id FROM chat_drafts WHERE ticket_id = $1::uuid),"
              " '') FROM tickets WHERE id = $1::uuid",
              x.ticket_id);
          if (!t.empty()) {
            flags = json::parse(t[0][0].as<std::string>(), nullptr, false);
            x.reply_to = t[0][1].as<std::string>();
          }
        }
        std::string department = x.payload.value("department", "");
        if (x.payload.value("forwarded_to", "") != "") {
          x.text = ForwardAckText(language, x.reference, x.payload.value("forwarded_to", ""));
        } else if (x.payload.value("duplicate", false)) {
          x.text =
              DuplicateAckText(language, x.reference, x.payload.value("existing_reference", ""));
        } else {
          x.text = AckText(language, x.reference, department, HasFlag(flags, "Ort fehlt"));
        }
        if (x.payload.value("ask_location", false)) {
          x.text += " " + x.payload.value("location_message", "");
        }
        if (x.channel == "email") {
          const auto& templates = config_.email.ack_templates;
          auto t = templates.find(language);
          if (t == templates.end())
            t = templates.find("de");
          std::string status_url =
              config_.gateway.public_base_url + "/api/v1/reports/" + x.reference;
          auto fill = [&](const std::string& s) {
            return FillPlaceholders(s, {{"reference", DisplayReference(x.reference)},
                                        {"department", department},
                                        {"town", config_.town.name},
                                        {"status_url", status_url}});
          };
          std::string extra;
          if (x.payload.value("forwarded_to", "") != "") {
            extra = ForwardAckText(language, x.reference, x.payload.value("forwarded_to", ""));
          } else if (x.payload.value("duplicate", false)) {
            extra =
                DuplicateAckText(language, x.reference, x.payload.value("existing_reference", ""));
          }
          if (x.payload.value("ask_location", false)) {
            extra += (extra.empty() ? "" : " ") + x.payload.value("location_message", "");
          }
          x.subject = fill(t->second.subject);
          x.text = fill(t->second.body);
          if (!extra.empty())
            x.text = extra + "\n\n" + x.text;
          if (config_.notifications.enabled) {
            // The status notices to come can be declined already (docs/departments.md, "Citizens").
            x.text += language == "en"
                          ? "\n\n-- \nDo not want status e-mails about your report? Unsubscribe: " +
                                OptOutUrl(config_, "email", x.address)
                          : "\n\n-- \nKeine Statusmeldungen per E-Mail gewünscht? Abmelden: " +
                                OptOutUrl(config_, "email", x.address);
          }
        }
        if (x.channel == "sms") {
          // Short: one SMS, no chat phrases ("reply to this message").
          x.text = SmsAckText(language, config_.town.name, x.reference, department,
                              x.payload.value("existing_reference", ""));
        }
        x.template_param = language == "en" ? "received, responsible: " + department
                                            : "eingegangen, zuständig: " + department;
      } else if (x.kind == "status") {
        // A ticket changed (docs/departments.md, "Citizens"). Opted out since it was queued: not
        // sent.
        if (!tx.exec_params("SELECT 1 FROM notification_optouts WHERE channel = $1"
                            " AND address = $2",
                            x.channel, x.address)
                 .empty()) {
          tx.exec_params0(
              "UPDATE outbox SET status = 'done', last_error = 'opted out', updated_at = now()"
              " WHERE id = $1",
              x.id);
          log::Info("status notice not sent: opted out",
                    {{"reference", x.reference}, {"channel", x.channel}});
          continue;
        }
        StatusNotice n{x.payload.value("event", ""),
                       language,
                       x.reference,
                       x.payload.value("ticket_reference", ""),
                       x.payload.value("merged_into", ""),
                       x.payload.value("department", ""),
                       x.payload.value("note", "")};
        if (x.channel == "email") {
          x.optout_url = OptOutUrl(config_, "email", x.address);
          x.text = StatusText(config_, n, NoticeStyle::kEmail, x.optout_url);
          x.subject = StatusSubject(config_, n);
          if (x.payload.value("in_reply_to", "") == "" && !x.ticket_id.empty()) {
            // Queued before the acknowledgement was sent: thread to it now.
            auto ack = tx.exec_params(
                "SELECT provider_message_id, coalesce(payload->>'in_reply_to', ''),"
                " coalesce(payload->'references', '[]')::text FROM outbox"
                " WHERE ticket_id = $1::uuid AND kind = 'ack' AND channel = 'email'"
                " AND provider_message_id IS NOT NULL",
                x.ticket_id);
            if (!ack.empty()) {
              json refs = json::parse(ack[0][2].as<std::string>(), nullptr, false);
              if (!refs.is_array())
                refs = json::array();
              if (std::string first = ack[0][1].as<std::string>(); !first.empty())
                refs.push_back(first);
              refs.push_back(ack[0][0].as<std::string>());
              x.payload["in_reply_to"] = ack[0][0].as<std::string>();
              x.payload["references"] = refs;
            }
          }
        } else {
          x.text =
              StatusText(config_, n, x.channel == "sms" ? NoticeStyle::kSms : NoticeStyle::kChat);
        }
        x.template_param = StatusTemplateLine(n);
      } else if (x.kind == "forward") {
        // To another authority: the report itself.
        std::string lat = x.payload.contains("lat") && x.payload["lat"].is_number()
                              ? x.payload["lat"].dump()
                              : "";
        std::string lon = x.payload.contains("lon") && x.payload["lon"].is_number()
                              ? x.payload["lon"].dump()
                              : "";
        x.subject = "Weitergeleitete Mängelmeldung " + DisplayReference(x.reference) + " (" +
                    config_.town.name + ")";
        x.text = "Guten Tag,\n\ndie folgende Meldung ist bei der Stadt " + config_.town.name +
                 " eingegangen; zuständig ist nach unserer Kenntnis " +
                 x.payload.value("authority", "Ihre Behörde") +
                 ". Wir leiten sie deshalb an Sie weiter.\n\nVorgangsnummer: " +
                 DisplayReference(x.reference) +
                 "\nKategorie: " + x.payload.value("category", "–") +
                 "\nOrt: " + x.payload.value("address", "") +
                 (lat.empty() ? ""
                              : " (" + lat + ", " + lon + ") https://www.openstreetmap.org/?mlat=" +
                                    lat + "&mlon=" + lon + "#map=18/" + lat + "/" + lon) +
                 "\n\nText der Meldung:\n" + x.payload.value("text", "") +
                 "\n\nMit freundlichen Grüßen\nStadtverwaltung " + config_.town.name;
      } else {
        x.text = x.payload.value("text", "");
        x.reply_to = x.payload.value("reply_to", "");
        x.template_param = OneLine(x.text);
      }
      rows.push_back(std::move(x));
    }
    tx.commit();
    return Ok{};
  });
  if (!claimed) {
    if (IsTransientDbError(claimed.error()))
      conn_.reset();
    return claimed.error();
  }
  for (const Row& row : rows) {
    // Renew the lease just before sending: if another dispatcher took the row over after our
    // lease ran out (a slow provider), it is its row now and we skip it.
    auto mine = RunDb<bool>([&] {
      db::Tx tx(*conn_);
      bool ok = !tx.exec_params(
                       "UPDATE outbox SET next_attempt_at = now() + interval '2 minutes'"
                       " WHERE id = $1 AND status = 'sending' AND attempts = $2"
                       " RETURNING 1",
                       row.id, row.attempts)
                     .empty();
      tx.commit();
      return ok;
    });
    if (!mine) {
      conn_.reset();
      return mine.error();
    }
    if (!*mine)
      continue;
    Outcome out = Send(row);
    std::string result;
    auto recorded = RunDb<Ok>([&] {
      db::Tx tx(*conn_);
      if (out.ok) {
        result = "sent";
        tx.exec_params0(
            "UPDATE outbox SET status = 'sent', provider_message_id = $2,"
            " delivery_state = 'sent', sent_at = now(), updated_at = now(), last_error = NULL"
            " WHERE id = $1 AND attempts = $3",
            row.id, out.provider_message_id, row.attempts);
        // A receipt that overtook the provider's answer was parked: apply it now.
        ApplyParkedStatuses(tx, row.channel, out.provider_message_id);
      } else if (out.permanent || row.attempts >= config_.chat.send_max_attempts) {
        result = "failed";
        tx.exec_params0(
            "UPDATE outbox SET status = 'failed', delivery_state = 'failed', last_error = $2,"
            " updated_at = now() WHERE id = $1 AND attempts = $3",
            row.id, out.error, row.attempts);
      } else {
        result = "retry";
        // 1 s, 2 s, 4 s, … capped at 10 minutes; Telegram's retry_after wins if longer.
        int backoff = std::min(600, 1 << std::min(row.attempts - 1, 10));
        backoff = std::max(backoff, out.retry_after_s);
        tx.exec_params0(
            "UPDATE outbox SET status = 'pending', last_error = $2, updated_at = now(),"
            " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1 AND attempts = $4",
            row.id, out.error, backoff, row.attempts);
      }
      // Every attempt, for the delivery log (the staff see why a citizen was not reached).
      tx.exec_params0(
          "INSERT INTO outbox_attempts (outbox_id, attempt, outcome, detail)"
          " VALUES ($1, $2, $3, $4) ON CONFLICT (outbox_id, attempt) DO NOTHING",
          row.id, row.attempts, result, out.ok ? out.provider_message_id : out.error);
      tx.commit();
      return Ok{};
    });
    if (!recorded) {
      // The lease runs out and the row is sent again: at-least-once, logged.
      log::Warn("outcome of a chat reply not recorded",
                {{"reference", row.reference}, {"error", recorded.error().detail}});
      conn_.reset();
      return recorded.error();
    }
    registry_
        .GetCounter("meldestelle_chat_replies_total", "Chat replies attempted, by outcome.",
                    {{"channel", row.channel}, {"outcome", result}})
        .Inc();
    log::Info("chat reply", {{"reference", row.reference},
                             {"channel", row.channel},
                             {"kind", row.kind},
                             {"outcome", result},
                             {"error", out.error}});
  }
  return static_cast<int>(rows.size());
}

ChatDispatcher::Outcome ChatDispatcher::Send(const Row& row) {
  if (row.text.empty())
    return {false, true, "", "nothing to send", 0};
  if (row.channel == "whatsapp")
    return SendWhatsApp(row);
  if (row.channel == "sms")
    return SendSms(row);
  if (row.channel == "email")
    return SendEmail(row);
  if (row.channel == "telegram")
    return SendTelegram(row);
  return {false, true, "", "no sender for channel " + row.channel, 0};
}

ChatDispatcher::Outcome ChatDispatcher::SendWhatsApp(const Row& row) {
  const auto& wa = config_.whatsapp;
  if (wa.access_token.empty())
    return {false, true, "", "whatsapp.access_token is not set", 0};
  if (row.account.empty())
    return {false, true, "", "no WhatsApp phone number id known", 0};
  bool use_template = row.outside_window || row.payload.value("use_template", false);
  HttpClient::Request req;
  req.method = "POST";
  req.url = wa.api_base + "/" + row.account + "/messages";
  req.headers = {{"Authorization", "Bearer " + wa.access_token},
                 {"Content-Type", "application/json"}};
  req.timeout = std::chrono::seconds(20);
  req.body = use_template ? whatsapp::BuildTemplateMessage(
                                row.address, wa.template_name, wa.template_language,
                                {DisplayReference(row.reference), row.template_param})
                          : whatsapp::BuildTextMessage(row.address, row.text, row.reply_to);
  auto res = http_.Send(req);
  if (!res)
    return {false, false, "", res.error().code.str() + ": " + res.error().message, 0};
  auto parsed = whatsapp::ParseSendResponse(static_cast<int>(res->status), res->body);
  if (!parsed)
    return {false, res->status < 500, "", parsed.error().message, 0};
  if (!parsed->message_id.empty())
    return {true, false, parsed->message_id, "", 0};
  return {false, parsed->permanent, "",
          std::to_string(parsed->error_code) + " " + parsed->error_message, 0};
}

ChatDispatcher::Outcome ChatDispatcher::SendTelegram(const Row& row) {
  const auto& tg = config_.telegram;
  if (tg.bot_token.empty())
    return {false, true, "", "telegram.bot_token is not set", 0};
  std::optional<int64_t> reply;
  if (auto colon = row.reply_to.rfind(':'); colon != std::string::npos) {
    reply = std::strtoll(row.reply_to.c_str() + colon + 1, nullptr, 10);
  }
  HttpClient::Request req;
  req.method = "POST";
  req.url = tg.api_base + "/bot" + tg.bot_token + "/sendMessage";
  req.headers = {{"Content-Type", "application/json"}};
  req.timeout = std::chrono::seconds(20);
  req.body = telegram::BuildSendMessage(row.address, row.text, reply);
  auto res = http_.Send(req);
  if (!res)
    return {false, false, "", res.error().code.str() + ": " + res.error().message, 0};
  auto parsed = telegram::ParseSendResponse(static_cast<int>(res->status), res->body);
  if (!parsed)
    return {false, res->status < 500, "", parsed.error().message, 0};
  if (!parsed->message_id.empty())
    return {true, false, parsed->message_id, "", 0};
  return {false, parsed->permanent, "",
          std::to_string(parsed->error_code) + " " + parsed->description, parsed->retry_after};
}

ChatDispatcher::Outcome ChatDispatcher::SendEmail(const Row& row) {
  const auto& cfg = config_.email;
  email::Outgoing m;
  m.from_address = cfg.from;
  m.from_name = cfg.from_name;
  m.to = row.address;
  m.subject = row.subject;
  m.text = row.text;
  m.date = email::NowRfc5322();
  m.message_id = email::NewMessageId(row.kind == "forward"  ? "fwd"
                                     : row.kind == "status" ? "status"
                                                            : "ack",
                                     row.reference, email::DomainOf(cfg.from));
  // Threaded to the citizen's own mail when the report came by e-mail.
  m.in_reply_to = row.payload.value("in_reply_to", "");
  if (row.payload.contains("references") && row.payload["references"].is_array()) {
    for (const auto& r : row.payload["references"]) {
      if (r.is_string())
        m.references.push_back(r.get<std::string>());
    }
  }
  m.auto_reply = row.kind == "ack";
  if (row.kind == "status") {
    m.headers.push_back({"Auto-Submitted", "auto-generated"});
    if (!row.optout_url.empty()) {
      // RFC 2369 and RFC 8058: the mail program's own "unsubscribe" button, one click.
      m.headers.push_back({"List-Unsubscribe", "<" + row.optout_url + ">"});
      m.headers.push_back({"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"});
    }
  }
  SmtpMessage smtp;
  smtp.url = cfg.smtp_url;
  smtp.user = cfg.smtp_user;
  smtp.password = cfg.smtp_password;
  // Acknowledgements go out with the null sender, so that bounces never loop (RFC 3834).
  smtp.mail_from = row.kind == "ack" ? "" : cfg.from;
  smtp.recipients = {row.address};
  smtp.data = email::Compose(m);
  auto st = SendSmtp(smtp);
  if (st)
    return {true, false, m.message_id, "", 0};
  return {false, st.error().code == errors::kSmtpPermanent, "", st.error().message, 0};
}

ChatDispatcher::Outcome ChatDispatcher::SendSms(const Row& row) {
  const auto& ph = config_.phone;
  HttpClient::Request req;
  req.method = "POST";
  req.url = ph.api_base + "/2010-04-01/Accounts/" + ph.account_sid + "/Messages.json";
  req.headers = {{"Authorization", "Basic " + Base64Encode(ph.account_sid + ":" + ph.auth_token)},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.timeout = std::chrono::seconds(20);
  req.body = twilio::BuildSmsForm(ph.sms_from, row.address, row.text);
  auto res = http_.Send(req);
  if (!res)
    return {false, false, "", res.error().code.str() + ": " + res.error().message, 0};
  auto parsed = twilio::ParseSmsResponse(static_cast<int>(res->status), res->body);
  if (!parsed)
    return {false, res->status < 500, "", parsed.error().message, 0};
  if (!parsed->sid.empty())
    return {true, false, parsed->sid, "", 0};
  return {false, parsed->permanent, "",
          std::to_string(parsed->error_code) + " " + parsed->error_message, 0};
}

void ChatDispatcher::Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
  PollUntilStopped(
      "chat dispatcher", [this] { return RunOnce(); }, stop, interval);
}

}  // namespace meldestelle::workers
