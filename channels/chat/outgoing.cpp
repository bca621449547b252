#include "channels/chat/outgoing.hpp"

#include <nlohmann/json.hpp>

#include "core/sql.hpp"
#include "privacy/settings.hpp"
#include "tickets/notices.hpp"

namespace meldestelle::chat {

using nlohmann::json;

namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\t')
      c = ' ';
  }
  return s.substr(0, 900);
}

// The citizen's first message of the draft that became this ticket: the acknowledgement quotes it.
std::string FirstMessageOf(db::Tx& tx, const std::string& ticket_id) {
  if (ticket_id.empty())
    return "";
  auto r = tx.exec_params(
      "SELECT first_message_id FROM chat_drafts WHERE ticket_id = $1::uuid LIMIT 1", ticket_id);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

// True when nothing was sent to this chat yet (as far as we keep what we sent: the retention
// pass empties old messages' addresses, after which a contact counts as new again). Uses the
// index of the notice limits (outbox_sent_to).
bool FirstMessageTo(db::Tx& tx, const std::string& channel, const std::string& address) {
  return tx
      .exec_params(
          "SELECT 1 FROM outbox WHERE channel = $1 AND status = 'sent'"
          " AND lower(regexp_replace(address, '[\\s()./-]', '', 'g'))"
          "   = lower(regexp_replace($2, '[\\s()./-]', '', 'g')) LIMIT 1",
          channel, address)
      .empty();
}

std::optional<Outgoing> Compose(db::Tx& tx, const Config& config, const outbox::Row& row,
                                const json& p) {
  Outgoing out;
  out.reference = p.value("reference", "");
  out.use_template = p.value("use_template", false);
  switch (row.kind) {
    case outbox::Kind::kAck: {
      tickets::Acknowledgement ack = tickets::ReadAcknowledgement(row.payload);
      out.text = tickets::WithStatusLink(
          config, ack.language, ack.reference,
          tickets::AckChatText(config, ack, tickets::LocationMissing(tx, row.ticket_id)));
      // The template (outside WhatsApp's 24 hours) carries the status link too.
      out.template_line = tickets::WithStatusLink(config, ack.language, ack.reference,
                                                  tickets::AckTemplateLine(config, ack));
      out.reply_to = FirstMessageOf(tx, row.ticket_id);
      return out;
    }
    case outbox::Kind::kStatus: {
      // Opted out since it was queued: not sent.
      if (tickets::OptedOut(tx, row.channel, row.address))
        return std::nullopt;
      tickets::StatusNotice n = tickets::ReadStatusNotice(row.payload);
      out.text =
          tickets::WithStatusLink(config, n.language, n.reference,
                                  tickets::StatusText(config, n, tickets::NoticeStyle::kChat) +
                                      tickets::AskFixedText(config, n));
      // The template asks "Ist es behoben?" and links the status page as the free text does.
      out.template_line = tickets::WithStatusLink(
          config, n.language, n.reference,
          tickets::StatusTemplateLine(config, n) + tickets::AskFixedText(config, n));
      return out;
    }
    default:
      out.text = p.value("text", "");
      out.reply_to = p.value("reply_to", "");
      out.template_line = OneLine(out.text);
      return out;
  }
}

}  // namespace

std::optional<Outgoing> PrepareOutgoing(db::Tx& tx, const Config& config, const outbox::Row& row) {
  json p = json::parse(row.payload, nullptr, false);
  if (!p.is_object())
    p = json::object();
  auto out = Compose(tx, config, row, p);
  // The first message to a new contact carries the privacy notice (Art. 13; docs/datenschutz.md).
  if (out && !out->text.empty() && FirstMessageTo(tx, row.channel, row.address)) {
    std::string language = p.value("language", "");
    if (language.empty() && p.contains("ack") && p["ack"].is_object())
      language = p["ack"].value("language", "");
    out->text += "\n\n" + privacy::NoticeLine(config, language.empty() ? "de" : language);
  }
  return out;
}

}  // namespace meldestelle::chat
