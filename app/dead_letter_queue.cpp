#include "app/dead_letter_queue.hpp"

#include <cstring>
#include <vector>

#include "core/dead_letters.hpp"
#include "core/envelope.hpp"
#include "core/errors.hpp"

namespace meldestelle::app {

namespace {

std::string Describe(const DeadLetter& l) {
  std::string reference = "(unparseable)";
  if (auto env = DecodeEnvelope(l.body))
    reference = env->report.reference;
  return "reference " + reference + " · message " + (l.message_id.empty() ? "-" : l.message_id) +
         " · " + std::to_string(l.body.size()) + " bytes\n    reason: " + l.reason + "\n";
}

}  // namespace

Result<int> ListDeadLetters(const Config& config, int limit, std::ostream& out) {
  auto conn = ConnectToBroker(config);
  if (!conn)
    return conn.error();
  auto letters = TakeDeadLetters(*conn, config.amqp.dead_letter_queue, limit);
  if (!letters)
    return letters.error();
  for (const auto& l : *letters)
    out << Describe(l);
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
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;
    props.content_type = amqp_cstring_bytes("application/json");
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
    out << "requeued " << Describe(l);
    ++moved;
  }
  return moved;
}

}  // namespace meldestelle::app
