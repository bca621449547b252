// What the worker reads from the queue (a message anyone with broker access could publish, and
// the dead-letter requeue replays): the report envelope, the chat batch, the phone event and the
// mail event. Also references as citizens type them (ParseReference: status page, e-mail
// subjects, follow-ups).
#include <cstddef>
#include <cstdint>

#include "channels/chat/batch.hpp"
#include "channels/email/message.hpp"
#include "channels/phone/message.hpp"
#include "core/envelope.hpp"
#include "core/reference.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  if (auto e = DecodeEnvelope(in)) {
    (void)DecodeEnvelope(EncodeEnvelope(*e));
  }
  (void)chat::IsBatch(in);
  if (auto b = chat::DecodeBatch(in)) {
    (void)chat::DecodeBatch(chat::EncodeBatch(*b));
  }
  (void)phone::DecodeMessage(in);
  (void)email::DecodeMessage(in);
  (void)ParseReference(in);
  return 0;
}
