// Outlook's winmail.dat (channels/email/tnef.hpp): tests/data/winmail.dat is made by
// tests/data/make_winmail.py as [MS-OXTNEF] describes it and read alike by Debian's `tnef` tool.
#include "channels/email/tnef.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "channels/email/tnef_reader.hpp"
#include "core/errors.hpp"

namespace tnef_test {

using namespace meldestelle;
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

// TNEF written as [MS-OXTNEF] 2.1.3 lays it out (as tests/data/make_winmail.py does).
void Le(uint32_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
std::string Attr(uint8_t level, uint32_t id, const std::string& data) {
  std::string out(1, static_cast<char>(level));
  Le(id, 4, &out);
  Le(static_cast<uint32_t>(data.size()), 4, &out);
  out += data;
  uint32_t sum = 0;
  for (unsigned char c : data)
    sum += c;
  Le(sum & 0xFFFF, 2, &out);
  return out;
}
std::string Stream(const std::string& attributes) {
  std::string out;
  Le(0x223E9F78, 4, &out);
  Le(0x0001, 2, &out);
  return out + attributes;
}
std::string RendData() { return Attr(2, 0x00069002, std::string(14, '\0')); }
std::string AttachData(const std::string& bytes) { return Attr(2, 0x0006800F, bytes); }
std::string Title(const std::string& name) { return Attr(2, 0x00018010, name + '\0'); }
// An attachment's MAPI properties with one binary property (a value count of 1, its length, the
// value padded to 4 bytes).
std::string BinaryProperty(uint16_t prop_id, const std::string& value) {
  std::string props;
  Le(1, 4, &props);
  Le((uint32_t{prop_id} << 16) | 0x0102, 4, &props);
  Le(1, 4, &props);
  Le(static_cast<uint32_t>(value.size()), 4, &props);
  props += value;
  props.append((4 - value.size() % 4) % 4, '\0');
  return Attr(2, 0x00069005, props);
}

// Reads in this process, as meldestelle-tnef does in its own.
Result<std::optional<std::vector<Attachment>>> Direct(std::string_view bytes) {
  return UnpackTnef(bytes);
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

  // What the worker reads back from `meldestelle-tnef`.
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
  // Accepted only a cut at one of its dozen attribute boundaries (or one byte after, where
  // that byte is a NUL, as a level byte never is).
  CHECK(refused >= tnef.size() - 12 * 2);
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

TEST_CASE("what the library would read badly is refused before it reads", "[mail][tnef]") {
  const std::string photo = Data("gps-photo.jpg");
  const std::string one = RendData() + Title("A.JPG") + AttachData(photo);
  auto fine = UnpackTnef(Stream(one));
  REQUIRE(fine);
  REQUIRE(fine->size() == 1);
  CHECK((*fine)[0].filename == "A.JPG");
  // An attribute repeated in its attachment (the library keeps the first's buffer, and frees
  // a repeated property list by a count set before it), a second message property list.
  CHECK_FALSE(UnpackTnef(Stream(one + AttachData(photo))));
  CHECK_FALSE(UnpackTnef(Stream(one + Title("B.JPG"))));
  CHECK_FALSE(UnpackTnef(Stream(one + BinaryProperty(0x3701, "x") + BinaryProperty(0x3701, "y"))));
  std::string two_lists = Attr(1, 0x00069003, std::string("\0\0\0\0", 4));
  CHECK_FALSE(UnpackTnef(Stream(two_lists + two_lists + one)));
  // The same attribute in the next attachment is that one's.
  auto two = UnpackTnef(Stream(one + one));
  REQUIRE(two);
  CHECK(two->size() == 2);
  // More attachments than kMaxTnefFiles: each of the library's handlers walks the whole list.
  std::string many;
  for (size_t i = 0; i <= kMaxTnefFiles; ++i)
    many += RendData() + AttachData("x");
  CHECK_FALSE(UnpackTnef(Stream(many)));
  auto most = UnpackTnef(Stream(many.substr(0, many.size() / (kMaxTnefFiles + 1) * kMaxTnefFiles)));
  REQUIRE(most);
  CHECK(most->size() == kMaxTnefFiles);
}

TEST_CASE("a tail too short for an attribute is left, as the library leaves it", "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  // A CRLF a binary transfer encoding added.
  auto files = UnpackTnef(tnef + "\r\n");
  REQUIRE(files);
  CHECK(files->size() == 2);
  CHECK(UnpackTnef(tnef + std::string("\0\0", 2)));
  // Other bytes there are a stream cut short in its next attribute.
  CHECK_FALSE(UnpackTnef(tnef + "\x02\x0F"));
}

TEST_CASE("what the program writes back is taken with care", "[mail][tnef]") {
  // Names sanitised again, more files than a stream may hold refused.
  auto odd =
      DecodeFiles(EncodeFiles({File("../\x01"
                                    "b\xff.jpg",
                                    "", "x")}));
  REQUIRE(odd);
  CHECK((*odd)[0].filename.find('/') == std::string::npos);
  CHECK((*odd)[0].filename.find('\x01') == std::string::npos);
  std::vector<Attachment> many(kMaxTnefFiles + 1, File("a", "", ""));
  CHECK_FALSE(DecodeFiles(EncodeFiles(many)));
  many.pop_back();
  CHECK(DecodeFiles(EncodeFiles(many)));
}

TEST_CASE("a file stored as a property (PR_ATTACH_DATA_BIN) comes whole", "[mail][tnef]") {
  const std::string photo = Data("gps-photo.jpg");
  // PR_ATTACH_DATA_BIN (0x3701, binary): the bytes as they are.
  auto binary = UnpackTnef(Stream(RendData() + Title("FOTO.JPG") + BinaryProperty(0x3701, photo)));
  REQUIRE(binary);
  REQUIRE(binary->size() == 1);
  CHECK((*binary)[0].bytes == photo);
}

TEST_CASE("a mail's winmail.dat is replaced by its files, in its place and within the limit",
          "[mail][tnef]") {
  const std::string tnef = Data("winmail.dat");
  auto mail_with = [&](const std::string& stream) {
    Mail m;
    m.attachments = {File("a.jpg", "image/jpeg", "A"),
                     File("winmail.dat", "application/ms-tnef", stream),
                     File("b.jpg", "image/jpeg", "B")};
    return m;
  };
  Mail m = mail_with(tnef);
  REQUIRE(ExpandTnef(Limits{}, Direct, &m));
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
  Mail limited = mail_with(tnef);
  limited.attachments_not_kept = 2;  // counted by the parser already
  REQUIRE(ExpandTnef(three, Direct, &limited));
  REQUIRE(limited.attachments.size() == 3);
  CHECK(limited.attachments[2].filename == "Gruß.txt");
  CHECK(limited.attachments_not_kept == 3);

  // One that cannot be read is dropped (it takes no photo's place), counted.
  Mail unread = mail_with(tnef.substr(0, tnef.size() / 2));  // inside the photo
  REQUIRE(ExpandTnef(Limits{}, Direct, &unread));
  REQUIRE(unread.attachments.size() == 2);
  CHECK(unread.attachments[1].filename == "b.jpg");
  CHECK(unread.tnef_not_read == 1);

  // An Outlook mail attached inside: its stream is read in turn, its files take its place.
  const std::string outer =
      Stream(RendData() + Title("MAIL.MSG") + AttachData(tnef) + RendData() + AttachData("C"));
  Mail nested = mail_with(outer);
  REQUIRE(ExpandTnef(Limits{}, Direct, &nested));
  REQUIRE(nested.attachments.size() == 5);
  CHECK(nested.attachments[1].filename == "Schlagloch Straße.jpg");
  CHECK(nested.attachments[2].filename == "Gruß.txt");
  CHECK(nested.attachments[3].bytes == "C");
  // As Outlook attaches a mail: an embedded object (PR_ATTACH_DATA_OBJ, PT_OBJECT), its 16-byte
  // interface id, then the stream.
  std::string object_props;
  Le(1, 4, &object_props);
  Le((uint32_t{0x3701} << 16) | 0x000D, 4, &object_props);
  Le(1, 4, &object_props);
  const std::string object = std::string(16, '\x0B') + tnef;
  Le(static_cast<uint32_t>(object.size()), 4, &object_props);
  object_props += object;
  object_props.append((4 - object.size() % 4) % 4, '\0');
  Mail embedded =
      mail_with(Stream(RendData() + Title("MAIL.MSG") + Attr(2, 0x00069005, object_props)));
  REQUIRE(ExpandTnef(Limits{}, Direct, &embedded));
  REQUIRE(embedded.attachments.size() == 4);
  CHECK(embedded.attachments[1].filename == "Schlagloch Straße.jpg");
  // Nested deeper than kMaxTnefDepth: counted as not read.
  std::string deep = tnef;
  for (int i = 0; i < kMaxTnefDepth; ++i)
    deep = Stream(RendData() + AttachData(deep));
  Mail too_deep = mail_with(deep);
  REQUIRE(ExpandTnef(Limits{}, Direct, &too_deep));
  CHECK(too_deep.attachments.size() == 2);
  CHECK(too_deep.tnef_not_read == 1);

  // Streams read at most as many as the mail may keep files (and kMaxTnefReads), and none once
  // it has that many: 30 streams of one file each, and a limit of 4; then of 25.
  auto thirty_streams = [] {
    Mail thirty;
    for (int i = 0; i < 30; ++i)
      thirty.attachments.push_back(
          File("winmail.dat", "", Stream(RendData() + AttachData("f" + std::to_string(i)))));
    return thirty;
  };
  Mail streams = thirty_streams();
  Limits four;
  four.max_attachments = 4;
  int runs = 0;
  auto counted = [&](std::string_view b) -> Result<std::optional<std::vector<Attachment>>> {
    ++runs;
    return UnpackTnef(b);
  };
  REQUIRE(ExpandTnef(four, counted, &streams));
  CHECK(runs == 4);
  CHECK(streams.attachments.size() == 4);
  CHECK(streams.attachments[3].bytes == "f3");
  CHECK(streams.attachments_not_kept == 26);
  CHECK(streams.tnef_not_read == 0);
  Mail more = thirty_streams();
  Limits many_kept;
  many_kept.max_attachments = 25;
  runs = 0;
  REQUIRE(ExpandTnef(many_kept, counted, &more));
  CHECK(runs == static_cast<int>(kMaxTnefReads));
  CHECK(more.attachments.size() == kMaxTnefReads);
  CHECK(more.attachments_not_kept == 30 - static_cast<int>(kMaxTnefReads));

  // Reading that could not be done now: an error, the mail as it was.
  Mail later = mail_with(tnef);
  auto st = ExpandTnef(
      Limits{},
      [](std::string_view) -> Result<std::optional<std::vector<Attachment>>> {
        return MakeError(errors::kMediaTransient, "not now");
      },
      &later);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == errors::kMediaTransient);
  CHECK(later.attachments.size() == 3);
  CHECK(later.tnef_not_read == 0);
}

}  // namespace tnef_test
