#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace log_test {

using namespace meldestelle;

TEST_CASE("a log line is one JSON object with the fields, even for hostile values") {
  std::string line = log::FormatLine(log::Level::kWarn, "gateway", "report \"accepted\"",
                                     {{"reference", "2SAJASNAS2EE"},
                                      {"error", std::string("bad \xFF byte\nand newline")}});
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  auto j = nlohmann::json::parse(line);
  CHECK(j["component"] == "gateway");
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "report \"accepted\"");
  CHECK(j["reference"] == "2SAJASNAS2EE");
  CHECK(j["error"] == "bad ? byte\nand newline");
  CHECK(j["ts"].get<std::string>().size() == 24);
}

}  // namespace log_test
