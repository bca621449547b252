#include "core/dead_letters.hpp"

#include "core/errors.hpp"

namespace meldestelle {

Result<AmqpConnection> ConnectToBroker(const Config& config) {
  auto url = ParseAmqpUrl(config.amqp.url);
  if (!url)
    return url.error();
  auto conn = AmqpConnection::Open(*url, 0, std::chrono::seconds(5));
  if (!conn)
    return conn.error();
  if (auto st = DeclareTopology(*conn, config.amqp); !st) {
    return st.error();
  }
  return conn;
}

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
    l.failed_at_ms = HeaderValue(msg.properties, "x-meldestelle-failed-at-ms");
    amqp_destroy_message(&msg);
    letters.push_back(std::move(l));
  }
  return letters;
}

Result<long long> DropDeadLetters(const Config& config,
                                  const std::function<bool(const DeadLetter&)>& drop,
                                  bool dry_run) {
  auto conn = ConnectToBroker(config);
  if (!conn)
    return conn.error();
  auto letters = TakeDeadLetters(*conn, config.amqp.dead_letter_queue, 100000);
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

}  // namespace meldestelle
