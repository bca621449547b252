#include "core/config.hpp"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "channels/builtin.hpp"
#include "channels/chat/settings.hpp"
#include "channels/email/settings.hpp"
#include "channels/open311/settings.hpp"
#include "channels/phone/settings.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/webform/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "core/amqp.hpp"
#include "core/crypto.hpp"
#include "routing/settings.hpp"
#include "tickets/settings.hpp"
#include "workers/settings.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace config_test {

using namespace meldestelle;

namespace {

// The whole file, as every command reads it: the shared sections and every component's.
Result<Config> LoadAll(const std::filesystem::path& path) {
  return LoadConfig(path, workers::AllSections(channels::BuiltinChannels()));
}

std::filesystem::path WriteTemp(const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / ("cfg-" + RandomHex(6));
  std::filesystem::create_directories(dir);
  auto path = dir / "meldestelle.yaml";
  std::ofstream(path) << text;
  return path;
}

const char* kMinimal = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
routing:
  rules_file: rules.yaml
)";

}  // namespace

TEST_CASE("a minimal config loads with defaults") {
  auto cfg = LoadAll(WriteTemp(kMinimal));
  REQUIRE(cfg.ok());
  CHECK(cfg->town.name == "Teststadt");
  CHECK(cfg->gateway.port == 8080);
  CHECK(cfg->Get<webform::Settings>().max_photos == 5);
  CHECK(cfg->Get<webform::Settings>().max_photo_bytes == 10 * 1024 * 1024);
  CHECK(cfg->Get<routing::Settings>().rules_file.filename() == "rules.yaml");
  CHECK(cfg->Get<routing::Settings>().rules_file.parent_path() == cfg->file.parent_path());
  CHECK(cfg->FindCategory("STR-01") != nullptr);
  CHECK(cfg->FindDepartment("nope") == nullptr);
}

TEST_CASE("an unknown key stops loading with file:line: key: reason") {
  std::string text = std::string(kMinimal) + "gatway:\n  port: 1\n";
  auto path = WriteTemp(text);
  auto cfg = LoadAll(path);
  REQUIRE_FALSE(cfg.ok());
  CHECK_THAT(cfg.error().message, Catch::Contains(path.string() + ":11: gatway: unknown key"));
  // A key given twice: yaml-cpp would find the first, above the one an operator edits.
  auto twice_path = WriteTemp(std::string(kMinimal) + "gateway:\n  port: 9999\n  port: 8512\n");
  auto twice = LoadAll(twice_path);
  REQUIRE_FALSE(twice.ok());
  CHECK_THAT(
      twice.error().message,
      Catch::Contains(twice_path.string() +
                      ":13: gateway.port: given twice in the same mapping (first on line 12)"));
  // An empty key is no section's either (the channels' names are read by a section without one).
  auto empty_path = WriteTemp(std::string(kMinimal) + "\"\":\n  port: 1\n");
  auto empty = LoadAll(empty_path);
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.error().message, Catch::Contains(empty_path.string() + ":11: : unknown key"));
}

TEST_CASE("every problem is reported with its line") {
  std::string text = R"(town:
  name: Teststadt
gateway:
  port: achtzig
  threads: 1
departments:
  - id: Tiefbau Amt
    name: Tiefbauamt
  - id: x
categories:
  - code: strasse
    name: Schlagloch
    colour: red
routing: {}
)";
  auto path = WriteTemp(text);
  auto cfg = LoadAll(path);
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains(":4: gateway.port: must be an integer"));
  CHECK_THAT(m, Catch::Contains(":5: gateway.threads: must be between 2 and 1024"));
  CHECK_THAT(m, Catch::Contains(":7: departments[].id: must match"));
  CHECK_THAT(m, Catch::Contains(":9: departments[].name: is required"));
  CHECK_THAT(m, Catch::Contains(":11: categories[].code: must look like STR-01"));
  CHECK_THAT(m, Catch::Contains(":13: categories[].colour: unknown key"));
  CHECK_THAT(m, Catch::Contains("routing.rules_file: is required"));
}

TEST_CASE("broken YAML is reported with its line") {
  auto cfg = LoadAll(WriteTemp("town:\n  name: [unclosed\n"));
  REQUIRE_FALSE(cfg.ok());
  CHECK_THAT(cfg.error().message, Catch::Contains("(syntax)"));
  auto missing = LoadAll("/nonexistent/meldestelle.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("cannot be read"));
}

TEST_CASE("environment variables are expanded, with defaults") {
  setenv("MS_TEST_PORT", "9099", 1);
  unsetenv("MS_TEST_UNSET");
  std::string text = std::string(kMinimal) +
                     "gateway:\n  port: ${MS_TEST_PORT:-1}\n  listen: ${MS_TEST_UNSET:-0.0.0.0}\n";
  auto cfg = LoadAll(WriteTemp(text));
  REQUIRE(cfg.ok());
  CHECK(cfg->gateway.port == 9099);
  CHECK(cfg->gateway.listen == "0.0.0.0");
}

TEST_CASE(
    "amqp.urls: a cluster's nodes as a list or comma-separated, url alone without them, "
    "and bad URLs refused by line") {
  SECTION("without urls, url is the only node") {
    auto cfg =
        LoadAll(WriteTemp(std::string(kMinimal) + "amqp:\n  url: amqp://a:b@127.0.0.1:5600/%2f\n"));
    REQUIRE(cfg.ok());
    CHECK(BrokerUrls(cfg->amqp) == std::vector<std::string>{"amqp://a:b@127.0.0.1:5600/%2f"});
  }
  SECTION("a list") {
    auto cfg =
        LoadAll(WriteTemp(std::string(kMinimal) + "amqp:\n  urls:\n    - amqp://127.0.0.1:5601/\n"
                                                  "    - amqp://127.0.0.1:5602/\n"));
    REQUIRE(cfg.ok());
    CHECK(BrokerUrls(cfg->amqp) ==
          std::vector<std::string>{"amqp://127.0.0.1:5601/", "amqp://127.0.0.1:5602/"});
    CHECK(cfg->amqp.url == "amqp://127.0.0.1:5601/");
  }
  SECTION("comma-separated from the environment; empty means url alone") {
    setenv("MS_TEST_AMQP_URLS",
           " amqp://127.0.0.1:5601/, amqp://127.0.0.1:5602/ ,,amqp://127.0.0.1:5603/", 1);
    const std::string text = std::string(kMinimal) +
                             "amqp:\n  url: amqp://127.0.0.1:5600/\n"
                             "  urls: ${MS_TEST_AMQP_URLS:-}\n";
    auto cfg = LoadAll(WriteTemp(text));
    REQUIRE(cfg.ok());
    CHECK(BrokerUrls(cfg->amqp) == std::vector<std::string>{"amqp://127.0.0.1:5601/",
                                                            "amqp://127.0.0.1:5602/",
                                                            "amqp://127.0.0.1:5603/"});
    unsetenv("MS_TEST_AMQP_URLS");
    cfg = LoadAll(WriteTemp(text));
    REQUIRE(cfg.ok());
    CHECK(BrokerUrls(cfg->amqp) == std::vector<std::string>{"amqp://127.0.0.1:5600/"});
  }
  SECTION("a URL that is none is refused with its line") {
    auto cfg = LoadAll(WriteTemp(std::string(kMinimal) +
                                 "amqp:\n  urls: amqp://127.0.0.1:5601/,http://127.0.0.1:5602/\n"));
    REQUIRE_FALSE(cfg.ok());
    CHECK_THAT(cfg.error().message, Catch::Contains(":12: amqp.urls: 'http://127.0.0.1:5602/' is "
                                                    "not an AMQP URL"));
  }
  SECTION("neither url nor urls: url is required") {
    auto cfg = LoadAll(WriteTemp(std::string(kMinimal) + "amqp:\n  queue: q\n"));
    REQUIRE_FALSE(cfg.ok());
    CHECK_THAT(cfg.error().message, Catch::Contains("amqp.url"));
  }
}

TEST_CASE("secrets are referenced by environment variable, never written into the file") {
  std::string literal = std::string(kMinimal) + "webform:\n  token_secret: hunter2\n";
  auto bad = LoadAll(WriteTemp(literal));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message,
             Catch::Contains(":12: webform.token_secret: must reference an environment"));
  setenv("MS_TEST_SECRET", "s3cret", 1);
  auto good =
      LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  token_secret: ${MS_TEST_SECRET}\n"));
  REQUIRE(good.ok());
  CHECK(good->Get<webform::Settings>().token_secret == "s3cret");
  CHECK(good->Get<webform::Settings>().token_secret_var == "MS_TEST_SECRET");
}

TEST_CASE("the example configuration loads") {
  auto cfg =
      LoadAll(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml");
  REQUIRE(cfg.ok());
  CHECK(cfg->departments.size() >= 12);
  CHECK(cfg->categories.size() >= 25);
  CHECK(cfg->FindDepartment("buergerservice") != nullptr);
}

TEST_CASE("a config that is not a mapping, or uses an unset variable, is refused clearly") {
  auto scalar = LoadAll(WriteTemp("just a string\n"));
  REQUIRE_FALSE(scalar.ok());
  CHECK_THAT(scalar.error().message, Catch::Contains("must be a mapping of sections"));
  unsetenv("MS_TEST_NOT_SET");
  auto unset =
      LoadAll(WriteTemp(std::string(kMinimal) + "gateway:\n  listen: ${MS_TEST_NOT_SET}\n"));
  REQUIRE_FALSE(unset.ok());
  CHECK_THAT(
      unset.error().message,
      Catch::Contains(":12: gateway.listen: environment variable MS_TEST_NOT_SET is not set"));
}

TEST_CASE("category keywords are plain words or {phrase: weight}, bad weights name their line") {
  std::string text = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
    keywords:
      - schlagloch
      - {tiefes loch: 3}
      - asphalt: 0.5
classifier:
  min_confidence: 0.6
  min_score: 2
routing:
  rules_file: rules.yaml
)";
  auto cfg = LoadAll(WriteTemp(text));
  REQUIRE(cfg.ok());
  const auto& kws = cfg->FindCategory("STR-01")->keywords;
  REQUIRE(kws.size() == 3);
  CHECK(kws[0].text == "schlagloch");
  CHECK(kws[0].weight == 1.0);
  CHECK(kws[1].text == "tiefes loch");
  CHECK(kws[1].weight == 3.0);
  CHECK(kws[1].line == 11);
  CHECK(kws[2].weight == 0.5);
  CHECK(cfg->Get<routing::ClassifierSettings>().min_confidence == 0.6);
  CHECK(cfg->Get<routing::ClassifierSettings>().min_score == 2.0);

  auto defaults = LoadAll(WriteTemp(kMinimal));
  REQUIRE(defaults.ok());
  CHECK(defaults->Get<routing::ClassifierSettings>().min_confidence == 0.5);
  CHECK(defaults->Get<routing::ClassifierSettings>().min_score == 1.0);

  std::string bad = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
categories:
  - code: STR-01
    name: Schlagloch
    keywords: [schlagloch, {loch: -1}, {tief: viel}, {a: 1, b: 2}, [x]]
classifier: {min_confidence: 1.5, min_score: x, max: 1}
routing:
  rules_file: rules.yaml
)";
  auto path = WriteTemp(bad);
  auto err = LoadAll(path);
  REQUIRE_FALSE(err.ok());
  const std::string& m = err.error().message;
  std::string f = path.string();
  CHECK_THAT(m, Catch::Contains(f + ":9: categories[STR-01].keywords: weight of \"loch\" must be"));
  CHECK_THAT(m,
             Catch::Contains("weight of \"tief\" must be a number > 0 and <= 100, got \"viel\""));
  CHECK_THAT(m, Catch::Contains("entries must be \"word\" or {\"phrase\": weight}"));
  CHECK_THAT(m, Catch::Contains(f + ":10: classifier.min_confidence: must be between 0 and 1"));
  CHECK_THAT(m, Catch::Contains(f + ":10: classifier.min_score: must be a number, got \"x\""));
  CHECK_THAT(m, Catch::Contains(f + ":10: classifier.max: unknown key"));
}

TEST_CASE("webform.map: OpenStreetMap by default, a town's tiles, off, and what is refused") {
  auto defaults = LoadAll(WriteTemp(kMinimal));
  REQUIRE(defaults.ok());
  const auto& map = defaults->Get<webform::Settings>().map;
  CHECK(map.enabled);
  CHECK(map.tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
  CHECK(map.attribution_url == "https://www.openstreetmap.org/copyright");

  std::string own = std::string(kMinimal) + R"(webform:
  map:
    tile_url: https://karten.musterstadt.example/{z}/{x}/{y}.png
    attribution: "© Stadt Musterstadt"
    attribution_url: ""
    max_zoom: 20
    center: [50.9375, 6.96]
    zoom: 16
)";
  auto cfg = LoadAll(WriteTemp(own));
  REQUIRE(cfg.ok());
  CHECK(cfg->Get<webform::Settings>().map.tile_url ==
        "https://karten.musterstadt.example/{z}/{x}/{y}.png");
  CHECK(cfg->Get<webform::Settings>().map.max_zoom == 20);
  CHECK(cfg->Get<webform::Settings>().map.attribution_url.empty());
  CHECK(cfg->Get<webform::Settings>().map.center_lat == 50.9375);
  CHECK(cfg->Get<webform::Settings>().map.center_lon == 6.96);
  CHECK(cfg->Get<webform::Settings>().map.zoom == 16);
  CHECK_FALSE(defaults->Get<webform::Settings>().map.center_lat.has_value());

  auto off = LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  map: {enabled: false}\n"));
  REQUIRE(off.ok());
  CHECK_FALSE(off->Get<webform::Settings>().map.enabled);

  std::string bad = std::string(kMinimal) + R"(webform:
  map:
    tile_url: "ftp://karten.example/{z}/{x}.png"
    attribution: ""
    max_zoom: 30
    style: dunkel
    center: [95, 6.9]
  accessibility: {prepared_on: "4.12.2026", phone: 1}
)";
  auto path = WriteTemp(bad);
  auto err = LoadAll(path);
  REQUIRE_FALSE(err.ok());
  const std::string& m = err.error().message;
  CHECK_THAT(m, Catch::Contains("webform.map.tile_url: must be an https:// (or http://) URL with"));
  CHECK_THAT(m, Catch::Contains("webform.map.attribution: must name the map's source"));
  CHECK_THAT(m, Catch::Contains("webform.map.max_zoom: must be between 1 and 22"));
  CHECK_THAT(m, Catch::Contains("webform.map.style: unknown key"));
  CHECK_THAT(m, Catch::Contains("webform.map.center: must be [latitude, longitude]"));
  CHECK_THAT(m, Catch::Contains("webform.accessibility.prepared_on: must be a date YYYY-MM-DD"));
  CHECK_THAT(m, Catch::Contains("webform.accessibility.phone: unknown key"));
}

TEST_CASE("webform.public_reports: on with 25 a page and 30 days, or as set, and what is refused") {
  auto defaults = LoadAll(WriteTemp(kMinimal));
  REQUIRE(defaults.ok());
  const auto& p = defaults->Get<webform::Settings>().public_reports;
  CHECK(p.enabled);
  CHECK(p.page_size == 25);
  CHECK(p.done_days == 30);
  auto own = LoadAll(WriteTemp(std::string(kMinimal) +
                               "webform:\n  public_reports: {enabled: false, page_size: 50, "
                               "done_days: 0}\n"));
  REQUIRE(own.ok());
  CHECK_FALSE(own->Get<webform::Settings>().public_reports.enabled);
  CHECK(own->Get<webform::Settings>().public_reports.page_size == 50);
  CHECK(own->Get<webform::Settings>().public_reports.done_days == 0);
  auto bad = LoadAll(WriteTemp(std::string(kMinimal) +
                               "webform:\n  public_reports: {page_size: 1000, done_days: -1, "
                               "colours: rot}\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("webform.public_reports.page_size"));
  CHECK_THAT(bad.error().message, Catch::Contains("webform.public_reports.done_days"));
  CHECK_THAT(bad.error().message, Catch::Contains("webform.public_reports.colours: unknown key"));
}

TEST_CASE("webform.photo_scale_edge: 2048 by default, 0 for off, and too small is refused") {
  auto defaults = LoadAll(WriteTemp(kMinimal));
  REQUIRE(defaults.ok());
  CHECK(defaults->Get<webform::Settings>().photo_scale_edge == 2048);
  auto off = LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  photo_scale_edge: 0\n"));
  REQUIRE(off.ok());
  CHECK(off->Get<webform::Settings>().photo_scale_edge == 0);
  auto big = LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  photo_scale_edge: 4096\n"));
  REQUIRE(big.ok());
  CHECK(big->Get<webform::Settings>().photo_scale_edge == 4096);
  auto small = LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  photo_scale_edge: 300\n"));
  REQUIRE_FALSE(small.ok());
  CHECK_THAT(small.error().message,
             Catch::Contains("webform.photo_scale_edge: must be 0 (off) or at least 640 pixels"));
  auto word = LoadAll(WriteTemp(std::string(kMinimal) + "webform:\n  photo_scale_edge: gross\n"));
  REQUIRE_FALSE(word.ok());
  CHECK_THAT(word.error().message, Catch::Contains("webform.photo_scale_edge"));
}

TEST_CASE("duplicates: defaults, values and file:line errors") {
  auto defaults = LoadAll(WriteTemp(kMinimal));
  REQUIRE(defaults.ok());
  CHECK(defaults->Get<tickets::DuplicateSettings>().enabled);
  CHECK(defaults->Get<tickets::DuplicateSettings>().distance_m == 30.0);
  CHECK(defaults->Get<tickets::DuplicateSettings>().window_days == 14);

  std::string text = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
duplicates:
  enabled: false
  distance_m: 50
  window_days: 7
routing:
  rules_file: rules.yaml
)";
  auto cfg = LoadAll(WriteTemp(text));
  REQUIRE(cfg.ok());
  CHECK_FALSE(cfg->Get<tickets::DuplicateSettings>().enabled);
  CHECK(cfg->Get<tickets::DuplicateSettings>().distance_m == 50.0);
  CHECK(cfg->Get<tickets::DuplicateSettings>().window_days == 7);

  std::string bad = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
duplicates: {enabled: vielleicht, distance_m: 0, window_days: 400, radius: 3}
routing:
  rules_file: rules.yaml
)";
  auto path = WriteTemp(bad);
  auto err = LoadAll(path);
  REQUIRE_FALSE(err.ok());
  const std::string& m = err.error().message;
  std::string f = path.string();
  CHECK_THAT(m, Catch::Contains(f + ":6: duplicates.enabled: must be true or false"));
  CHECK_THAT(m, Catch::Contains(f + ":6: duplicates.distance_m: must be between"));
  CHECK_THAT(m, Catch::Contains(f + ":6: duplicates.window_days: must be between 1 and 365"));
  CHECK_THAT(m, Catch::Contains(f + ":6: duplicates.radius: unknown key"));
}

TEST_CASE("messenger channels: secrets from the environment, off when unset, bad values by line") {
  ::setenv("MS_TEST_WA_SECRET", "app-secret", 1);
  ::setenv("MS_TEST_WA_TOKEN", "access-token", 1);
  ::unsetenv("MS_TEST_TG_SECRET");
  auto good =
      LoadAll(WriteTemp(std::string(kMinimal) + "whatsapp:\n"
                                                "  app_secret: ${MS_TEST_WA_SECRET}\n"
                                                "  access_token: ${MS_TEST_WA_TOKEN}\n"
                                                "  api_base: http://127.0.0.1:9/v21.0/\n"
                                                "  template: {name: status_de, language: de}\n"
                                                "telegram:\n"
                                                "  secret_token: ${MS_TEST_TG_SECRET}\n"
                                                "chat:\n"
                                                "  draft_window_seconds: 1\n"
                                                "  draft_max_seconds: 600\n"
                                                "  rate_limit_per_minute: 5\n"
                                                "  stt_url: http://127.0.0.1:9/stt\n"));
  INFO((good ? std::string() : good.error().message));
  REQUIRE(good.ok());
  CHECK(good->Get<whatsapp::Settings>().enabled());
  CHECK(good->Get<whatsapp::Settings>().app_secret == "app-secret");
  CHECK(good->Get<whatsapp::Settings>().api_base ==
        "http://127.0.0.1:9/v21.0");  // trailing slash dropped
  CHECK(good->Get<whatsapp::Settings>().template_name == "status_de");
  CHECK_FALSE(good->Get<telegram::Settings>().enabled());  // its variable is unset
  CHECK(good->Get<telegram::Settings>().api_base == "https://api.telegram.org");
  CHECK(good->Get<chat::Settings>().draft_window_seconds == 1);
  CHECK(good->Get<chat::Settings>().DraftLifetimeSeconds() == 600);
  CHECK(good->Get<chat::Settings>().rate_limit_per_minute == 5);
  CHECK(good->Get<chat::Settings>().dedupe_days == 7);
  CHECK(good->Get<chat::Settings>().stt_url == "http://127.0.0.1:9/stt");
  CHECK(good->Get<chat::Settings>().stt_timeout_seconds == 60);

  auto literal = LoadAll(WriteTemp(std::string(kMinimal) +
                                   "telegram:\n  bot_token: 123:abc\n"
                                   "chat:\n  draft_window_seconds: 0\n  colour: blue\n"
                                   "  stt_url: whisper.local/stt\n  stt_timeout_seconds: 0\n"));
  REQUIRE_FALSE(literal.ok());
  const std::string& msg = literal.error().message;
  CHECK_THAT(msg, Catch::Contains(":12: telegram.bot_token: must reference an environment"));
  CHECK_THAT(msg, Catch::Contains(":14: chat.draft_window_seconds"));
  CHECK_THAT(msg, Catch::Contains(":15: chat.colour: unknown key"));
  CHECK_THAT(msg, Catch::Contains(":16: chat.stt_url: must be an http:// or https:// URL"));
  CHECK_THAT(msg, Catch::Contains(":17: chat.stt_timeout_seconds"));

  // A channel switched on without the token it answers with: refused, naming the token.
  ::setenv("MS_TEST_TG_SECRET", "tg-secret", 1);
  ::unsetenv("MS_TEST_WA_TOKEN");
  auto mute = LoadAll(WriteTemp(std::string(kMinimal) +
                                "whatsapp:\n  app_secret: ${MS_TEST_WA_SECRET}\n"
                                "  access_token: ${MS_TEST_WA_TOKEN}\n"
                                "telegram:\n  secret_token: ${MS_TEST_TG_SECRET}\n"));
  REQUIRE_FALSE(mute.ok());
  CHECK_THAT(
      mute.error().message,
      Catch::Contains(":13: whatsapp.access_token: must be set when whatsapp.app_secret is"));
  CHECK_THAT(mute.error().message,
             Catch::Contains(":15: telegram.bot_token: must be set when telegram.secret_token is"));
  // A token given wrongly (a literal) is reported as that, not again as missing.
  auto literal_token =
      LoadAll(WriteTemp(std::string(kMinimal) + "whatsapp:\n  app_secret: ${MS_TEST_WA_SECRET}\n"
                                                "  access_token: EAAB123\n"));
  REQUIRE_FALSE(literal_token.ok());
  CHECK_THAT(literal_token.error().message,
             Catch::Contains(":13: whatsapp.access_token: must reference an environment"));
  CHECK_THAT(literal_token.error().message, !Catch::Contains("must be set when"));
  ::unsetenv("MS_TEST_TG_SECRET");
  ::unsetenv("MS_TEST_WA_SECRET");
}

TEST_CASE("phone: texts per language, transcription modes and their errors by line") {
  ::setenv("MS_TEST_TWILIO", "tok", 1);
  auto good = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n"
                                                        "  auth_token: ${MS_TEST_TWILIO}\n"
                                                        "  stt_url: http://127.0.0.1:9/stt\n"
                                                        "  texts:\n"
                                                        "    de: {greeting: Hallo Teststadt}\n"));
  INFO((good ? std::string() : good.error().message));
  REQUIRE(good.ok());
  CHECK(good->Get<phone::Settings>().enabled());
  CHECK(good->Get<phone::Settings>().TranscriptionMode("de") == "stt");  // auto with an stt_url
  phone::Settings without_stt = good->Get<phone::Settings>();
  without_stt.stt_url.clear();
  CHECK(without_stt.TranscriptionMode("en") == "provider");  // Twilio's: English only
  CHECK(without_stt.TranscriptionMode("de") == "none");
  without_stt.transcription = "provider";  // chosen: for every language
  CHECK(without_stt.TranscriptionMode("de") == "provider");
  CHECK(good->Get<phone::Settings>().texts.at("de").at("greeting") == "Hallo Teststadt");
  auto bad = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n"
                                                       "  transcription: whisper\n"
                                                       "  texts:\n"
                                                       "    fr: {greeting: Bonjour}\n"
                                                       "    de: {welcome: Hallo}\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains(":12: phone.transcription: must be auto"));
  CHECK_THAT(bad.error().message, Catch::Contains(":14: phone.texts.fr: unknown key"));
  CHECK_THAT(bad.error().message, Catch::Contains(":15: phone.texts.de.welcome: unknown key"));
  auto stt_without_url =
      LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  transcription: stt\n"));
  REQUIRE_FALSE(stt_without_url.ok());
  CHECK_THAT(stt_without_url.error().message, Catch::Contains("stt needs phone.stt_url"));

  // Who is offered an SMS: mobile numbers (Germany's by default), or the town's own list.
  const phone::Settings defaults = LoadAll(WriteTemp(kMinimal))->Get<phone::Settings>();
  CHECK(defaults.TakesSms("+4917612345678"));
  CHECK(defaults.TakesSms("+4915112345678"));
  CHECK_FALSE(defaults.TakesSms("+492211234567"));  // a landline in Cologne
  CHECK_FALSE(defaults.TakesSms(""));
  auto listed = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  sms_prefixes: [\"+43\"]\n"));
  REQUIRE(listed.ok());
  CHECK(listed->Get<phone::Settings>().TakesSms("+436641234567"));
  CHECK_FALSE(listed->Get<phone::Settings>().TakesSms("+4917612345678"));
  auto any = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  sms_prefixes: []\n"));
  REQUIRE(any.ok());
  CHECK(any->Get<phone::Settings>().TakesSms("+492211234567"));
  auto wrong = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  sms_prefixes: [\"0171\"]\n"));
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().message, Catch::Contains("phone.sms_prefixes: \"0171\" is no number"));

  // The web forms that relay citizens' mails: addresses, kept in lower case.
  auto forms = LoadAll(
      WriteTemp(std::string(kMinimal) + "email:\n  form_senders: [NoReply@Stadt.example]\n"));
  REQUIRE(forms.ok());
  CHECK(forms->Get<email::Settings>().form_senders ==
        std::vector<std::string>{"noreply@stadt.example"});
  auto no_address =
      LoadAll(WriteTemp(std::string(kMinimal) + "email:\n  form_senders: [noreply]\n"));
  REQUIRE_FALSE(no_address.ok());
  CHECK_THAT(no_address.error().message,
             Catch::Contains("email.form_senders: \"noreply\" is no e-mail address"));

  // The country code of numbers typed without one: Germany's, the town's own (a + is allowed).
  CHECK(defaults.country_code == "49");
  auto austria = LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  country_code: \"+43\"\n"));
  REQUIRE(austria.ok());
  CHECK(austria->Get<phone::Settings>().country_code == "43");
  for (const char* code : {"049", "4x", "1234", "\"\""}) {
    INFO(code);
    auto no_code =
        LoadAll(WriteTemp(std::string(kMinimal) + "phone:\n  country_code: " + code + "\n"));
    REQUIRE_FALSE(no_code.ok());
    CHECK_THAT(no_code.error().message, Catch::Contains("phone.country_code"));
  }
}

TEST_CASE("open311 service_notice is read, and a non-string is refused") {
  auto cfg = LoadAll(
      WriteTemp(std::string(kMinimal) + "open311:\n  service_notice: Geprüft in 3 Werktagen.\n"));
  REQUIRE(cfg.ok());
  CHECK(cfg->Get<open311::Settings>().service_notice == "Geprüft in 3 Werktagen.");
  CHECK(LoadAll(WriteTemp(kMinimal))->Get<open311::Settings>().service_notice.empty());
  auto bad = LoadAll(WriteTemp(std::string(kMinimal) + "open311:\n  service_notice: [a]\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("open311.service_notice"));
}

TEST_CASE("open311.publish, categories' public flag and questions are read, mistakes refused") {
  auto with = [](const std::string& category_extra, const std::string& open311) {
    std::string text = kMinimal;
    std::string at = "    name: Schlagloch\n";
    text.replace(text.find(at), at.size(), at + category_extra);
    return LoadAll(WriteTemp(text + open311));
  };
  auto defaults = with("", "");
  REQUIRE(defaults.ok());
  CHECK(defaults->Get<open311::Settings>().publish == "open311_only");
  CHECK(defaults->categories[0].published);
  CHECK(defaults->categories[0].questions.empty());
  auto ok = with(
      "    public: false\n"
      "    questions:\n"
      "      - {code: depth, text: \"Wie tief?\", type: singlevaluelist, required: true,\n"
      "         choices: [{key: flat, name: flach}, {key: deep, name: tief}]}\n"
      "      - {code: note, text: \"Sonst noch etwas?\", type: text}\n",
      "open311:\n  publish: all\n");
  INFO((ok.ok() ? std::string() : ok.error().message));
  REQUIRE(ok.ok());
  CHECK(ok->Get<open311::Settings>().publish == "all");
  CHECK_FALSE(ok->categories[0].published);
  REQUIRE(ok->categories[0].questions.size() == 2);
  CHECK(ok->categories[0].questions[0].required);
  CHECK(ok->categories[0].questions[0].choices.size() == 2);
  CHECK(ok->categories[0].questions[1].type == "text");
  struct Bad {
    std::string category, open311, says;
  };
  for (const auto& bad : std::vector<Bad>{
           {"", "open311:\n  publish: everyone\n", "open311.publish"},
           {"    public: vielleicht\n", "", "public"},
           {"    questions:\n      - {code: Depth!, text: x}\n", "", "questions[].code"},
           {"    questions:\n      - {code: a, text: x, type: colour}\n", "", "type"},
           {"    questions:\n      - {code: a, text: x, type: singlevaluelist}\n", "",
            "needs its choices"},
           {"    questions:\n      - {code: a, text: x, choices: [{key: k, name: n}]}\n", "",
            "only singlevaluelist and multivaluelist"},
           {"    questions:\n      - {code: a, text: x}\n      - {code: a, text: y}\n", "",
            "duplicate code"},
           {"    questions:\n      - {code: a}\n", "", "text"},
           {"    questions: keine\n", "", "questions"}}) {
    INFO(bad.category << bad.open311);
    auto r = with(bad.category, bad.open311);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(bad.says));
  }
}

TEST_CASE("time spans for deadlines: units in English and German, anything else refused") {
  auto two = ParseSpan("2 working days");
  REQUIRE(two);
  CHECK(two->amount == 2);
  CHECK(two->unit == Span::Unit::kWorkingDays);
  CHECK(ParseSpan("3 Arbeitstage")->unit == Span::Unit::kWorkingDays);
  CHECK(ParseSpan("1 Werktag")->unit == Span::Unit::kWorkingDays);
  CHECK(ParseSpan("4 hours")->unit == Span::Unit::kHours);
  CHECK(ParseSpan("4 Stunden")->unit == Span::Unit::kHours);
  CHECK(ParseSpan("30 minutes")->unit == Span::Unit::kMinutes);
  CHECK(ParseSpan("1 day")->unit == Span::Unit::kDays);
  CHECK(ParseSpan("2 Tage")->unit == Span::Unit::kDays);
  for (const char* bad :
       {"", "zwei Tage", "2", "2 weeks", "-1 days", "2.5 hours", "2 days later", "9999999 days"}) {
    INFO(bad);
    CHECK_FALSE(ParseSpan(bad));
  }
}

TEST_CASE("departments and tickets: delivery, webhook, deadlines, triage, by line when wrong") {
  setenv("MELDESTELLE_TEST_HOOK_SECRET", "geheim", 1);
  std::string text = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
    email: tiefbau@teststadt.example
    remind_after: 1 working day
  - id: stadtwerke
    name: Stadtwerke
    email: leitstelle@stadtwerke.example
    delivery: webhook
    webhook: {url: "https://tickets.stadtwerke.example/hook", secret: "${MELDESTELLE_TEST_HOOK_SECRET}"}
    show_reporter_contact: true
  - id: zentrale
    name: Zentrale
tickets:
  triage_department: zentrale
  working_days: [mon, tue, wed, thu]
  holidays: ["2026-12-24"]
  remind_after: 2 working days
  reassign_after: 4 Arbeitstage
routing:
  rules_file: rules.yaml
)";
  auto cfg = LoadAll(WriteTemp(text));
  INFO((cfg.ok() ? "" : cfg.error().message));
  REQUIRE(cfg.ok());
  const Department* t = cfg->FindDepartment("tiefbauamt");
  CHECK(t->delivery == "email");
  CHECK(t->remind_after.amount == 1);
  const Department* w = cfg->FindDepartment("stadtwerke");
  CHECK(w->delivery == "webhook");
  CHECK(w->webhook_secret == "geheim");
  CHECK(w->show_reporter_contact);
  CHECK(cfg->FindDepartment("zentrale")->delivery == "none");
  CHECK(cfg->Get<tickets::Settings>().triage_department == "zentrale");
  CHECK(cfg->Get<tickets::Settings>().working_days == std::vector<int>{1, 2, 3, 4});
  CHECK(cfg->Get<tickets::Settings>().reassign_after.unit == Span::Unit::kWorkingDays);

  std::string bad = R"(town:
  name: Teststadt
departments:
  - id: tiefbauamt
    name: Tiefbauamt
    delivery: brieftaube
  - id: stadtwerke
    name: Stadtwerke
    delivery: webhook
  - id: gruen
    name: Grün
    delivery: email
    remind_after: bald
  - id: kanal
    name: Kanal
    email: kein-at-zeichen
    webhook: {url: "ftp://x.example/", secret: geheim}
tickets:
  triage_department: mondamt
  working_days: [mon, montag]
  holidays: [morgen]
  delivery_max_attempts: 0
routing:
  rules_file: rules.yaml
)";
  auto path = WriteTemp(bad);
  auto err = LoadAll(path);
  REQUIRE_FALSE(err.ok());
  const std::string& m = err.error().message;
  std::string f = path.string();
  CHECK_THAT(m, Catch::Contains(
                    f + ":6: departments[tiefbauamt].delivery: must be email, webhook or none"));
  CHECK_THAT(m,
             Catch::Contains("departments[stadtwerke].webhook: is required for delivery: webhook"));
  CHECK_THAT(m, Catch::Contains("departments[gruen].email: is required for delivery: email"));
  CHECK_THAT(m, Catch::Contains(f + ":13: departments[gruen].remind_after: must be a time span"));
  CHECK_THAT(m, Catch::Contains(f + ":16: departments[kanal].email: must be an e-mail address"));
  CHECK_THAT(m,
             Catch::Contains("departments[kanal].webhook.url: must be an http:// or https:// URL"));
  CHECK_THAT(m, Catch::Contains(
                    "departments[kanal].webhook.secret: must reference an environment variable"));
  CHECK_THAT(m,
             Catch::Contains(f + ":19: tickets.triage_department: unknown department \"mondamt\""));
  CHECK_THAT(m, Catch::Contains("tickets.working_days: unknown day \"montag\""));
  CHECK_THAT(m, Catch::Contains("tickets.holidays: \"morgen\" is not a date YYYY-MM-DD"));
  CHECK_THAT(m, Catch::Contains("tickets.delivery_max_attempts: must be between 1 and 100"));
}

TEST_CASE("acknowledgements are sent only on channels this configuration has a sender for") {
  using Set = std::set<std::string, std::less<>>;
  const channels::Registry registry = channels::BuiltinChannels();
  // Secrets are read from the environment only.
  setenv("MELDESTELLE_TEST_ACK_TOKEN", "t", 1);
  auto senders = [&](const std::string& extra) {
    auto cfg = LoadAll(WriteTemp(std::string(kMinimal) + extra));
    REQUIRE(cfg.ok());
    return registry.AcknowledgementSenders(*cfg);
  };
  // The registry knows all four; a town with none of their secrets can send on none.
  for (const char* ack : {"email", "sms", "whatsapp", "telegram"})
    CHECK(registry.SendsAcknowledgements(ack));
  CHECK(senders("") == Set{});
  CHECK(senders("email:\n  smtp_url: smtp://127.0.0.1:2525\n") == Set{"email"});
  // The phone channel on (its webhook secret) is not enough for an SMS: the account and the
  // sending number are needed too.
  CHECK(senders("phone:\n  auth_token: ${MELDESTELLE_TEST_ACK_TOKEN}\n") == Set{});
  CHECK(senders("phone:\n  auth_token: ${MELDESTELLE_TEST_ACK_TOKEN}\n  account_sid: AC1\n  "
                "sms_from: \"+4922100\"\n") == Set{"sms"});
  CHECK(senders("whatsapp:\n  access_token: ${MELDESTELLE_TEST_ACK_TOKEN}\ntelegram:\n  bot_token: "
                "${MELDESTELLE_TEST_ACK_TOKEN}\n") == Set{"telegram", "whatsapp"});
}

TEST_CASE(
    "worker.retry_delays_seconds: a list, or seconds separated by commas from the environment") {
  using workers::Settings;
  auto delays = [](const std::string& value) {
    std::string text = kMinimal;
    text.append("worker:\n  retry_delays_seconds: ").append(value).push_back('\n');
    return LoadAll(WriteTemp(text));
  };
  // Unset: the default, each failure waiting longer, the last delay for every one after it.
  auto plain = LoadAll(WriteTemp(kMinimal));
  REQUIRE(plain.ok());
  const Settings& d = plain->Get<Settings>();
  CHECK(d.retry_delays_seconds == std::vector<int>{5, 15, 45, 90});
  CHECK(d.RetryDelaySeconds(1) == 5);
  CHECK(d.RetryDelaySeconds(4) == 90);
  CHECK(d.RetryDelaySeconds(9) == 90);
  CHECK(d.RetryDelaySeconds(0) == 0);

  auto list = delays("[2, 60]");
  REQUIRE(list.ok());
  CHECK(list->Get<Settings>().retry_delays_seconds == std::vector<int>{2, 60});
  // As MELDESTELLE_WORKER_RETRY_DELAYS gives it through the example's ${…:-5,15,45,90}.
  setenv("MELDESTELLE_TEST_RETRY_DELAYS", " 1, 3 ,9", 1);
  auto env = delays("${MELDESTELLE_TEST_RETRY_DELAYS:-5,15}");
  REQUIRE(env.ok());
  CHECK(env->Get<Settings>().retry_delays_seconds == std::vector<int>{1, 3, 9});
  // 0 alone: handed back at once.
  auto off = delays("0");
  REQUIRE(off.ok());
  CHECK(off->Get<Settings>().retry_delays_seconds.empty());
  CHECK(off->Get<Settings>().RetryDelaySeconds(1) == 0);

  for (auto [value, error] : std::vector<std::pair<std::string, std::string>>{
           {"[5, soon]",
            "must be seconds between 1 and 86400 (or 0 alone: no delay), got \"soon\""},
           {"\"5, -1\"", "got \"-1\""},
           {"[86401]", "got \"86401\""},
           {"[0, 5]", "0 (no delay) must stand alone"},
           {"\" , \"", "must name at least one delay in seconds"},
           {"[]", "must name at least one delay in seconds"},
           {"{a: 1}", "must be a list of strings"}}) {
    INFO(value);
    auto bad = delays(value);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("worker.retry_delays_seconds"));
    CHECK_THAT(bad.error().message, Catch::Contains(error));
  }
  // A mapping is said to be wrong once, not also as a list without delays.
  auto map = delays("{a: 1}");
  REQUIRE_FALSE(map.ok());
  CHECK_THAT(map.error().message, !Catch::Contains("must name at least one delay"));
}

}  // namespace config_test
