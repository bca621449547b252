#pragma once

// What citizens read, in their language (docs/languages.md): the catalogues
// config/texts/<language>.yaml, built into the binary, one key per text ("status.ort":
// "Ort"), `{name}` for what is filled in. A town edits the texts without building anything:
// `texts.dir` in the configuration names a folder of its own <language>.yaml files, whose
// keys replace the built-in ones (checked when the configuration is loaded; `meldestelle texts
// check` checks a folder before it is used).
//
// Languages: de (German, complete by definition: every other catalogue is checked against
// it), en, tr, ar (right to left), uk, ru and de-x-ls (Leichte Sprache, the private-use tag of
// BCP 47 that towns use for it). A key a catalogue lacks falls back to German.

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {
struct Config;
}

namespace meldestelle::texts {

// The languages in the order of the language switch; "de" first.
const std::vector<std::string>& Languages();
bool IsLanguage(std::string_view code);

class Catalogue {
 public:
  // The catalogues built into the binary.
  static std::shared_ptr<const Catalogue> Builtin();
  // The built-in catalogues with the <language>.yaml files in `dir` over them. Errors name the
  // file and line: an unknown file, a key the German catalogue lacks, a placeholder the German
  // text has not, YAML that is broken or not a mapping of strings.
  static Result<std::shared_ptr<const Catalogue>> WithFolder(const std::string& dir);

  // Adds the keys of one catalogue's YAML text (a nested mapping; keys are joined with dots).
  // `origin` names the text in errors.
  Status Add(std::string_view language, const std::string& yaml_text, const std::string& origin,
             bool check_against_german);

  // The text (German if the language lacks it; the key itself if German does too).
  const std::string& Get(std::string_view language, std::string_view key) const;
  bool Has(std::string_view language, std::string_view key) const;
  // Every key of the German catalogue.
  std::vector<std::string> Keys() const;

  // What is wrong with the catalogues as a whole: keys of German another language lacks or
  // has in excess, placeholders that differ. Empty = complete.
  std::vector<std::string> Problems() const;

 private:
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> texts_;
};

// The placeholders ("{reference}" -> "reference") of a text, sorted, each once.
std::vector<std::string> Placeholders(std::string_view text);

// A language's view of the catalogues: t("status.ort"), t("status.nummer", {{"nummer", n}}).
class Lang {
 public:
  Lang();  // the built-in catalogues, German
  Lang(std::shared_ptr<const Catalogue> catalogue, std::string code);
  const std::string& code() const { return code_; }
  // "rtl" for Arabic, else "ltr".
  std::string_view dir() const;
  const std::string& operator()(std::string_view key) const { return catalogue_->Get(code_, key); }
  std::string operator()(
      std::string_view key,
      std::initializer_list<std::pair<std::string_view, std::string>> values) const;
  // "?lang=xx" for every language but German (the default), for links that keep the choice.
  std::string Query(char separator = '?') const;
  const Catalogue& catalogue() const { return *catalogue_; }
  const std::shared_ptr<const Catalogue>& catalogue_ptr() const { return catalogue_; }

 private:
  std::shared_ptr<const Catalogue> catalogue_;
  std::string code_;
};

// {name} replaced by the value, in one pass (a value is never searched again); unknown names
// stay as they are.
std::string Fill(std::string_view text,
                 std::initializer_list<std::pair<std::string_view, std::string>> values);
// The same with the value of a name from `value_of` (nullptr: unknown).
std::string FillWith(std::string_view text,
                     const std::function<const std::string*(std::string_view)>& value_of);

// The catalogues of a configuration (the built-in ones if it names no folder).
std::shared_ptr<const Catalogue> Of(const Config& config);
Lang For(const Config& config, std::string_view language);

// A language code as given (a form field, a provider's code, "en-US", "de_DE") to one of ours,
// or "" when it is none of them.
std::string Normalise(std::string_view code);
// The page's language: `chosen` (?lang= or the form's field) if it is ours, else the best of
// ours in Accept-Language (RFC 9110, 12.5.4: by weight, then order; "*" and q=0 ignored),
// else German.
std::string Choose(std::string_view chosen, std::string_view accept_language);

// The language a text's letters tell, or "" (Latin letters without Turkish ones, digits, …):
// Arabic script; Cyrillic (Ukrainian by its own letters і ї є ґ, else Russian); Latin with
// ğ ş ı İ or ç, and without ä or ß, Turkish. Another script counts when its letters are at least
// half of the Latin ones (a name in a German text does not).
std::string LanguageOfText(std::string_view text);

}  // namespace meldestelle::texts
