#include "channels/http.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace http_test {

using namespace meldestelle;

TEST_CASE("Header finds what cpp-httplib's get_header_value finds", "[http]") {
  httplib::Request req;
  // As the library's read_headers keeps them: a map ordered by name without case, repeated
  // fields in the order they came.
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"Host", "127.0.0.1:8080"},
                                                        {"content-type", "application/json"},
                                                        {"Content-Length", "17"},
                                                        {"X-Forwarded-For", "203.0.113.7"},
                                                        {"x-forwarded-for", "198.51.100.2"},
                                                        {"Accept-Language", "de-DE,de;q=0.9"},
                                                        {"Idempotency-Key", ""},
                                                        {"REMOTE_ADDR", "127.0.0.1"}}) {
    req.headers.emplace(name, value);
  }
  for (const char* name :
       {"Content-Type", "CONTENT-TYPE", "content-length", "X-Forwarded-For", "accept-language",
        "Idempotency-Key", "Host", "Hos", "Hostt", "Content-Typf", "Missing", "", "remote_addr"}) {
    INFO(name);
    CHECK(channels::Header(req, name) == req.get_header_value(name));
  }
  // The first of a repeated field, as the library gives it.
  CHECK(channels::Header(req, "X-FORWARDED-FOR") == "203.0.113.7");
  CHECK(channels::Header(req, "Missing").empty());
  // Letters only are folded: '-' and '_' are not the same.
  CHECK(channels::Header(req, "REMOTE-ADDR").empty());
}

TEST_CASE("IsMultipart agrees with cpp-httplib's own test", "[http]") {
  for (const char* type :
       {"multipart/form-data; boundary=x", "multipart/form-data", "Multipart/Form-Data; boundary=x",
        " multipart/form-data", "multipart/form-dat", "multipart/mixed; boundary=x",
        "application/json", ""}) {
    INFO(type);
    httplib::Request req;
    req.headers.emplace("Content-Type", type);
    CHECK(channels::IsMultipart(type) == req.is_multipart_form_data());
  }
}

}  // namespace http_test
