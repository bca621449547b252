// HEIC/HEIF and AVIF to JPEG: the photo iPhones send, without its metadata. libheif decodes the
// primary image and applies its transformations (irot, imir, clap); libturbojpeg encodes the
// pixels as a new JPEG. Nothing from the container but the ICC profile is carried over, so EXIF
// (GPS, device), XMP, depth maps, thumbnails and further images cannot leak.
#include <libheif/heif.h>
#include <turbojpeg.h>

#include <cstdint>
#include <memory>

#include "core/errors.hpp"
#include "core/photo_formats.hpp"

namespace meldestelle::photo_internal {

namespace {

// libheif refuses an image wider or higher than this before decoding (its default is 32768);
// the pixel count is checked against kMaxPixels as well. 16384: a phone's widest panorama.
constexpr int kMaxSide = 16384;
// A profile larger than this is not a real one (Display P3 is about 500 bytes, the largest
// printer profiles a few MB).
constexpr size_t kMaxIccBytes = 4 * 1024 * 1024;
// The JPEG of a converted photo: 90 is above what phones use for their own JPEGs (about 85-92).
constexpr int kJpegQuality = 90;

struct ContextDeleter {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HandleDeleter {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct ImageDeleter {
  void operator()(heif_image* i) const { heif_image_release(i); }
};
struct OptionsDeleter {
  void operator()(heif_decoding_options* o) const { heif_decoding_options_free(o); }
};
struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
struct TjBufferDeleter {
  void operator()(unsigned char* p) const { tjFree(p); }
};

void InitHeifOnce() {
  // Reference-counted in libheif; never deinitialised (another thread may be decoding at exit).
  [[maybe_unused]] static const bool initialised = [] {
    heif_init(nullptr);
    return true;
  }();
}

std::string ErrorText(const char* what, const heif_error& e) {
  return std::string("HEIF ") + what + ": " + (e.message != nullptr ? e.message : "?");
}

std::string IccProfile(const heif_image_handle* handle) {
  const size_t size = heif_image_handle_get_raw_color_profile_size(handle);
  if (size == 0 || size > kMaxIccBytes) {
    return "";
  }
  std::string icc(size, '\0');
  if (heif_image_handle_get_raw_color_profile(handle, icc.data()).code != heif_error_Ok) {
    return "";
  }
  return icc;
}

// The decoded image: 8-bit RGB, upright, at most kMaxPixels.
Result<std::unique_ptr<heif_image, ImageDeleter>> Decode(const heif_image_handle* handle) {
  std::unique_ptr<heif_decoding_options, OptionsDeleter> options(heif_decoding_options_alloc());
  if (!options) {
    return MakeError(errors::kInternal, "the photo could not be processed", "HEIF options");
  }
  options->ignore_transformations = 0;
  options->convert_hdr_to_8bit = 1;  // 10-bit HDR photos as the 8 bits a JPEG holds
  options->strict_decoding = 1;      // a truncated or corrupt stream fails, as a JPEG's does
  heif_image* raw = nullptr;
  heif_error e = heif_decode_image(handle, &raw, heif_colorspace_RGB, heif_chroma_interleaved_RGB,
                                   options.get());
  std::unique_ptr<heif_image, ImageDeleter> image(raw);
  if (e.code != heif_error_Ok || !image) {
    return Invalid(ErrorText("decode", e));
  }
  return image;
}

Result<std::string> EncodeJpeg(const heif_image* image) {
  const int width = heif_image_get_width(image, heif_channel_interleaved);
  const int height = heif_image_get_height(image, heif_channel_interleaved);
  int stride = 0;
  const std::uint8_t* pixels =
      heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
  if (pixels == nullptr || width <= 0 || height <= 0 || stride < width * 3) {
    return Invalid("HEIF: no RGB plane after decoding");
  }
  if (static_cast<std::int64_t>(width) * height > kMaxPixels) {
    return TooLarge(width, height);
  }
  std::unique_ptr<void, TjDeleter> tj(tjInitCompress());
  if (!tj) {
    return MakeError(errors::kInternal, "the photo could not be processed",
                     "tjInitCompress failed");
  }
  unsigned char* out_raw = nullptr;
  unsigned long out_size = 0;
  int rc = tjCompress2(tj.get(), pixels, width, stride, height, TJPF_RGB, &out_raw, &out_size,
                       TJSAMP_420, kJpegQuality, TJFLAG_ACCURATEDCT);
  std::unique_ptr<unsigned char, TjBufferDeleter> out(out_raw);
  if (rc != 0 || !out || out_size == 0) {
    return MakeError(errors::kInternal, "the photo could not be processed",
                     std::string("JPEG encode: ") + tjGetErrorStr2(tj.get()));
  }
  return std::string(reinterpret_cast<const char*>(out.get()), out_size);
}

}  // namespace

bool HeifDecodes(std::string_view media_type) {
  InitHeifOnce();
  if (media_type == "image/heic") {
    return heif_have_decoder_for_format(heif_compression_HEVC) != 0;
  }
  if (media_type == "image/avif") {
    return heif_have_decoder_for_format(heif_compression_AV1) != 0;
  }
  return false;
}

Result<std::string> HeifToJpeg(std::string_view bytes) {
  InitHeifOnce();
  std::unique_ptr<heif_context, ContextDeleter> context(heif_context_alloc());
  if (!context) {
    return MakeError(errors::kInternal, "the photo could not be processed", "HEIF context");
  }
  heif_context_set_maximum_image_size_limit(context.get(), kMaxSide);
  // Grid tiles (an iPhone photo is 48 or more 512x512 tiles) decoded on this thread: the decode
  // slot the caller holds is then all the work this photo does.
  heif_context_set_max_decoding_threads(context.get(), 0);
  heif_error e = heif_context_read_from_memory_without_copy(context.get(), bytes.data(),
                                                            bytes.size(), nullptr);
  if (e.code == heif_error_Memory_allocation_error &&
      e.subcode == heif_suberror_Security_limit_exceeded) {
    return MakeError(errors::kPhotoTooLarge, "the photo is too large", ErrorText("read", e));
  }
  if (e.code != heif_error_Ok) {
    return Invalid(ErrorText("read", e));
  }
  heif_image_handle* raw_handle = nullptr;
  e = heif_context_get_primary_image_handle(context.get(), &raw_handle);
  std::unique_ptr<heif_image_handle, HandleDeleter> handle(raw_handle);
  if (e.code != heif_error_Ok || !handle) {
    return Invalid(ErrorText("primary image", e));
  }
  // The size after the transformations, known before anything is decoded.
  const int width = heif_image_handle_get_width(handle.get());
  const int height = heif_image_handle_get_height(handle.get());
  if (width <= 0 || height <= 0) {
    return Invalid("HEIF: no image size");
  }
  if (static_cast<std::int64_t>(width) * height > kMaxPixels) {
    return TooLarge(width, height);
  }
  const std::string icc = IccProfile(handle.get());
  auto image = Decode(handle.get());
  if (!image) {
    return image.error();
  }
  auto jpeg = EncodeJpeg(image->get());
  image->reset();  // the pixels go before the profile is added
  if (!jpeg || icc.empty()) {
    return jpeg;
  }
  return WithIccProfile(std::move(jpeg).value(), icc);
}

}  // namespace meldestelle::photo_internal
