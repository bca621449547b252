#include "channels/email/settings.hpp"

#include "core/config_section.hpp"
#include "core/smtp_client.hpp"
#include "core/text.hpp"

namespace meldestelle::email {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "email",
                             {"smtp_url", "smtp_user", "smtp_password", "smtp_timeout_seconds",
                              "from", "from_name", "templates", "intake_secret", "imap_url",
                              "imap_user", "imap_password", "imap_interval_seconds",
                              "mailgun_signing_key", "sendgrid_secret", "form_senders",
                              "max_message_bytes", "max_attachments", "max_depth"}))
    return;
  const YAML::Node& n = node;

  rd.String(n, "smtp_url", &out.smtp_url, false, "email");
  rd.String(n, "smtp_user", &out.smtp_user, false, "email");
  ReadSecret(rd, n, "smtp_password", "email", "MELDESTELLE_SMTP_PASSWORD", &out.smtp_password);
  rd.Int(n, "smtp_timeout_seconds", &out.smtp_timeout_seconds, 1, 600, "email");
  rd.String(n, "from", &out.from, false, "email");
  rd.String(n, "from_name", &out.from_name, false, "email");
  ReadSecret(rd, n, "intake_secret", "email", "MELDESTELLE_MAIL_SECRET", &out.intake_secret);
  rd.String(n, "imap_url", &out.imap_url, false, "email");
  rd.String(n, "imap_user", &out.imap_user, false, "email");
  ReadSecret(rd, n, "imap_password", "email", "MELDESTELLE_IMAP_PASSWORD", &out.imap_password);
  rd.Int(n, "imap_interval_seconds", &out.imap_interval_seconds, 1, 86400, "email");
  ReadSecret(rd, n, "mailgun_signing_key", "email", "MELDESTELLE_MAILGUN_SIGNING_KEY",
             &out.mailgun_signing_key);
  ReadSecret(rd, n, "sendgrid_secret", "email", "MELDESTELLE_SENDGRID_SECRET",
             &out.sendgrid_secret);
  rd.StringList(n, "form_senders", &out.form_senders, "email");
  for (auto& a : out.form_senders) {
    a = AsciiLower(a);
    if (!IsRecipientAddress(a))
      rd.Fail(n["form_senders"], "email.form_senders", "\"" + a + "\" is no e-mail address");
  }
  rd.Int(n, "max_message_bytes", &out.max_message_bytes, 1024, int64_t{1} << 31, "email");
  rd.Int(n, "max_attachments", &out.max_attachments, 0, 1000, "email");
  rd.Int(n, "max_depth", &out.max_depth, 1, 100, "email");
  if (auto f = n["from"]; f && out.from.find('@') == std::string::npos) {
    rd.Fail(f, "email.from", "must be an e-mail address");
  }
  if (auto t = n["templates"];
      t && rd.ExpectMap(t, "email.templates", {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"})) {
    for (const char* lang : {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"}) {
      auto l = t[lang];
      std::string path = std::string("email.templates.") + lang;
      if (!l || !rd.ExpectMap(l, path, {"subject", "body"}))
        continue;
      rd.String(l, "subject", &out.ack_templates[lang].subject, true, path);
      rd.String(l, "body", &out.ack_templates[lang].body, true, path);
    }
  }
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::email
