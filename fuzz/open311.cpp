// Open311 GeoReport v2 (channels/open311/routes.cpp): a POST requests body as form-encoded and as
// JSON (ParseBody), validated (ParseRequest, attributes against the example town's questions)
// and as a POST servicerequestupdates (ParseUpdate); the same fields as the query of GET requests
// (ParseQuery) and of GET servicerequestupdates (ParseUpdatesQuery); the path's format suffix
// (SplitFormat).
#include "channels/open311/open311.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"

using namespace meldestelle;
using namespace meldestelle::open311;

namespace {

void ParseEach(const Result<Form>& form) {
  if (!form) {
    return;
  }
  (void)ParseRequest(*form, fuzz::ExampleConfig());
  (void)ParseUpdate(*form, fuzz::ExampleConfig());
  auto param = [&](const char* name) {
    for (const auto& [k, v] : *form) {
      if (k == name) {
        return v;
      }
    }
    return std::string();
  };
  (void)ParseQuery(param);
  (void)ParseUpdatesQuery(param("start_date"), param("end_date"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  ParseEach(ParseBody("application/x-www-form-urlencoded; charset=utf-8", in));
  ParseEach(ParseBody("application/json", in));
  (void)SplitFormat(in, in);
  (void)IsW3cDateTime(in);
  return 0;
}
