#include "core/optout.hpp"

#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/text.hpp"

namespace meldestelle {

std::string OptOutUrl(const Config& config, const std::string& channel, int64_t message_id) {
  const std::string m = std::to_string(message_id);
  return config.gateway.public_base_url + "/abmelden?c=" + PercentEncode(channel) + "&m=" + m +
         "&s=" +
         SignLink(PurposeKey(config, KeyPurpose::kOptOutLinks), "optout", channel + ":#" + m, 0);
}

Result<OptOutRequest> CheckOptOutLink(const Config& config, std::string_view channel,
                                      std::string_view message, std::string_view address,
                                      std::string_view signature) {
  auto bad = [](std::string detail) {
    return MakeError(errors::kOptoutInvalid,
                     "Dieser Abmeldelink ist ungültig oder unvollständig. Bitte verwenden Sie den "
                     "vollständigen Link aus unserer E-Mail.",
                     std::move(detail));
  };
  if (channel.empty() || (address.empty() && message.empty()) || signature.empty())
    return bad("c, m (or a) and s are required");
  if (channel != "email")
    return bad("unknown channel");
  // What the signature covers: the message ("email:#4711"), or in a link sent before, the address.
  OptOutRequest out{std::string(channel), 0, ""};
  std::string subject;
  if (!message.empty()) {
    if (message.size() > 18 || message.find_first_not_of("0123456789") != std::string_view::npos ||
        message[0] == '0')
      return bad("malformed message");
    out.message_id = std::stoll(std::string(message));
    subject = out.channel + ":#" + std::string(message);
  } else {
    if (address.size() > 254 || !IsValidUtf8(address) ||
        address.find('@') == std::string_view::npos)
      return bad("malformed address");
    for (unsigned char c : address) {
      if (c < 0x21 || c == 0x7f)
        return bad("malformed address");
    }
    out.address = std::string(address);
    subject = out.channel + ":" + out.address;
  }
  if (signature.size() != 32)
    return bad("malformed signature");
  if (!VerifyLinkOrLegacy(config, KeyPurpose::kOptOutLinks, "optout", subject, 0,
                          std::string(signature), 0))
    return bad("wrong signature");
  return out;
}

}  // namespace meldestelle
