#include "core/photo.hpp"

#include <turbojpeg.h>

#include <array>
#include <climits>
#include <cstdint>
#include <exception>
#include <exiv2/exiv2.hpp>
#include <memory>
#include <mutex>
#include <semaphore>

#include "core/errors.hpp"
#include "core/media.hpp"
#include "core/photo_formats.hpp"
#include "core/text.hpp"

namespace meldestelle {

namespace photo_internal {

Error Invalid(std::string detail) {
  return MakeError(errors::kInvalidPhoto, "the photo could not be read", std::move(detail));
}

Error TooLarge(std::int64_t width, std::int64_t height) {
  return MakeError(errors::kPhotoTooLarge, "the photo is too large",
                   std::to_string(width) + "x" + std::to_string(height));
}

}  // namespace photo_internal

namespace {

using photo_internal::Invalid;
using photo_internal::kMaxPixels;

// JPEG, HEIC and AVIF decodes at once per process (docs/security.md: each up to kMaxPixels x 3
// bytes of pixels and the decoder's buffers).
constexpr std::ptrdiff_t kDecodeSlots = 4;

// The most one lossless JPEG transform may hold (TransformBytes): a 50 MP 4:2:0 photo turned
// upright, 3 bytes of coefficients per pixel twice.
constexpr std::int64_t kMaxTransformBytes = kMaxPixels * 3 * 2;

class DecodeSlot {
 public:
  DecodeSlot() { Slots().acquire(); }
  ~DecodeSlot() { Slots().release(); }
  DecodeSlot(const DecodeSlot&) = delete;
  DecodeSlot& operator=(const DecodeSlot&) = delete;

 private:
  static std::counting_semaphore<kDecodeSlots>& Slots() {
    static std::counting_semaphore<kDecodeSlots> slots(kDecodeSlots);
    return slots;
  }
};

// Exiv2 keeps its log level and XMP toolkit in globals. The toolkit's namespace registry (which
// parsing an XMP packet may add to) is guarded by this mutex through the callback below.
// Never destroyed: Exiv2 may take the lock from its own code during exit.
std::recursive_mutex& XmpMutex() {
  static auto* m = new std::recursive_mutex;
  return *m;
}

void XmpLockUnlock(void* data, bool lock) {
  auto* m = static_cast<std::recursive_mutex*>(data);
  if (lock) {
    m->lock();
  } else {
    m->unlock();
  }
}

void InitExiv2Once() {
  // A function-local static is initialised exactly once, also under concurrent first calls.
  [[maybe_unused]] static const bool initialised = [] {
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
    Exiv2::XmpParser::initialize(XmpLockUnlock, &XmpMutex());
    Exiv2::enableBMFF(true);
    return true;
  }();
}

const Exiv2::byte* AsBytes(std::string_view s) {
  return reinterpret_cast<const Exiv2::byte*>(s.data());
}

// Exiv2's strings may carry the padding NULs and spaces of the EXIF ASCII type.
std::string Trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(std::string_view(" \0", 2));
  if (begin == std::string::npos) {
    return "";
  }
  return s.substr(begin, s.find_last_not_of(std::string_view(" \0", 2)) - begin + 1);
}

const Exiv2::Exifdatum* Find(const Exiv2::ExifData& exif, const char* key) {
  auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end() || it->count() < 1) {
    return nullptr;
  }
  return &*it;
}

// Degrees from the 1 to 3 rationals degrees, minutes, seconds; nullopt on a zero denominator,
// a negative value, or minutes/seconds of 60 and more.
std::optional<double> Degrees(const Exiv2::Exifdatum& d) {
  const long n = d.count();
  if (n > 3 || (d.typeId() != Exiv2::unsignedRational && d.typeId() != Exiv2::signedRational)) {
    return std::nullopt;
  }
  double total = 0;
  double scale = 1;
  for (long i = 0; i < n; ++i, scale *= 60) {
    Exiv2::Rational r = d.toRational(i);
    double num = 0;
    double den = 0;
    if (d.typeId() == Exiv2::unsignedRational) {
      // Exiv2 hands unsigned rationals out as int32 pairs; the cast back restores the value.
      num = static_cast<std::uint32_t>(r.first);
      den = static_cast<std::uint32_t>(r.second);
    } else {
      if (r.first < 0 || r.second < 0) {
        return std::nullopt;
      }
      num = r.first;
      den = r.second;
    }
    if (den == 0) {
      return std::nullopt;
    }
    double part = num / den;
    if (i > 0 && part >= 60) {
      return std::nullopt;
    }
    total += part / scale;
  }
  return total;
}

// One signed coordinate from a value and its reference letter (positive, negative).
std::optional<double> Coordinate(const Exiv2::ExifData& exif, const char* value_key,
                                 const char* ref_key, char positive, char negative, double limit) {
  const Exiv2::Exifdatum* value = Find(exif, value_key);
  const Exiv2::Exifdatum* ref = Find(exif, ref_key);
  if (value == nullptr || ref == nullptr) {
    return std::nullopt;
  }
  const std::string letter = Trimmed(ref->toString());
  std::optional<double> deg = Degrees(*value);
  if (!deg || letter.size() != 1 || (letter[0] != positive && letter[0] != negative) ||
      *deg > limit) {
    return std::nullopt;
  }
  return letter[0] == negative ? -*deg : *deg;
}

void ReadLocation(const Exiv2::ExifData& exif, PhotoMetadata& meta) {
  auto lat =
      Coordinate(exif, "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef", 'N', 'S', 90);
  auto lon =
      Coordinate(exif, "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", 'E', 'W', 180);
  // 0/0 is what receivers without a fix write; no report is made in the Gulf of Guinea.
  if (lat && lon && !(*lat == 0 && *lon == 0)) {
    meta.lat = lat;
    meta.lon = lon;
  }
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// "YYYY:MM:DD HH:MM:SS" (trailing NULs or spaces allowed) to "YYYY-MM-DDTHH:MM:SS", or "".
std::string IsoTime(const std::string& raw) {
  const std::string s = Trimmed(raw);
  constexpr std::string_view kPattern = "dddd:dd:dd dd:dd:dd";
  if (s.size() != kPattern.size()) {
    return "";
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    if (kPattern[i] == 'd' ? !digit : s[i] != kPattern[i]) {
      return "";
    }
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int year = num(0, 4);
  const int month = num(5, 2);
  const int day = num(8, 2);
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1900 || month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0) || num(11, 2) > 23 ||
      num(14, 2) > 59 || num(17, 2) > 59) {
    return "";
  }
  std::string out(s);
  out[4] = '-';
  out[7] = '-';
  out[10] = 'T';
  return out;
}

PhotoMetadata FromExif(const Exiv2::ExifData& exif) {
  PhotoMetadata meta;
  ReadLocation(exif, meta);
  for (const char* key : {"Exif.Photo.DateTimeOriginal", "Exif.Image.DateTime"}) {
    if (const Exiv2::Exifdatum* d = Find(exif, key)) {
      meta.captured_at = IsoTime(d->toString());
      if (!meta.captured_at.empty()) {
        break;
      }
    }
  }
  if (const Exiv2::Exifdatum* o = Find(exif, "Exif.Image.Orientation")) {
    long v = o->toLong(0);
    if (o->typeId() == Exiv2::unsignedShort && v >= 1 && v <= 8) {
      meta.orientation = static_cast<int>(v);
    }
  }
  return meta;
}

struct Exiv2Read {
  bool recognised = false;  // Exiv2 knows the image type
  PhotoMetadata meta;       // empty if the metadata could not be read
  std::string icc;          // the ICC profile, if any
};

Exiv2Read ReadWithExiv2(std::string_view bytes) noexcept {
  Exiv2Read out;
  if (bytes.empty() || bytes.size() > static_cast<size_t>(LONG_MAX)) {
    return out;
  }
  InitExiv2Once();
  try {
    auto image =  // Exiv2 0.27: a std::auto_ptr (clang: deprecated by name)
        Exiv2::ImageFactory::open(AsBytes(bytes), static_cast<long>(bytes.size()));
    if (image.get() == nullptr) {
      return out;
    }
    out.recognised = true;
    image->readMetadata();
    out.meta = FromExif(image->exifData());
    if (image->iccProfileDefined()) {
      const Exiv2::DataBuf* icc = image->iccProfile();
      out.icc.assign(reinterpret_cast<const char*>(icc->pData_), icc->size_);
    }
  } catch (...) {  // Exiv2::AnyError, std::bad_alloc, anything from a broken file
    out.meta = PhotoMetadata{};
    out.icc.clear();
  }
  return out;
}

bool Exiv2Recognises(std::string_view bytes) noexcept {
  if (bytes.empty() || bytes.size() > static_cast<size_t>(LONG_MAX)) {
    return false;
  }
  InitExiv2Once();
  try {
    return Exiv2::ImageFactory::getType(AsBytes(bytes), static_cast<long>(bytes.size())) !=
           Exiv2::ImageType::none;
  } catch (...) {
    return false;
  }
}

// --- JPEG ---------------------------------------------------------------------------------------

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

struct TjBufferDeleter {
  void operator()(unsigned char* p) const { tjFree(p); }
};
using TjBuffer = std::unique_ptr<unsigned char, TjBufferDeleter>;

int TransformFor(int orientation) {
  switch (orientation) {
    case 2:
      return TJXOP_HFLIP;
    case 3:
      return TJXOP_ROT180;
    case 4:
      return TJXOP_VFLIP;
    case 5:
      return TJXOP_TRANSPOSE;
    case 6:
      return TJXOP_ROT90;
    case 7:
      return TJXOP_TRANSVERSE;
    case 8:
      return TJXOP_ROT270;
    default:
      return TJXOP_NONE;
  }
}

// What libjpeg holds to transform a JPEG losslessly: every DCT coefficient (64 of 2 bytes per
// 8x8 block) of every component after subsampling, and for a rotation or flip a second set to
// transform into. Per pixel: 3 bytes for 4:2:0 (what phones write), 6 for 4:4:4, 8 for CMYK.
std::int64_t TransformBytes(int width, int height, int subsamp, int colorspace, bool turned) {
  double chroma = 0;  // the share of each of the two chroma components
  switch (subsamp) {
    case TJSAMP_444:
      chroma = 1;
      break;
    case TJSAMP_422:
    case TJSAMP_440:
      chroma = 0.5;
      break;
    case TJSAMP_GRAY:
      chroma = 0;
      break;
    default:  // 4:2:0, 4:1:1
      chroma = 0.25;
  }
  const double full = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK ? 2 : 1;  // Y (and K)
  const double per_pixel = 2 * (full + 2 * chroma);
  const double set = per_pixel * static_cast<double>(width) * height;
  return static_cast<std::int64_t>(turned ? 2 * set : set);
}

Result<std::string> StripJpeg(std::string_view bytes) {
  TjHandle tj(tjInitTransform());
  if (!tj) {
    return MakeError(errors::kInternal, "the photo could not be processed",
                     "tjInitTransform failed");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0;
  int height = 0;
  int subsamp = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, size, &width, &height, &subsamp, &colorspace) != 0) {
    return Invalid(std::string("JPEG header: ") + tjGetErrorStr2(tj.get()));
  }
  if (static_cast<std::int64_t>(width) * height > kMaxPixels) {
    return photo_internal::TooLarge(width, height);
  }
  Exiv2Read meta = ReadWithExiv2(bytes);

  tjtransform xform{};
  xform.op = TransformFor(meta.meta.orientation);
  // The pixel cap alone would let a 50 MP 4:4:4 or CMYK JPEG that is to be turned take 600 to
  // 800 MB: the memory is capped at what a 50 MP phone photo (4:2:0) turned upright needs.
  if (TransformBytes(width, height, subsamp, colorspace, xform.op != TJXOP_NONE) >
      kMaxTransformBytes) {
    return photo_internal::TooLarge(width, height);
  }
  // COPYNONE drops every APPn and COM segment; TRIM drops the partial edge MCUs that cannot be
  // moved losslessly (without it they would stay unrotated at the edge).
  xform.options = TJXOPT_COPYNONE | (xform.op == TJXOP_NONE ? 0 : TJXOPT_TRIM);
  unsigned char* out_raw = nullptr;
  unsigned long out_size = 0;
  // Warnings (a truncated or corrupt scan that libjpeg would pad) fail too: -1 either way.
  int rc = tjTransform(tj.get(), data, size, 1, &out_raw, &out_size, &xform, TJFLAG_LIMITSCANS);
  TjBuffer out(out_raw);
  if (rc != 0 || !out || out_size == 0) {
    return Invalid(std::string("JPEG transform: ") + tjGetErrorStr2(tj.get()));
  }
  std::string jpeg(reinterpret_cast<const char*>(out.get()), out_size);
  if (!meta.icc.empty()) {
    jpeg = photo_internal::WithIccProfile(std::move(jpeg), meta.icc);
  }
  return jpeg;
}

// --- PNG ----------------------------------------------------------------------------------------

std::uint32_t ReadBe32(std::string_view b, size_t pos) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 3]));
}

bool IsAsciiLetters(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
      return false;
    }
  }
  return true;
}

bool KeepPngChunk(std::string_view type) {
  if (type[0] >= 'A' && type[0] <= 'Z') {
    return true;  // critical: IHDR, PLTE, IDAT, IEND (an unknown one fails decoders anyway)
  }
  static constexpr std::array<std::string_view, 14> kDisplay = {
      "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "bKGD",
      "pHYs", "cICP", "mDCv", "cLLi", "acTL", "fcTL", "fdAT"};
  for (std::string_view keep : kDisplay) {
    if (type == keep) {
      return true;
    }
  }
  return false;
}

Result<std::string> StripPng(std::string_view b) {
  constexpr size_t kSignature = 8;
  std::string out(b.substr(0, kSignature));
  size_t pos = kSignature;
  bool first = true;
  while (true) {
    if (b.size() - pos < 12) {
      return Invalid("PNG: truncated chunk, or no IEND");
    }
    const std::uint32_t length = ReadBe32(b, pos);
    std::string_view type = b.substr(pos + 4, 4);
    if (length > 0x7FFFFFFFu || length > b.size() - pos - 12 || !IsAsciiLetters(type)) {
      return Invalid("PNG: malformed chunk at offset " + std::to_string(pos));
    }
    if (first && (type != "IHDR" || length != 13)) {
      return Invalid("PNG: first chunk is not IHDR");
    }
    first = false;
    const size_t total = 12 + static_cast<size_t>(length);  // length, type, data, CRC
    if (KeepPngChunk(type)) {
      out.append(b.substr(pos, total));
    }
    pos += total;
    if (type == "IEND") {
      return out;  // anything after IEND is not part of the image
    }
  }
}

// --- WebP ---------------------------------------------------------------------------------------

std::uint32_t ReadLe32(std::string_view b, size_t pos) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 3])) << 24);
}

void WriteLe32(std::string& s, size_t pos, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
}

bool KeepWebpChunk(std::string_view fourcc) {
  static constexpr std::array<std::string_view, 7> kImage = {"VP8 ", "VP8L", "VP8X", "ALPH",
                                                             "ANIM", "ANMF", "ICCP"};
  for (std::string_view keep : kImage) {
    if (fourcc == keep) {
      return true;
    }
  }
  return false;
}

Result<std::string> StripWebp(std::string_view b) {
  if (b.size() < 12) {
    return Invalid("WebP: truncated header");
  }
  const std::uint32_t riff_size = ReadLe32(b, 4);
  if (riff_size < 4 || riff_size > b.size() - 8) {
    return Invalid("WebP: RIFF size does not match the data");
  }
  const size_t end = 8 + static_cast<size_t>(riff_size);  // trailing bytes after RIFF dropped
  std::string out(b.substr(0, 12));
  size_t pos = 12;
  bool first = true;
  while (pos < end) {
    if (end - pos < 8) {
      return Invalid("WebP: truncated chunk header");
    }
    std::string_view fourcc = b.substr(pos, 4);
    const std::uint32_t size = ReadLe32(b, pos + 4);
    const size_t padded = static_cast<size_t>(size) + (size & 1);
    if (padded > end - pos - 8) {
      return Invalid("WebP: chunk runs past the end at offset " + std::to_string(pos));
    }
    if (first && fourcc != "VP8 " && fourcc != "VP8L" && fourcc != "VP8X") {
      return Invalid("WebP: first chunk is not an image chunk");
    }
    if (fourcc == "VP8X" && size < 10) {
      return Invalid("WebP: VP8X chunk too short");
    }
    first = false;
    if (KeepWebpChunk(fourcc)) {
      const size_t at = out.size();
      out.append(b.substr(pos, 8 + padded));
      if (fourcc == "VP8X") {
        constexpr unsigned char kExifFlag = 0x08;
        constexpr unsigned char kXmpFlag = 0x04;
        out[at + 8] = static_cast<char>(static_cast<unsigned char>(out[at + 8]) &
                                        ~(kExifFlag | kXmpFlag) & 0xFF);
      }
    }
    pos += 8 + padded;
  }
  if (first) {
    return Invalid("WebP: no image chunk");
  }
  WriteLe32(out, 4, static_cast<std::uint32_t>(out.size() - 8));
  return out;
}

}  // namespace

Result<PhotoMetadata> ReadPhotoMetadata(std::string_view bytes) {
  Exiv2Read read = ReadWithExiv2(bytes);
  if (!read.recognised) {
    return Invalid("Exiv2 does not recognise the image type");
  }
  return std::move(read.meta);
}

namespace photo_internal {

// Exiv2 splits the profile into APP2 chunks.
std::string WithIccProfile(std::string jpeg, const std::string& icc) noexcept {
  try {
    auto image =  // Exiv2 0.27: a std::auto_ptr (clang: deprecated by name)
        Exiv2::ImageFactory::open(AsBytes(jpeg), static_cast<long>(jpeg.size()));
    Exiv2::DataBuf buf(AsBytes(icc), static_cast<long>(icc.size()));
    image->setIccProfile(buf, /*bTestValid=*/true);
    image->writeMetadata();
    Exiv2::BasicIo& io = image->io();
    if (io.open() != 0) {
      return jpeg;
    }
    Exiv2::DataBuf data = io.read(io.size());
    io.close();
    if (data.size_ <= 0) {
      return jpeg;
    }
    return std::string(reinterpret_cast<const char*>(data.pData_), data.size_);
  } catch (...) {
    return jpeg;
  }
}

}  // namespace photo_internal

Result<CleanPhoto> StripPhoto(std::string_view bytes) {
  try {
    const std::string type = SniffMediaType(bytes);
    if (type == "image/jpeg" || photo_internal::HeifDecodes(type)) {
      // Decoding is what costs memory (a 50 MP photo: about 150 MB of pixels): at most
      // kDecodeSlots at once in a process, the others wait their turn.
      DecodeSlot slot;
      auto jpeg = type == "image/jpeg" ? StripJpeg(bytes) : photo_internal::HeifToJpeg(bytes);
      if (!jpeg) {
        return jpeg.error();
      }
      return CleanPhoto{std::move(jpeg).value(), "image/jpeg"};
    }
    Result<std::string> clean = std::string();
    if (type == "image/png") {
      clean = StripPng(bytes);
    } else if (type == "image/webp") {
      clean = StripWebp(bytes);
    } else if (type == "image/gif") {
      clean = photo_internal::StripGif(bytes);
    } else if (!type.empty() || Exiv2Recognises(bytes)) {
      return MakeError(errors::kUnsupportedPhotoType,
                       "photos of this type cannot be shown without their metadata",
                       type.empty() ? "type recognised by Exiv2" : type);
    } else {
      return Invalid("not a known image type");
    }
    if (!clean) {
      return clean.error();
    }
    return CleanPhoto{std::move(clean).value(), type};
  } catch (const std::exception& e) {  // std::bad_alloc from a copy
    return MakeError(errors::kInternal, "the photo could not be processed", e.what());
  }
}

bool CanCleanPhotoType(std::string_view media_type) {
  return media_type == "image/jpeg" || media_type == "image/png" || media_type == "image/webp" ||
         media_type == "image/gif" || photo_internal::HeifDecodes(media_type);
}

std::string PhotoFileName(std::string_view filename, std::string_view media_type) {
  std::string name(filename);
  if (name.empty() || media_type != "image/jpeg") {
    return name;
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) {
    return name;  // no extension to correct
  }
  const std::string ext = AsciiLower(name.substr(dot));
  if (ext == ".jpg" || ext == ".jpeg" || ext == ".jpe") {
    return name;
  }
  return name.substr(0, dot) + ".jpg";
}

}  // namespace meldestelle
