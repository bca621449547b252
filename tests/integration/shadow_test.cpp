// Shadow mode for every channel (docs/routing.md, "Shadow mode"): each channel's reports go
// through the one admit step, which routes them by the live rules and by the candidate set too;
// a report of each channel whose candidate routing differs leaves its disagreement in
// shadow_disagreements (and so in `rules shadow-report`). Before the admit step, e-mail and phone
// reports never did.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace shadow_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

// The live set sends everything it has no rule for to the Bürgerservice, the candidate to the
// Ordnungsamt: every report without "Müll" in it disagrees.
const char* kLive =
    "default_department: buergerservice\n"
    "rules:\n"
    "  - id: muell\n"
    "    when: {keywords: [müll]}\n"
    "    department: abfallwirtschaft\n";
const char* kCandidate =
    "default_department: ordnungsamt\n"
    "rules:\n"
    "  - id: muell\n"
    "    when: {keywords: [müll]}\n"
    "    department: abfallwirtschaft\n";

constexpr const char* kOpen311Key = "shadow-open311-key";
constexpr const char* kShadowMailSecret = "shadow-mail-secret";

StackOptions ShadowOptions(const FakeProviders& fake) {
  StackOptions o;
  o.rules_yaml = kLive;
  o.shadow_rules_yaml = kCandidate;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=1");
  o.extra_env.push_back(std::string("MELDESTELLE_OPEN311_API_KEY=") + kOpen311Key);
  o.extra_env.push_back(std::string("MELDESTELLE_MAIL_SECRET=") + kShadowMailSecret);
  return o;
}

// Waits for the ticket of `channel` and its recorded disagreement: live Bürgerservice by the
// default, candidate Ordnungsamt by the default.
void RequireDisagreement(Stack& s, const std::string& channel) {
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = '" + channel + "'", 1,
                         std::chrono::seconds(30)));
  auto d = s.Query(
      "SELECT d.live_department, coalesce(d.live_rule, ''), d.candidate_department,"
      " coalesce(d.candidate_rule, ''), t.department_id"
      " FROM shadow_disagreements d JOIN tickets t ON t.id = d.ticket_id"
      " WHERE t.channel = '" +
      channel + "'");
  REQUIRE(d.size() == 1);
  CHECK(d[0][0].as<std::string>() == "buergerservice");
  CHECK(d[0][1].as<std::string>().empty());
  CHECK(d[0][2].as<std::string>() == "ordnungsamt");
  CHECK(d[0][3].as<std::string>().empty());
  // Routed by the live set only.
  CHECK(d[0][4].as<std::string>() == "buergerservice");
  int status = -1;
  std::string report = s.RunCommand({"rules", "shadow-report"}, &status);
  CHECK(status == 0);
  CHECK_THAT(report, Catch::Contains("shadow disagreements: 1"));
  CHECK_THAT(s.RunCommand({"rules", "shadow-report", "--since", "2000-01-01T00:00Z"}, &status),
             Catch::Contains("shadow disagreements since 2000-01-01T00:00Z: 1"));
  CHECK(status == 0);
  // A date that is none is the caller's mistake (2), not the database's (1).
  std::string wrong = s.RunCommand({"rules", "shadow-report", "--since", "garbage"}, &status);
  CHECK(status == 2);
  CHECK_THAT(wrong, Catch::Contains("--since"));
  CHECK_THAT(wrong, !Catch::Contains("database error"));
}

const char* kText = "Die Laterne vor dem Haus flackert seit Tagen";

}  // namespace

TEST_CASE("shadow mode: a web form report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  httplib::MultipartFormDataItems items = {{"beschreibung", kText, "", ""},
                                           {"lat", "50.937531", "", ""},
                                           {"lon", "6.960279", "", ""},
                                           {"website", "", "", ""},
                                           {"form_token", s.MintFormToken(10), "", ""}};
  auto res = s.Client().Post("/formular/meldung", items);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  RequireDisagreement(s, "webform");
}

TEST_CASE("shadow mode: an app report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  auto res =
      s.Client().Post("/api/v1/reports", json{{"description", kText}}.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  RequireDisagreement(s, "app");
}

TEST_CASE("shadow mode: an Open311 request's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  auto res = s.Client().Post("/open311/v2/requests.json",
                             FormUrlEncode({{"api_key", kOpen311Key},
                                            {"service_code", "STR-01"},
                                            {"lat", "50.937531"},
                                            {"long", "6.960279"},
                                            {"description", kText}}),
                             "application/x-www-form-urlencoded");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  RequireDisagreement(s, "open311");
}

TEST_CASE("shadow mode: a WhatsApp report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  const std::string from = "493023125017";
  json location{{"from", from},
                {"id", "wamid.S1"},
                {"timestamp", "1764250000"},
                {"type", "location"},
                {"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}};
  std::string body =
      WhatsAppNotification(from, json::array({location, WaText(from, "wamid.S2", kText)}));
  httplib::Headers h{{"X-Hub-Signature-256",
                      "sha256=" + HmacSha256Hex("whatsapp-test-app-secret-0123456789", body)}};
  auto res = s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  RequireDisagreement(s, "whatsapp");
}

TEST_CASE("shadow mode: a Telegram report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  json update{{"update_id", 9100},
              {"message",
               {{"message_id", 7},
                {"from", {{"id", 5123}, {"is_bot", false}, {"first_name", "Erika"}}},
                {"chat", {{"id", 5123}, {"type", "private"}}},
                {"date", 1764250000},
                {"location", {{"latitude", 50.9375312}, {"longitude", 6.9602786}}}}}};
  httplib::Headers h{{"X-Telegram-Bot-Api-Secret-Token", "telegram-secret-token-for-tests"}};
  auto res = s.Client().Post("/webhooks/telegram", h, update.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  json text{{"update_id", 9101},
            {"message",
             {{"message_id", 8},
              {"from", {{"id", 5123}, {"is_bot", false}, {"first_name", "Erika"}}},
              {"chat", {{"id", 5123}, {"type", "private"}}},
              {"date", 1764250001},
              {"text", kText}}}};
  REQUIRE(s.Client().Post("/webhooks/telegram", h, text.dump(), "application/json")->status == 200);
  RequireDisagreement(s, "telegram");
}

TEST_CASE("shadow mode: an e-mail report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  std::string mail =
      "From: Erika Mustermann <erika@example.net>\r\n"
      "To: maengel@musterstadt.example\r\n"
      "Subject: Laterne\r\n"
      "Date: Fri, 27 Nov 2026 09:00:00 +0100\r\n"
      "Message-ID: <shadow-1@example.net>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n" +
      std::string(kText) + " (Mühlenweg 12)\r\n";
  httplib::Headers h{{"Authorization", std::string("Bearer ") + kShadowMailSecret}};
  auto res = s.Client().Post("/api/v1/mail", h, mail, "message/rfc822");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  RequireDisagreement(s, "email");
}

TEST_CASE("shadow mode: a phone report's disagreement is recorded", "[integration][shadow]") {
  FakeProviders fake;
  Stack s(ShadowOptions(fake));
  std::string body =
      json{{"call_id", "shadow-1"}, {"caller", "+4930123456"}, {"transcript", kText}}.dump();
  httplib::Headers h{{"X-Meldestelle-Signature",
                      "sha256=" + HmacSha256Hex(FakeProviders::kTranscriptSecret, body)}};
  auto res = s.Client().Post("/webhooks/phone/transcript", h, body, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  RequireDisagreement(s, "phone");
}

}  // namespace shadow_test
