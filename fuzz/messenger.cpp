// The messengers' webhooks and API answers: a WhatsApp notification (ParseNotification) and a
// Telegram update (ParseUpdate) — both JSON, so every input goes to both — and the answers to
// our sends, media look-ups and getFile, which come from outside too.
#include <cstddef>
#include <cstdint>

#include "channels/telegram/telegram.hpp"
#include "channels/whatsapp/whatsapp.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  (void)whatsapp::ParseNotification(in);
  (void)telegram::ParseUpdate(in);
  (void)whatsapp::ParseSendResponse(200, in);
  (void)whatsapp::ParseSendResponse(400, in);
  (void)whatsapp::ParseMediaInfo(in, "http://127.0.0.1:8");
  (void)whatsapp::NormalizeSha256(in);
  (void)telegram::ParseSendResponse(200, in);
  (void)telegram::ParseSendResponse(429, in);
  (void)telegram::ParseGetFile(in);
  return 0;
}
