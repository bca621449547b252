// `meldestelle texts check|show` (app/texts.cpp): a town's folder of texts checked before use.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "app/command.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace texts_command_test {

using namespace meldestelle::app;

namespace {

// Runs the command with `words` after "texts"; its standard output in `out`.
int Run(std::vector<std::string> words, std::string* out) {
  Args a;
  a.positional = std::move(words);
  a.config = std::string(MELDESTELLE_SOURCE_DIR) + "/config/example/meldestelle.yaml";
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  int code = RunTexts(a);
  std::cout.rdbuf(old);
  *out = captured.str();
  return code;
}

std::filesystem::path Folder(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("meldestelle-texts-cmd-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("texts check: a good folder passes, a broken one is named with its file", "[texts]") {
  std::string out;
  auto good = Folder("good");
  std::ofstream(good / "tr.yaml") << "formular:\n  titel: \"Sorun bildir\"\n";
  CHECK(Run({"check", good.string()}, &out) == kExitOk);
  CHECK_THAT(out, Catch::Contains("good"));

  auto bad = Folder("bad");
  std::ofstream(bad / "tr.yaml") << "formular:\n  tittel: \"Sorun bildir\"\n";
  CHECK(Run({"check", bad.string()}, &out) == kExitFailure);
  CHECK_THAT(out, Catch::Contains("tr.yaml: formular.tittel: no such text"));

  // The configuration's own (built-in) texts are complete.
  CHECK(Run({"check"}, &out) == kExitOk);
  CHECK_THAT(out, Catch::Contains("built in"));
}

TEST_CASE("texts show: every key of a language, German where it lacks one", "[texts]") {
  std::string out;
  CHECK(Run({"show", "uk"}, &out) == kExitOk);
  CHECK_THAT(out, Catch::Contains("status.ueberschrift\t"));
  CHECK_THAT(out, !Catch::Contains("(de)"));
  CHECK(Run({"show", "fr"}, &out) == kExitUsage);
  CHECK(Run({"frobnicate"}, &out) == kExitUsage);
  CHECK(Run({}, &out) == kExitUsage);
}

}  // namespace texts_command_test
