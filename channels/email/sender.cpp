#include "channels/email/sender.hpp"

#include <nlohmann/json.hpp>

#include "channels/email/compose.hpp"
#include "channels/email/settings.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/optout.hpp"
#include "core/sql.hpp"
#include "core/texts.hpp"
#include "privacy/settings.hpp"
#include "tickets/notice_limits.hpp"
#include "tickets/notices.hpp"
#include "tickets/reference.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::email {

namespace {

using nlohmann::json;
using outbox::Attempt;

// The threading of a mail: the Message-ID it answers and the ones before it, oldest first.
struct Thread {
  std::string in_reply_to;
  std::vector<std::string> references;
};

Thread ThreadOf(const json& payload) {
  Thread t;
  t.in_reply_to = payload.value("in_reply_to", "");
  if (payload.contains("references") && payload["references"].is_array()) {
    for (const auto& r : payload["references"]) {
      if (r.is_string())
        t.references.push_back(r.get<std::string>());
    }
  }
  return t;
}

// A status notice queued before the acknowledgement was sent is threaded to it now.
Thread ThreadToAcknowledgement(db::Tx& tx, const std::string& ticket_id) {
  Thread t;
  if (ticket_id.empty())
    return t;
  auto ack = tx.exec_params(
      "SELECT provider_message_id, coalesce(payload->>'in_reply_to', ''),"
      " coalesce(payload->'references', '[]')::text FROM outbox"
      " WHERE ticket_id = $1::uuid AND kind = 'ack' AND channel = 'email'"
      " AND provider_message_id IS NOT NULL",
      ticket_id);
  if (ack.empty())
    return t;
  json refs = json::parse(ack[0][2].as<std::string>(), nullptr, false);
  if (refs.is_array()) {
    for (const auto& r : refs) {
      if (r.is_string())
        t.references.push_back(r.get<std::string>());
    }
  }
  if (std::string first = ack[0][1].as<std::string>(); !first.empty()) {
    t.references.push_back(first);
  }
  t.in_reply_to = ack[0][0].as<std::string>();
  t.references.push_back(t.in_reply_to);
  return t;
}

Attempt SendMail(const SmtpRelay& relay, Outgoing m, const std::string& mail_from) {
  m.from_address = relay.from;
  m.from_name = relay.from_name;
  m.date = NowRfc5322();
  std::string id = m.message_id;
  auto st = SendSmtp(relay.To(m.to, mail_from, Compose(m)));
  if (st)
    return Attempt::Sent(id);
  // The relay may have taken it (the end of data sent, no final reply): a citizen's mail is
  // sent again rather than perhaps lost, under the same Message-ID (RowMessageId), which
  // relays and mail programs recognise as the same message.
  if (st.error().code == errors::kSmtpUnconfirmed)
    return Attempt::Unconfirmed(st.error().message, true, id);
  return Attempt::Failed(st.error().message, st.error().code == errors::kSmtpPermanent);
}

// The acknowledgement letter (email.templates) with what goes before it and the opt-out footer.
Outgoing AckMail(const Config& config, const outbox::Row& row) {
  tickets::Acknowledgement a = tickets::ReadAcknowledgement(row.payload);
  // email.templates (the town's configuration) for the language, else the catalogue's letter.
  const texts::Lang lang = texts::For(config, a.language);
  const auto& templates = config.Get<Settings>().ack_templates;
  auto own = templates.find(a.language);
  Settings::Template t = own != templates.end()
                             ? own->second
                             : Settings::Template{lang("nachricht.email.betreff_eingang"),
                                                  lang("nachricht.email.eingang")};
  std::string status_url = StatusPageUrl(config, a.reference) + lang.Query();
  auto fill = [&](const std::string& s) {
    return tickets::FillPlaceholders(s, {{"reference", tickets::DisplayReference(a.reference)},
                                         {"department", a.department},
                                         {"town", config.town.name},
                                         {"status_url", status_url}});
  };
  Outgoing m;
  m.to = row.address;
  m.subject = fill(t.subject);
  m.text = fill(t.body);
  if (std::string extra = tickets::AckPreamble(config, a); !extra.empty())
    m.text = extra + "\n\n" + m.text;
  m.text += "\n\n-- \n";
  if (config.Get<tickets::NotificationSettings>().enabled) {
    // The status notices to come can be declined already (docs/departments.md, "Citizens").
    m.text += lang("nachricht.email.abmelden_eingang",
                   {{"url", OptOutUrl(config, "email", row.id) + lang.Query('&')}}) +
              "\n";
  }
  // The privacy notice (Art. 13; docs/datenschutz.md).
  m.text += privacy::NoticeLine(config, a.language);
  Thread thread = ThreadOf(json::parse(row.payload, nullptr, false));
  m.in_reply_to = thread.in_reply_to;
  m.references = thread.references;
  m.message_id = RowMessageId("ack", a.reference, row.id, DomainOf(config.Get<Settings>().from),
                              PurposeKey(config, KeyPurpose::kMessageIds));
  m.auto_reply = true;
  return m;
}

}  // namespace

outbox::Plan AckSender::Prepare(db::Tx& tx, const outbox::Row& row) {
  if (auto held = tickets::NoticeLimit(tx, config_, row))
    return std::move(*held);
  // Threaded to the citizen's own mail when the report came by e-mail; the null sender.
  return outbox::Plan::Send([this, m = AckMail(config_, row)] { return SendMail(relay_, m, ""); });
}

outbox::Plan StatusSender::Prepare(db::Tx& tx, const outbox::Row& row) {
  // Opted out since it was queued: not sent.
  if (tickets::OptedOut(tx, row.channel, row.address))
    return outbox::Plan::Skip("opted out");
  if (auto held = tickets::NoticeLimit(tx, config_, row))
    return std::move(*held);
  tickets::StatusNotice n = tickets::ReadStatusNotice(row.payload);
  json payload = json::parse(row.payload, nullptr, false);
  Thread thread = payload.is_object() ? ThreadOf(payload) : Thread{};
  if (thread.in_reply_to.empty())
    thread = ThreadToAcknowledgement(tx, row.ticket_id);
  // The opt-out page in the citizen's language.
  const std::string optout_url =
      OptOutUrl(config_, "email", row.id) + texts::For(config_, n.language).Query('&');
  Outgoing m;
  m.to = row.address;
  m.subject = tickets::StatusSubject(config_, n);
  m.text = tickets::StatusText(config_, n, tickets::NoticeStyle::kEmail, optout_url) + "\n" +
           privacy::NoticeLine(config_, n.language);
  m.in_reply_to = thread.in_reply_to;
  m.references = thread.references;
  m.message_id = RowMessageId("status", n.reference, row.id, DomainOf(config_.Get<Settings>().from),
                              PurposeKey(config_, KeyPurpose::kMessageIds));
  m.auto_reply = false;
  m.headers.push_back({"Auto-Submitted", "auto-generated"});
  // RFC 2369 and RFC 8058: the mail program's own "unsubscribe" button, one click.
  m.headers.push_back({"List-Unsubscribe", "<" + optout_url + ">"});
  m.headers.push_back({"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"});
  return outbox::Plan::Send([this, m] { return SendMail(relay_, m, relay_.from); });
}

}  // namespace meldestelle::email
