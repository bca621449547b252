#pragma once

// The catalogues config/texts/*.yaml as built into the binary by cmake/embed.cmake
// (core/texts.hpp reads them; paths are "texts/de.yaml").

#include <span>
#include <string_view>

namespace meldestelle::texts {

struct Asset {
  std::string_view path;
  std::string_view media_type;
  std::string_view body;
};

const Asset* FindAsset(std::string_view path);
std::span<const Asset> AllAssets();

}  // namespace meldestelle::texts
