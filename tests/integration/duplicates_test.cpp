// Duplicate linking (docs/duplicates.md) end to end: the real gateway and workers, reports from
// two channels.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/crypto.hpp"
#include "core/envelope.hpp"
#include "core/reference.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace duplicates_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// A pothole at Mühlenweg 12, reported through the web form.
httplib::MultipartFormDataItems DuplicateFormItems(const std::string& token) {
  return {
      {"kategorie", "STR-01", "", ""},
      {"beschreibung", "Schlagloch auf der Fahrbahn, ca. 40 cm breit.", "", ""},
      {"lat", "50.937531", "", ""},
      {"lon", "6.960279", "", ""},
      {"adresse", "Mühlenweg 12", "", ""},
      {"email", "j.mueller@example.net", "", ""},
      {"website", "", "", ""},
      {"form_token", token, "", ""},
      {"fotos[]", VectorFile("webform/tiny-test.jpg"), "loch.jpg", "image/jpeg"},
  };
}


json PublicStatus(Stack& s, const std::string& ref) {
  auto res = s.Client().Get(("/api/v1/reports/" + ref).c_str());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

// A report as a messenger adapter produces it, published straight onto the queue: a photo,
// possibly no text and no location.
std::string PublishPhotoReport(Stack& s, const std::string& text, bool with_location,
                               int generator) {
  Report r;
  r.id = NewUuid();
  r.reference = ReferenceGenerator(generator).Next();
  r.channel = "app";
  r.channel_message_id = "photo-" + r.id;
  r.received_at = NowTimestamp();
  r.text = text;
  r.category = "STR-01";
  if (with_location) {
    r.location.lat = 50.93754;
    r.location.lon = 6.96028;
    r.location.source = LocationSource::kDevice;
  }
  std::string jpeg = VectorFile("webform/tiny-test.jpg");
  r.attachments.push_back({Sha256Hex(jpeg), "image/jpeg", static_cast<int64_t>(jpeg.size()),
                           "foto.jpg"});
  s.PublishRaw(EncodeEnvelope(Envelope{r, {"application/json", "{}"}, ""}), r.id);
  return r.reference;
}

}  // namespace

TEST_CASE("a second report of the same defect from another channel is linked, not a new ticket") {
  Stack s;
  // 1. The web form: the original.
  auto res = s.Client().Post("/formular/meldung", DuplicateFormItems(s.MintFormToken(10)));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  std::string first = ReferenceOnPage(res->body);
  REQUIRE(ParseReference(first).ok());
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 1));

  // 2. The app, about 6 m away, same category: linked to the first.
  std::string second = PostApp(s, {{"description", "Tiefes Schlagloch vor Hausnummer 12"},
                                   {"category", "STR-01"},
                                   {"lat", 50.93758},
                                   {"lon", 6.96030},
                                   {"email", "anna@example.org"}});
  REQUIRE(s.WaitForCount(kTickets, 2));
  CHECK(One(s, "SELECT count(*) FROM tickets WHERE status <> 'duplicate'") == "1");
  CHECK(One(s, "SELECT o.reference FROM tickets t JOIN tickets o ON o.id = t.duplicate_of"
               " WHERE t.reference = '" + second + "'") == first);
  CHECK(One(s, "SELECT status FROM tickets WHERE reference = '" + second + "'") == "duplicate");
  CHECK(One(s, "SELECT channel FROM tickets WHERE reference = '" + second + "'") == "app");
  // Its own routing is kept for unlinking.
  CHECK(One(s, "SELECT department_id FROM tickets WHERE reference = '" + second + "'") ==
        "tiefbauamt");
  CHECK(s.Count("SELECT count(*) FROM ticket_reporters r JOIN tickets t ON t.id = r.ticket_id"
                " WHERE t.reference = '" + first + "'") == 1);
  // The acknowledgement names the existing reference.
  json ack = json::parse(One(s, "SELECT o.payload::text FROM outbox o JOIN tickets t"
                                " ON t.id = o.ticket_id WHERE t.reference = '" + second +
                                "' AND o.kind = 'ack'"));
  CHECK(ack["duplicate"] == true);
  CHECK(ack["existing_reference"] == first);
  CHECK(ack["reference"] == second);
  CHECK(ack["message"] == "bereits gemeldet, wird bearbeitet");
  CHECK_THAT(s.WorkerLogs(), Catch::Contains("report linked to an open ticket"));

  // The public status of the second shows the first's status and reference, no personal data.
  json st = PublicStatus(s, second);
  CHECK(st["reference"] == second);
  CHECK(st["duplicate_of"] == first);
  CHECK(st["status"] == "assigned");
  CHECK(st["department"] == "Tiefbauamt");
  CHECK(st.dump().find("anna") == std::string::npos);
  CHECK_FALSE(PublicStatus(s, first).contains("duplicate_of"));

  // 3. 100 m away, or another category: their own tickets.
  std::string far = PostApp(s, {{"description", "Schlagloch an der Ecke"},
                                {"category", "STR-01"},
                                {"lat", 50.93843},
                                {"lon", 6.960279}});
  std::string other = PostApp(s, {{"description", "Laterne brennt nicht"},
                                  {"category", "BEL-01"},
                                  {"lat", 50.93754},
                                  {"lon", 6.96028}});
  // 4. A photo without text (near, same category) and a photo without location: never merged.
  std::string photo_no_text = PublishPhotoReport(s, "", true, 901);
  std::string photo_no_location = PublishPhotoReport(s, "Schlagloch", false, 902);
  REQUIRE(s.WaitForCount(kTickets, 6));
  for (const auto& ref : {far, other, photo_no_text, photo_no_location}) {
    INFO(ref);
    CHECK(One(s, "SELECT status || '/' || (duplicate_of IS NULL) FROM tickets WHERE reference = '" +
                     ref + "'") == "assigned/true");
  }
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE status = 'duplicate'") == 1);
  // A report without a category, which the classifier puts into STR-01, is linked as well —
  // to the first, not to the nearer photo without text.
  std::string inferred = PostApp(s, {{"description",
                                      "Tiefes Schlagloch in der Fahrbahn, Asphalt aufgebrochen"},
                                     {"lat", 50.93756},
                                     {"lon", 6.96029}});
  REQUIRE(s.WaitForCount(kTickets, 7));
  CHECK(PublicStatus(s, inferred)["duplicate_of"] == first);
  CHECK(One(s, "SELECT category IS NULL FROM tickets WHERE reference = '" + inferred + "'") ==
        "t");

  // 5. Staff unlink the second: its own open ticket; again: nothing changes.
  int status = -1;
  std::string out = s.RunCommand({"tickets", "unlink", second}, &status);
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("unlinked from " + first));
  CHECK(One(s, "SELECT status || '/' || (duplicate_of IS NULL) || '/' || department_id"
               " FROM tickets WHERE reference = '" + second + "'") == "assigned/true/tiefbauamt");
  CHECK(s.Count("SELECT count(*) FROM ticket_reporters") == 1);  // the inferred one's
  CHECK(s.Count("SELECT count(*) FROM duplicate_unlinks") == 1);
  CHECK_FALSE(PublicStatus(s, second).contains("duplicate_of"));
  // Its department's clock starts now, and it gets the ticket as a new one.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE reference = '" + second +
                "' AND assigned_at > created_at AND escalation_level = 0") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
                " WHERE t.reference = '" + second + "' AND h.action = 'routed'"
                " AND h.details->>'unlinked_from' = '" + first + "'") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                " WHERE t.reference = '" + second + "' AND o.kind = 'delivery'"
                " AND o.address = 'tiefbauamt@musterstadt.example'") == 1);
  out = s.RunCommand({"tickets", "unlink", second}, &status);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("nothing changed"));
  CHECK(s.Count("SELECT count(*) FROM duplicate_unlinks") == 1);
  s.RunCommand({"tickets", "unlink", "ZZZZZZZZZZZZ"}, &status);
  CHECK(status == 1);
}

TEST_CASE("near-identical reports processed by two workers at once make one original") {
  StackOptions options;
  options.workers = 2;
  Stack s(options);
  const int n = 12;
  for (int i = 0; i < n; ++i) {
    Report r;
    r.id = NewUuid();
    r.reference = ReferenceGenerator(800 + i).Next();
    r.channel = "app";
    r.channel_message_id = "burst-" + std::to_string(i);
    r.received_at = NowTimestamp();
    r.text = "Schlagloch Nummer " + std::to_string(i);
    r.category = "STR-01";
    r.location.lat = 50.9375 + 0.00001 * i;
    r.location.lon = 6.9603;
    r.location.source = LocationSource::kDevice;
    s.PublishRaw(EncodeEnvelope(Envelope{r, {"application/json", "{}"}, ""}), r.id);
  }
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, n));
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE duplicate_of IS NULL") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_reporters") == n - 1);
}

}  // namespace duplicates_test
