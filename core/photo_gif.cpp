// GIF without metadata. A GIF has no EXIF, but it carries comment extensions (often the editor's
// or a person's name), plain-text extensions and application extensions, among them Adobe's XMP
// packet ("XMP DataXMP", with its "magic trailer" that makes the packet parse as sub-blocks). The
// block structure is walked as GIF89a defines it (header, logical screen, colour tables, image
// descriptors with their LZW data, extensions as chains of sub-blocks, trailer); what is kept is
// copied byte for byte. The LZW data itself is not decoded: the gateway never draws a GIF.
#include <array>
#include <cstdint>

#include "core/errors.hpp"
#include "core/photo_formats.hpp"

namespace meldestelle::photo_internal {

namespace {

constexpr unsigned char kExtension = 0x21;
constexpr unsigned char kImage = 0x2C;
constexpr unsigned char kTrailer = 0x3B;
constexpr unsigned char kGraphicControl = 0xF9;
constexpr unsigned char kApplication = 0xFF;

unsigned char At(std::string_view b, size_t pos) { return static_cast<unsigned char>(b[pos]); }

// The size of a colour table a packed field announces (bit 7: present, bits 0-2: size).
size_t ColourTableBytes(unsigned char packed) {
  return (packed & 0x80) != 0 ? 3 * (size_t{1} << ((packed & 0x07) + 1)) : 0;
}

// The end of the chain of sub-blocks starting at pos (after its zero-length terminator), or
// npos if the chain runs past the end.
size_t SkipSubBlocks(std::string_view b, size_t pos) {
  while (pos < b.size()) {
    const size_t n = At(b, pos);
    ++pos;
    if (n == 0) {
      return pos;
    }
    if (n > b.size() - pos) {
      return std::string_view::npos;
    }
    pos += n;
  }
  return std::string_view::npos;
}

// Application extensions that only say how to show the image: looping (Netscape's and its
// AnimExts twin) and the ICC colour profile. Anything else (XMP, editors' private data) goes.
bool KeepApplication(std::string_view identifier) {
  static constexpr std::array<std::string_view, 3> kDisplay = {"NETSCAPE2.0", "ANIMEXTS1.0",
                                                               "ICCRGBG1012"};
  for (std::string_view keep : kDisplay) {
    if (identifier == keep) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::string> StripGif(std::string_view b) {
  constexpr size_t kHeader = 6 + 7;  // signature and version, logical screen descriptor
  if (b.size() < kHeader) {
    return Invalid("GIF: truncated header");
  }
  size_t pos = kHeader + ColourTableBytes(At(b, 10));
  if (pos > b.size()) {
    return Invalid("GIF: truncated global colour table");
  }
  std::string out(b.substr(0, pos));
  bool image_seen = false;
  while (pos < b.size()) {
    const size_t start = pos;
    const unsigned char introducer = At(b, pos);
    if (introducer == kTrailer) {
      if (!image_seen) {
        return Invalid("GIF: no image");
      }
      out.push_back(static_cast<char>(kTrailer));
      return out;  // anything after the trailer is not part of the image
    }
    if (introducer == kImage) {
      constexpr size_t kDescriptor = 10;
      if (b.size() - pos < kDescriptor + 1) {
        return Invalid("GIF: truncated image descriptor at offset " + std::to_string(pos));
      }
      pos += kDescriptor + ColourTableBytes(At(b, pos + 9));
      if (pos >= b.size()) {
        return Invalid("GIF: truncated local colour table at offset " + std::to_string(start));
      }
      const unsigned char lzw_code_size = At(b, pos);
      if (lzw_code_size < 1 || lzw_code_size > 11) {
        return Invalid("GIF: LZW code size out of range at offset " + std::to_string(pos));
      }
      pos = SkipSubBlocks(b, pos + 1);
      if (pos == std::string_view::npos) {
        return Invalid("GIF: image data runs past the end at offset " + std::to_string(start));
      }
      image_seen = true;
      out.append(b.substr(start, pos - start));
      continue;
    }
    if (introducer != kExtension || b.size() - pos < 2) {
      return Invalid("GIF: unknown block at offset " + std::to_string(pos));
    }
    const unsigned char label = At(b, pos + 1);
    pos = SkipSubBlocks(b, pos + 2);
    if (pos == std::string_view::npos) {
      return Invalid("GIF: extension runs past the end at offset " + std::to_string(start));
    }
    bool keep = label == kGraphicControl;
    if (label == kApplication) {
      // The first sub-block is the 8-byte identifier and 3-byte authentication code.
      keep = At(b, start + 2) == 11 && KeepApplication(b.substr(start + 3, 11));
    }
    if (keep) {
      out.append(b.substr(start, pos - start));
    }
  }
  return Invalid("GIF: no trailer");
}

}  // namespace meldestelle::photo_internal
