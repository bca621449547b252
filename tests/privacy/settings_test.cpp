// The `privacy:` section (privacy/settings.hpp): defaults, periods and texts, broken input.
#include "privacy/settings.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config.hpp"

namespace privacy_settings_test {

using namespace meldestelle;

namespace {

const char* kMinimal = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
gateway:
  public_base_url: https://maengel.example.de
)";

Result<Config> Parse(const std::string& more) {
  return ParseConfig(std::string(kMinimal) + more, "/tmp/privacy.yaml", privacy::Sections(), true);
}

}  // namespace

TEST_CASE("privacy settings: defaults a town can use, the notice line with the page's URL") {
  auto c = Parse("");
  REQUIRE(c);
  const auto& p = c->Get<privacy::Settings>();
  CHECK(p.retention.contact_after_close_days == 90);
  CHECK(p.retention.raw_payload_days == 14);
  CHECK(p.delete_recordings_at_provider);
  CHECK(privacy::NoticeLine(*c, "de") ==
        "Datenschutzhinweise: https://maengel.example.de/datenschutz");
  CHECK(privacy::NoticeLine(*c, "en") == "Privacy notice: https://maengel.example.de/datenschutz");
  // The citizens' other languages have their own line (core/texts.hpp); unknown ones German.
  CHECK(privacy::NoticeLine(*c, "tr") != privacy::NoticeLine(*c, "de"));
  CHECK(privacy::NoticeLine(*c, "tr").find("https://maengel.example.de/datenschutz") !=
        std::string::npos);
  CHECK(privacy::NoticeLine(*c, "fr") == privacy::NoticeLine(*c, "de"));
}

TEST_CASE("privacy settings: periods and texts from the file") {
  auto c = Parse(R"y(privacy:
  controller: "Stadt Teststadt, Markt 1"
  notice:
    de: "Datenschutz: {url} (kurz)"
  retention:
    contact_after_close_days: 30
    dead_letter_days: 3
)y");
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c);
  const auto& p = c->Get<privacy::Settings>();
  CHECK(p.controller == "Stadt Teststadt, Markt 1");
  CHECK(p.retention.contact_after_close_days == 30);
  CHECK(p.retention.dead_letter_days == 3);
  CHECK(privacy::NoticeLine(*c, "de") ==
        "Datenschutz: https://maengel.example.de/datenschutz (kurz)");
}

TEST_CASE("privacy settings: broken input is refused with the key and the reason") {
  struct Case {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"privacy:\n  retention:\n    raw_payload_days: 0\n", "privacy.retention.raw_payload_days"},
      {"privacy:\n  retention:\n    raw_payload_days: zwei\n", "raw_payload_days"},
      {"privacy:\n  retention:\n    contact_after_close_days: 400\n    contact_open_days: 100\n",
       "must not be shorter than contact_after_close_days"},
      {"privacy:\n  retention:\n    forever: true\n", "forever"},
      {"privacy:\n  notice:\n    de: \"Datenschutz\"\n", "must contain {url}"},
      {"privacy:\n  notice:\n    fr: \"{url}\"\n", "fr"},
      {"privacy:\n  job_interval_minutes: 0\n", "job_interval_minutes"},
      {"privacy: [1, 2]\n", "privacy"},
      {"privacy:\n  delete_recordings_at_provider: vielleicht\n", "delete_recordings_at_provider"},
  };
  for (const auto& k : cases) {
    auto c = Parse(k.yaml);
    INFO(k.yaml);
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find(k.message) != std::string::npos);
  }
}

}  // namespace privacy_settings_test

namespace privacy_docs_test {

using namespace meldestelle;

TEST_CASE("privacy: the retention defaults in docs/datenschutz.md are the code's") {
  std::ifstream in(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "docs/datenschutz.md");
  REQUIRE(in);
  std::stringstream doc;
  doc << in.rdbuf();
  const privacy::RetentionPeriods k;
  REQUIRE(privacy::RetentionKeys().size() == 11);
  for (const auto& key : privacy::RetentionKeys()) {
    INFO(key.name);
    CHECK(doc.str().find("| `" + std::string(key.name) + "` | " + std::to_string(k.*(key.days)) +
                         " |") != std::string::npos);
  }
}

}  // namespace privacy_docs_test
