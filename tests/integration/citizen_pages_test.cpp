// The citizens' status pages in a real headless Chromium (tests/browser/citizen_pages.mjs drives
// them with playwright-core and checks them with axe-core); this test prepares the ticket.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity builds).
namespace citizen_pages_test {

using meldestelle::testing::ReadFile;
using meldestelle::testing::Replace;
using meldestelle::testing::Stack;
using meldestelle::testing::StackOptions;
using nlohmann::json;

// A JPEG's width and height from its frame header (SOF); {0, 0} if there is none.
std::pair<int, int> JpegSize(const std::string& b) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
  size_t i = 2;
  while (i + 9 < b.size() && byte(i) == 0xFF) {
    unsigned char m = byte(i + 1);
    size_t length = (byte(i + 2) << 8) | byte(i + 3);
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
      return {(byte(i + 7) << 8) | byte(i + 8), (byte(i + 5) << 8) | byte(i + 6)};
    i += 2 + length;
  }
  return {0, 0};
}

TEST_CASE(
    "status page in Chromium: on a phone, with the map, the keyboard only, without "
    "JavaScript, and no WCAG 2.1 AA violation",
    "[status_page][browser]") {
  std::filesystem::path dir = std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/browser";
  {
    INFO("tests/browser/node_modules is missing: scripts/test installs it (npm ci)");
    REQUIRE(std::filesystem::exists(dir / "node_modules/playwright-core"));
    REQUIRE(std::filesystem::exists(dir / "node_modules/axe-core"));
  }
  // The tiles from a host of its own, which the browser test answers itself.
  const std::string tiles = "kacheln.musterstadt.test";
  StackOptions o;
  o.token_min_age_seconds = 0;
  o.edit_config = [&](std::string& cfg) {
    Replace(cfg, "    tile_url: https://tile.openstreetmap.org/{z}/{x}/{y}.png\n",
            "    tile_url: https://" + tiles + "/{z}/{x}/{y}.png\n");
    // Every channel's reports on the public list (docs/datenschutz.md, "Publication").
    Replace(cfg, "  publish: open311_only\n", "  publish: all\n");
    // The phone's photo (about 7 MB) is over this limit, scaled in the browser it is under.
    Replace(cfg, "  max_photo_bytes: 10485760\n", "  max_photo_bytes: 4194304\n");
  };
  Stack s(o);
  int st = -1;
  std::string out = s.RunCommand({"token", "create", "--department", "tiefbauamt"}, &st);
  REQUIRE(st == 0);
  std::string token = out.substr(out.find("mst_"), 61);
  auto posted = s.Client().Post("/api/v1/reports",
                                json{{"description", "Schlagloch vor der Schule"},
                                     {"category", "STR-01"},
                                     {"lat", 50.9375312},
                                     {"lon", 6.9602786}}
                                    .dump(),
                                "application/json");
  REQUIRE(posted);
  REQUIRE(posted->status == 202);
  std::string ref = json::parse(posted->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + ref + "'", 1));
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  auto done = s.Client().Post(("/api/v1/tickets/" + ref + "/status").c_str(), auth,
                              R"({"status":"done","public_note":"Das Loch ist verfüllt."})",
                              "application/json");
  REQUIRE(done);
  REQUIRE(done->status == 200);

  // An open report of a public category: the list of reports, and "Ich auch".
  auto open = s.Client().Post("/api/v1/reports",
                              json{{"description", "Gehweg aufgebrochen"},
                                   {"category", "STR-02"},
                                   {"lat", 50.9391},
                                   {"lon", 6.9571}}
                                  .dump(),
                              "application/json");
  REQUIRE(open);
  REQUIRE(open->status == 202);
  std::string open_ref = json::parse(open->body)["reference"];
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + open_ref + "'", 1));

  std::string typo = ref;
  for (size_t i = 0; i + 1 < typo.size(); ++i) {
    if (typo[i] != typo[i + 1]) {
      std::swap(typo[i], typo[i + 1]);
      break;
    }
  }
  REQUIRE(typo != ref);
  std::string script =
      "cd '" + dir.string() + "' && BASE_URL=http://127.0.0.1:" + std::to_string(s.port()) +
      " REF=" + ref + " OPEN_REF=" + open_ref + " TYPO=" + typo + " TILES_HOST=" + tiles +
      " PHOTO='" + MELDESTELLE_VECTORS_DIR + "/webform/tiny-test.jpg' EXIF_PHOTO='" +
      MELDESTELLE_SOURCE_DIR + "/tests/data/gps-rotated-photo.jpg'" +
      " FEEDBACK=barrierefreiheit@musterstadt.example" + " node citizen_pages.mjs";
  out = s.RunShell(script, &st);
  INFO("what went wrong:\n" + meldestelle::testing::BrowserProblems(out));
  INFO("the whole output:\n" + out);
  CHECK(st == 0);
  // What the form cost the phone (docs/benchmarks.md, "The form on a phone").
  if (auto bytes = out.find("FORM_BYTES "); bytes != std::string::npos)
    WARN(out.substr(bytes, out.find('\n', bytes) - bytes));
  // The report sent from the map: at the marker's place, as the citizen's own position.
  auto sent = out.find("SENT ");
  REQUIRE(sent != std::string::npos);
  std::istringstream line(out.substr(sent + 5));
  double lat = 0, lon = 0;
  std::string sent_ref;
  line >> lat >> lon >> sent_ref;
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + sent_ref + "'", 1));
  auto t =
      s.Query("SELECT lat, lon, location_source FROM tickets WHERE reference = '" + sent_ref + "'");
  CHECK(t[0][0].as<double>() == Approx(lat).margin(1e-6));
  CHECK(t[0][1].as<double>() == Approx(lon).margin(1e-6));
  CHECK(t[0][2].as<std::string>() == "device");
  // In the town (the box of the example town), where the marker was set.
  CHECK(lat > 50.93);
  CHECK(lat < 50.95);
  CHECK(lon > 6.94);
  CHECK(lon < 6.98);
  // The report sent with the keyboard alone: its photo and its address, placed by the street list.
  auto keyboard = out.find("KEYBOARD ");
  REQUIRE(keyboard != std::string::npos);
  std::string keyboard_ref = out.substr(keyboard + 9, 12);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + keyboard_ref + "'", 1));
  CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id WHERE"
                " t.reference = '" +
                keyboard_ref + "'") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + keyboard_ref +
                "' AND location_source = 'address' AND address = 'Lindenstraße 13'") == 1);

  // The phone's photo, scaled in the browser: stored 1536 × 2048 (upright once: the browser
  // turned the pixels and set the orientation to 1, the server did not turn them again), and
  // the report placed by the photo's EXIF position, which the scaling kept.
  auto scaled = out.find("SCALED ");
  REQUIRE(scaled != std::string::npos);
  std::istringstream scaled_line(out.substr(scaled + 7));
  std::string scaled_ref;
  long long chosen = 0, sent_bytes = 0;
  scaled_line >> scaled_ref >> chosen >> sent_bytes;
  CHECK(chosen > 4194304);
  CHECK(sent_bytes < 4194304);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE reference = '" + scaled_ref + "'", 1));
  auto photo = s.Query(
      "SELECT a.sha256, t.lat, t.lon, t.location_source FROM attachments a JOIN tickets t ON "
      "t.id = a.ticket_id WHERE t.reference = '" +
      scaled_ref + "'");
  REQUIRE(photo.size() == 1);
  CHECK(photo[0][1].as<double>() == Approx(50.9401).margin(1e-4));
  CHECK(photo[0][2].as<double>() == Approx(6.9555).margin(1e-4));
  CHECK(photo[0][3].as<std::string>() == "photo");
  std::string sha = photo[0][0].as<std::string>();
  auto size = JpegSize(ReadFile(s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha));
  CHECK(size.first == 1536);
  CHECK(size.second == 2048);

  // "Ich auch" from the browser: a report linked to the open one.
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM tickets t JOIN tickets o ON o.id = t.duplicate_of"
                     " WHERE o.reference = '" +
                         open_ref +
                         "' AND t.reporter->'ack'->>'address' ="
                         " 'nachbarin@example.net'",
                     1));
}

}  // namespace citizen_pages_test
