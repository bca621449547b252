// Place finding in free text from outside (e-mails, phone transcripts): FindPlace with the
// example town's street gazetteer (config/example/streets.yaml). Must stay linear in the text
// (docs/security.md, "Linear time for text from outside").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "fuzz_util.hpp"
#include "routing/gazetteer.hpp"

using namespace meldestelle;

namespace {

const routing::Gazetteer& Streets() {
  static const routing::Gazetteer g = [] {
    auto loaded = routing::LoadGazetteer(std::filesystem::path(MELDESTELLE_SOURCE_DIR) /
                                         "config/example/streets.yaml");
    if (!loaded) {
      std::fprintf(stderr, "fuzz: streets.yaml does not load: %s\n",
                   loaded.error().message.c_str());
      std::abort();
    }
    return std::move(loaded).value();
  }();
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)routing::FindPlace(Streets(), fuzz::AsView(data, size));
  return 0;
}
