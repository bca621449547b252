// Outlook's winmail.dat (channels/email/tnef.hpp): tests/data/winmail.dat is made by
// tests/data/make_winmail.py as [MS-OXTNEF] describes it and read alike by Debian's `tnef` tool.
#include "channels/email/tnef.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tnef_test {

using namespace meldestelle::email;

namespace {

std::string Data(const std::string& name) {
  std::ifstream in(std::string(MELDESTELLE_SOURCE_DIR) + "/tests/data/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The offset of the photo's data attribute (attAttachData, level 2, id 0x0006800F) in the
// fixture: its level byte.
size_t PhotoDataAttribute(const std::string& tnef) {
  const std::string id("\x02\x0F\x80\x06\x00", 5);
  size_t at = tnef.find(id);
  REQUIRE(at != std::string::npos);
  return at;
}

Attachment File(const std::string& name, const std::string& type, const std::string& bytes) {
  Attachment a;
  a.filename = name;
  a.declared_type = type;
  a.bytes = bytes;
  return a;
}

}  // namespace

TEST_CASE("a winmail.dat gives the files inside it, named as Outlook named them", "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  auto files = UnpackTnef(tnef);
  REQUIRE(files);
  REQUIRE(files->size() == 2);
  // The long file name (UTF-16 in the stream), then the 8-bit title in Windows-1252.
  CHECK((*files)[0].filename == "Schlagloch Straße.jpg");
  CHECK((*files)[0].bytes == Data("gps-photo.jpg"));
  CHECK((*files)[1].filename == "Gruß.txt");
  CHECK((*files)[1].bytes == "Hallo\r\n");
  for (const auto& f : *files)
    CHECK(f.declared_type == "application/octet-stream");  // the bytes tell, not the stream

  // What the worker reads back from `meldestelle unpack-tnef`.
  auto decoded = DecodeFiles(EncodeFiles(*files));
  REQUIRE(decoded);
  REQUIRE(decoded->size() == 2);
  CHECK((*decoded)[0].filename == (*files)[0].filename);
  CHECK((*decoded)[0].bytes == (*files)[0].bytes);
  CHECK((*decoded)[1].bytes == (*files)[1].bytes);
  CHECK(DecodeFiles("")->empty());
  const std::string encoded = EncodeFiles(*files);
  for (size_t cut : {size_t{1}, size_t{3}, size_t{4}, encoded.size() / 2, encoded.size() - 1}) {
    INFO(cut);
    CHECK_FALSE(DecodeFiles(encoded.substr(0, cut)));
  }
}

TEST_CASE("a winmail.dat is told by its type, its name or its signature", "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  CHECK(IsTnef(File("x", "application/ms-tnef", "")));
  CHECK(IsTnef(File("x", "application/vnd.ms-tnef", "")));
  CHECK(IsTnef(File("WINMAIL.DAT", "application/octet-stream", "")));
  CHECK(IsTnef(File("", "application/octet-stream", tnef)));
  CHECK_FALSE(IsTnef(File("foto.jpg", "image/jpeg", Data("gps-photo.jpg"))));
  CHECK_FALSE(IsTnef(File("winmail.txt", "text/plain", "x")));
}

TEST_CASE("a broken winmail.dat is refused, never read past its end", "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  CHECK_FALSE(UnpackTnef(""));
  CHECK_FALSE(UnpackTnef("Hallo Welt, keine TNEF-Datei"));
  CHECK_FALSE(UnpackTnef(Data("gps-photo.jpg")));
  // Cut anywhere inside an attribute: refused (a cut between two attributes is a shorter
  // stream). Every prefix is tried.
  size_t refused = 0;
  for (size_t n = 0; n < tnef.size(); ++n) {
    if (!UnpackTnef(tnef.substr(0, n)))
      ++refused;
  }
  CHECK(refused >= tnef.size() - 12);  // at most a dozen attribute boundaries
  CHECK_FALSE(UnpackTnef(tnef.substr(0, tnef.size() - 1)));
  // A length past the end, one read as negative by the library, and one of zero.
  const size_t at = PhotoDataAttribute(tnef);
  for (uint32_t length :
       {uint32_t{0x7FFFFFF0}, uint32_t{0x80000000}, uint32_t{0xFFFFFFFF}, uint32_t{0}}) {
    INFO(length);
    std::string bad = tnef;
    for (int i = 0; i < 4; ++i)
      bad[at + 5 + i] = static_cast<char>((length >> (8 * i)) & 0xFF);
    CHECK_FALSE(UnpackTnef(bad));
  }
  // A checksum that does not match its data: the library refuses the stream.
  std::string checksum = tnef;
  checksum[at + 9] ^= 0x01;  // the photo's first byte
  CHECK_FALSE(UnpackTnef(checksum));
  // Any one byte changed: refused or read, never a crash (the sanitizer build checks the
  // memory).
  for (size_t i = 0; i < tnef.size(); ++i) {
    std::string flipped = tnef;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xA5);
    auto files = UnpackTnef(flipped);
    if (files) {
      for (const auto& f : *files)
        CHECK(f.bytes.size() <= tnef.size());
    }
  }
}

TEST_CASE("a mail's winmail.dat is replaced by its files, in its place and within the limit",
          "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  auto mail_with = [&]() {
    Mail m;
    m.attachments = {File("a.jpg", "image/jpeg", "A"),
                     File("winmail.dat", "application/ms-tnef", tnef),
                     File("b.jpg", "image/jpeg", "B")};
    return m;
  };
  Mail m = mail_with();
  ExpandTnef(Limits{}, UnpackTnef, &m);
  REQUIRE(m.attachments.size() == 4);
  CHECK(m.attachments[0].filename == "a.jpg");
  CHECK(m.attachments[1].filename == "Schlagloch Straße.jpg");
  CHECK(m.attachments[2].filename == "Gruß.txt");
  CHECK(m.attachments[3].filename == "b.jpg");
  CHECK(m.tnef_not_read == 0);
  CHECK(m.attachments_not_kept == 0);

  // Beyond max_attachments: the first kept, the rest counted.
  Limits three;
  three.max_attachments = 3;
  Mail limited = mail_with();
  limited.attachments_not_kept = 2;  // counted by the parser already
  ExpandTnef(three, UnpackTnef, &limited);
  REQUIRE(limited.attachments.size() == 3);
  CHECK(limited.attachments[2].filename == "Gruß.txt");
  CHECK(limited.attachments_not_kept == 3);

  // One that cannot be read stays, counted.
  Mail unread = mail_with();
  unread.attachments[1].bytes = tnef.substr(0, 101);  // inside the photo's rendering
  ExpandTnef(Limits{}, UnpackTnef, &unread);
  REQUIRE(unread.attachments.size() == 3);
  CHECK(unread.attachments[1].filename == "winmail.dat");
  CHECK(unread.tnef_not_read == 1);
}

}  // namespace tnef_test
