// A rule file (routing/loader.cpp ParseRuleSet), checked against the example town's departments,
// categories and areas. Rule files come from the town's operators, not from citizens, but a
// hot reload must never take a worker down: a bad file is an error, never a crash.
#include "routing/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::AsView(data, size));
  // Checked against the configuration only when the file is a rule set on its own: loading the
  // configuration's areas and time zone on every input would make this ten times slower.
  if (routing::ParseRuleSet(text, "rules.yaml", nullptr)) {
    (void)routing::ParseRuleSet(text, "rules.yaml", &fuzz::ExampleConfig());
  }
  return 0;
}
