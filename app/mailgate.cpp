// `meldestelle mailgate`: one e-mail from the mail server's pipe to the gateway.
#include <iostream>

#include "app/command.hpp"
#include "channels/email/poll.hpp"
#include "channels/email/settings.hpp"
#include "core/log.hpp"

namespace meldestelle::app {

namespace {

const char* kMailgateHelp =
    R"(Usage: meldestelle mailgate [--config FILE] [--url GATEWAY_URL] < message

Reads one RFC 5322 message from stdin and hands it to the gateway (POST /api/v1/mail with the
bearer secret email.intake_secret). Meant to be piped into by the town's mail server, e.g. a
Postfix transport (docs/channels/email.md). GATEWAY_URL defaults to the configured gateway
address. Exit codes as sendmail/Postfix expect them:
  0   accepted (the reference is printed)
  65  refused for good (too large, nested too deep, not a message): the MTA bounces it
      with the reason printed on stderr
  75  temporary failure (gateway or broker unavailable): the MTA keeps it and retries
)";

}  // namespace

int RunMailgate(const Args& args) {
  constexpr int kExDataErr = 65, kExTempFail = 75;
  if (args.help) {
    std::cout << kMailgateHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kMailgateHelp, "mailgate"))
    return kExitUsage;
  log::SetComponent("mailgate");
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExTempFail;  // a broken config must not bounce citizens' mail
  const auto& mail = cfg->Get<email::Settings>();
  if (mail.intake_secret.empty()) {
    std::cerr << "meldestelle mailgate: email.intake_secret is not set (MELDESTELLE_MAIL_SECRET)\n";
    return kExTempFail;
  }
  std::string raw;
  char buf[65536];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    raw.append(buf, static_cast<size_t>(std::cin.gcount()));
    if (static_cast<int64_t>(raw.size()) > mail.max_message_bytes) {
      std::cerr << "meldestelle mailgate: message larger than " << mail.max_message_bytes
                << " bytes; refused\n";
      return kExDataErr;
    }
  }
  auto h = email::HandToGateway(GatewayUrl(*cfg, args), mail.intake_secret, "mailgate", raw);
  switch (h.delivery) {
    case email::Delivery::kAccepted:
      std::cout << h.detail << "\n";
      return kExitOk;
    case email::Delivery::kRefused:
      std::cerr << "meldestelle mailgate: refused: " << h.detail << "\n";
      return kExDataErr;
    case email::Delivery::kTemporary:
      break;
  }
  std::cerr << "meldestelle mailgate: try again later: " << h.detail << "\n";
  return kExTempFail;
}

}  // namespace meldestelle::app
