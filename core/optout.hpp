#pragma once

#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/result.hpp"

// Citizens' opt-out from status notifications by e-mail link (docs/departments.md, "Citizens"):
// {gateway.public_base_url}/abmelden?c=email&a=<address>&s=<signature>, the signature being
// SignLink(PurposeKey(config, KeyPurpose::kOptOutLinks), "optout", "email:" + address, 0). Pure.
namespace meldestelle {

// The opt-out link for `address` on `channel` ("email").
std::string OptOutUrl(const Config& config, const std::string& channel, const std::string& address);

struct OptOutRequest {
  std::string channel;
  std::string address;
};
// Checks the fields of an opt-out link as the gateway received them (query or form). Errors
// (code "optout_invalid") carry a German message for the citizen: missing or malformed fields,
// an unknown channel, a wrong signature.
Result<OptOutRequest> CheckOptOutLink(const Config& config, std::string_view channel,
                                      std::string_view address, std::string_view signature);

}  // namespace meldestelle
