#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "core/config.hpp"

// ParseConfig: the configuration from text (what the config fuzzing harness feeds), read the
// same way as LoadConfig reads the file. The sections of components are tested with LoadConfig
// in tests/app/config_test.cpp.
namespace config_text_test {

using namespace meldestelle;

namespace {

const char* kShared = R"(town:
  name: Teststadt
gateway:
  port: 8181
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
)";

const std::filesystem::path kFile = "/etc/meldestelle/meldestelle.yaml";

}  // namespace

TEST_CASE("ParseConfig reads the shared sections from text") {
  auto cfg = ParseConfig(kShared, kFile);
  REQUIRE(cfg.ok());
  CHECK(cfg->file == kFile);
  CHECK(cfg->town.name == "Teststadt");
  CHECK(cfg->gateway.port == 8181);
  CHECK(cfg->FindDepartment("tiefbauamt") != nullptr);
  CHECK(cfg->FindCategory("STR-01") != nullptr);
}

TEST_CASE("ParseConfig reports problems as file:line: key: reason, as LoadConfig does") {
  auto unknown = ParseConfig(std::string(kShared) + "gatway:\n  port: 1\n", kFile);
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains(kFile.string() + ":11: gatway: unknown key"));
  auto broken = ParseConfig("town:\n  name: [unclosed\n", kFile);
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(broken.error().message, Catch::Contains(kFile.string() + ":"));
  CHECK_THAT(broken.error().message, Catch::Contains("(syntax)"));
  auto empty = ParseConfig("", kFile);
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.error().message, Catch::Contains(kFile.string() + ":1: (file): is empty"));
  auto list = ParseConfig("- a\n- b\n", kFile);
  REQUIRE_FALSE(list.ok());
  CHECK_THAT(list.error().message, Catch::Contains("must be a mapping of sections"));
}

}  // namespace config_text_test
