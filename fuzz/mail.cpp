// ParseMail on a raw RFC 5322 message: what the mail server's pipe, IMAP polling, POST
// /api/v1/mail, Mailgun's body-mime and SendGrid's raw "email" hand it (channels/email/routes.cpp,
// poll.cpp). Also IsRecipientAddress on the addresses it found (the acknowledgement's recipient),
// and WithoutAttachments, the copy kept for evidence (worker, channels/email/intake.cpp), which
// must still parse.
#include "channels/email/mail.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits so that the fuzzer reaches the limit checks without megabytes of input.
  email::Limits limits{1 << 20, 8, 6};
  auto mail = email::ParseMail(fuzz::AsView(data, size), limits);
  if (mail) {
    (void)email::IsRecipientAddress(mail->reply_to);
    (void)email::IsRecipientAddress(mail->from_address);
    std::string kept = email::WithoutAttachments(fuzz::AsView(data, size));
    (void)email::ParseMail(kept, limits);
  }
  return 0;
}
