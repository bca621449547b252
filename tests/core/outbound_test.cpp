// Where fetches from user input may go (core/outbound; docs/security.md, "Outbound fetches").
#include "core/outbound.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/errors.hpp"
#include "core/http_client.hpp"

namespace outbound_test {

using namespace meldestelle;
using namespace meldestelle::outbound;

TEST_CASE("outbound: loopback, private, link-local and the like are not public", "[outbound]") {
  for (const char* a : {"127.0.0.1",
                        "127.255.255.254",
                        "10.1.2.3",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "0.1.2.3",
                        "224.0.0.1",
                        "239.255.255.250",
                        "240.0.0.1",
                        "255.255.255.255",
                        "192.0.2.10",
                        "198.51.100.1",
                        "203.0.113.9",
                        "198.18.0.1",
                        "::",
                        "::1",
                        "fe80::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "2001:db8::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "::ffff:169.254.169.254",
                        "64:ff9b::a9fe:a9fe",
                        "2002:7f00:1::1",
                        "::127.0.0.1",
                        "fec0::1",
                        "100::1"}) {
    INFO(a);
    CHECK_FALSE(IsPublicAddressText(a));
  }
}

TEST_CASE("outbound: public addresses pass", "[outbound]") {
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "193.99.144.80",
        "2a00:1450:4001:80b::200e", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    INFO(a);
    CHECK(IsPublicAddressText(a));
  }
  // Not an address at all.
  CHECK_FALSE(IsPublicAddressText("localhost"));
  CHECK_FALSE(IsPublicAddressText(""));
  CHECK_FALSE(IsPublicAddressText("127.1"));
}

TEST_CASE("outbound: an allow-list names hosts, a leading dot their subdomains", "[outbound]") {
  CHECK(HostAllowed("anything.example", {}));
  const std::vector<std::string> list = {"photos.example.org", ".fixmystreet.example"};
  CHECK(HostAllowed("photos.example.org", list));
  CHECK(HostAllowed("PHOTOS.Example.org", list));
  CHECK_FALSE(HostAllowed("evil.photos.example.org", list));
  CHECK_FALSE(HostAllowed("photos.example.org.evil.tld", list));
  CHECK(HostAllowed("fixmystreet.example", list));
  CHECK(HostAllowed("cdn.fixmystreet.example", list));
  CHECK_FALSE(HostAllowed("notfixmystreet.example", list));
}

TEST_CASE("outbound: a public-only request to loopback is refused before anything is sent",
          "[outbound]") {
  HttpClient http;
  for (const char* url : {"http://127.0.0.1:9/x.jpg", "http://localhost:9/x.jpg",
                          "http://[::1]:9/x.jpg", "http://0x7f000001:9/x.jpg",
                          "http://2130706433:9/x.jpg", "http://169.254.169.254/latest/meta-data"}) {
    INFO(url);
    HttpClient::Request req;
    req.url = url;
    req.public_only = true;
    req.timeout = std::chrono::seconds(5);
    auto res = http.Send(req);
    REQUIRE_FALSE(res);
    CHECK(res.error().code == errors::kHttpAddressRefused);
  }
  HttpClient::Request listed;
  listed.url = "http://photos.example.org/x.jpg";
  listed.public_only = true;
  listed.allowed_hosts = {"other.example.org"};
  auto res = http.Send(listed);
  REQUIRE_FALSE(res);
  CHECK(res.error().code == errors::kHttpAddressRefused);
  CHECK(res.error().message.find("not allowed") != std::string::npos);
}

}  // namespace outbound_test
