// HEIC and AVIF photos become JPEGs without their metadata (core/photo_heif.cpp). The samples are
// written by tests/data/heif_samples.cpp (libheif's encoders are not needed to run the tests).
#include <turbojpeg.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <exiv2/exiv2.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/photo.hpp"

namespace photo_heif_test {

using namespace meldestelle;

namespace {

std::string Sample(const char* name) {
  std::ifstream in(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data" / name,
                   std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};

struct Rgb {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> px;
  const unsigned char* At(int x, int y) const {
    return &px[(static_cast<size_t>(y) * width + x) * 3];
  }
};

Rgb DecodeJpeg(const std::string& jpeg) {
  std::unique_ptr<void, TjDeleter> tj(tjInitDecompress());
  const auto* data = reinterpret_cast<const unsigned char*>(jpeg.data());
  Rgb d;
  int subsamp = 0;
  int colorspace = 0;
  REQUIRE(tjDecompressHeader3(tj.get(), data, jpeg.size(), &d.width, &d.height, &subsamp,
                              &colorspace) == 0);
  d.px.resize(static_cast<size_t>(d.width) * d.height * 3);
  REQUIRE(tjDecompress2(tj.get(), data, jpeg.size(), d.px.data(), d.width, 0, d.height, TJPF_RGB,
                        TJFLAG_STOPONWARNING) == 0);
  return d;
}

bool Contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

std::string FakeIccProfile() {
  std::string icc(128, '\0');
  icc[3] = static_cast<char>(128);
  icc.replace(36, 4, "acsp");
  return icc;
}

// Every ispe (image spatial extent) box of a HEIF file made to declare width x height.
std::string WithDeclaredSize(std::string heif, std::uint32_t width, std::uint32_t height) {
  int patched = 0;
  for (size_t at = heif.find("ispe"); at != std::string::npos; at = heif.find("ispe", at + 4)) {
    for (int i = 0; i < 4; ++i) {
      heif[at + 8 + i] = static_cast<char>((width >> (24 - 8 * i)) & 0xFF);
      heif[at + 12 + i] = static_cast<char>((height >> (24 - 8 * i)) & 0xFF);
    }
    ++patched;
  }
  REQUIRE(patched > 0);
  return heif;
}

// What every converted photo must be: a JPEG that decodes, with nothing of the original's
// metadata in it but the ICC profile.
void CheckCleanJpeg(const CleanPhoto& photo) {
  CHECK(photo.media_type == "image/jpeg");
  REQUIRE(photo.bytes.substr(0, 3) == "\xFF\xD8\xFF");
  for (std::string_view leak : {std::string_view("Exif\0\0", 6), std::string_view("Testkamera"),
                                std::string_view("Bildbearbeitung"), std::string_view("xmpmeta"),
                                std::string_view("2024:05:17")}) {
    CHECK_FALSE(Contains(photo.bytes, leak));
  }
  const auto* bytes = reinterpret_cast<const Exiv2::byte*>(photo.bytes.data());
  Exiv2::Image::AutoPtr image =
      Exiv2::ImageFactory::open(bytes, static_cast<long>(photo.bytes.size()));
  image->readMetadata();
  CHECK(image->exifData().empty());
  CHECK(image->xmpData().empty());
  CHECK(image->iptcData().empty());
  auto meta = ReadPhotoMetadata(photo.bytes);
  REQUIRE(meta.ok());
  CHECK_FALSE(meta->lat.has_value());
  CHECK(meta->captured_at.empty());
}

}  // namespace

TEST_CASE("heic: the position and time are read before the conversion", "[photo][heif]") {
  const std::string heic = Sample("photo-gps.heic");
  auto meta = ReadPhotoMetadata(heic);
  REQUIRE(meta.ok());
  REQUIRE(meta->lat.has_value());
  CHECK(*meta->lat == Approx(52 + 31 / 60.0 + 12.3 / 3600));
  CHECK(*meta->lon == Approx(13 + 24 / 60.0 + 36.6 / 3600));
  CHECK(meta->captured_at == "2024-05-17T14:03:21");
}

TEST_CASE("heic: becomes an upright JPEG without metadata, with its ICC profile",
          "[photo][heif]") {
  const std::string heic = Sample("photo-gps.heic");
  REQUIRE(Contains(heic, "Testkamera"));  // the sample is what we think
  REQUIRE(Contains(heic, "Bildbearbeitung"));
  CHECK(CanCleanPhotoType("image/heic"));

  auto clean = StripPhoto(heic);
  REQUIRE(clean.ok());
  CheckCleanJpeg(*clean);

  // Stored 64x48 with irot 90° clockwise: shown 48x64, the left (black) half on top, the red
  // top rows on the right. The EXIF orientation 6 is not applied a second time.
  Rgb d = DecodeJpeg(clean->bytes);
  CHECK(d.width == 48);
  CHECK(d.height == 64);
  const unsigned char* black = d.At(10, 12);
  const unsigned char* white = d.At(10, 52);
  const unsigned char* red = d.At(44, 20);
  CHECK(black[0] < 40);
  CHECK(white[0] > 215);
  CHECK(white[2] > 215);
  CHECK(red[0] > 180);
  CHECK(red[1] < 80);

  const auto* bytes = reinterpret_cast<const Exiv2::byte*>(clean->bytes.data());
  Exiv2::Image::AutoPtr image =
      Exiv2::ImageFactory::open(bytes, static_cast<long>(clean->bytes.size()));
  image->readMetadata();
  REQUIRE(image->iccProfileDefined());
  CHECK(std::string(reinterpret_cast<const char*>(image->iccProfile()->pData_),
                    image->iccProfile()->size_) == FakeIccProfile());
}

TEST_CASE("avif: becomes a JPEG without metadata where libheif decodes AV1", "[photo][heif]") {
  const std::string avif = Sample("photo-gps.avif");
  auto meta = ReadPhotoMetadata(avif);
  REQUIRE(meta.ok());
  CHECK(meta->lat.has_value());
  auto clean = StripPhoto(avif);
  if (!CanCleanPhotoType("image/avif")) {
    CHECK(clean.error().code.name() == "unsupported_photo_type");
    return;
  }
  REQUIRE(clean.ok());
  CheckCleanJpeg(*clean);
  Rgb d = DecodeJpeg(clean->bytes);
  CHECK(d.width == 64);
  CHECK(d.height == 48);
  CHECK(d.At(10, 40)[0] < 40);   // black left
  CHECK(d.At(54, 40)[1] > 215);  // white right
}

TEST_CASE("heic: a declared size above 50 megapixels is refused before decoding",
          "[photo][heif]") {
  const std::string heic = Sample("photo-gps.heic");
  CHECK(StripPhoto(WithDeclaredSize(heic, 8200, 6200)).error().code.name() == "photo_too_large");
  CHECK(StripPhoto(WithDeclaredSize(heic, 60000, 60000)).error().code.name() ==
        "photo_too_large");
  // Within the cap the declared size is accepted, and then does not match the stream.
  auto below = StripPhoto(WithDeclaredSize(heic, 8000, 6000));
  if (!below.ok()) {
    CHECK(below.error().code.name() == "invalid_photo");
  }
}

TEST_CASE("heic: broken files are invalid, never a crash", "[photo][heif]") {
  const std::string heic = Sample("photo-gps.heic");
  const std::string header_only(
      "\0\0\0\x18"
      "ftypheic\0\0\0\0mif1heic",
      24);
  CHECK(StripPhoto(header_only).error().code.name() == "invalid_photo");
  for (size_t cut = 12; cut < heic.size(); cut += 37) {
    INFO("cut at " << cut << " of " << heic.size());
    auto clean = StripPhoto(heic.substr(0, cut));
    REQUIRE_FALSE(clean.ok());
    CHECK(clean.error().code.name() == "invalid_photo");
  }
  // Seeded damage: an error, or a clean JPEG, never a crash or a leak of the metadata.
  std::mt19937 rng(14);
  for (int i = 0; i < 300; ++i) {
    std::string damaged = heic;
    for (unsigned k = 0, n = 1 + rng() % 6; k < n; ++k) {
      damaged[rng() % damaged.size()] = static_cast<char>(rng() & 0xFF);
    }
    auto meta = ReadPhotoMetadata(damaged);
    if (meta.ok()) {
      REQUIRE(meta->lat.has_value() == meta->lon.has_value());
    }
    auto clean = StripPhoto(damaged);
    if (clean.ok()) {
      REQUIRE(clean->media_type == "image/jpeg");
      REQUIRE_FALSE(Contains(clean->bytes, "Testkamera"));
    }
  }
}

}  // namespace photo_heif_test
