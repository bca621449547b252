#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

// Photo metadata: reading the few fields a report needs, and making a copy that is safe to show.
// Metadata is read with Exiv2 (EXIF, XMP, IPTC), JPEGs are rotated losslessly with libturbojpeg.
// Both functions are thread-safe: Exiv2's logging is muted and its XMP toolkit initialised once
// (with a lock for its namespace registry), there is no other shared state. They never throw.
namespace meldestelle {

struct PhotoMetadata {
  std::optional<double> lat;  // WGS84 from EXIF GPS (GPSLatitude + GPSLatitudeRef N/S), -90..90
  std::optional<double> lon;  // GPSLongitude + Ref E/W, -180..180; lat/lon set together or neither
  std::string captured_at;    // DateTimeOriginal (else DateTime) as "YYYY-MM-DDTHH:MM:SS", camera
                              // local time without zone; "" if none or invalid
  int orientation = 1;        // Exif.Image.Orientation 1..8 (1 if missing or invalid)
};

// Error codes of this module (Error::code): errors::kInvalidPhoto, errors::kUnsupportedPhotoType,
// errors::kPhotoTooLarge (core/errors.hpp).

// Photos without metadata, or with broken/garbage metadata, give an empty PhotoMetadata
// (orientation 1). Bytes that Exiv2 does not recognise as an image at all (empty, random, a PDF)
// give errors::kInvalidPhoto. A GPS position with a missing reference, a zero denominator or a
// value out of range gives no location; so does exactly 0/0, which receivers write when they have
// no fix. Also reads HEIC/AVIF (Exiv2's BMFF support), although StripPhoto does not take them.
Result<PhotoMetadata> ReadPhotoMetadata(std::string_view bytes);

// A copy without metadata that displays as the original does:
// - JPEG: every APPn segment (EXIF with its thumbnail, XMP, Photoshop/IPTC, maker data) and COM
//   comment is dropped, the EXIF orientation is applied to the pixels losslessly (libturbojpeg;
//   for orientations other than 1 a partial MCU row/column at the edge that cannot be rotated
//   losslessly is trimmed, at most 15 pixels) and no orientation tag is left. The ICC colour
//   profile is kept (re-inserted with Exiv2) so wide-gamut photos keep their colours.
// - PNG: only the critical chunks and ancillary chunks needed to display the image are kept
//   (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, bKGD, pHYs, cICP, mDCv, cLLi, and the APNG chunks
//   acTL, fcTL, fdAT); eXIf, tEXt, zTXt, iTXt (XMP), tIME and unknown chunks are dropped, as are
//   bytes after IEND. Kept chunks are copied with their CRC.
// - WebP: only VP8 , VP8L, VP8X, ALPH, ANIM, ANMF and ICCP chunks are kept (EXIF, XMP and unknown
//   chunks dropped), the VP8X EXIF/XMP flags are cleared.
// - GIF: returned as is (GIF has no EXIF; comment and application extensions are kept).
// PNG and WebP pixels are not rotated: an EXIF orientation in them is dropped with the EXIF.
// HEIC, AVIF and any other recognised type give errors::kUnsupportedPhotoType; broken input (a
// truncated JPEG, even one libjpeg would warn about and pad) gives errors::kInvalidPhoto; a JPEG
// above 50 megapixels gives errors::kPhotoTooLarge.
Result<std::string> StripPhoto(std::string_view bytes);

}  // namespace meldestelle
