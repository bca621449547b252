#include "channels/whatsapp/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::whatsapp {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node ||
      !rd.ExpectMap(node, "whatsapp",
                    {"app_secret", "verify_token", "access_token", "api_base", "template"}))
    return;
  const YAML::Node& n = node;

  ReadSecret(rd, n, "app_secret", "whatsapp", "MELDESTELLE_WHATSAPP_APP_SECRET", &out.app_secret);
  ReadSecret(rd, n, "verify_token", "whatsapp", "MELDESTELLE_WHATSAPP_VERIFY_TOKEN",
             &out.verify_token);
  const size_t errors_before = rd.errors().size();
  ReadSecret(rd, n, "access_token", "whatsapp", "MELDESTELLE_WHATSAPP_ACCESS_TOKEN",
             &out.access_token);
  const bool token_read = rd.errors().size() == errors_before;  // else that error says it
  // On (its app secret set) without the token, no photo could be fetched and no message
  // answered: citizens would write into a chat that never replies, their acknowledgements and
  // questions waiting unsent (docs/operations.md, "Acknowledgements").
  if (token_read && !out.app_secret.empty() && out.access_token.empty()) {
    rd.Fail(n["access_token"] ? n["access_token"] : n, "whatsapp.access_token",
            "must be set when whatsapp.app_secret is (MELDESTELLE_WHATSAPP_ACCESS_TOKEN): "
            "without it no photo is fetched and no message answered");
  }
  rd.String(n, "api_base", &out.api_base, false, "whatsapp");
  if (auto t = n["template"]; t && rd.ExpectMap(t, "whatsapp.template", {"name", "language"})) {
    rd.String(t, "name", &out.template_name, true, "whatsapp.template");
    rd.String(t, "language", &out.template_language, true, "whatsapp.template");
  }
  while (!out.api_base.empty() && out.api_base.back() == '/')
    out.api_base.pop_back();
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::whatsapp
