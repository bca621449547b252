#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/result.hpp"

// Citizens' opt-out from status notifications by e-mail link (docs/departments.md, "Citizens"):
// {gateway.public_base_url}/abmelden?c=email&m=<message>&s=<signature>, where the message is the
// outbox row the link was sent in (its address is looked up there, so the link carries none:
// docs/datenschutz.md) and the signature SignLink(PurposeKey(config, KeyPurpose::kOptOutLinks),
// "optout", "email:#" + message, 0). Links sent before name the address (a=<address>, signed
// over "email:" + address) and are still accepted. Pure.
namespace meldestelle {

// The opt-out link of the message `message_id` (its outbox row) on `channel` ("email").
std::string OptOutUrl(const Config& config, const std::string& channel, int64_t message_id);

struct OptOutRequest {
  std::string channel;
  int64_t message_id = 0;  // the message the link came in; 0 for a link naming the address
  std::string address;     // only in links sent before they carried the message
};
// Checks the fields of an opt-out link as the gateway received them (query or form): the
// message `m`, or for an old link the address `a`. Errors (code "optout_invalid") carry a German
// message for the citizen: missing or malformed fields, an unknown channel, a wrong signature.
Result<OptOutRequest> CheckOptOutLink(const Config& config, std::string_view channel,
                                      std::string_view message, std::string_view address,
                                      std::string_view signature);

}  // namespace meldestelle
