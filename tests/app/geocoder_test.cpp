// The external geocoder's answers (workers/geocoder): Nominatim's /search JSON, and broken input.
#include "workers/geocoder.hpp"

#include <catch2/catch.hpp>

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace geocoder_test {

using meldestelle::workers::ParseNominatim;

TEST_CASE("Nominatim's answer: places with string coordinates, or nothing", "[geocoder]") {
  auto places = ParseNominatim(
      R"([{"place_id":1,"lat":"50.9380","lon":"6.9528","display_name":"13, Lindenstraße, Musterstadt"},
          {"lat":50.9381,"lon":6.9529,"display_name":"Lindenstraße 13a"}])");
  REQUIRE(places);
  REQUIRE(places->size() == 2);
  CHECK((*places)[0].lat == Approx(50.938));
  CHECK((*places)[0].lon == Approx(6.9528));
  CHECK((*places)[0].label == "13, Lindenstraße, Musterstadt");
  CHECK((*places)[1].lat == Approx(50.9381));
  auto none = ParseNominatim("[]");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a broken geocoder answer is an error, never a place", "[geocoder]") {
  for (const char* broken :
       {"", "not json", "{\"lat\":\"50\",\"lon\":\"6\"}", "[1]", R"([{"lat":"50.9"}])",
        R"([{"lat":"abc","lon":"6.9"}])", R"([{"lat":"50.9x","lon":"6.9"}])",
        R"([{"lat":"95","lon":"6.9"}])", R"([{"lat":"nan","lon":"6.9"}])",
        R"([{"lat":null,"lon":"6.9"}])", "[{\"lat\":\"50.9\",\"lon\":\"6.9\"", "\xff\xfe"}) {
    INFO(broken);
    auto r = ParseNominatim(broken);
    REQUIRE_FALSE(r);
    CHECK(r.error().code.str() == "geocoder_invalid");
  }
}

}  // namespace geocoder_test
