// The e-mail text clean-up on its own (channels/email/mail_text.cpp): HTML to text, format=flowed,
// quoted history and signature stripping. ParseMail reaches them only through a MIME body; here
// the bytes go in directly. Each must stay linear (docs/security.md): libFuzzer's -timeout
// catches super-linear inputs.
#include <cstddef>
#include <cstdint>

#include "channels/email/mail_internal.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle::email;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The charset conversion (ToUtf8, FixDecodedText) uses GMime's iconv tables; production code
  // reaches these functions only through ParseMail and FromMailgun/FromSendGrid, which initialise
  // GMime first.
  internal::EnsureGMime();
  auto in = meldestelle::fuzz::AsView(data, size);
  std::string text = internal::HtmlToText(in);
  (void)internal::StripHistoryAndSignature(text);
  (void)internal::StripHistoryAndSignature(in);
  (void)internal::Unflow(in, size % 2 == 0);
  (void)internal::FixDecodedText(in);
  return 0;
}
