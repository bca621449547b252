#pragma once

// What the chat senders (WhatsApp, Telegram) say for an outbox row: the acknowledgement, a status
// notice, or a chat reply (a question, a hint), with the message it answers.
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"
#include "outbox/dispatcher.hpp"

namespace meldestelle::chat {

struct Outgoing {
  std::string text;           // the message; empty: nothing to send (the row fails)
  std::string template_line;  // WhatsApp: the template's second parameter, one line
  std::string reference;      // WhatsApp: the template's first parameter (the reporter's own)
  std::string reply_to;       // the provider message id to quote; "" = none
  bool use_template = false;  // WhatsApp: a receipt said the 24-hour window had closed
};

// Reads the row's payload and, for an acknowledgement, the ticket's flags and the draft's first
// message (quoted). nullopt: nothing to send (a status notice to a citizen who opted out).
std::optional<Outgoing> PrepareOutgoing(db::Tx& tx, const Config& config, const outbox::Row& row);

}  // namespace meldestelle::chat
