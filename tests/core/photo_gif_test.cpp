// GIF comments, plain text, XMP and other application extensions are removed; the images, the
// looping and the timing stay (core/photo_gif.cpp).
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "core/photo.hpp"

namespace photo_gif_test {

using namespace meldestelle;

namespace {

// GIF89a, 1x1 logical screen, a global colour table of two entries (black, white).
const std::string kHead("GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xFF\xFF\xFF", 19);
// A graphic control extension (delay 10/100 s) and a 1x1 image with its LZW data.
const std::string kFrame(
    "\x21\xF9\x04\x00\x0A\x00\x00\x00"
    "\x2C\0\0\0\0\x01\0\x01\0\0"
    "\x02\x02\x44\x01\x00",
    23);
const std::string kLoop("\x21\xFF\x0BNETSCAPE2.0\x03\x01\0\0\0", 19);

// An extension of `label` whose data is `data` cut into sub-blocks of at most 255 bytes.
std::string Extension(char label, const std::string& data) {
  std::string out{'\x21', label};
  for (size_t at = 0; at < data.size(); at += 255) {
    const std::string part = data.substr(at, 255);
    out.push_back(static_cast<char>(part.size()));
    out += part;
  }
  out.push_back('\0');
  return out;
}

// Adobe's XMP in GIF: the packet as raw bytes after the identifier, then the 258-byte "magic
// trailer" (1, 255, 254, …, 1, 0, 0) that makes any reader skipping sub-blocks land on a zero.
std::string XmpExtension() {
  std::string out("\x21\xFF\x0BXMP DataXMP", 14);
  out +=
      "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
      "<rdf:RDF><rdf:Description exif:GPSLatitude='52,31.2N'/></rdf:RDF></x:xmpmeta>"
      "<?xpacket end='w'?>";
  out.push_back('\x01');
  for (int v = 255; v >= 0; --v) {
    out.push_back(static_cast<char>(v));
  }
  out.push_back('\0');
  return out;
}

bool Contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("gif: comments, XMP and foreign application data go, animation stays", "[photo][gif]") {
  const std::string comment = Extension('\xFE', "Erika Mustermann, Hauptstr. 1");
  const std::string plain_text = Extension('\x01', std::string(12, '\0') + "Text");
  const std::string foreign(
      "\x21\xFF\x0B"
      "EDITOR  1.0\x07private\0",
      23);
  const std::string icc(
      "\x21\xFF\x0B"
      "ICCRGBG1012\x06profil\0",
      22);
  const std::string gif = kHead + kLoop + comment + XmpExtension() + kFrame + foreign + plain_text +
                          kFrame + icc + "\x3B" + "trailing bytes";
  REQUIRE(Contains(gif, "XMP DataXMP"));

  auto clean = StripPhoto(gif);
  REQUIRE(clean.ok());
  CHECK(clean->media_type == "image/gif");
  CHECK(clean->bytes == kHead + kLoop + kFrame + kFrame + icc + "\x3B");
  CHECK_FALSE(Contains(clean->bytes, "Mustermann"));
  CHECK_FALSE(Contains(clean->bytes, "xmpmeta"));
  CHECK_FALSE(Contains(clean->bytes, "private"));

  // A clean GIF stays as it is; so do GIF87a and ANIMEXTS looping.
  const std::string plain = kHead + kFrame + "\x3B";
  CHECK(StripPhoto(plain)->bytes == plain);
  const std::string old = "GIF87a" + kHead.substr(6) + kFrame.substr(8) + "\x3B";
  CHECK(StripPhoto(old)->bytes == old);
  const std::string anim = kHead +
                           std::string(
                               "\x21\xFF\x0B"
                               "ANIMEXTS1.0\x03\x01\0\0\0",
                               19) +
                           kFrame + "\x3B";
  CHECK(StripPhoto(anim)->bytes == anim);
  // A local colour table is copied with its image.
  const std::string local = kHead + std::string("\x2C\0\0\0\0\x01\0\x01\0\x80", 10) +
                            std::string("\0\0\0\xFF\xFF\xFF", 6) +
                            std::string("\x02\x02\x44\x01\0", 5) + "\x3B";
  CHECK(StripPhoto(local)->bytes == local);
}

TEST_CASE("gif: broken block structure is invalid", "[photo][gif]") {
  const std::string gif = kHead + kLoop + Extension('\xFE', "Kommentar") + kFrame + "\x3B";
  REQUIRE(StripPhoto(gif).ok());
  // Every cut: the trailer (or more) is missing.
  for (size_t cut = 6; cut < gif.size(); ++cut) {
    INFO("cut at " << cut);
    auto clean = StripPhoto(gif.substr(0, cut));
    REQUIRE_FALSE(clean.ok());
    CHECK(clean.error().code.name() == "invalid_photo");
  }
  auto invalid = [](const std::string& bytes) {
    auto clean = StripPhoto(bytes);
    return !clean.ok() && clean.error().code.name() == "invalid_photo";
  };
  CHECK(invalid(kHead + "\x3B"));                          // no image
  CHECK(invalid(kHead + "\x99" + kFrame + "\x3B"));        // unknown block
  CHECK(invalid(kHead + "\x21\xFE\x40short\0" + "\x3B"));  // sub-block past the end
  std::string no_code_size = kHead + kFrame + "\x3B";
  no_code_size[kHead.size() + 18] = '\0';  // LZW minimum code size 0
  CHECK(invalid(no_code_size));
  std::string big_table = kHead + kFrame + "\x3B";
  big_table[10] = '\xF7';  // a global colour table of 256 entries that is not there
  CHECK(invalid(big_table));
}

TEST_CASE("gif: randomly damaged GIFs give an error or a GIF, never a crash", "[photo][gif]") {
  const std::string gif = kHead + kLoop + XmpExtension() + kFrame + kFrame + "\x3B";
  std::mt19937 rng(89);
  for (int i = 0; i < 2000; ++i) {
    std::string damaged = gif;
    for (unsigned k = 0, n = 1 + rng() % 6; k < n; ++k) {
      damaged[6 + rng() % (damaged.size() - 6)] = static_cast<char>(rng() & 0xFF);
    }
    auto clean = StripPhoto(damaged);
    if (clean.ok()) {
      REQUIRE(clean->media_type == "image/gif");
      REQUIRE(clean->bytes.size() <= damaged.size());
      REQUIRE(clean->bytes.back() == '\x3B');
    }
  }
}

}  // namespace photo_gif_test
