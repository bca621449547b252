#pragma once

// The files the gateway serves under /assets/ from its own binary (no CDN, no file system): the
// vendored map library (gateway/assets/leaflet-*/, from npm; docs/architecture.md, "Assets")
// and our scripts for it. Built into the binary by cmake/embed.cmake.

#include <span>
#include <string_view>

namespace meldestelle::gateway {

struct Asset {
  std::string_view path;        // "/assets/leaflet-1.9.4/leaflet.js"
  std::string_view media_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// nullptr when there is no such file.
const Asset* FindAsset(std::string_view path);
std::span<const Asset> AllAssets();

// The paths the pages link (kLeafletCss, kLeafletJs, kStatusMapJs, kFormMapJs) are in
// channels/webform/html.hpp, beside the pages.

}  // namespace meldestelle::gateway
