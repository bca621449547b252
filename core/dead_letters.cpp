#include "core/dead_letters.hpp"

#include <cstring>
#include <ostream>

#include "core/envelope.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

namespace meldestelle {

namespace {

// The time of the first entry of the x-death header the broker adds when it dead-letters a
// message itself (delivery limit); 0 if there is none.
int64_t XDeathTime(const amqp_basic_properties_t& props) {
  if ((props._flags & AMQP_BASIC_HEADERS_FLAG) == 0)
    return 0;
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (std::string_view(static_cast<const char*>(e.key.bytes), e.key.len) != "x-death" ||
        e.value.kind != AMQP_FIELD_KIND_ARRAY || e.value.value.array.num_entries == 0)
      continue;
    const amqp_field_value_t& first = e.value.value.array.entries[0];
    if (first.kind != AMQP_FIELD_KIND_TABLE)
      return 0;
    for (int j = 0; j < first.value.table.num_entries; ++j) {
      const amqp_table_entry_t& f = first.value.table.entries[j];
      if (std::string_view(static_cast<const char*>(f.key.bytes), f.key.len) == "time" &&
          f.value.kind == AMQP_FIELD_KIND_TIMESTAMP)
        return static_cast<int64_t>(f.value.value.u64);
    }
  }
  return 0;
}

}  // namespace

Result<std::vector<DeadLetter>> TakeDeadLetters(AmqpConnection& conn, const std::string& queue,
                                                int limit) {
  std::vector<DeadLetter> letters;
  for (int i = 0; i < limit; ++i) {
    amqp_rpc_reply_t r = amqp_basic_get(conn.get(), AmqpConnection::kChannel,
                                        amqp_cstring_bytes(queue.c_str()), /*no_ack=*/0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      return MakeError(errors::kBrokerError, "basic.get failed", DescribeRpcReply(r));
    }
    if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
      break;  // queue empty
    auto* ok = static_cast<amqp_basic_get_ok_t*>(r.reply.decoded);
    DeadLetter l;
    l.tag = ok->delivery_tag;
    amqp_message_t msg;
    amqp_rpc_reply_t read = amqp_read_message(conn.get(), AmqpConnection::kChannel, &msg, 0);
    if (read.reply_type != AMQP_RESPONSE_NORMAL) {
      return MakeError(errors::kBrokerError, "reading a dead letter failed",
                       DescribeRpcReply(read));
    }
    l.body.assign(static_cast<const char*>(msg.body.bytes), msg.body.len);
    l.reason = HeaderValue(msg.properties, "x-meldestelle-reason");
    if (l.reason.empty()) {
      // Dead-lettered by the broker itself (delivery limit): no reason of ours.
      l.reason = "delivery limit reached (the worker never finished this message)";
    }
    l.message_id = HeaderValue(msg.properties, "x-meldestelle-message-id");
    if (l.message_id.empty() && (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
      l.message_id.assign(static_cast<const char*>(msg.properties.message_id.bytes),
                          msg.properties.message_id.len);
    }
    if ((msg.properties._flags & AMQP_BASIC_TYPE_FLAG) != 0) {
      l.type.assign(static_cast<const char*>(msg.properties.type.bytes), msg.properties.type.len);
    }
    l.failed_at_ms = HeaderValue(msg.properties, "x-meldestelle-failed-at-ms");
    l.broker_time = XDeathTime(msg.properties);
    l.properties = OwnedProperties(msg.properties);
    amqp_destroy_message(&msg);
    letters.push_back(std::move(l));
  }
  return letters;
}

Result<long long> DropDeadLetters(const Config& config,
                                  const std::function<bool(const DeadLetter&)>& drop,
                                  bool dry_run) {
  return DropQueuedMessages(config, config.amqp.dead_letter_queue, drop, dry_run);
}

Result<long long> DropQueuedMessages(const Config& config, const std::string& queue,
                                     const std::function<bool(const DeadLetter&)>& drop,
                                     bool dry_run) {
  auto conn = ConnectToBroker(config);
  if (!conn)
    return conn.error();
  amqp_queue_declare(conn->get(), AmqpConnection::kChannel, amqp_cstring_bytes(queue.c_str()),
                     /*passive=*/1, 0, 0, 0, amqp_empty_table);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn->get());
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
      static_cast<amqp_channel_close_t*>(r.reply.decoded)->reply_code == AMQP_NOT_FOUND) {
    conn->MarkBroken();  // the broker closed the channel: nothing more on this connection
    return 0;
  }
  if (r.reply_type != AMQP_RESPONSE_NORMAL)
    return MakeError(errors::kBrokerError, "queue.declare (passive) " + queue + " failed",
                     DescribeRpcReply(r));
  auto letters = TakeDeadLetters(*conn, queue, 100000);
  if (!letters)
    return letters.error();
  long long dropped = 0;
  for (const auto& l : *letters) {
    if (!drop(l))
      continue;
    ++dropped;
    if (!dry_run)
      amqp_basic_ack(conn->get(), AmqpConnection::kChannel, l.tag, 0);
  }
  // The others go back to the queue, in their order, when the connection closes.
  return dropped;
}

// The dead-letter queue as operators see it (`meldestelle dead-letters`, the routing console).

std::string EscapeForTerminal(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto hex = [&out](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      hex(c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // One UTF-8 sequence whole, if it is one; a C1 control (U+0080…U+009F, C2 80…C2 9F: 9B is
      // a CSI) and every byte of a broken sequence as \xNN.
      const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      const std::string_view seq = s.substr(i, n);
      const bool c1 =
          n == 2 && seq.size() == 2 && c == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0;
      if (n > 1 && seq.size() == n && !c1 && IsValidUtf8(seq)) {
        out += seq;
        i += n;
      } else {
        hex(c);
        ++i;
      }
    }
  }
  return out;
}

std::string DescribeDeadLetter(const DeadLetter& l) {
  std::string reference = "(unparseable)";
  if (auto env = DecodeEnvelope(l.body))
    reference = env->report.reference;
  return Concat({"reference ", EscapeForTerminal(reference), " · message ",
                 l.message_id.empty() ? "-" : EscapeForTerminal(l.message_id), " · type ",
                 l.type.empty() ? "-" : EscapeForTerminal(l.type), " · ",
                 std::to_string(l.body.size()), " bytes\n    reason: ", EscapeForTerminal(l.reason),
                 "\n"});
}

Result<int> ListDeadLetters(const Config& config, int limit, std::ostream& out) {
  auto conn = ConnectToBroker(config);
  if (!conn)
    return conn.error();
  auto letters = TakeDeadLetters(*conn, config.amqp.dead_letter_queue, limit);
  if (!letters)
    return letters.error();
  for (const auto& l : *letters)
    out << DescribeDeadLetter(l);
  // Hand them all back untouched.
  if (!letters->empty()) {
    amqp_basic_nack(conn->get(), AmqpConnection::kChannel, letters->back().tag, /*multiple=*/1,
                    /*requeue=*/1);
  }
  return static_cast<int>(letters->size());
}

Result<int> RequeueDeadLetters(const Config& config, int limit, std::ostream& out) {
  auto conn = ConnectToBroker(config);
  if (!conn)
    return conn.error();
  auto publisher = ConnectToBroker(config);
  if (!publisher)
    return publisher.error();
  amqp_confirm_select(publisher->get(), AmqpConnection::kChannel);
  if (auto st = publisher->CheckRpc("confirm.select"); !st)
    return st.error();
  auto letters = TakeDeadLetters(*conn, config.amqp.dead_letter_queue, limit);
  if (!letters)
    return letters.error();
  int moved = 0;
  for (const auto& l : *letters) {
    // The message it was: its type (a phone event without it would be read as a report
    // envelope), message id, timestamp and headers; not the dead-letter queue's own headers.
    std::vector<amqp_table_entry_t> headers;
    amqp_basic_properties_t props;
    RepublishProperties(l.properties.get(), {}, &headers, &props);
    amqp_bytes_t body{l.body.size(), const_cast<char*>(l.body.data())};
    int rc = amqp_basic_publish(publisher->get(), AmqpConnection::kChannel,
                                amqp_cstring_bytes(config.amqp.exchange.c_str()),
                                amqp_cstring_bytes(std::string(kReportRoutingKey).c_str()), 1, 0,
                                &props, body);
    amqp_frame_t frame;
    if (rc != AMQP_STATUS_OK ||
        amqp_simple_wait_frame(publisher->get(), &frame) != AMQP_STATUS_OK ||
        frame.frame_type != AMQP_FRAME_METHOD || frame.payload.method.id != AMQP_BASIC_ACK_METHOD) {
      return MakeError(errors::kBrokerError, "requeue not confirmed; the dead letter was kept");
    }
    amqp_basic_ack(conn->get(), AmqpConnection::kChannel, l.tag, 0);
    out << "requeued " << DescribeDeadLetter(l);
    ++moved;
  }
  return moved;
}

}  // namespace meldestelle
