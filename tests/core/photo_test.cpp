#include "core/photo.hpp"

#include <turbojpeg.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <exiv2/exiv2.hpp>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/media.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace photo_test {

using namespace meldestelle;

namespace {

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

const Exiv2::byte* Bytes(const std::string& s) {
  return reinterpret_cast<const Exiv2::byte*>(s.data());
}

// A width x height RGB JPEG, left half black, right half white (4:2:0, so 16x16 MCUs).
std::string MakeJpeg(int width, int height, int subsamp = TJSAMP_420) {
  std::vector<unsigned char> rgb(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      unsigned char v = x < width / 2 ? 0 : 255;
      for (int c = 0; c < 3; ++c) {
        rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = v;
      }
    }
  }
  TjHandle tj(tjInitCompress());
  unsigned char* out = nullptr;
  unsigned long size = 0;
  REQUIRE(tjCompress2(tj.get(), rgb.data(), width, 0, height, TJPF_RGB, &out, &size, subsamp, 95,
                      0) == 0);
  std::string jpeg(reinterpret_cast<const char*>(out), size);
  tjFree(out);
  return jpeg;
}

struct Decoded {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> gray;
  unsigned char At(int x, int y) const { return gray[static_cast<size_t>(y) * width + x]; }
};

Decoded Decode(const std::string& jpeg) {
  TjHandle tj(tjInitDecompress());
  const auto* data = reinterpret_cast<const unsigned char*>(jpeg.data());
  Decoded d;
  int subsamp = 0;
  int colorspace = 0;
  REQUIRE(tjDecompressHeader3(tj.get(), data, jpeg.size(), &d.width, &d.height, &subsamp,
                              &colorspace) == 0);
  d.gray.resize(static_cast<size_t>(d.width) * d.height);
  REQUIRE(tjDecompress2(tj.get(), data, jpeg.size(), d.gray.data(), d.width, 0, d.height, TJPF_GRAY,
                        TJFLAG_STOPONWARNING) == 0);
  return d;
}

std::string ReadAll(Exiv2::Image& image) {
  Exiv2::BasicIo& io = image.io();
  REQUIRE(io.open() == 0);
  Exiv2::DataBuf buf = io.read(io.size());
  io.close();
  return std::string(reinterpret_cast<const char*>(buf.pData_), buf.size_);
}

// `bytes` with metadata added by `edit` and written by Exiv2.
std::string WithMetadata(const std::string& bytes, const std::function<void(Exiv2::Image&)>& edit) {
  Exiv2::Image::AutoPtr image =
      Exiv2::ImageFactory::open(Bytes(bytes), static_cast<long>(bytes.size()));
  image->readMetadata();
  edit(*image);
  image->writeMetadata();
  return ReadAll(*image);
}

void SetRational(Exiv2::ExifData& exif, const char* key, const char* value) {
  Exiv2::URationalValue v;
  REQUIRE(v.read(value) == 0);
  exif.add(Exiv2::ExifKey(key), &v);
}

void SetGps(Exiv2::ExifData& exif, const char* lat, const char* lat_ref, const char* lon,
            const char* lon_ref) {
  SetRational(exif, "Exif.GPSInfo.GPSLatitude", lat);
  exif["Exif.GPSInfo.GPSLatitudeRef"] = lat_ref;
  SetRational(exif, "Exif.GPSInfo.GPSLongitude", lon);
  exif["Exif.GPSInfo.GPSLongitudeRef"] = lon_ref;
}

// A 128-byte profile header: Exiv2 only checks that the size field matches.
std::string FakeIccProfile() {
  std::string icc(128, '\0');
  icc[3] = static_cast<char>(128);
  icc.replace(36, 4, "acsp");
  return icc;
}

// A 32x16 JPEG carrying every kind of metadata a phone or editor writes.
std::string TaggedJpeg(std::uint16_t orientation) {
  const std::string thumbnail = MakeJpeg(16, 8);
  return WithMetadata(MakeJpeg(32, 16), [&](Exiv2::Image& image) {
    Exiv2::ExifData& exif = image.exifData();
    SetGps(exif, "52/1 31/1 123/10", "N", "13/1 24/1 366/10", "E");
    exif["Exif.Photo.DateTimeOriginal"] = "2024:05:17 14:03:21";
    exif["Exif.Image.DateTime"] = "2024:06:01 09:00:00";
    exif["Exif.Image.Orientation"] = orientation;
    exif["Exif.Image.Model"] = "Testkamera";
    Exiv2::ExifThumb(exif).setJpegThumbnail(Bytes(thumbnail), static_cast<long>(thumbnail.size()));
    image.xmpData()["Xmp.xmp.CreatorTool"] = "Bildbearbeitung";
    image.iptcData()["Iptc.Application2.Caption"] = "Schlagloch vor dem Haus";
    image.setComment("Kommentar mit Namen");
    std::string icc = FakeIccProfile();
    Exiv2::DataBuf buf(Bytes(icc), static_cast<long>(icc.size()));
    image.setIccProfile(buf, true);
  });
}

std::string JpegWithExif(const std::function<void(Exiv2::ExifData&)>& edit) {
  return WithMetadata(MakeJpeg(32, 16), [&](Exiv2::Image& image) { edit(image.exifData()); });
}

bool Contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

// --- PNG helpers -------------------------------------------------------------------------------

// A valid 2x2 RGB PNG (IHDR, IDAT, IEND).
const std::string kTinyPng(
    "\x89\x50\x4E\x47\x0D\x0A\x1A\x0A\x00\x00\x00\x0D\x49\x48\x44\x52\x00\x00\x00\x02\x00\x00\x00"
    "\x02\x08\x02\x00\x00\x00\xFD\xD4\x9A\x73\x00\x00\x00\x10\x49\x44\x41\x54\x78\x9C\x63\xF8\xCF"
    "\x00\x04\xFF\x19\x20\x14\x00\x1B\xF2\x03\xFD\xD6\x96\xF2\x2B\x00\x00\x00\x00\x49\x45\x4E\x44"
    "\xAE\x42\x60\x82",
    73);

std::uint32_t Crc32(std::string_view s) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

std::string Be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
          static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

std::uint32_t ReadBe32(const std::string& s, size_t pos) {
  std::uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  }
  return v;
}

std::string PngChunk(const std::string& type, const std::string& data) {
  return Be32(static_cast<std::uint32_t>(data.size())) + type + data + Be32(Crc32(type + data));
}

// The chunk types of a PNG, checking each chunk's length and CRC on the way.
std::vector<std::string> PngChunkTypes(const std::string& png) {
  std::vector<std::string> types;
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    std::uint32_t len = ReadBe32(png, pos);
    REQUIRE(pos + 12 + len <= png.size());
    std::string type_and_data = png.substr(pos + 4, 4 + len);
    CHECK(ReadBe32(png, pos + 8 + len) == Crc32(type_and_data));
    types.push_back(type_and_data.substr(0, 4));
    pos += 12 + len;
  }
  CHECK(pos == png.size());
  return types;
}

// --- WebP helpers ------------------------------------------------------------------------------

std::string Le32(std::uint32_t v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF),
          static_cast<char>((v >> 16) & 0xFF), static_cast<char>(v >> 24)};
}

std::string RiffChunk(const std::string& fourcc, std::string data) {
  std::string out = fourcc + Le32(static_cast<std::uint32_t>(data.size())) + data;
  if (data.size() % 2 == 1) {
    out.push_back('\0');
  }
  return out;
}

std::string Riff(const std::string& chunks) {
  return "RIFF" + Le32(static_cast<std::uint32_t>(4 + chunks.size())) + "WEBP" + chunks;
}

// A 1x1 lossless bitstream.
const std::string kVp8l("\x2F\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xFE\x07\x00", 13);

}  // namespace

TEST_CASE("photo metadata: GPS, capture time and orientation are read", "[photo]") {
  auto meta = ReadPhotoMetadata(TaggedJpeg(6));
  REQUIRE(meta.ok());
  REQUIRE(meta->lat.has_value());
  REQUIRE(meta->lon.has_value());
  CHECK(*meta->lat == Approx(52 + 31 / 60.0 + 12.3 / 3600).margin(1e-6));
  CHECK(*meta->lon == Approx(13 + 24 / 60.0 + 36.6 / 3600).margin(1e-6));
  CHECK(meta->captured_at == "2024-05-17T14:03:21");
  CHECK(meta->orientation == 6);
}

TEST_CASE("photo metadata: south and west give negative coordinates", "[photo]") {
  auto meta = ReadPhotoMetadata(JpegWithExif(
      [](Exiv2::ExifData& exif) { SetGps(exif, "33/1 52/1 0/1", "S", "151/1 12/1 36/1", "W"); }));
  REQUIRE(meta.ok());
  REQUIRE(meta->lat.has_value());
  CHECK(*meta->lat == Approx(-(33 + 52 / 60.0)).margin(1e-6));
  CHECK(*meta->lon == Approx(-(151 + 12 / 60.0 + 36 / 3600.0)).margin(1e-6));
  CHECK(meta->captured_at.empty());
  CHECK(meta->orientation == 1);
}

TEST_CASE("photo metadata: implausible GPS gives no location", "[photo]") {
  struct Case {
    const char* name;
    std::function<void(Exiv2::ExifData&)> edit;
  };
  std::vector<Case> cases = {
      {"latitude 95", [](auto& e) { SetGps(e, "95/1 0/1 0/1", "N", "13/1 0/1 0/1", "E"); }},
      {"longitude 181", [](auto& e) { SetGps(e, "52/1 0/1 0/1", "N", "181/1 0/1 0/1", "E"); }},
      {"zero denominator", [](auto& e) { SetGps(e, "52/0 31/1 12/1", "N", "13/1 0/1 0/1", "E"); }},
      {"minutes 75", [](auto& e) { SetGps(e, "52/1 75/1 0/1", "N", "13/1 0/1 0/1", "E"); }},
      {"bad reference", [](auto& e) { SetGps(e, "52/1 0/1 0/1", "X", "13/1 0/1 0/1", "E"); }},
      {"null island", [](auto& e) { SetGps(e, "0/1 0/1 0/1", "N", "0/1 0/1 0/1", "E"); }},
      {"missing reference",
       [](auto& e) {
         SetRational(e, "Exif.GPSInfo.GPSLatitude", "52/1 0/1 0/1");
         SetRational(e, "Exif.GPSInfo.GPSLongitude", "13/1 0/1 0/1");
         e["Exif.GPSInfo.GPSLongitudeRef"] = "E";
       }},
      {"longitude missing",
       [](auto& e) {
         SetRational(e, "Exif.GPSInfo.GPSLatitude", "52/1 0/1 0/1");
         e["Exif.GPSInfo.GPSLatitudeRef"] = "N";
       }},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto meta = ReadPhotoMetadata(JpegWithExif(c.edit));
      REQUIRE(meta.ok());
      CHECK_FALSE(meta->lat.has_value());
      CHECK_FALSE(meta->lon.has_value());
    }
  }
}

TEST_CASE("photo metadata: capture time falls back to DateTime and rejects invalid dates",
          "[photo]") {
  auto fallback = ReadPhotoMetadata(JpegWithExif([](Exiv2::ExifData& e) {
    e["Exif.Photo.DateTimeOriginal"] = "0000:00:00 00:00:00";
    e["Exif.Image.DateTime"] = "2023:12:31 23:59:59";
  }));
  REQUIRE(fallback.ok());
  CHECK(fallback->captured_at == "2023-12-31T23:59:59");

  for (const char* bad : {"2023:02:30 10:00:00", "2023-05-01 10:00:00", "2023:05:01 24:00:00",
                          "2023:05:01", "garbage"}) {
    auto meta = ReadPhotoMetadata(
        JpegWithExif([&](Exiv2::ExifData& e) { e["Exif.Photo.DateTimeOriginal"] = bad; }));
    REQUIRE(meta.ok());
    CHECK(meta->captured_at.empty());
  }
  auto leap = ReadPhotoMetadata(JpegWithExif(
      [](Exiv2::ExifData& e) { e["Exif.Photo.DateTimeOriginal"] = "2024:02:29 12:00:00"; }));
  REQUIRE(leap.ok());
  CHECK(leap->captured_at == "2024-02-29T12:00:00");
}

TEST_CASE("photo metadata: invalid orientation reads as 1", "[photo]") {
  for (std::uint16_t o : {0, 9, 300}) {
    auto meta = ReadPhotoMetadata(
        JpegWithExif([&](Exiv2::ExifData& e) { e["Exif.Image.Orientation"] = o; }));
    REQUIRE(meta.ok());
    CHECK(meta->orientation == 1);
  }
}

TEST_CASE("photo metadata: photos without metadata give empty metadata", "[photo]") {
  auto meta = ReadPhotoMetadata(MakeJpeg(32, 16));
  REQUIRE(meta.ok());
  CHECK_FALSE(meta->lat.has_value());
  CHECK(meta->captured_at.empty());
  CHECK(meta->orientation == 1);
  auto png = ReadPhotoMetadata(kTinyPng);
  REQUIRE(png.ok());
  CHECK(png->orientation == 1);
}

TEST_CASE("strip: a JPEG loses all metadata and is turned upright losslessly", "[photo]") {
  const std::string original = TaggedJpeg(6);
  REQUIRE(Contains(original, std::string_view("Exif\0\0", 6)));  // the fixture is what we think
  REQUIRE(Contains(original, "http://ns.adobe.com/xap"));
  REQUIRE(Contains(original, "Photoshop 3.0"));

  auto stripped = StripPhoto(original);
  REQUIRE(stripped.ok());
  CHECK(stripped->media_type == "image/jpeg");
  const std::string& out = stripped->bytes;
  CHECK_FALSE(Contains(out, std::string_view("Exif\0\0", 6)));
  CHECK_FALSE(Contains(out, "http://ns.adobe.com/xap"));
  CHECK_FALSE(Contains(out, "Photoshop 3.0"));
  CHECK_FALSE(Contains(out, "Kommentar"));
  CHECK_FALSE(Contains(out, "Testkamera"));

  Exiv2::Image::AutoPtr image =
      Exiv2::ImageFactory::open(Bytes(out), static_cast<long>(out.size()));
  image->readMetadata();
  CHECK(image->exifData().empty());
  CHECK(image->xmpData().empty());
  CHECK(image->iptcData().empty());
  CHECK(image->comment().empty());
  // The ICC profile is kept on purpose (colours), byte for byte.
  REQUIRE(image->iccProfileDefined());
  const std::string icc(reinterpret_cast<const char*>(image->iccProfile()->pData_),
                        image->iccProfile()->size_);
  CHECK(icc == FakeIccProfile());

  // Orientation 6 means "rotate 90° clockwise to display": the 32x16 image becomes 16x32 and its
  // black left half becomes the top.
  Decoded d = Decode(out);
  CHECK(d.width == 16);
  CHECK(d.height == 32);
  CHECK(d.At(8, 4) < 40);
  CHECK(d.At(8, 27) > 215);

  auto meta = ReadPhotoMetadata(out);
  REQUIRE(meta.ok());
  CHECK(meta->orientation == 1);
  CHECK_FALSE(meta->lat.has_value());
  CHECK(meta->captured_at.empty());
}

TEST_CASE("strip: orientations 1, 3 and 8 keep or turn the pixels as they should", "[photo]") {
  Decoded upright = Decode(StripPhoto(TaggedJpeg(1))->bytes);
  CHECK(upright.width == 32);
  CHECK(upright.height == 16);
  CHECK(upright.At(4, 8) < 40);  // black stays left
  CHECK(upright.At(27, 8) > 215);

  Decoded flipped = Decode(StripPhoto(TaggedJpeg(3))->bytes);  // 180°
  CHECK(flipped.width == 32);
  CHECK(flipped.At(4, 8) > 215);
  CHECK(flipped.At(27, 8) < 40);

  Decoded ccw =
      Decode(StripPhoto(TaggedJpeg(8))->bytes);  // 90° counter-clockwise: black to the bottom
  CHECK(ccw.width == 16);
  CHECK(ccw.height == 32);
  CHECK(ccw.At(8, 4) > 215);
  CHECK(ccw.At(8, 27) < 40);
}

TEST_CASE("strip: sizes that are not whole MCUs are trimmed, not garbled", "[photo]") {
  const std::string odd = WithMetadata(MakeJpeg(40, 20), [](Exiv2::Image& image) {
    image.exifData()["Exif.Image.Orientation"] = std::uint16_t{6};
  });
  auto stripped = StripPhoto(odd);
  REQUIRE(stripped.ok());
  Decoded d = Decode(stripped->bytes);
  CHECK(d.width == 16);  // 20 trimmed to the 16-pixel MCU
  CHECK(d.height == 40);
}

TEST_CASE("strip and read: broken input is an error or empty metadata, never a crash", "[photo]") {
  SECTION("empty") {
    CHECK(ReadPhotoMetadata("").error().code.name() == "invalid_photo");
    CHECK(StripPhoto("").error().code.name() == "invalid_photo");
  }
  SECTION("random bytes") {
    std::mt19937 rng(42);
    std::string noise(4096, '\0');
    for (char& c : noise) {
      c = static_cast<char>(rng() & 0xFF);
    }
    CHECK_FALSE(ReadPhotoMetadata(noise).ok());
    CHECK(StripPhoto(noise).error().code.name() == "invalid_photo");
  }
  SECTION("truncated JPEG") {
    const std::string jpeg = TaggedJpeg(6);
    for (size_t cut : {size_t{3}, size_t{40}, jpeg.size() / 4, jpeg.size() / 2, jpeg.size() - 40,
                       jpeg.size() - 2}) {
      INFO("cut at " << cut << " of " << jpeg.size());
      const std::string part = jpeg.substr(0, cut);
      auto meta = ReadPhotoMetadata(part);  // readable metadata may survive the cut
      if (meta.ok()) {
        CHECK(meta->orientation >= 1);
      }
      auto stripped = StripPhoto(part);
      CHECK_FALSE(stripped.ok());
    }
  }
  SECTION("JPEG whose APP1 EXIF is garbage") {
    const std::string jpeg = MakeJpeg(32, 16);
    std::mt19937 rng(7);
    for (const std::string& head :
         {std::string("II*\0", 4), std::string("MM\0*\0\0\0\x08\xFF\xFF", 10), std::string()}) {
      std::string payload = std::string("Exif\0\0", 6) + head;
      for (int i = 0; i < 300; ++i) {
        payload.push_back(static_cast<char>(rng() & 0xFF));
      }
      const auto len = static_cast<std::uint16_t>(payload.size() + 2);
      const std::string broken = jpeg.substr(0, 2) + "\xFF\xE1" + static_cast<char>(len >> 8) +
                                 static_cast<char>(len & 0xFF) + payload + jpeg.substr(2);
      auto meta = ReadPhotoMetadata(broken);
      REQUIRE(meta.ok());
      CHECK(meta->orientation == 1);
      CHECK_FALSE(meta->lat.has_value());
      auto stripped = StripPhoto(broken);
      REQUIRE(stripped.ok());
      CHECK_FALSE(Contains(stripped->bytes, std::string_view("Exif\0\0", 6)));
      CHECK(Decode(stripped->bytes).width == 32);
    }
  }
  SECTION("a JPEG that declares 20000x20000 pixels") {
    std::string jpeg = MakeJpeg(32, 16);
    const size_t sof = jpeg.find("\xFF\xC0");
    REQUIRE(sof != std::string::npos);
    for (size_t i : {sof + 5, sof + 7}) {  // height, width
      jpeg[i] = static_cast<char>(20000 >> 8);
      jpeg[i + 1] = static_cast<char>(20000 & 0xFF);
    }
    CHECK(StripPhoto(jpeg).error().code.name() == "photo_too_large");
  }
  SECTION("a JPEG above 50 megapixels (8200x6200), and one just below (8000x6200)") {
    auto sized = [](int w, int h) {
      std::string jpeg = MakeJpeg(32, 16);
      const size_t sof = jpeg.find("\xFF\xC0");
      REQUIRE(sof != std::string::npos);
      jpeg[sof + 5] = static_cast<char>(h >> 8);
      jpeg[sof + 6] = static_cast<char>(h & 0xFF);
      jpeg[sof + 7] = static_cast<char>(w >> 8);
      jpeg[sof + 8] = static_cast<char>(w & 0xFF);
      return jpeg;
    };
    CHECK(StripPhoto(sized(8200, 6200)).error().code.name() == "photo_too_large");
    // Below the cap the size is accepted (the scan is then too short: broken, not too large).
    auto below = StripPhoto(sized(8000, 6200));
    REQUIRE_FALSE(below.ok());
    CHECK(below.error().code.name() != "photo_too_large");
  }
}

TEST_CASE("strip: PNG text, time and EXIF chunks are dropped, the rest is intact", "[photo]") {
  const std::string body = kTinyPng.substr(8, kTinyPng.size() - 8 - 12);  // IHDR and IDAT
  const std::string iend = kTinyPng.substr(kTinyPng.size() - 12);
  const std::string png =
      kTinyPng.substr(0, 8) + body.substr(0, 25) + PngChunk("gAMA", Be32(45455)) +
      PngChunk("tEXt", std::string("Comment\0Name und Adresse", 24)) +
      PngChunk("eXIf", std::string("MM\0*\0\0\0\x08\0\0", 10)) +
      PngChunk("iTXt", std::string("XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>", 34)) +
      PngChunk("zTXt", std::string("Author\0\0x", 9)) +
      PngChunk("tIME", std::string("\x07\xE8\x05\x11\x0E\x03\x15", 7)) +
      PngChunk("prVt", "private") + body.substr(25) + PngChunk("tEXt", std::string("a\0b", 3)) +
      iend + "trailing bytes";

  auto stripped = StripPhoto(png);
  REQUIRE(stripped.ok());
  CHECK(stripped->media_type == "image/png");
  CHECK(stripped->bytes.substr(0, 8) == kTinyPng.substr(0, 8));
  CHECK(PngChunkTypes(stripped->bytes) == std::vector<std::string>{"IHDR", "gAMA", "IDAT", "IEND"});
  CHECK(StripPhoto(kTinyPng)->bytes == kTinyPng);

  auto meta = ReadPhotoMetadata(png);
  CHECK(meta.ok());

  CHECK(StripPhoto(png.substr(0, 40)).error().code.name() == "invalid_photo");
  CHECK(StripPhoto(kTinyPng.substr(0, 8) + PngChunk("tEXt", "x")).error().code.name() ==
        "invalid_photo");
  std::string huge = kTinyPng;
  huge[8] = '\x7F';  // IHDR length far past the end
  CHECK(StripPhoto(huge).error().code.name() == "invalid_photo");
}

TEST_CASE("strip: WebP EXIF and XMP chunks are dropped and the VP8X flags cleared", "[photo]") {
  // VP8X: flags ICC|EXIF|XMP, canvas 1x1 (stored minus one, 24 bits each).
  const std::string vp8x = std::string("\x2C\0\0\0", 4) + std::string(6, '\0');
  const std::string webp =
      Riff(RiffChunk("VP8X", vp8x) + RiffChunk("ICCP", FakeIccProfile()) +
           RiffChunk("VP8L", kVp8l) + RiffChunk("EXIF", std::string("MM\0*\0\0\0\x08\0", 9)) +
           RiffChunk("XMP ", "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>") + RiffChunk("zzzz", "x"));
  auto stripped = StripPhoto(webp);
  REQUIRE(stripped.ok());
  const std::string expected_vp8x = std::string("\x20\0\0\0", 4) + std::string(6, '\0');
  CHECK(stripped->media_type == "image/webp");
  CHECK(stripped->bytes == Riff(RiffChunk("VP8X", expected_vp8x) +
                                RiffChunk("ICCP", FakeIccProfile()) + RiffChunk("VP8L", kVp8l)));
  CHECK(ReadPhotoMetadata(webp).ok());

  const std::string simple = Riff(RiffChunk("VP8L", kVp8l));
  CHECK(StripPhoto(simple)->bytes == simple);
  CHECK(StripPhoto(simple.substr(0, simple.size() - 3)).error().code.name() == "invalid_photo");
  CHECK(StripPhoto(Riff(RiffChunk("EXIF", "x"))).error().code.name() == "invalid_photo");
}

TEST_CASE("strip: a JPEG transform's memory is capped, not only its pixels", "[photo]") {
  // width x height declared in the SOF, the scan left as it is (too short for that size).
  auto declared = [](std::string jpeg, int w, int h) {
    const size_t sof = jpeg.find("\xFF\xC0");
    REQUIRE(sof != std::string::npos);
    jpeg[sof + 5] = static_cast<char>(h >> 8);
    jpeg[sof + 6] = static_cast<char>(h & 0xFF);
    jpeg[sof + 7] = static_cast<char>(w >> 8);
    jpeg[sof + 8] = static_cast<char>(w & 0xFF);
    return jpeg;
  };
  auto turned = [](const std::string& jpeg) {
    return WithMetadata(jpeg, [](Exiv2::Image& image) {
      image.exifData()["Exif.Image.Orientation"] = std::uint16_t{6};
    });
  };
  const std::string yuv444 = MakeJpeg(32, 16, TJSAMP_444);
  const std::string yuv420 = MakeJpeg(32, 16, TJSAMP_420);
  // 40 MP at 4:4:4: 240 MB of coefficients; turned, twice that: too large. Upright, and a 48 MP
  // phone photo (4:2:0) turned (288 MB), are within the cap: their scans are just too short.
  CHECK(StripPhoto(declared(turned(yuv444), 8000, 5000)).error().code.name() == "photo_too_large");
  CHECK(StripPhoto(declared(yuv444, 8000, 5000)).error().code.name() == "invalid_photo");
  CHECK(StripPhoto(declared(turned(yuv420), 8000, 6000)).error().code.name() == "invalid_photo");
  // Small 4:4:4 photos are turned as before.
  auto small = StripPhoto(turned(yuv444));
  REQUIRE(small.ok());
  CHECK(Decode(small->bytes).width == 16);
}

TEST_CASE("strip: types whose metadata cannot be removed are unsupported", "[photo]") {
  CHECK(StripPhoto("%PDF-1.7\n").error().code.name() == "unsupported_photo_type");
  std::string tiff("II*\0\x08\0\0\0", 8);
  tiff.resize(200, '\0');
  CHECK(SniffMediaType(tiff) == "image/tiff");
  CHECK(StripPhoto(tiff).error().code.name() == "unsupported_photo_type");
  std::string bmp("BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0", 18);
  bmp.resize(70, '\0');
  CHECK(SniffMediaType(bmp) == "image/bmp");
  CHECK(StripPhoto(bmp).error().code.name() == "unsupported_photo_type");
  CHECK(SniffMediaType("BM is not a bitmap, just a text") == "");
  // Recognised by Exiv2 only (Photoshop): not cleanable either.
  std::string psd("8BPS\0\x01\0\0\0\0\0\0\0\x03\0\0\0\x01\0\0\0\x01\0\x08\0\x03", 26);
  psd.resize(200, '\0');
  CHECK(StripPhoto(psd).error().code.name() == "unsupported_photo_type");
  for (const char* type :
       {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/avif"}) {
    INFO(type);
    CHECK(CanCleanPhotoType(type));
  }
  for (const char* type : {"image/tiff", "image/bmp", "application/pdf", ""}) {
    INFO(type);
    CHECK_FALSE(CanCleanPhotoType(type));
  }
}

TEST_CASE("photo file names follow a changed type", "[photo]") {
  CHECK(PhotoFileName("IMG_0042.HEIC", "image/jpeg") == "IMG_0042.jpg");
  CHECK(PhotoFileName("bild.avif", "image/jpeg") == "bild.jpg");
  CHECK(PhotoFileName("foto.JPG", "image/jpeg") == "foto.JPG");
  CHECK(PhotoFileName("foto.jpeg", "image/jpeg") == "foto.jpeg");
  CHECK(PhotoFileName("ohne-endung", "image/jpeg") == "ohne-endung");
  CHECK(PhotoFileName(".heic", "image/jpeg") == ".heic");
  CHECK(PhotoFileName("", "image/jpeg") == "");
  CHECK(PhotoFileName("grafik.png", "image/png") == "grafik.png");
}

TEST_CASE("photo functions can be called from several threads at once", "[photo]") {
  const std::string jpeg = TaggedJpeg(6);
  std::vector<std::thread> threads;
  std::array<int, 4> good{};
  for (size_t t = 0; t < good.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto meta = ReadPhotoMetadata(jpeg);
        auto stripped = StripPhoto(jpeg);
        if (meta.ok() && meta->lat.has_value() && stripped.ok()) {
          ++good[t];
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (int g : good) {
    CHECK(g == 10);
  }
}

TEST_CASE("photo functions survive randomly damaged photos", "[photo]") {
  // Seeded, so a failure is reproducible; a few thousand runs cover Exiv2's, libjpeg's and our own
  // parsers' error paths under the sanitizers in well under a second.
  const std::string webp =
      Riff(RiffChunk("VP8X", std::string("\x2C\0\0\0", 4) + std::string(6, '\0')) +
           RiffChunk("VP8L", kVp8l) + RiffChunk("EXIF", std::string("MM\0*\0\0\0\x08\0", 9)));
  const std::string png =
      kTinyPng.substr(0, 33) + PngChunk("tEXt", std::string("a\0b", 3)) + kTinyPng.substr(33);
  std::mt19937 rng(2024);
  for (const std::string& base : {TaggedJpeg(6), png, webp}) {
    for (int i = 0; i < 1500; ++i) {
      std::string damaged = base;
      for (unsigned k = 0, n = 1 + rng() % 8; k < n; ++k) {
        damaged[rng() % damaged.size()] = static_cast<char>(rng() & 0xFF);
      }
      if (rng() % 4 == 0) {
        damaged.resize(rng() % damaged.size());
      }
      auto meta = ReadPhotoMetadata(damaged);
      if (meta.ok()) {
        REQUIRE(meta->orientation >= 1);
        REQUIRE(meta->orientation <= 8);
        REQUIRE(meta->lat.has_value() == meta->lon.has_value());
      }
      auto stripped = StripPhoto(damaged);
      if (stripped.ok()) {
        REQUIRE(ReadPhotoMetadata(stripped->bytes).ok());
      }
    }
  }
}

}  // namespace photo_test
