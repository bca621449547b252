#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

// The parts of core/photo that each format's file shares with the others. Internal to core:
// nothing outside core/photo*.cpp includes it.
namespace meldestelle::photo_internal {

// Above this a decode would need hundreds of MB: a tiny file can declare 65535x65535, and the
// decoders allocate for the declared size before reading any compressed data. 50 megapixels: what
// phone cameras make (12 MP by default, 48 or 50 MP in their full-resolution modes); a 200 MP
// mode's photo is refused as too large.
inline constexpr std::int64_t kMaxPixels = 50'000'000;

// errors::kInvalidPhoto with `detail` for the log.
Error Invalid(std::string detail);
// errors::kPhotoTooLarge for a width x height image.
Error TooLarge(std::int64_t width, std::int64_t height);

// `jpeg` (without metadata) with the ICC profile `icc` put in by Exiv2 (APP2 chunks). On failure
// the JPEG without a profile: colours may be off, the copy is still clean. core/photo.cpp.
std::string WithIccProfile(std::string jpeg, const std::string& icc) noexcept;

// GIF without comments, plain text, and application extensions but the looping ones and the ICC
// profile. core/photo_gif.cpp.
Result<std::string> StripGif(std::string_view bytes);

// Whether libheif can decode this type ("image/heic" or "image/avif"). core/photo_heif.cpp.
bool HeifDecodes(std::string_view media_type);
// The primary image of a HEIF file (HEIC, AVIF) as a new JPEG with only its ICC profile. The
// caller holds a decode slot. core/photo_heif.cpp.
Result<std::string> HeifToJpeg(std::string_view bytes);

}  // namespace meldestelle::photo_internal
