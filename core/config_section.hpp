#pragma once

// The ConfigSection of a settings struct, for the .cpp files that register a component's
// sections (it brings yaml-cpp). S declares
//   static constexpr std::string_view kKey = "whatsapp";
//   static constexpr bool kRequired = false;  // true: a file without the section is refused
//   static void Read(YamlReader& rd, const YAML::Node& node, Config& config, S& out);
// Read gets a null node when the section is absent (only defaults that need work are filled in).
#include <memory>

#include "core/config.hpp"
#include "core/yaml_reader.hpp"

namespace meldestelle {

template <typename S>
class Section final : public ConfigSection {
 public:
  std::string_view key() const override { return S::kKey; }
  void Read(YamlReader& rd, const YAML::Node& root, Config& config) const override {
    const std::string key(S::kKey);
    YAML::Node node = root[key];
    if (!node && S::kRequired)
      rd.Fail(root, key, "is required");
    S::Read(rd, node, config, config.Set<S>());
  }
};

template <typename S>
std::shared_ptr<const ConfigSection> SectionOf() {
  return std::make_shared<Section<S>>();
}

}  // namespace meldestelle
