// The inbound-parse webhooks' fields (POST /webhooks/mailgun, /webhooks/sendgrid): a
// multipart/form-data body (split here as cpp-httplib does) or a url-encoded one (parsed with
// twilio::ParseForm, as channels/email/routes.cpp ReadFields does), then FromMailgun and
// FromSendGrid. Also email::DecodeFields on the same bytes (the mail_event keeps the fields as
// JSON).
#include <cstddef>
#include <cstdint>

#include "channels/email/mail.hpp"
#include "channels/email/message.hpp"
#include "channels/phone/twilio.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  std::vector<email::FormField> fields;
  if (in.substr(0, 2) == "--") {
    for (auto& p : fuzz::SplitMultipart(in)) {
      fields.push_back({std::move(p.name), std::move(p.filename), std::move(p.content_type),
                        std::move(p.value)});
    }
  } else if (auto form = twilio::ParseForm(in)) {
    for (auto& [name, value] : *form) {
      fields.push_back({name, "", "", value});
    }
  }
  email::Limits limits{1 << 20, 8, 6};
  (void)email::FromMailgun(fields, limits);
  (void)email::FromSendGrid(fields, limits);
  (void)email::DecodeFields(in);
  return 0;
}
