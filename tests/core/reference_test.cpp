#include "core/reference.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
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
    // The generator works its check symbol out from the values it encodes: the same symbol.
    CHECK(ref.back() == ReferenceCheckSymbol(std::string_view(ref).substr(0, 11)));
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

namespace reference_clock_test {

using meldestelle::ReferenceGenerator;

std::filesystem::path FreshDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("meldestelle-refclock-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST_CASE(
    "a kept reference clock never repeats a reference across restarts, even far ahead of the wall "
    "clock") {
  auto dir = FreshDir("restart");
  const auto now = ReferenceGenerator::Clock::now();
  std::set<std::string> seen;
  uint64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    ReferenceGenerator g(5);
    REQUIRE(g.KeepIn(dir / "reference-clock-5"));
    // Faster than real time: 30,000 references at one instant run the clock 3 s ahead of it.
    // The restart then starts at the same instant (or the wall clock stepped back).
    for (int i = 0; i < 30000; ++i) {
      std::string ref = g.NextAt(now);
      REQUIRE(seen.insert(ref).second);
      uint64_t tick = ReferenceGenerator::TickOf(ref);
      REQUIRE(tick > last);
      last = tick;
    }
  }
  CHECK(seen.size() == 90000);
  // Without the kept clock the same restarts would repeat them: the test can fail.
  ReferenceGenerator forgetful(5);
  CHECK(seen.count(forgetful.NextAt(now)) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "a kept reference clock is one gateway's: a second with its instance id is refused, a damaged "
    "file too") {
  auto dir = FreshDir("lock");
  ReferenceGenerator first(7);
  REQUIRE(first.KeepIn(dir / "reference-clock-7"));
  ReferenceGenerator second(7);
  auto refused = second.KeepIn(dir / "reference-clock-7");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("gateway.instance_id 7"));
  {
    std::ofstream(dir / "reference-clock-8") << "kaputt\n";
    ReferenceGenerator damaged(8);
    auto r = damaged.KeepIn(dir / "reference-clock-8");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("is damaged"));
  }
  {
    std::ofstream(dir / "reference-clock-9") << std::string(25, '9') << "\n";
    ReferenceGenerator too_long(9);
    CHECK_FALSE(too_long.KeepIn(dir / "reference-clock-9"));
  }
  // A file in a folder that cannot be made is a clear error, not a crash.
  std::ofstream(dir / "a-file") << "x";
  ReferenceGenerator nowhere(3);
  auto no = nowhere.KeepIn(dir / "a-file" / "reference-clock-3");
  REQUIRE_FALSE(no);
  CHECK_THAT(no.error().message, Catch::Contains("cannot open the reference clock"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("two kept clocks of two instances at full speed in threads never meet") {
  auto dir = FreshDir("two");
  ReferenceGenerator a(1), b(2);
  REQUIRE(a.KeepIn(dir / "reference-clock-1"));
  REQUIRE(b.KeepIn(dir / "reference-clock-2"));
  std::vector<std::string> from_a, from_b;
  std::thread ta([&] {
    for (int i = 0; i < 50000; ++i)
      from_a.push_back(a.Next());
  });
  std::thread tb([&] {
    for (int i = 0; i < 50000; ++i)
      from_b.push_back(b.Next());
  });
  ta.join();
  tb.join();
  std::set<std::string> all(from_a.begin(), from_a.end());
  all.insert(from_b.begin(), from_b.end());
  CHECK(all.size() == 100000);
  std::filesystem::remove_all(dir);
}

}  // namespace reference_clock_test
