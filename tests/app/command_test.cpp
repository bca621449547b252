// The command line every subcommand shares (app/command.cpp ParseArgs).
#include "app/command.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace command_test {

using namespace meldestelle::app;

namespace {

Args Parse(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  return ParseArgs(static_cast<int>(argv.size()), argv.data(), 0);
}

}  // namespace

TEST_CASE("options with values, flags and positional words are read", "[args]") {
  Args a =
      Parse({"replay", "--config", "x.yaml", "--limit", "7", "--format", "json", "-q",
             "--metrics-port", "9100", "--examples", "0", "--department", "tiefbau", "--once"});
  CHECK(a.error.empty());
  CHECK(a.positional == std::vector<std::string>{"replay"});
  CHECK(a.config == "x.yaml");
  CHECK(a.limit == 7);
  CHECK(a.format == "json");
  CHECK(a.quiet);
  CHECK(a.once);
  CHECK_FALSE(a.help);
  CHECK(a.metrics_port == 9100);
  CHECK(a.examples == 0);
  CHECK(a.department == "tiefbau");
  CHECK(Parse({"--config=y.yaml"}).config == "y.yaml");
}

TEST_CASE("a missing or wrong value says which option and what it needs", "[args]") {
  CHECK(Parse({"--config"}).error == "--config needs a file");
  CHECK(Parse({"--url", ""}).error == "--url needs a value");
  CHECK(Parse({"--limit", "0"}).error == "--limit needs a positive number");
  CHECK(Parse({"--metrics-port", "70000"}).error == "--metrics-port needs a port from 0 to 65535");
  CHECK(Parse({"--metrics-port", "80x"}).error == "--metrics-port needs a port from 0 to 65535");
  CHECK(Parse({"--examples", "1001"}).error == "--examples needs a number from 0 to 1000");
  CHECK(Parse({"--format", "xml"}).error ==
        "--format needs text or json (report: table, csv or json)");
  CHECK(Parse({"--frobnicate"}).error == "unknown option --frobnicate");
  // The first problem stops reading.
  Args a = Parse({"--limit", "x", "--bogus"});
  CHECK(a.error == "--limit needs a positive number");
}

}  // namespace command_test
