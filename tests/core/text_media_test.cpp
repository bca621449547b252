#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/http_client.hpp"
#include "core/media.hpp"
#include "core/text.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace text_media_test {

using namespace meldestelle;

TEST_CASE("UTF-8 validation rejects malformed sequences") {
  CHECK(IsValidUtf8("Straße 🚧"));
  CHECK(IsValidUtf8(""));
  CHECK_FALSE(IsValidUtf8("\xC3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xFF"));
  CHECK_FALSE(IsValidUtf8("M\xFC" "hlenweg"));   // Latin-1 byte
}

TEST_CASE("a case-blind prefix test matches ASCII letters in any case, and nothing else") {
  CHECK(AsciiStartsWithLower("Multipart/Form-Data; boundary=x", "multipart/form-data"));
  CHECK(AsciiStartsWithLower("FROM: someone", "from:"));
  CHECK(AsciiStartsWithLower("anything", ""));
  CHECK_FALSE(AsciiStartsWithLower("multipart", "multipart/"));  // shorter than the prefix
  CHECK_FALSE(AsciiStartsWithLower("application/json", "multipart/"));
  CHECK_FALSE(AsciiStartsWithLower("Von: x", "vom:"));
  // Only A-Z are folded, not every byte with the case bit ('[' is not '{', '@' not '`').
  CHECK_FALSE(AsciiStartsWithLower("[x", "{x"));
  CHECK_FALSE(AsciiStartsWithLower("@", "`"));
}

TEST_CASE("German folding makes spelling variants equal") {
  CHECK(FoldGerman("Straße") == FoldGerman("STRASSE"));
  CHECK(FoldGerman("Müll") == "muell");
  CHECK(FoldGerman("Schlaglöcher, überall!") == "schlagloecher ueberall");
  CHECK(FoldGerman("Grünfläche – „kaputt“") == "gruenflaeche kaputt");
  CHECK(FoldGerman("  ") == "");
  CHECK(FoldGerman("Mu\xCC\x88ll") == "muell");  // decomposed ü
}

TEST_CASE("media types are sniffed from magic bytes, not names") {
  CHECK(SniffMediaType("\xFF\xD8\xFF\xE0rest") == "image/jpeg");
  CHECK(SniffMediaType(std::string("\x89PNG\r\n\x1A\n", 8) + "x") == "image/png");
  CHECK(SniffMediaType(std::string("\0\0\0\x18" "ftypheic", 12)) == "image/heic");
  CHECK(SniffMediaType("RIFF1234WEBPVP8 ") == "image/webp");
  CHECK(SniffMediaType("%PDF-1.7") == "application/pdf");
  CHECK(SniffMediaType("just text") == "");
  CHECK(SniffMediaType("") == "");
  CHECK_FALSE(IsImageMediaType("application/pdf"));
}

TEST_CASE("file names are sanitised") {
  CHECK(SanitizeFilename("../../etc/passwd") == "passwd");
  CHECK(SanitizeFilename("C:\\Users\\x\\Bild.jpg") == "Bild.jpg");
  CHECK(SanitizeFilename("a\r\nb.jpg") == "ab.jpg");
  CHECK(SanitizeFilename("..") == "");
  CHECK(SanitizeFilename("Straße_Mühlenweg.jpg") == "Straße_Mühlenweg.jpg");
  CHECK(SanitizeFilename(std::string(300, 'x')).size() <= 120);
  CHECK(IsValidUtf8(SanitizeFilename(std::string(200, 'x') + "ü")));
}

TEST_CASE("the blob store is content-addressed and stores the same bytes once") {
  auto root = std::filesystem::temp_directory_path() / ("blobs-" + RandomHex(6));
  BlobStore store(root);
  std::string bytes = "\xFF\xD8\xFF photo bytes";
  auto a = store.Put(bytes);
  auto b = store.Put(bytes);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
  CHECK(*a == Sha256Hex(bytes));
  CHECK(store.Contains(*a));
  CHECK(*store.Get(*a) == bytes);
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) {
    files += e.is_regular_file() ? 1 : 0;
  }
  CHECK(files == 1);
  // Stored again, the file's age starts anew (the retention pass sweeps old unreferenced files).
  auto old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 30);
  std::filesystem::last_write_time(store.PathFor(*a), old_time);
  REQUIRE(store.Put(bytes).ok());
  CHECK(std::filesystem::last_write_time(store.PathFor(*a)) > old_time + std::chrono::hours(24));
  std::filesystem::remove_all(root);
}

TEST_CASE("crypto helpers match known answers") {
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HmacSha256Hex("key", "The quick brown fox jumps over the lazy dog") ==
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  std::string decoded;
  CHECK(Base64Decode(Base64Encode(std::string("\x00\x01\x02\xFF", 4)), &decoded));
  CHECK(decoded == std::string("\x00\x01\x02\xFF", 4));
  CHECK_FALSE(Base64Decode("abc", &decoded));
  CHECK(ConstantTimeEquals("same", "same"));
  CHECK_FALSE(ConstantTimeEquals("same", "sama"));
  CHECK(NewUuid().size() == 36);
}

TEST_CASE(
    "a report's id is an RFC 9562 version-4 UUID in its canonical form, a new one each time") {
  using meldestelle::NewUuid;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    REQUIRE(id.size() == 36);
    for (size_t at = 0; at < id.size(); ++at) {
      if (at == 8 || at == 13 || at == 18 || at == 23) {
        REQUIRE(id[at] == '-');
      } else {
        REQUIRE(std::string_view("0123456789abcdef").find(id[at]) != std::string_view::npos);
      }
    }
    CHECK(id[14] == '4');                                                    // version 4
    CHECK(std::string_view("89ab").find(id[19]) != std::string_view::npos);  // variant 10xx
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("credentials only go to URLs under the configured base, and logs never see userinfo") {
  using meldestelle::RedactUrl;
  using meldestelle::UrlUnder;
  CHECK(UrlUnder("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                 "https://api.twilio.com"));
  CHECK_FALSE(UrlUnder("https://api.twilio.com.evil.tld/x", "https://api.twilio.com"));
  CHECK_FALSE(UrlUnder("https://api.twilio.com@evil.tld/x", "https://api.twilio.com"));
  CHECK_FALSE(UrlUnder("https://api.twilio.com", "https://api.twilio.com"));
  CHECK_FALSE(UrlUnder("http://other.example/x", ""));
  CHECK(RedactUrl("https://user:secret@host.example/bot123:abc/getFile") ==
        "https://host.example/…");
  CHECK(RedactUrl("https://api.telegram.org/bot123:abc/getFile").find("123") ==
        std::string::npos);
}

}  // namespace text_media_test
