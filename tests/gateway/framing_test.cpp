// The checks every request passes before its body is read (gateway/framing; docs/security.md).
#include "gateway/framing.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace framing_test {

using namespace meldestelle;
using namespace meldestelle::gateway;

namespace {

FramingRules Rules() {
  FramingRules r;
  r.default_body_bytes = 64 * 1024;
  r.max_header_count = 10;
  r.max_header_bytes = 1024;
  r.routes = {{"/api/v1/reports", 0, 60'000'000},
              {"/webhooks/whatsapp", 3'000'000, 0},
              {"/webhooks/whatsapp/x", 5, 0}};
  return r;
}

RequestHead Post(std::string_view path,
                 std::vector<std::pair<std::string_view, std::string_view>> headers) {
  return {"POST", path, std::move(headers)};
}

int StatusOf(const RequestHead& head) {
  auto refusal = CheckFraming(head, Rules());
  return refusal ? refusal->status : 0;
}

}  // namespace

TEST_CASE("framing: a sized body within its route's limit passes", "[framing]") {
  CHECK(StatusOf(Post("/api/v1/reports",
                      {{"Content-Length", "65536"}, {"Content-Type", "application/json"}})) == 0);
  CHECK(StatusOf(Post("/api/v1/reports", {{"Content-Length", "59999999"},
                                          {"Content-Type", "multipart/form-data; boundary=x"}})) ==
        0);
  CHECK(StatusOf(Post("/webhooks/whatsapp", {{"content-length", "3000000"}})) == 0);
  // A GET without a body needs no Content-Length.
  CHECK(StatusOf({"GET", "/", {{"Host", "x"}}}) == 0);
  CHECK(StatusOf(Post("/api/v1/reports", {{"Content-Length", "0"}})) == 0);
  CHECK(StatusOf(Post("/x", {{"Content-Encoding", " Identity "}, {"Content-Length", "1"}})) == 0);
}

TEST_CASE("framing: text bodies are small, photos may be large, on the route that takes them",
          "[framing]") {
  auto r = Rules();
  CHECK(BodyLimitFor(r, "/api/v1/reports", "application/json") == 64 * 1024);
  CHECK(BodyLimitFor(r, "/api/v1/reports", "Multipart/Form-Data; boundary=b") == 60'000'000);
  CHECK(BodyLimitFor(r, "/webhooks/whatsapp", "application/json") == 3'000'000);
  // The longest prefix wins.
  CHECK(BodyLimitFor(r, "/webhooks/whatsapp/x", "application/json") == 5);
  // A route without a multipart limit takes multipart bodies as text.
  CHECK(BodyLimitFor(r, "/webhooks/whatsapp", "multipart/form-data") == 3'000'000);
  // Any other path: the default, also for multipart.
  CHECK(BodyLimitFor(r, "/staff/login", "multipart/form-data") == 64 * 1024);
  auto big = CheckFraming(
      Post("/api/v1/reports", {{"Content-Length", "65537"}, {"Content-Type", "application/json"}}),
      r);
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(big->code == errors::kPayloadTooLarge);
  CHECK(big->message.find("64 KiB") != std::string::npos);
  CHECK(StatusOf(Post("/webhooks/whatsapp", {{"Content-Length", "3000001"}})) == 413);
  CHECK(StatusOf(Post("/api/v1/reports", {{"Content-Length", "60000001"},
                                          {"Content-Type", "multipart/form-data"}})) == 413);
}

TEST_CASE("framing: every method, every path: transfer-encoded or unsized uploads get 411",
          "[framing]") {
  for (std::string_view method : {"POST", "PUT", "PATCH", "DELETE", "GET"}) {
    INFO(method);
    CHECK(StatusOf({method, "/unknown", {{"Transfer-Encoding", "chunked"}}}) == 411);
    CHECK(StatusOf({method, "/unknown", {{"transfer-encoding", "gzip, chunked"}}}) == 411);
    // Even with a Content-Length beside it (request smuggling).
    CHECK(StatusOf({method, "/", {{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}}) ==
          411);
  }
  for (std::string_view method : {"POST", "PUT", "PATCH"})
    CHECK(StatusOf({method, "/api/v1/reports", {}}) == 411);
}

TEST_CASE("framing: compressed bodies get 415 before a byte is decompressed", "[framing]") {
  for (std::string_view enc : {"gzip", "deflate", "br", "x-gzip", "gzip, identity"}) {
    INFO(enc);
    auto r = CheckFraming(
        Post("/webhooks/telegram", {{"Content-Encoding", enc}, {"Content-Length", "100"}}),
        Rules());
    REQUIRE(r);
    CHECK(r->status == 415);
    CHECK(r->code == errors::kContentEncodingUnsupported);
  }
}

TEST_CASE("framing: broken Content-Length values get 400", "[framing]") {
  for (std::string_view v :
       {"", "abc", "-1", "+5", "1 2", "1,1", "0x10", "99999999999999999999", "12a"}) {
    INFO("'" << v << "'");
    auto r = CheckFraming(Post("/api/v1/reports", {{"Content-Length", v}}), Rules());
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->code == errors::kContentLengthInvalid);
  }
  // Twice with different values: which one would the library believe?
  CHECK(StatusOf(Post("/x", {{"Content-Length", "5"}, {"Content-Length", "6"}})) == 400);
  CHECK(StatusOf(Post("/x", {{"Content-Length", "5"}, {"Content-Length", "5"}})) == 0);
}

TEST_CASE("framing: too many or too large header fields get 431", "[framing]") {
  std::vector<std::pair<std::string_view, std::string_view>> many(11, {"X-A", "b"});
  CHECK(StatusOf({"GET", "/", many}) == 431);
  many.resize(10);
  CHECK(StatusOf({"GET", "/", many}) == 0);
  std::string large(1100, 'a');
  auto r = CheckFraming({"GET", "/", {{"Cookie", large}}}, Rules());
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(r->code == errors::kHeadersTooLarge);
}

}  // namespace framing_test

namespace framing_test {

TEST_CASE("framing: a second Content-Type or a body on a method without one gets 400",
          "[framing]") {
  // The size limit would read one Content-Type and the handler the other.
  auto two = CheckFraming(Post("/api/v1/reports", {{"Content-Type", "application/json"},
                                                   {"Content-Length", "10"},
                                                   {"content-type", "multipart/form-data; b=z"}}),
                          Rules());
  REQUIRE(two);
  CHECK(two->status == 400);
  CHECK(two->code == errors::kHeaderInvalid);
  // cpp-httplib reads the body of POST, PUT, PATCH and DELETE only: on any other method the
  // body's bytes would be taken as the next request (CL.0 smuggling).
  for (std::string_view method : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    INFO(method);
    auto body = CheckFraming({method, "/healthz", {{"Content-Length", "44"}}}, Rules());
    REQUIRE(body);
    CHECK(body->status == 400);
    CHECK(body->code == errors::kBodyNotAllowed);
    CHECK_FALSE(CheckFraming({method, "/healthz", {{"Content-Length", "0"}}}, Rules()));
  }
  CHECK_FALSE(CheckFraming({"DELETE", "/x", {{"Content-Length", "4"}}}, Rules()));
}

TEST_CASE("framing: a head whose lines the library would skip or decode is refused as sent",
          "[framing]") {
  auto code = [](const std::string& raw) -> std::string {
    auto refusal = CheckHeadSyntax(raw);
    return refusal ? std::to_string(refusal->status) + " " + std::string(refusal->code.str())
                   : "ok";
  };
  const std::string start = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n";
  CHECK(code(start + "Content-Length: 2\r\n\r\n") == "ok");
  CHECK(code("GET / HTTP/1.0\r\n\r\n") == "ok");  // HTTP/1.0 needs no Host
  CHECK(code(start + "X-Tab:\tvalue \t\r\nX-Latin1: M\xfchle\r\n\r\n") == "ok");
  // Only the head counts: what follows the empty line is the body's.
  CHECK(code(start + "\r\n\x01\n\r bare") == "ok");
  // Lines the library skips, which hid a Transfer-Encoding from the framing checks.
  CHECK(code(start + "Transfer-Encoding : chunked\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "X-A: 1\r\n\tfolded\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "Transfer-Encoding: chunked\n\r\n") == "400 header_invalid");  // bare LF
  CHECK(code("POST / HTTP/1.1\nHost: x\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "X-A: 1\r2\r\n\r\n") == "400 header_invalid");  // bare CR
  CHECK(code(start + std::string("X-A: 1\0 2\r\n\r\n", 14)) == "400 header_invalid");
  CHECK(code(start + "X-A: \x01\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "X-A: \x7f\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "no colon here\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + ": no name\r\n\r\n") == "400 header_invalid");
  CHECK(code(start + "X(A): 1\r\n\r\n") == "400 header_invalid");
  // The library percent-decodes values: the length as sent must be digits.
  CHECK(code(start + "Content-Length: %33%32\r\n\r\n") == "400 content_length_invalid");
  CHECK(code(start + "Content-Length: 3 2\r\n\r\n") == "400 content_length_invalid");
  CHECK(code(start + "Content-Length:  32 \r\n\r\n") == "ok");
  // The request line: one blank between its three parts (the library also reads more).
  CHECK(code("GET / HTTP/1.1 \r\n\r\n") == "400 header_invalid");
  CHECK(code("GET  / HTTP/1.1\r\nHost: x\r\n\r\n") == "400 header_invalid");
  CHECK(code("GET /\t HTTP/1.1\r\nHost: x\r\n\r\n") == "400 header_invalid");
  CHECK(code("GET / HTTP/1.2\r\nHost: x\r\n\r\n") == "400 header_invalid");
  CHECK(code("G(T / HTTP/1.1\r\nHost: x\r\n\r\n") == "400 header_invalid");
  CHECK(code("GET /stra\xc3\x9fe?q=%20 HTTP/1.1\r\nHost: x\r\n\r\n") == "ok");
  // HTTP/1.1: exactly one Host (RFC 9112 3.2).
  CHECK(code("GET / HTTP/1.1\r\n\r\n") == "400 header_invalid");
  CHECK(code("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == "400 header_invalid");
  // With the raw head the field lines are counted as sent (the library adds four of its own).
  std::string ten = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 9; ++i)
    ten += "X-" + std::to_string(i) + ": 1\r\n";
  RequestHead counted{"GET", "/", {}, ""};
  for (int i = 0; i < 14; ++i)  // the library's list: the ten and its own four
    counted.headers.emplace_back("X", "1");
  const std::string head_of_ten = ten + "\r\n", head_of_eleven = ten + "X-9: 1\r\n\r\n";
  counted.raw = head_of_ten;
  CHECK_FALSE(CheckFraming(counted, Rules()));  // Rules(): at most 10
  counted.raw = head_of_eleven;
  auto eleven = CheckFraming(counted, Rules());
  REQUIRE(eleven);
  CHECK(eleven->status == 431);
  // CheckFraming applies it when it has the raw head.
  RequestHead head = Post("/api/v1/reports", {{"Content-Length", "2"}});
  head.raw =
      "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
      "Content-Length: 2\r\n\r\n";
  auto refusal = CheckFraming(head, Rules());
  REQUIRE(refusal);
  CHECK(refusal->code == errors::kHeaderInvalid);
}

TEST_CASE("framing: a target in absolute-form stands for its origin-form", "[framing]") {
  CHECK(OriginForm("http://127.0.0.1:8080/healthz") == "/healthz");
  CHECK(OriginForm("HTTPS://stadt.example/meldung/MS-1?lang=en") == "/meldung/MS-1?lang=en");
  CHECK(OriginForm("http://stadt.example") == "/");
  CHECK(OriginForm("http://stadt.example?lang=en") == "/?lang=en");
  CHECK(OriginForm("http://stadt.example/a/http://b/c") == "/a/http://b/c");
  // Any other form is left as it is.
  CHECK_FALSE(OriginForm("/healthz"));
  CHECK_FALSE(OriginForm("/http://stadt.example/"));
  CHECK_FALSE(OriginForm("*"));
  CHECK_FALSE(OriginForm("stadt.example:443"));
  CHECK_FALSE(OriginForm("ftp://stadt.example/"));
  CHECK_FALSE(OriginForm("http:/stadt.example/"));
}

}  // namespace framing_test
