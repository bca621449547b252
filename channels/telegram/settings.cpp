#include "channels/telegram/settings.hpp"

#include "core/config_section.hpp"

namespace meldestelle::telegram {

void Settings::Read(YamlReader& rd, const YAML::Node& node, Config&, Settings& out) {
  if (!node || !rd.ExpectMap(node, "telegram", {"secret_token", "bot_token", "api_base"}))
    return;
  const YAML::Node& n = node;

  ReadSecret(rd, n, "secret_token", "telegram", "MELDESTELLE_TELEGRAM_SECRET_TOKEN",
             &out.secret_token);
  const size_t errors_before = rd.errors().size();
  ReadSecret(rd, n, "bot_token", "telegram", "MELDESTELLE_TELEGRAM_BOT_TOKEN", &out.bot_token);
  const bool token_read = rd.errors().size() == errors_before;  // else that error says it
  // On (its webhook secret set) without the bot's token: as for WhatsApp, a chat that never
  // replies.
  if (token_read && !out.secret_token.empty() && out.bot_token.empty()) {
    rd.Fail(n["bot_token"] ? n["bot_token"] : n, "telegram.bot_token",
            "must be set when telegram.secret_token is (MELDESTELLE_TELEGRAM_BOT_TOKEN): "
            "without it no photo is fetched and no message answered");
  }
  rd.String(n, "api_base", &out.api_base, false, "telegram");
  while (!out.api_base.empty() && out.api_base.back() == '/')
    out.api_base.pop_back();
}

ConfigSections Sections() { return {SectionOf<Settings>()}; }

}  // namespace meldestelle::telegram
