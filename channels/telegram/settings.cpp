#include "channels/telegram/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::telegram {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "telegram", {"secret_token", "bot_token", "api_base"}))
    return;
  const YAML::Node& n = node;

  ReadSecret(rd, n, "secret_token", "telegram", "MELDESTELLE_TELEGRAM_SECRET_TOKEN",
             &out.secret_token);
  ReadSecret(rd, n, "bot_token", "telegram", "MELDESTELLE_TELEGRAM_BOT_TOKEN", &out.bot_token);
  rd.String(n, "api_base", &out.api_base, false, "telegram");
  while (!out.api_base.empty() && out.api_base.back() == '/')
    out.api_base.pop_back();
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::telegram
