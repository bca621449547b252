// The command line every subcommand shares (app/command.cpp ParseArgs).
#include "app/command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "support/saved_env.hpp"

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

TEST_CASE("a command takes only the options its help names", "[args]") {
  const char* help =
      "Usage: meldestelle token revoke ID [--format text|json]\n"
      "       meldestelle token create --department ID --operator\n";
  CHECK(TakesOptions(Parse({"revoke", "x", "--format", "json"}), help, "token"));
  CHECK(TakesOptions(Parse({"create", "--department", "d", "-c", "x.yaml", "-h"}), help, "token"));
  CHECK(TakesOptions(Parse({"--config=x.yaml", "--operator"}), help, "token"));
  // `token revoke ID --dry-run` revoked the token: one table reads every command's options.
  CHECK_FALSE(TakesOptions(Parse({"revoke", "x", "--dry-run"}), help, "token"));
  CHECK_FALSE(TakesOptions(Parse({"-q"}), help, "token"));
  // A longer option that begins with a named one is not named by it.
  CHECK_FALSE(TakesOptions(Parse({"--format", "json"}), "[--form]", "token"));
  CHECK(Parse({"-q", "--config=y", "--limit", "3"}).given ==
        std::vector<std::string>{"--quiet", "--config", "--limit"});
}

TEST_CASE("a missing or wrong value says which option and what it needs", "[args]") {
  CHECK(Parse({"--config"}).error == "--config needs a file");
  CHECK(Parse({"--url", ""}).error == "--url needs a value");
  CHECK(Parse({"--limit", "0"}).error == "--limit needs a positive number");
  CHECK(Parse({"--metrics-port", "70000"}).error == "--metrics-port needs a port from 0 to 65535");
  CHECK(Parse({"--metrics-port", "80x"}).error == "--metrics-port needs a port from 0 to 65535");
  CHECK(Parse({"--examples", "1001"}).error == "--examples needs a number from 0 to 1000");
  CHECK(Parse({"--lock-timeout", "1"}).error == "--lock-timeout needs seconds from 2 to 600");
  CHECK(Parse({"--give-up-after", "2s"}).error == "--give-up-after needs seconds from 1 to 86400");
  CHECK(Parse({"--lock-timeout", "5", "--give-up-after", "900"}).give_up_after == 900);
  CHECK(Parse({}).lock_timeout == 2);
  CHECK(Parse({"--format", "xml"}).error ==
        "--format needs text or json (report: table, csv or json)");
  CHECK(Parse({"--frobnicate"}).error == "unknown option --frobnicate");
  // The first problem stops reading.
  Args a = Parse({"--limit", "x", "--bogus"});
  CHECK(a.error == "--limit needs a positive number");
}

using meldestelle::testing::SavedEnv;

TEST_CASE(
    "every command gets a connect timeout and a name for PostgreSQL, unless the "
    "environment gives its own",
    "[args]") {
  SavedEnv timeout("PGCONNECT_TIMEOUT"), name("PGAPPNAME");
  unsetenv("PGCONNECT_TIMEOUT");
  unsetenv("PGAPPNAME");
  SetDatabaseDefaults("worker");
  CHECK(std::string(std::getenv("PGCONNECT_TIMEOUT")) == std::to_string(kConnectTimeoutSeconds));
  CHECK(std::string(std::getenv("PGAPPNAME")) == "meldestelle-worker");
  setenv("PGCONNECT_TIMEOUT", "30", 1);
  setenv("PGAPPNAME", "", 1);  // set, if empty: the operator's choice
  SetDatabaseDefaults("dispatcher");
  CHECK(std::string(std::getenv("PGCONNECT_TIMEOUT")) == "30");
  CHECK(std::string(std::getenv("PGAPPNAME")).empty());
}

TEST_CASE(
    "a database host that accepts the connection and never answers is given up on, "
    "with libpq's reason",
    "[args]") {
  // A listening socket nobody accepts from: the kernel completes the handshake, so libpq sends
  // its start-up packet and waits for an answer that never comes (as behind a firewall that
  // drops the packets of a database that died).
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url =
      "postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/meldestelle";
  // Without the default libpq waits for ever: `timeout` ends it after 120 s with status 124.
  const std::string cmd = "env -u PGCONNECT_TIMEOUT MELDESTELLE_DATABASE_URL='" + url +
                          "' timeout 120 '" MELDESTELLE_BINARY "' migrate --config '" +
                          MELDESTELLE_SOURCE_DIR "/config/example/meldestelle.yaml' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  int status = pclose(p);
  close(fd);
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == kExitFailure);
  CHECK(out.find("timeout expired") != std::string::npos);
}

}  // namespace command_test
