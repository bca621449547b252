// The configuration file (core/config.cpp ParseConfig with the sections of routing and of the
// channels' adapters) and the street gazetteer (routing ParseGazetteer): a bad file must stop
// startup with file:line: key: reason, never crash. Relative paths resolve beside the example
// configuration; nothing is read from them here.
#include "core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "channels/chat/settings.hpp"
#include "channels/email/settings.hpp"
#include "channels/open311/settings.hpp"
#include "channels/phone/settings.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/webform/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "fuzz_util.hpp"
#include "routing/gazetteer.hpp"
#include "routing/settings.hpp"

using namespace meldestelle;

namespace {

const ConfigSections& Sections() {
  static const ConfigSections all = [] {
    ConfigSections s = routing::Sections();
    for (auto list : {chat::Sections(), email::Sections(), open311::Sections(), phone::Sections(),
                      telegram::Sections(), webform::Sections(), whatsapp::Sections()}) {
      s.insert(s.end(), list.begin(), list.end());
    }
    return s;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::AsView(data, size));
  const auto file = std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/fuzz.yaml";
  (void)ParseConfig(text, file, Sections(), /*ignore_other_keys=*/false);
  (void)routing::ParseGazetteer(text, "streets.yaml");
  return 0;
}
