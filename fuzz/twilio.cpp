// The phone channel's webhooks (channels/phone/webhook.cpp): a Twilio form body (ParseForm) read
// as each of the four callbacks, the call-centre transcript JSON (ParseExternalTranscript), the
// caller's number, and the Messages API's answer (ParseSmsResponse).
#include "channels/phone/twilio.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"

using namespace meldestelle;
using namespace meldestelle::twilio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  if (auto params = ParseForm(in)) {
    (void)ParseIncomingCall(*params);
    (void)ParseRecorded(*params, "en");
    (void)ParseRecordingStatus(*params);
    (void)ParseTranscription(*params);
    if (auto from = Find(*params, "From")) {
      (void)CallerNumber(*from);
    }
  }
  (void)ParseExternalTranscript(in);
  (void)ParseSmsResponse(201, in);
  (void)ParseSmsResponse(400, in);
  return 0;
}
