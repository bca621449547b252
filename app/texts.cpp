// `meldestelle texts check|show`: the citizens' texts (core/texts.hpp, docs/languages.md). A town
// edits them in a folder of its own (texts.dir); `check` says before a restart whether the
// folder is good, `show` prints a language's texts to start from.
#include "core/texts.hpp"

#include <iostream>

#include "app/command.hpp"
#include "core/config.hpp"

namespace meldestelle::app {

namespace {

const char* kTextsHelp =
    R"help(Usage: meldestelle texts check [DIR] [--config FILE]
       meldestelle texts show LANGUAGE [--config FILE]

The texts citizens read (the form, the status page, the list of reports, acknowledgements and
status notices on every channel) come from catalogues, one per language: de, en, tr, ar, uk, ru
and de-x-ls (Leichte Sprache). They are built in; a town changes any of them with a folder of
its own, named by texts.dir in the configuration, holding <language>.yaml files with only the
keys it changes (docs/languages.md).

  check [DIR]      checks the folder (default: the configuration's texts.dir): every file is a
                   language of ours, YAML, a mapping of texts whose keys German has, with no
                   placeholder the German text lacks; then that every language has every text.
  show LANGUAGE    prints every key of the language with its text (as in effect with the
                   configuration's folder), one per line: key, a tab, the text (\n for a line
                   break). A key the language lacks shows the German text, marked "(de)".

Exit codes: 0 good, 1 problems found, 2 usage or configuration error.
)help";

std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

int RunTexts(const Args& args) {
  if (args.help) {
    std::cout << kTextsHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kTextsHelp, "texts"))
    return kExitUsage;
  const std::string action = args.positional.empty() ? "" : args.positional[0];
  const bool check = action == "check" && args.positional.size() <= 2;
  const bool show = action == "show" && args.positional.size() == 2;
  if (!check && !show) {
    std::cerr << "meldestelle texts: expected check [DIR] | show LANGUAGE\n\n" << kTextsHelp;
    return kExitUsage;
  }
  if (check && args.positional.size() == 2) {
    auto folder = texts::Catalogue::WithFolder(args.positional[1]);
    if (!folder) {
      std::cout << folder.error().message << "\n";
      return kExitFailure;
    }
    auto problems = (*folder)->Problems();
    for (const auto& p : problems)
      std::cout << p << "\n";
    if (problems.empty())
      std::cout << args.positional[1] << ": good (" << (*folder)->Keys().size()
                << " texts in each of " << texts::Languages().size() << " languages)\n";
    return problems.empty() ? kExitOk : kExitFailure;
  }
  // The configuration's folder (a broken one is reported by loading the configuration).
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return check ? kExitFailure : kExitUsage;
  auto catalogue = texts::Of(*cfg);
  if (check) {
    auto problems = catalogue->Problems();
    for (const auto& p : problems)
      std::cout << p << "\n";
    if (problems.empty())
      std::cout << "good (" << catalogue->Keys().size() << " texts in each of "
                << texts::Languages().size() << " languages"
                << (cfg->texts ? ", with the town's folder" : ", built in") << ")\n";
    return problems.empty() ? kExitOk : kExitFailure;
  }
  const std::string& language = args.positional[1];
  if (!texts::IsLanguage(language)) {
    std::cerr << "meldestelle texts show: no such language \"" << language << "\" (one of";
    for (const auto& l : texts::Languages())
      std::cerr << " " << l;
    std::cerr << ")\n";
    return kExitUsage;
  }
  for (const auto& key : catalogue->Keys()) {
    std::cout << key << "\t" << OneLine(catalogue->Get(language, key))
              << (catalogue->Has(language, key) ? "" : "\t(de)") << "\n";
  }
  return kExitOk;
}

}  // namespace meldestelle::app
