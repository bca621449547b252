#include "core/reference.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace reference_test {

using namespace meldestelle;

namespace {
std::vector<std::string> SampleReferences() {
  ReferenceGenerator gen(17);
  std::vector<std::string> refs;
  auto t = std::chrono::system_clock::now();
  for (int i = 0; i < 200; ++i) {
    refs.push_back(gen.NextAt(t + std::chrono::seconds(i * 7919)));
  }
  return refs;
}
}  // namespace

TEST_CASE("references are 12 symbols from the unambiguous alphabet") {
  for (const auto& ref : SampleReferences()) {
    REQUIRE(ref.size() == kReferenceLength);
    for (char c : ref) {
      CHECK(kReferenceAlphabet.find(c) != std::string_view::npos);
    }
    for (char ambiguous : std::string("01OIL")) {
      CHECK(ref.find(ambiguous) == std::string::npos);
    }
    auto parsed = ParseReference(ref);
    REQUIRE(parsed.ok());
    CHECK(*parsed == ref);
  }
}

TEST_CASE("the check symbol catches every single substitution") {
  for (const auto& ref : SampleReferences()) {
    for (size_t pos = 0; pos < ref.size(); ++pos) {
      for (char c : kReferenceAlphabet) {
        if (c == ref[pos])
          continue;
        std::string typo = ref;
        typo[pos] = c;
        auto parsed = ParseReference(typo);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().code.name() == "reference_check_failed");
      }
    }
  }
}

TEST_CASE("the check symbol catches every swap of two neighbours") {
  for (const auto& ref : SampleReferences()) {
    for (size_t pos = 0; pos + 1 < ref.size(); ++pos) {
      if (ref[pos] == ref[pos + 1])
        continue;  // swapping equal symbols changes nothing
      std::string swapped = ref;
      std::swap(swapped[pos], swapped[pos + 1]);
      CHECK_FALSE(ParseReference(swapped).ok());
    }
  }
}

TEST_CASE("what a citizen types is normalised") {
  std::string ref = ReferenceGenerator(3).Next();
  std::string typed;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (i > 0 && i % 4 == 0)
      typed += " - ";
    typed += static_cast<char>(std::tolower(static_cast<unsigned char>(ref[i])));
  }
  auto parsed = ParseReference(typed);
  REQUIRE(parsed.ok());
  CHECK(*parsed == ref);
}

TEST_CASE("malformed references are told apart from mistyped ones") {
  CHECK(ParseReference("").error().code.name() == "reference_malformed");
  CHECK(ParseReference("ABC").error().code.name() == "reference_malformed");
  CHECK(ParseReference("22222222222O").error().code.name() == "reference_malformed");  // letter O
  CHECK(ParseReference("2222222222222").error().code.name() ==
        "reference_malformed");  // 13 symbols
}

TEST_CASE("references are unique within an instance, even when the clock stands still") {
  ReferenceGenerator gen(5);
  auto frozen = std::chrono::system_clock::now();
  std::set<std::string> seen;
  for (int i = 0; i < 50000; ++i) {
    REQUIRE(seen.insert(gen.NextAt(frozen)).second);
  }
}

TEST_CASE("references are unique across threads and across instances without coordination") {
  ReferenceGenerator a(1);
  ReferenceGenerator b(2);
  std::vector<std::string> out_a;
  std::vector<std::string> out_b;
  auto t = std::chrono::system_clock::now();
  std::thread ta([&] {
    for (int i = 0; i < 20000; ++i)
      out_a.push_back(a.NextAt(t));
  });
  std::thread tb([&] {
    for (int i = 0; i < 20000; ++i)
      out_b.push_back(b.NextAt(t));
  });
  ta.join();
  tb.join();
  std::set<std::string> all(out_a.begin(), out_a.end());
  all.insert(out_b.begin(), out_b.end());
  CHECK(all.size() == 40000);
}

TEST_CASE("two instances at the same instant produce different references") {
  auto t = std::chrono::system_clock::now();
  CHECK(ReferenceGenerator(1).NextAt(t) != ReferenceGenerator(2).NextAt(t));
  CHECK(ReferenceGenerator::Encode(123456789, 0) != ReferenceGenerator::Encode(123456789, 1023));
}

}  // namespace reference_test
