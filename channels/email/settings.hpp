#pragma once

// The e-mail channel's settings (docs/configuration.md, `email:`): the intake and the SMTP relay
// every mail of ours goes out through.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::email {

// Sending e-mail (docs/channels/email.md): acknowledgements to citizens who left an address
// and forwards to other authorities. Off (rows wait in the outbox) while smtp_url is empty.
struct Settings {
  static constexpr std::string_view kKey = "email";
  static constexpr bool kRequired = false;

  std::string smtp_url;
  std::string smtp_user;
  std::string smtp_password;
  // One message through the relay, the whole exchange; a final reply later than this leaves the
  // mail unconfirmed (tried again, under the same Message-ID). Department deliveries use
  // tickets.delivery_timeout_seconds.
  int smtp_timeout_seconds = 30;
  std::string from = "maengel@musterstadt.example";
  std::string from_name = "Meldestelle";
  struct Template {
    std::string subject;
    std::string body;
  };
  // Acknowledgement per language; placeholders {reference}, {department}, {town}, {status_url}.
  // The acknowledgement letter per language; unset: the catalogue's (core/texts.hpp,
  // "nachricht.email.betreff_eingang" and "nachricht.email.eingang").
  std::map<std::string, Template> ack_templates;
  bool enabled() const { return !smtp_url.empty(); }
  // Receiving (docs/channels/email.md): POST /api/v1/mail (mailgate, IMAP poller) needs this
  // bearer secret; empty = off.
  std::string intake_secret;
  std::string imap_url;  // imap://host:port/INBOX; empty = no polling
  std::string imap_user, imap_password;
  int imap_interval_seconds = 30;
  std::string mailgun_signing_key;  // /webhooks/mailgun; empty = off
  std::string sendgrid_secret;  // /webhooks/sendgrid?key=… or Basic auth password; empty = off
  // The town's own web forms that mail a citizen's report to the inbox (docs/channels/email.md,
  // "Web forms"): the From is the form's (often noreply@), the citizen is the Reply-To. Mails
  // from these addresses (and from `from`) with one usable Reply-To are the citizen's: answered
  // there, and the form's address makes no robot. Lower case.
  std::vector<std::string> form_senders;
  int64_t max_message_bytes = 30 * 1024 * 1024;
  int max_attachments = 20;
  int max_depth = 10;

  static void Read(YamlReader& rd, const YAML::Node& node, Config& config, Settings& out);
};

// The sections above, in the order they are read.
ConfigSections Sections();

}  // namespace meldestelle::email
