#include "channels/chat/outgoing.hpp"

#include <nlohmann/json.hpp>

#include "core/sql.hpp"
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

}  // namespace

std::optional<Outgoing> PrepareOutgoing(db::Tx& tx, const Config& config, const outbox::Row& row) {
  json p = json::parse(row.payload, nullptr, false);
  if (!p.is_object())
    p = json::object();
  Outgoing out;
  out.reference = p.value("reference", "");
  out.use_template = p.value("use_template", false);
  switch (row.kind) {
    case outbox::Kind::kAck: {
      tickets::Acknowledgement ack = tickets::ReadAcknowledgement(row.payload);
      out.text = tickets::AckChatText(ack, tickets::LocationMissing(tx, row.ticket_id));
      out.template_line = tickets::AckTemplateLine(ack);
      out.reply_to = FirstMessageOf(tx, row.ticket_id);
      return out;
    }
    case outbox::Kind::kStatus: {
      // Opted out since it was queued: not sent.
      if (tickets::OptedOut(tx, row.channel, row.address))
        return std::nullopt;
      tickets::StatusNotice n = tickets::ReadStatusNotice(row.payload);
      out.text = tickets::StatusText(config, n, tickets::NoticeStyle::kChat);
      out.template_line = tickets::StatusTemplateLine(n);
      return out;
    }
    default:
      out.text = p.value("text", "");
      out.reply_to = p.value("reply_to", "");
      out.template_line = OneLine(out.text);
      return out;
  }
}

}  // namespace meldestelle::chat
