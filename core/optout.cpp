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
  if (!message.empty()) {
    if (message.size() > 18 || message.find_first_not_of("0123456789") != std::string_view::npos ||
        message[0] == '0')
      return bad("malformed message");
    if (signature.size() != 32)
      return bad("malformed signature");
    std::string ch(channel), m(message);
    if (!VerifyLinkOrLegacy(config, KeyPurpose::kOptOutLinks, "optout", ch + ":#" + m, 0,
                            std::string(signature), 0))
      return bad("wrong signature");
    return OptOutRequest{ch, std::stoll(m), ""};
  }
  if (address.size() > 254 || !IsValidUtf8(address) || address.find('@') == std::string_view::npos)
    return bad("malformed address");
  for (unsigned char c : address) {
    if (c < 0x21 || c == 0x7f)
      return bad("malformed address");
  }
  if (signature.size() != 32)
    return bad("malformed signature");
  std::string ch(channel), addr(address);
  if (!VerifyLinkOrLegacy(config, KeyPurpose::kOptOutLinks, "optout", ch + ":" + addr, 0,
                          std::string(signature), 0))
    return bad("wrong signature");
  return OptOutRequest{ch, 0, addr};
}

}  // namespace meldestelle
