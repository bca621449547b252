// Writes the HEIF samples in tests/data (not part of the build; the files are committed, so the
// tests do not need an encoder). libheif 1.15 from Debian 12 encodes with x265 and libaom:
//
//   g++ -std=c++20 tests/data/heif_samples.cpp -o /tmp/heif_samples \
//       $(pkg-config --cflags --libs libheif exiv2)
//   cd tests/data && /tmp/heif_samples
//
// photo-gps.heic  64x48 stored, irot 90° (orientation 6: shown 48x64), the top quarter red, the
//                 left half black, the right half white; EXIF with GPS, time, model and an
//                 orientation tag of 6 (HEIF readers must ignore it), XMP, a 128-byte ICC profile
// photo-gps.avif  the same picture upright (no irot) as AVIF, EXIF with GPS
// bomb-48mp.heic  8000x6000 of one grey: 48 megapixels (just under the cap) in about 30 KB, for
//                 bench/photo_bombs
#include <libheif/heif.h>

#include <cstdio>
#include <exiv2/exiv2.hpp>
#include <string>

namespace {

heif_error Append(heif_context*, const void* data, size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return {heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

void Check(heif_error e) {
  if (e.code != heif_error_Ok) {
    std::fprintf(stderr, "libheif: %s\n", e.message);
    std::exit(1);
  }
}

std::string Exif(int orientation) {
  Exiv2::ExifData exif;
  Exiv2::URationalValue lat;
  lat.read("52/1 31/1 123/10");
  exif.add(Exiv2::ExifKey("Exif.GPSInfo.GPSLatitude"), &lat);
  exif["Exif.GPSInfo.GPSLatitudeRef"] = "N";
  Exiv2::URationalValue lon;
  lon.read("13/1 24/1 366/10");
  exif.add(Exiv2::ExifKey("Exif.GPSInfo.GPSLongitude"), &lon);
  exif["Exif.GPSInfo.GPSLongitudeRef"] = "E";
  exif["Exif.Photo.DateTimeOriginal"] = "2024:05:17 14:03:21";
  exif["Exif.Image.Model"] = "Testkamera";
  exif["Exif.Image.Orientation"] = static_cast<std::uint16_t>(orientation);
  Exiv2::Blob blob;
  Exiv2::ExifParser::encode(blob, Exiv2::bigEndian, exif);
  // The Exif item starts with the offset of the TIFF header (0: right after it).
  return std::string(4, '\0') +
         std::string(reinterpret_cast<const char*>(blob.data()), blob.size());
}

std::string IccProfile() {
  std::string icc(128, '\0');
  icc[3] = static_cast<char>(128);
  icc.replace(36, 4, "acsp");
  return icc;
}

void Write(const char* path, heif_compression_format format, int width, int height,
           heif_orientation orientation, bool uniform, bool metadata) {
  heif_context* ctx = heif_context_alloc();
  heif_encoder* encoder = nullptr;
  Check(heif_context_get_encoder_for_format(ctx, format, &encoder));
  heif_encoder_set_lossy_quality(encoder, 60);
  heif_image* image = nullptr;
  Check(heif_image_create(width, height, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &image));
  Check(heif_image_add_plane(image, heif_channel_interleaved, width, height, 8));
  int stride = 0;
  std::uint8_t* p = heif_image_get_plane(image, heif_channel_interleaved, &stride);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t* px = p + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 3;
      std::uint8_t v = uniform ? 128 : (x < width / 2 ? 0 : 255);
      px[0] = px[1] = px[2] = v;
      if (!uniform && y < height / 4) {
        px[0] = 255;
        px[1] = px[2] = 0;
      }
    }
  }
  const std::string icc = IccProfile();
  if (metadata) {
    Check(heif_image_set_raw_color_profile(image, "prof", icc.data(), icc.size()));
  }
  heif_encoding_options* options = heif_encoding_options_alloc();
  options->image_orientation = orientation;
  // No grid wrapper for the crop (a clap box instead): Exiv2 0.27 reads the item locations of
  // such files (iloc without a base offset), as it reads an iPhone's.
  options->macOS_compatibility_workaround = 0;
  heif_image_handle* handle = nullptr;
  Check(heif_context_encode_image(ctx, image, encoder, options, &handle));
  if (metadata) {
    const std::string exif = Exif(orientation);
    Check(heif_context_add_exif_metadata(ctx, handle, exif.data(), static_cast<int>(exif.size())));
    const std::string xmp =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
        "xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Bildbearbeitung'/>"
        "</rdf:RDF></x:xmpmeta>";
    Check(heif_context_add_XMP_metadata(ctx, handle, xmp.data(), static_cast<int>(xmp.size())));
  }
  std::string out;
  heif_writer writer{1, Append};
  Check(heif_context_write(ctx, &writer, &out));
  FILE* f = std::fopen(path, "wb");
  std::fwrite(out.data(), 1, out.size(), f);
  std::fclose(f);
  std::printf("%s: %zu bytes\n", path, out.size());
  heif_encoding_options_free(options);
  heif_image_handle_release(handle);
  heif_image_release(image);
  heif_encoder_release(encoder);
  heif_context_free(ctx);
}

}  // namespace

int main() {
  heif_init(nullptr);
  Write("photo-gps.heic", heif_compression_HEVC, 64, 48, heif_orientation_rotate_90_cw, false,
        true);
  Write("photo-gps.avif", heif_compression_AV1, 64, 48, heif_orientation_normal, false, true);
  Write("bomb-48mp.heic", heif_compression_HEVC, 8000, 6000, heif_orientation_normal, true, false);
  heif_deinit();
}
