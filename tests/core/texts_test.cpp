#include "core/texts.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.hpp"

// The citizens' catalogues (config/texts/*.yaml, core/texts.hpp): complete in every language, a
// town's folder over them checked, the page's language chosen.
namespace texts_test {

using namespace meldestelle;
using texts::Catalogue;
using texts::Lang;

namespace {

std::string Joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list)
    out += s + "\n";
  return out;
}

// A fresh folder under the build's temporary directory.
std::filesystem::path Folder(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("meldestelle-texts-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void Write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("every language's catalogue has every German key with the same placeholders") {
  // The built-in catalogues are the files in config/texts: what a town edits.
  auto builtin = Catalogue::Builtin();
  INFO(Joined(builtin->Problems()));
  CHECK(builtin->Problems().empty());
  REQUIRE(builtin->Keys().size() > 150);
  for (const auto& language : texts::Languages()) {
    INFO(language);
    for (const auto& key : builtin->Keys()) {
      INFO(key);
      CHECK(builtin->Has(language, key));
    }
    // Each language names itself in the switch, in its own words.
    CHECK((language == "de" ||
           builtin->Get(language, "sprache.name") != builtin->Get("de", "sprache.name")));
  }
  // The files in the source tree are what is built in.
  for (const auto& language : texts::Languages()) {
    std::ifstream in(std::string(MELDESTELLE_SOURCE_DIR) + "/config/texts/" + language + ".yaml");
    REQUIRE(in);
  }
}

TEST_CASE("the Leichte Sprache texts keep its rules: short sentences, no abbreviations") {
  auto builtin = Catalogue::Builtin();
  for (const auto& key : builtin->Keys()) {
    const std::string& text = builtin->Get("de-x-ls", key);
    INFO(key << ": " << text);
    for (const char* abbreviation : {"z. B.", "z.B.", "bzw.", "usw.", "ggf.", "evtl.", "u. a."})
      CHECK(text.find(abbreviation) == std::string::npos);
    // One statement a sentence: at most 15 words between . ! ? : ; and line breaks.
    int words = 0;
    bool in_word = false;
    for (char c : text) {
      if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == '\n') {
        words = 0;
        in_word = false;
      } else if (c == ' ') {
        in_word = false;
      } else if (!in_word) {
        in_word = true;
        ++words;
        CHECK(words <= 15);
      }
    }
  }
}

TEST_CASE("the check finds a missing key, an extra key and a changed placeholder") {
  Catalogue c;
  REQUIRE(c.Add("de", "a: \"Meldung {reference}\"\nb: \"Hallo\"\n", "de.yaml", false));
  for (const auto& l : texts::Languages()) {
    if (l != "de")
      REQUIRE(c.Add(l, "a: \"x {reference}\"\nb: \"y\"\n", l + ".yaml", false));
  }
  CHECK(c.Problems().empty());
  REQUIRE(c.Add("tr", "a: \"bildirim {referans}\"\n", "tr.yaml", false));
  REQUIRE(c.Add("ru", "c: \"лишний\"\n", "ru.yaml", false));
  Catalogue missing;
  REQUIRE(missing.Add("de", "a: \"x\"\nb: \"y\"\n", "de.yaml", false));
  REQUIRE(missing.Add("en", "a: \"x\"\n", "en.yaml", false));
  std::string problems = Joined(c.Problems());
  CHECK_THAT(problems, Catch::Contains("tr: a: placeholders {referans} differ from German's "
                                       "{reference}"));
  CHECK_THAT(problems, Catch::Contains("ru: c: not in the German catalogue"));
  CHECK_THAT(Joined(missing.Problems()), Catch::Contains("en: b: missing"));
  CHECK_THAT(Joined(missing.Problems()), Catch::Contains("tr: no catalogue"));
}

TEST_CASE("a missing text falls back to German, then to its key") {
  Catalogue c;
  REQUIRE(c.Add("de", "gruss: \"Guten Tag\"\nnur_de: \"Nur hier\"\n", "de.yaml", false));
  REQUIRE(c.Add("en", "gruss: \"Hello\"\n", "en.yaml", false));
  CHECK(c.Get("en", "gruss") == "Hello");
  CHECK(c.Get("en", "nur_de") == "Nur hier");
  CHECK(c.Get("de-x-ls", "gruss") == "Guten Tag");
  CHECK(c.Get("en", "gibt.es.nicht") == "gibt.es.nicht");
}

TEST_CASE("placeholders are filled once, unknown ones stay") {
  CHECK(texts::Fill("Meldung {reference} ({x})", {{"reference", "{x}"}}) == "Meldung {x} ({x})");
  CHECK(texts::Fill("{a}{b}", {{"a", "1"}, {"b", "2"}}) == "12");
  CHECK(texts::Fill("{ nicht } {}", {}) == "{ nicht } {}");
  CHECK(texts::Placeholders("{b} {a} {b} { x } {Gross}") == std::vector<std::string>{"a", "b"});
  Lang en(nullptr, "en");
  CHECK(en("status.titel", {{"reference", "K7QX 4RT2 WNPA"}}) == "Report K7QX 4RT2 WNPA");
}

TEST_CASE("a language's direction, its query and unknown codes") {
  CHECK(Lang(nullptr, "ar").dir() == "rtl");
  CHECK(Lang(nullptr, "uk").dir() == "ltr");
  CHECK(Lang(nullptr, "de").Query().empty());
  CHECK(Lang(nullptr, "tr").Query() == "?lang=tr");
  CHECK(Lang(nullptr, "de-x-ls").Query('&') == "&lang=de-x-ls");
  // Not one of ours: German.
  CHECK(Lang(nullptr, "fr").code() == "de");
  CHECK(Lang().code() == "de");
}

TEST_CASE("the page's language: ?lang= first, then Accept-Language by weight, then German") {
  CHECK(texts::Choose("tr", "en") == "tr");
  CHECK(texts::Choose("de-x-ls", "") == "de-x-ls");
  CHECK(texts::Choose("UK", "") == "uk");
  CHECK(texts::Choose("", "ar-SY,ar;q=0.9,de;q=0.5") == "ar");
  CHECK(texts::Choose("", "fr-FR, ru;q=0.3, en;q=0.7") == "en");
  CHECK(texts::Choose("", "fr, it;q=0.8") == "de");
  CHECK(texts::Choose("", "ru;q=0, tr;q=0.1") == "tr");
  CHECK(texts::Choose("", "*") == "de");
  CHECK(texts::Choose("xx", "uk-UA") == "uk");
  CHECK(texts::Choose("", ";;,,q=") == "de");
  // The weight's name in any case; a malformed or out-of-range weight counts as 0.
  CHECK(texts::Choose("", "en;Q=0, ru;q=0.2") == "ru");
  CHECK(texts::Choose("", "en;q=abc, uk;q=0.1") == "uk");
  CHECK(texts::Choose("", "en;q=7, tr;q=0.5") == "tr");
  CHECK(texts::Choose("", "en;level=1;q=0.4, ar;q=0.3") == "en");
  CHECK(texts::Normalise("de_DE") == "de");
  CHECK(texts::Normalise("pt-BR").empty());
}

TEST_CASE("a town's folder of texts goes over the built-in ones, checked") {
  auto dir = Folder("ok");
  Write(dir / "tr.yaml", "formular:\n  titel: \"Sorun bildir – Belediye\"\n");
  Write(dir / "README.txt", "not a catalogue");
  auto c = Catalogue::WithFolder(dir.string());
  REQUIRE(c);
  CHECK((*c)->Get("tr", "formular.titel") == "Sorun bildir – Belediye");
  // Everything else as built in.
  CHECK((*c)->Get("tr", "formular.wo") == Catalogue::Builtin()->Get("tr", "formular.wo"));
  CHECK((*c)->Problems().empty());
}

TEST_CASE("a broken folder of texts is refused with the file and the reason") {
  SECTION("a key German does not have") {
    auto dir = Folder("unknown-key");
    Write(dir / "en.yaml", "formular:\n  tittel: \"Report\"\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("en.yaml: formular.tittel: no such text"));
  }
  SECTION("a placeholder the text does not have") {
    auto dir = Folder("placeholder");
    Write(dir / "de.yaml", "status:\n  titel: \"Meldung {nummer}\"\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(
        c.error().message,
        Catch::Contains("status.titel: unknown placeholder {nummer} (allowed: {reference})"));
  }
  SECTION("a text given twice") {
    auto dir = Folder("twice");
    Write(dir / "de.yaml",
          "status:\n  titel: \"Meldung {reference}\"\n  titel: \"Ihre Meldung {reference}\"\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("de.yaml:3: status.titel: given twice"));
  }
  SECTION("broken YAML") {
    auto dir = Folder("yaml");
    Write(dir / "ru.yaml", "status:\n  titel: \"Сообщение {reference}\"\n  ort: [Место\n  x: y\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("ru.yaml:"));
    CHECK_THAT(c.error().message, Catch::Contains("broken YAML"));
  }
  SECTION("not a mapping of texts") {
    auto dir = Folder("shape");
    Write(dir / "uk.yaml", "status:\n  titel:\n    - a\n    - b\n");
    Write(dir / "ar.yaml", "- eins\n- zwei\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("uk.yaml:3: status.titel: must be a text"));
    CHECK_THAT(c.error().message, Catch::Contains("ar.yaml:1: must be a mapping"));
  }
  SECTION("a language we do not have") {
    auto dir = Folder("language");
    Write(dir / "fr.yaml", "status:\n  titel: \"Signalement {reference}\"\n");
    auto c = Catalogue::WithFolder(dir.string());
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("no such language \"fr\""));
  }
  SECTION("no folder") {
    auto c = Catalogue::WithFolder("/nonexistent/texts");
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error().message, Catch::Contains("no such folder"));
  }
}

TEST_CASE("texts.dir in the configuration loads the town's folder or names what is wrong") {
  auto dir = Folder("config");
  std::filesystem::create_directories(dir / "texte");
  Write(dir / "texte" / "en.yaml", "formular:\n  titel: \"Tell the town\"\n");
  const std::string shared =
      "town:\n  name: Teststadt\ndepartments:\n  - id: tiefbauamt\n    name: Tiefbauamt\n"
      "categories:\n  - code: STR-01\n    name: Schlagloch\n";
  const std::string base = shared + "texts:\n  dir: ";
  auto ok = ParseConfig(base + "texte\n", dir / "meldestelle.yaml", {});
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok);
  CHECK(texts::For(*ok, "en")("formular.titel") == "Tell the town");
  Write(dir / "texte" / "de.yaml", "formular:\n  titel: \"Melden {wo}\"\n");
  auto bad = ParseConfig(base + "texte\n", dir / "meldestelle.yaml", {});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("texts.dir"));
  CHECK_THAT(bad.error().message, Catch::Contains("unknown placeholder {wo}"));
  // Without texts.dir: the built-in catalogues.
  auto plain = ParseConfig(shared, dir / "meldestelle.yaml", {});
  REQUIRE(plain);
  CHECK(texts::For(*plain, "en")("formular.titel") == "Report a problem");
}

}  // namespace texts_test
