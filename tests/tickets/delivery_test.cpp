// The pure pieces of the department delivery (docs/departments.md, "Delivery"): the webhook
// signature, which answers end a delivery, the backoff, which photos are attached, the mail text.
#include "tickets/delivery.hpp"

#include <catch2/catch.hpp>

#include "core/crypto.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace delivery_test {

using namespace meldestelle;
using namespace meldestelle::tickets;

TEST_CASE("webhook signature: HMAC-SHA256 over timestamp dot body, known answer", "[delivery]") {
  // Computed independently: python3 -c 'import hmac, hashlib; print(hmac.new(b"whsec-test",
  //   b"1764250000.{\"reference\":\"4KQ7XRT2WNPA\"}", hashlib.sha256).hexdigest())'
  CHECK(WebhookSignature("whsec-test", "1764250000", R"({"reference":"4KQ7XRT2WNPA"})") ==
        "sha256=972880c00127c881b08434e4f7285e70e475cc424bb3fbaf1dd4ee419aaec4d4");
  // Timestamp, body and secret all count.
  CHECK(WebhookSignature("whsec-test", "1764250001", R"({"reference":"4KQ7XRT2WNPA"})") !=
        WebhookSignature("whsec-test", "1764250000", R"({"reference":"4KQ7XRT2WNPA"})"));
  CHECK(WebhookSignature("other", "1764250000", R"({"reference":"4KQ7XRT2WNPA"})") !=
        WebhookSignature("whsec-test", "1764250000", R"({"reference":"4KQ7XRT2WNPA"})"));
  CHECK(WebhookSignature("whsec-test", "1764250000", R"({"reference":"4KQ7XRT2WNPB"})") !=
        WebhookSignature("whsec-test", "1764250000", R"({"reference":"4KQ7XRT2WNPA"})"));
}

TEST_CASE("webhook answers: 4xx ends the delivery except 408 and 429, 5xx is retried",
          "[delivery]") {
  for (long s : {400L, 401L, 403L, 404L, 410L, 413L, 422L, 301L}) {
    INFO(s);
    CHECK(WebhookStatusPermanent(s));
  }
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) {
    INFO(s);
    CHECK_FALSE(WebhookStatusPermanent(s));
  }
}

TEST_CASE("delivery backoff doubles from one second and stops at ten minutes", "[delivery]") {
  CHECK(outbox::BackoffSeconds(1) == 1);
  CHECK(outbox::BackoffSeconds(2) == 2);
  CHECK(outbox::BackoffSeconds(3) == 4);
  CHECK(outbox::BackoffSeconds(9) == 256);
  CHECK(outbox::BackoffSeconds(10) == 512);
  CHECK(outbox::BackoffSeconds(11) == 600);
  CHECK(outbox::BackoffSeconds(40) == 600);
  CHECK(outbox::BackoffSeconds(0) == 1);
}

TEST_CASE("photos are attached in order while they fit, the rest is linked", "[delivery]") {
  std::vector<TicketView::Photo> photos = {{0, "a", "image/jpeg", "a.jpg", 400},
                                           {1, "b", "image/jpeg", "b.jpg", 700},
                                           {2, "c", "image/jpeg", "c.jpg", 500},
                                           {3, "d", "image/jpeg", "d.jpg", 100}};
  auto plan = PlanPhotos(photos, 1000);
  CHECK(plan.attach == std::vector<size_t>{0, 2, 3});
  CHECK(plan.link == std::vector<size_t>{1});
  auto none = PlanPhotos(photos, 0);
  CHECK(none.attach.empty());
  CHECK(none.link.size() == 4);
  CHECK(PlanPhotos({}, 1000).attach.empty());
}

TEST_CASE("local time of a ticket in the town's zone, summer and winter", "[delivery]") {
  auto berlin = routing::TimeZone::Load("Europe/Berlin");
  REQUIRE(berlin);
  CHECK(LocalTimeText(*berlin, "2026-11-27T13:05:00Z") == "27.11.2026, 14:05 Uhr");
  CHECK(LocalTimeText(*berlin, "2026-07-01T22:30:00Z") == "02.07.2026, 00:30 Uhr");
  CHECK(LocalTimeText(*berlin, "kaputt") == "kaputt");
}

namespace {

Config MailConfig() {
  Config c;
  c.town.name = "Musterstadt";
  c.gateway.public_base_url = "https://meldung.musterstadt.example";
  c.channel_names = {{"webform", "Webformular"}, {"email", "E-Mail"}};
  Category cat;
  cat.code = "STR-01";
  cat.name = "Schlagloch";
  c.categories.push_back(cat);
  return c;
}

TicketView Ticket() {
  TicketView t;
  t.reference = "4KQ7XRT2WNPA";
  t.channel = "webform";
  t.status = "assigned";
  t.category = "STR-01";
  t.text = "Tiefes Schlagloch, Radfahrer müssen ausweichen.";
  t.address = "Mühlenweg 12";
  t.lat = 50.937531;
  t.lon = 6.960279;
  t.flags = {"gefahr"};
  t.reporter = TicketView::Contact{"Jana Müller", "email", "j.mueller@example.net"};
  return t;
}

}  // namespace

TEST_CASE("the department mail: reference, category, place, map, staff link, photos",
          "[delivery]") {
  Config c = MailConfig();
  Department d;
  d.id = "tiefbauamt";
  d.name = "Tiefbauamt";
  auto m = RenderDepartmentMail(Ticket(), c, d, "new", "27.11.2026, 14:05 Uhr",
                                {"- a.jpg (1 KB, angehängt)"});
  CHECK(m.subject == "Neue Meldung [4KQ7-XRT2-WNPA] Schlagloch");
  for (const char* part :
       {"Vorgangsnummer: 4KQ7-XRT2-WNPA", "Kategorie: Schlagloch (STR-01)",
        "Eingegangen: 27.11.2026, 14:05 Uhr (Webformular)", "Ort: Mühlenweg 12",
        "Koordinaten: 50.937531, 6.960279",
        "Karte: https://www.openstreetmap.org/?mlat=50.937531&mlon=6.960279", "Hinweise: gefahr",
        "Radfahrer müssen ausweichen", "- a.jpg (1 KB, angehängt)",
        "Annehmen / Zurückgeben:\nhttps://meldung.musterstadt.example/staff/tickets/4KQ7XRT2WNPA",
        "Stand: zugewiesen"}) {
    INFO(part);
    CHECK(m.text.find(part) != std::string::npos);
  }
  // The contact only where the department may see it.
  CHECK(m.text.find("j.mueller@example.net") == std::string::npos);
  CHECK(m.text.find("Jana") == std::string::npos);
  d.show_reporter_contact = true;
  auto with = RenderDepartmentMail(Ticket(), c, d, "new", "x", {});
  CHECK(with.text.find("Meldende Person: Jana Müller, j.mueller@example.net (E-Mail)") !=
        std::string::npos);
  CHECK(with.text.find("Fotos:") == std::string::npos);
}

TEST_CASE("the department mail says why it comes: reminder, reassigned, rerouted, fallback",
          "[delivery]") {
  Config c = MailConfig();
  Department d;
  d.id = "tiefbauamt";
  d.name = "Tiefbauamt";
  TicketView t = Ticket();
  t.category = "";  // not classified
  t.lat.reset();
  auto reminder = RenderDepartmentMail(t, c, d, "reminder", "x", {});
  CHECK(reminder.subject.rfind("Erinnerung: [4KQ7-XRT2-WNPA] ohne Kategorie", 0) == 0);
  CHECK(reminder.text.find("noch nicht angenommen") != std::string::npos);
  CHECK(reminder.text.find("Karte:") == std::string::npos);
  CHECK(RenderDepartmentMail(t, c, d, "reassigned", "x", {}).subject.rfind("Neu zugewiesen", 0) ==
        0);
  CHECK(RenderDepartmentMail(t, c, d, "rerouted", "x", {}).text.find("zurückgegeben") !=
        std::string::npos);
  auto fallback = RenderDepartmentMail(t, c, d, "fallback", "x", {});
  CHECK(fallback.subject.find("Ersatzzustellung") != std::string::npos);
  CHECK(fallback.text.find("Webhook") != std::string::npos);
}

}  // namespace delivery_test
