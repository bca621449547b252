#include "core/texts.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/texts_builtin.hpp"

namespace meldestelle::texts {
namespace {

// Flattens a nested mapping of strings into "a.b.c" keys; records what is not one.
void Flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin,
             std::map<std::string, std::string, std::less<>>& out,
             std::vector<std::string>& errors) {
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>("");
    std::string full = prefix.empty() ? key : prefix + "." + key;
    const int line = kv.second.Mark().line + 1;
    if (key.empty() || key.find('.') != std::string::npos) {
      errors.push_back(origin + ":" + std::to_string(line) + ": " + full +
                       ": a key is a word without dots (nest the mapping instead)");
    } else if (kv.second.IsMap()) {
      Flatten(kv.second, full, origin, out, errors);
    } else if (kv.second.IsScalar()) {
      if (!out.emplace(full, kv.second.Scalar()).second)
        errors.push_back(origin + ":" + std::to_string(line) + ": " + full + ": given twice");
    } else {
      errors.push_back(origin + ":" + std::to_string(line) + ": " + full +
                       ": must be a text (or a mapping of texts)");
    }
  }
}

std::string Joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

const std::vector<std::string>& Languages() {
  static const std::vector<std::string> kAll = {"de", "en", "tr", "ar", "uk", "ru", "de-x-ls"};
  return kAll;
}

bool IsLanguage(std::string_view code) {
  const auto& all = Languages();
  return std::find(all.begin(), all.end(), code) != all.end();
}

std::vector<std::string> Placeholders(std::string_view text) {
  std::set<std::string> names;
  size_t i = 0;
  while ((i = text.find('{', i)) != std::string_view::npos) {
    size_t close = text.find('}', i);
    if (close == std::string_view::npos)
      break;
    std::string_view name = text.substr(i + 1, close - i - 1);
    bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || c == '_';
    });
    if (word)
      names.emplace(name);
    i = word ? close + 1 : i + 1;
  }
  return {names.begin(), names.end()};
}

std::string FillWith(std::string_view text,
                     const std::function<const std::string*(std::string_view)>& value_of) {
  std::string out;
  out.reserve(text.size() + 32);
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    if (open == std::string_view::npos)
      break;
    out.append(text.substr(i, open - i));
    size_t close = text.find('}', open);
    const std::string* value = close == std::string_view::npos
                                   ? nullptr
                                   : value_of(text.substr(open + 1, close - open - 1));
    if (value != nullptr) {
      out += *value;
      i = close + 1;
    } else {
      out += '{';
      i = open + 1;
    }
  }
  if (i < text.size())
    out.append(text.substr(i));
  return out;
}

std::string Fill(std::string_view text,
                 std::initializer_list<std::pair<std::string_view, std::string>> values) {
  return FillWith(text, [&values](std::string_view name) -> const std::string* {
    for (const auto& [k, v] : values) {
      if (k == name)
        return &v;
    }
    return nullptr;
  });
}

std::shared_ptr<const Catalogue> Catalogue::Builtin() {
  static const std::shared_ptr<const Catalogue> kBuiltin = [] {
    auto c = std::make_shared<Catalogue>();
    // German first: the others are checked against it.
    std::vector<const Asset*> files;
    for (const Asset& a : AllAssets())
      files.push_back(&a);
    std::stable_sort(files.begin(), files.end(), [](const Asset* a, const Asset* b) {
      return (a->path == "texts/de.yaml") > (b->path == "texts/de.yaml");
    });
    for (const Asset* a : files) {
      std::string name(a->path.substr(a->path.rfind('/') + 1));
      std::string language = name.substr(0, name.size() - 5);  // ".yaml"
      auto st = c->Add(language, std::string(a->body), "config/texts/" + name, false);
      if (!st) {
        // Checked by the tests (tests/core/texts_test.cpp); a broken build is a bug.
        std::fprintf(stderr, "meldestelle: built-in texts: %s\n", st.error().message.c_str());
        std::abort();
      }
    }
    return std::shared_ptr<const Catalogue>(std::move(c));
  }();
  return kBuiltin;
}

Status Catalogue::Add(std::string_view language, const std::string& yaml_text,
                      const std::string& origin, bool check_against_german) {
  if (!IsLanguage(language)) {
    return MakeError(errors::kConfigInvalid,
                     origin + ": no such language \"" + std::string(language) +
                         "\" (the files are named " + Joined(Languages()) + " with .yaml)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return MakeError(errors::kConfigInvalid,
                     origin + ":" + std::to_string(e.mark.line + 1) + ": broken YAML: " + e.msg);
  }
  if (root.IsNull())
    return Ok{};
  if (!root.IsMap()) {
    return MakeError(errors::kConfigInvalid, origin + ":" + std::to_string(root.Mark().line + 1) +
                                                 ": must be a mapping of keys to texts");
  }
  std::map<std::string, std::string, std::less<>> flat;
  std::vector<std::string> problems;
  Flatten(root, "", origin, flat, problems);
  if (check_against_german) {
    const auto& german = texts_[std::string("de")];
    for (const auto& [key, text] : flat) {
      auto g = german.find(key);
      if (g == german.end()) {
        problems.push_back(origin + ": " + key + ": no such text (see config/texts/de.yaml)");
        continue;
      }
      std::vector<std::string> allowed = Placeholders(g->second);
      for (const auto& p : Placeholders(text)) {
        if (std::find(allowed.begin(), allowed.end(), p) == allowed.end()) {
          problems.push_back(origin + ": " + key + ": unknown placeholder {" + p + "}" +
                             (allowed.empty() ? std::string(" (this text has none)")
                                              : " (allowed: {" + Joined(allowed) + "})"));
        }
      }
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return MakeError(errors::kConfigInvalid, message);
  }
  auto& target = texts_[std::string(language)];
  for (auto& [key, text] : flat)
    target[key] = std::move(text);
  return Ok{};
}

Result<std::shared_ptr<const Catalogue>> Catalogue::WithFolder(const std::string& dir) {
  namespace fs = std::filesystem;
  auto c = std::make_shared<Catalogue>(*Builtin());
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return MakeError(errors::kConfigInvalid, dir + ": no such folder of texts");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string message;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      message += (message.empty() ? "" : "\n") + path.string() + ": cannot be read";
      continue;
    }
    auto st = c->Add(path.stem().string(), text.str(), path.string(), true);
    if (!st)
      message += (message.empty() ? "" : "\n") + st.error().message;
  }
  if (!message.empty())
    return MakeError(errors::kConfigInvalid, message);
  return std::shared_ptr<const Catalogue>(std::move(c));
}

const std::string& Catalogue::Get(std::string_view language, std::string_view key) const {
  if (auto l = texts_.find(language); l != texts_.end()) {
    if (auto t = l->second.find(key); t != l->second.end())
      return t->second;
  }
  // Leichte Sprache falls back to German like every other language.
  if (auto de = texts_.find(std::string_view("de")); de != texts_.end()) {
    if (auto t = de->second.find(key); t != de->second.end())
      return t->second;
  }
  static thread_local std::string missing;
  missing = std::string(key);
  return missing;
}

bool Catalogue::Has(std::string_view language, std::string_view key) const {
  auto l = texts_.find(language);
  return l != texts_.end() && l->second.count(key) > 0;
}

std::vector<std::string> Catalogue::Keys() const {
  std::vector<std::string> keys;
  if (auto de = texts_.find(std::string_view("de")); de != texts_.end()) {
    for (const auto& [k, v] : de->second)
      keys.push_back(k);
  }
  return keys;
}

std::vector<std::string> Catalogue::Problems() const {
  std::vector<std::string> problems;
  auto de = texts_.find(std::string_view("de"));
  if (de == texts_.end())
    return {"no German catalogue (de.yaml)"};
  for (const auto& language : Languages()) {
    if (language == "de")
      continue;
    auto l = texts_.find(language);
    if (l == texts_.end()) {
      problems.push_back(language + ": no catalogue");
      continue;
    }
    for (const auto& [key, german] : de->second) {
      auto t = l->second.find(key);
      if (t == l->second.end()) {
        problems.push_back(language + ": " + key + ": missing");
      } else if (Placeholders(t->second) != Placeholders(german)) {
        problems.push_back(language + ": " + key + ": placeholders {" +
                           Joined(Placeholders(t->second)) + "} differ from German's {" +
                           Joined(Placeholders(german)) + "}");
      } else if (TrimAscii(t->second).empty() && !TrimAscii(german).empty()) {
        problems.push_back(language + ": " + key + ": empty");
      }
    }
    for (const auto& [key, text] : l->second) {
      if (!de->second.count(key))
        problems.push_back(language + ": " + key + ": not in the German catalogue");
    }
  }
  return problems;
}

Lang::Lang() : Lang(Catalogue::Builtin(), "de") {}

Lang::Lang(std::shared_ptr<const Catalogue> catalogue, std::string code)
    : catalogue_(catalogue ? std::move(catalogue) : Catalogue::Builtin()),
      code_(IsLanguage(code) ? std::move(code) : "de") {}

std::string_view Lang::dir() const { return code_ == "ar" ? "rtl" : "ltr"; }

std::string Lang::operator()(
    std::string_view key,
    std::initializer_list<std::pair<std::string_view, std::string>> values) const {
  return Fill(catalogue_->Get(code_, key), values);
}

std::string Lang::Query(char separator) const {
  return code_ == "de" ? std::string() : std::string(1, separator) + "lang=" + code_;
}

std::shared_ptr<const Catalogue> Of(const Config& config) {
  return config.texts ? config.texts : Catalogue::Builtin();
}

Lang For(const Config& config, std::string_view language) {
  std::string code = Normalise(language);
  return Lang(Of(config), code.empty() ? "de" : std::move(code));
}

std::string Normalise(std::string_view code) {
  std::string c = AsciiLower(TrimAscii(code));
  std::replace(c.begin(), c.end(), '_', '-');
  if (c == "de-x-ls" || c == "de-x-leichte-sprache" || c == "ls")
    return "de-x-ls";
  std::string primary = c.substr(0, c.find('-'));
  if (primary == "de" || primary == "en" || primary == "tr" || primary == "ar" || primary == "uk" ||
      primary == "ru")
    return primary;
  return "";
}

std::string LanguageOfText(std::string_view text) {
  int arabic = 0, cyrillic = 0, ukrainian = 0, turkish = 0, cedilla = 0, german = 0, latin = 0;
  for (char32_t c : Utf8CodePoints(text)) {
    if ((c >= 0x600 && c <= 0x6FF) || (c >= 0x750 && c <= 0x77F) || (c >= 0xFB50 && c <= 0xFEFF))
      ++arabic;
    else if (c >= 0x400 && c <= 0x4FF)
      ++cyrillic;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0x17F))
      ++latin;
    // і ї є ґ (and capitals): Ukrainian's own letters.
    if (c == 0x456 || c == 0x457 || c == 0x454 || c == 0x491 || c == 0x406 || c == 0x407 ||
        c == 0x404 || c == 0x490)
      ++ukrainian;
    // ğ ş ı İ Ğ Ş: Turkish's own; ç Ç in a text without ä or ß.
    if (c == 0x11F || c == 0x15F || c == 0x131 || c == 0x130 || c == 0x11E || c == 0x15E)
      ++turkish;
    if (c == 0xE7 || c == 0xC7)
      ++cedilla;
    if (c == 0xE4 || c == 0xC4 || c == 0xDF)
      ++german;
  }
  // A few letters of another script in a German text (a name) do not decide.
  if (arabic >= 2 && arabic * 2 >= latin)
    return "ar";
  if (cyrillic >= 2 && cyrillic * 2 >= latin)
    return ukrainian > 0 ? "uk" : "ru";
  // Not with ä or ß: a German text that names "Ayşe Yılmaz" stays German.
  if ((turkish > 0 || cedilla > 0) && german == 0 && latin >= 2)
    return "tr";
  return "";
}

std::string Choose(std::string_view chosen, std::string_view accept_language) {
  if (std::string c = Normalise(chosen); !c.empty())
    return c;
  std::string best = "de";
  double best_q = -1;
  size_t start = 0;
  while (start <= accept_language.size()) {
    size_t end = accept_language.find(',', start);
    if (end == std::string_view::npos)
      end = accept_language.size();
    std::string_view item = accept_language.substr(start, end - start);
    start = end + 1;
    size_t semi = item.find(';');
    std::string tag(TrimAscii(item.substr(0, semi)));
    // The weight: the parameter q (any case), 0 to 1; a malformed one counts as 0.
    double q = 1;
    for (size_t p = semi; p != std::string_view::npos;) {
      size_t next = item.find(';', p + 1);
      std::string param = AsciiLower(TrimAscii(item.substr(
          p + 1, next == std::string_view::npos ? std::string_view::npos : next - p - 1)));
      if (param.rfind("q=", 0) == 0) {
        char* parsed_to = nullptr;
        q = std::strtod(param.c_str() + 2, &parsed_to);
        if (parsed_to == param.c_str() + 2 || *parsed_to != '\0' || !(q >= 0 && q <= 1))
          q = 0;
      }
      p = next;
    }
    std::string ours = Normalise(tag);
    if (!ours.empty() && q > 0 && q > best_q) {
      best = ours;
      best_q = q;
    }
  }
  return best;
}

}  // namespace meldestelle::texts
