// Photos from citizens (web form, API, e-mail attachments, chat media, Open311 media_url):
// SniffMediaType, CanCleanPhotoType, ReadPhotoMetadata and StripPhoto (core/photo.cpp: JPEG,
// PNG, WebP, GIF, and HEIC/AVIF, which StripPhoto turns into JPEG with libheif). A stripped copy
// must carry no GPS position: that is what stripping is for, so a position read back from it is
// a finding (abort).
#include "core/photo.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/media.hpp"
#include "fuzz_util.hpp"

using namespace meldestelle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::AsView(data, size);
  (void)CanCleanPhotoType(SniffMediaType(in));
  (void)ReadPhotoMetadata(in);
  auto stripped = StripPhoto(in);
  if (stripped) {
    (void)PhotoFileName("IMG_0042.HEIC", stripped->media_type);
    auto again = ReadPhotoMetadata(stripped->bytes);
    if (again && again->lat) {
      std::fprintf(stderr, "fuzz: the stripped photo still has a GPS position\n");
      std::abort();
    }
  }
  return 0;
}
