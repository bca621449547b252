#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

// Photo metadata: reading the few fields a report needs, and making a copy that is safe to show.
// Metadata is read with Exiv2 (EXIF, XMP, IPTC), JPEGs are rotated losslessly with libturbojpeg,
// HEIC/AVIF decoded with libheif. The functions are thread-safe: Exiv2's logging is muted and its
// XMP toolkit initialised once (with a lock for its namespace registry), libheif initialised
// once; the only other shared state is the semaphore that bounds concurrent decodes. They never
// throw.
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
// no fix. Also reads HEIC/AVIF (Exiv2's BMFF support): the position is read before StripPhoto
// converts them.
Result<PhotoMetadata> ReadPhotoMetadata(std::string_view bytes);

// A photo without metadata, and its type (which differs from the input's for HEIC and AVIF).
struct CleanPhoto {
  std::string bytes;
  std::string media_type;  // "image/jpeg", "image/png", "image/webp" or "image/gif"
};

// A copy without metadata that displays as the original does:
// - JPEG: every APPn segment (EXIF with its thumbnail, XMP, Photoshop/IPTC, maker data) and COM
//   comment is dropped, the EXIF orientation is applied to the pixels losslessly (libturbojpeg;
//   for orientations other than 1 a partial MCU row/column at the edge that cannot be rotated
//   losslessly is trimmed, at most 15 pixels) and no orientation tag is left. The ICC colour
//   profile is kept (re-inserted with Exiv2) so wide-gamut photos keep their colours.
// - HEIC/HEIF and AVIF (what iPhones and some Android phones send): the primary image is decoded
//   with libheif, its transformations (irot, imir, clap) applied, and encoded as a new JPEG
//   (quality 90, 4:2:0) that carries only its ICC profile; EXIF, XMP, depth maps, thumbnails and
//   further images are not carried over. media_type is "image/jpeg". AVIF only where libheif has
//   an AV1 decoder (Debian 12's has dav1d and libaom).
// - PNG: only the critical chunks and ancillary chunks needed to display the image are kept
//   (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, bKGD, pHYs, cICP, mDCv, cLLi, and the APNG chunks
//   acTL, fcTL, fdAT); eXIf, tEXt, zTXt, iTXt (XMP), tIME and unknown chunks are dropped, as are
//   bytes after IEND. Kept chunks are copied with their CRC.
// - WebP: only VP8 , VP8L, VP8X, ALPH, ANIM, ANMF and ICCP chunks are kept (EXIF, XMP and unknown
//   chunks dropped), the VP8X EXIF/XMP flags are cleared.
// - GIF: the block structure is walked; comment extensions, plain-text extensions (which no
//   browser draws) and application extensions are dropped (XMP "XMP DataXMP" among them) except
//   the looping ones (NETSCAPE2.0, ANIMEXTS1.0) and the ICC profile (ICCRGBG1012); images and
//   graphic control extensions are kept, so animations stay animated. Bytes after the trailer
//   are dropped.
// PNG and WebP pixels are not rotated: an EXIF orientation in them is dropped with the EXIF.
// Any other type (TIFF, BMP, camera raw formats, a PDF) gives errors::kUnsupportedPhotoType;
// broken input (a truncated JPEG, even one libjpeg would warn about and pad; a GIF whose blocks
// run past the end) gives errors::kInvalidPhoto; a JPEG, HEIC or AVIF above 50 megapixels gives
// errors::kPhotoTooLarge, before the pixels are allocated. JPEG, HEIC and AVIF decodes run at
// most four at a time in a process; the others wait their turn.
Result<CleanPhoto> StripPhoto(std::string_view bytes);

// Whether StripPhoto can clean photos of this (SniffMediaType) type at all: the web form refuses
// the others before anything else is done.
bool CanCleanPhotoType(std::string_view media_type);

// The file name for a photo whose type StripPhoto changed: "IMG_0042.HEIC" with "image/jpeg"
// gives "IMG_0042.jpg"; a name that already fits the type, a name without an extension, and ""
// are returned as is.
std::string PhotoFileName(std::string_view filename, std::string_view media_type);

}  // namespace meldestelle
