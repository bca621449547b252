// The inbox's charts drawn on the server (gateway/charts): what a screen reader and a browser
// without JavaScript get.
#include "gateway/charts.hpp"

#include <catch2/catch.hpp>

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace charts_test {

using namespace meldestelle::gateway::charts;

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
    ++n;
  return n;
}

TEST_CASE("stacked columns: one bar per non-zero value, titled, escaped, with a legend",
          "[charts]") {
  std::string svg = StackedColumns("w", "Meldungen <je> Woche", {"01.12.", "08.12."},
                                   {{"web", {3, 0}}, {"e<mail", {1, 2}}});
  CHECK(svg.rfind("<svg ", 0) == 0);
  CHECK(svg.find("role=\"img\"") != std::string::npos);
  CHECK(svg.find("aria-labelledby=\"w-titel w-beschreibung\"") != std::string::npos);
  CHECK(svg.find("<title id=\"w-titel\">Meldungen &lt;je&gt; Woche</title>") != std::string::npos);
  CHECK(svg.find("e<mail") == std::string::npos);
  // Three bars (the zero is left out) and two legend squares.
  CHECK(Count(svg, "<rect") == 5);
  CHECK(svg.find("<title>01.12., web: 3</title>") != std::string::npos);
  CHECK(svg.find("<title>08.12., e&lt;mail: 2</title>") != std::string::npos);
  // An empty chart still draws (an axis, no bars).
  CHECK(Count(StackedColumns("x", "leer", {}, {}), "<rect") == 0);
}

TEST_CASE("range bars: median and 90th percentile per row, no data said in words", "[charts]") {
  std::string svg =
      RangeBars("d", "Dauer", {"Tiefbauamt", "Grünflächenamt"}, {2.5, -1}, {6, -1}, "Tage");
  CHECK(svg.find("<title>Tiefbauamt, Median: 2,5 Tage</title>") != std::string::npos);
  CHECK(svg.find("<title>Tiefbauamt, 90. Perzentil: 6 Tage</title>") != std::string::npos);
  CHECK(svg.find("keine Daten") != std::string::npos);
  CHECK(Number(2.0) == "2");
  CHECK(Number(0.26) == "0,3");
  CHECK(Number(1234.5) == "1234,5");
}

}  // namespace charts_test
