// Messenger channels end to end (docs/channels/whatsapp.md, docs/channels/telegram.md): the real
// gateway, worker and dispatcher against the real broker and database, with local stand-ins for
// Meta's Graph API and the Telegram Bot API that serve media and record what was sent.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "channels/chat/drafts.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/metrics.hpp"
#include "core/photo.hpp"
#include "core/sql.hpp"
#include "fake_providers.hpp"
#include "stack.hpp"
#include "tickets/reference.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace messenger_test {

using namespace meldestelle;
using namespace meldestelle::testing;
using nlohmann::json;

namespace {

StackOptions MessengerOptions(const FakeProviders& fake, int window_seconds) {
  StackOptions o;
  o.dispatcher = true;
  o.extra_env = fake.Env();
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=" + std::to_string(window_seconds));
  return o;
}

json WaImage(const std::string& from, const std::string& id, const std::string& media_id,
             const std::string& caption = "") {
  json image{{"mime_type", "image/jpeg"}, {"id", media_id}};
  if (!caption.empty())
    image["caption"] = caption;
  return {
      {"from", from}, {"id", id}, {"timestamp", "1764250000"}, {"type", "image"}, {"image", image}};
}

json WaLocation(const std::string& from, const std::string& id, double lat, double lon) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "location"},
          {"location", {{"latitude", lat}, {"longitude", lon}}}};
}

httplib::Result PostWhatsApp(Stack& s, const std::string& body,
                             const std::string& secret = kAppSecret) {
  httplib::Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, body)}};
  return s.Client().Post("/webhooks/whatsapp", h, body, "application/json");
}

httplib::Result PostTelegram(Stack& s, const json& update,
                             const std::string& secret = kTelegramSecret) {
  httplib::Headers h{{"X-Telegram-Bot-Api-Secret-Token", secret}};
  return s.Client().Post("/webhooks/telegram", h, update.dump(), "application/json");
}

json TgMessage(int64_t update_id, int64_t chat, int64_t message_id, const json& fields) {
  json m{
      {"message_id", message_id},
      {"from", {{"id", chat}, {"is_bot", false}, {"first_name", "Erika"}, {"language_code", "de"}}},
      {"chat", {{"id", chat}, {"type", "private"}}},
      {"date", 1764250000}};
  m.update(fields);
  return {{"update_id", update_id}, {"message", m}};
}

std::string GpsPhoto() {
  return ReadFile(std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "tests/data/gps-photo.jpg");
}

}  // namespace

TEST_CASE(
    "WhatsApp: photo, pin and text as three messages become one located ticket with one reply",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 2));
  const std::string from = "493023125017";
  fake.AddMedia("1037543291543636", GpsPhoto());

  auto r1 = PostWhatsApp(
      s, WhatsAppNotification(from, json::array({WaImage(from, "wamid.A1", "1037543291543636")})));
  REQUIRE(r1);
  REQUIRE(r1->status == 200);
  auto r2 = PostWhatsApp(
      s, WhatsAppNotification(from,
                              json::array({WaLocation(from, "wamid.A2", 50.9375312, 6.9602786)})));
  REQUIRE(r2->status == 200);
  auto r3 = PostWhatsApp(
      s, WhatsAppNotification(
             from, json::array({WaText(from, "wamid.A3",
                                       "Tiefes Schlagloch auf der Fahrbahn vor Hausnummer 12")})));
  REQUIRE(r3->status == 200);

  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'whatsapp'", 1,
                         std::chrono::seconds(30)));
  auto t = s.Query(
      "SELECT reference, department_id, lat, lon, location_source, text, id::text FROM tickets");
  REQUIRE(t.size() == 1);
  CHECK(t[0][1].as<std::string>() == "tiefbauamt");
  // The pin wins over the photo's GPS position.
  CHECK(t[0][2].as<double>() == Approx(50.9375312));
  CHECK(t[0][3].as<double>() == Approx(6.9602786));
  CHECK(t[0][4].as<std::string>() == "device");
  CHECK(t[0][5].as<std::string>().find("Schlagloch") != std::string::npos);
  std::string reference = t[0][0].as<std::string>();

  // The stored photo is the stripped copy: no EXIF, no GPS.
  auto att = s.Query("SELECT sha256, media_type FROM attachments");
  REQUIRE(att.size() == 1);
  CHECK(att[0][1].as<std::string>() == "image/jpeg");
  std::string sha = att[0][0].as<std::string>();
  std::string stored = ReadFile(s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha);
  REQUIRE(!stored.empty());
  CHECK(stored.find(std::string("Exif\0\0", 6)) == std::string::npos);
  CHECK(stored.find("Musterkamera") == std::string::npos);
  auto meta = ReadPhotoMetadata(stored);
  REQUIRE(meta);
  CHECK_FALSE(meta->lat.has_value());
  CHECK(GpsPhoto().find("Musterkamera") != std::string::npos);  // the original had it

  // Exactly one reply in the chat: the acknowledgement with the reference and the department.
  INFO(s.DispatcherLog());
  REQUIRE(fake.WaitForSent(1));
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'"
                     " AND provider_message_id IS NOT NULL",
                     1));
  auto sent = fake.sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].path == std::string("/v21.0/") + kPhoneNumberId + "/messages");
  CHECK(sent[0].body["to"] == from);
  CHECK(sent[0].body["type"] == "text");
  std::string text = sent[0].body["text"]["body"];
  CHECK(text.find(reference.substr(0, 4)) != std::string::npos);
  CHECK(text.find("Tiefbauamt") != std::string::npos);
  // With the link to the status page (before the first reply's privacy notice).
  const std::string link =
      " Stand: http://127.0.0.1:" + std::to_string(s.port()) + "/meldung/" + reference;
  CHECK(text.find(link) != std::string::npos);
  CHECK(text.find(link) < text.find("/datenschutz"));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE channel = 'whatsapp'") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state = 'published'") == 1);

  // A delivery receipt updates our message's state and sends nothing.
  std::string wamid = One(s, "SELECT provider_message_id FROM outbox WHERE kind = 'ack'");
  json status_value{{"messaging_product", "whatsapp"},
                    {"metadata", {{"phone_number_id", kPhoneNumberId}}},
                    {"statuses",
                     {{{"id", wamid},
                       {"status", "delivered"},
                       {"timestamp", "1764250100"},
                       {"recipient_id", from}}}}};
  json status{
      {"object", "whatsapp_business_account"},
      {"entry", {{{"id", "1"}, {"changes", {{{"value", status_value}, {"field", "messages"}}}}}}}};
  REQUIRE(PostWhatsApp(s, status.dump())->status == 200);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE kind = 'ack' AND delivery_state = 'delivered'", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);

  // A reply to the acknowledgement is a follow-up to the ticket, not a new report.
  json reply = WaText(from, "wamid.A4", "Es ist inzwischen noch größer geworden.");
  reply["context"] = {{"from", "4922123125000"}, {"id", wamid}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(from, json::array({reply})))->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 1));
  CHECK(One(s, "SELECT t.reference FROM ticket_followups f JOIN tickets t ON t.id = f.ticket_id") ==
        reference);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
}

TEST_CASE("WhatsApp: a photo with EXIF GPS and no pin becomes a ticket at the photo's position",
          "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 1));
  const std::string from = "4915112345678";
  fake.AddMedia("2000000000000001", GpsPhoto());
  auto r = PostWhatsApp(
      s, WhatsAppNotification(
             from, json::array({WaImage(from, "wamid.B1", "2000000000000001",
                                        "Laterne brennt nicht, Straßenlaterne dunkel")})));
  REQUIRE(r->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  auto t = s.Query("SELECT lat, lon, location_source, department_id FROM tickets");
  CHECK(t[0][0].as<double>() == Approx(50.9401).margin(1e-4));
  CHECK(t[0][1].as<double>() == Approx(6.9555).margin(1e-4));
  CHECK(t[0][2].as<std::string>() == "photo");
  CHECK(t[0][3].as<std::string>() == "strassenbeleuchtung");
  // No question for the place was needed.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply'") == 0);
}

TEST_CASE("WhatsApp: a sender who keeps writing gets a report when the draft's lifetime is up",
          "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));  // the window alone would hold the draft ten minutes
  const std::string from = "4915112345600";
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaText(from, "wamid.L1", "Laterne dunkel"),
                                                 WaLocation(from, "wamid.L2", 50.9401, 6.9555)})))
              ->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 2));
  // The draft has been open for 31 minutes (chat.draft_max_seconds: 1800), its window renewed
  // by every message: the next message does not renew it again.
  s.Query("UPDATE chat_drafts SET opened_at = now() - interval '31 minutes'");
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE deadline > now() + interval '5 minutes'") ==
        1);
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaText(from, "wamid.L3", "Sie flackert auch")})))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  CHECK(One(s, "SELECT text FROM tickets").find("flackert") != std::string::npos);
  // The ticket is committed by the admit step, the draft marked published right after it in
  // the draft's own transaction (channels/chat/drafts.cpp, Publish): waited for, not read at
  // once.
  CHECK(s.WaitForCount("SELECT count(*) FROM chat_drafts WHERE state = 'published'", 1));
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 1);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack'", 1));
}

TEST_CASE("WhatsApp: a redelivered notification and a forged one change nothing",
          "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 60));
  const std::string from = "493023125017";
  std::string vector02 = VectorFile("whatsapp/02-text-umlauts.json");
  std::string vector06 = VectorFile("whatsapp/06-duplicate-retry-of-02.json");
  REQUIRE(PostWhatsApp(s, vector02)->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 1));
  REQUIRE(PostWhatsApp(s, vector06)->status == 200);
  REQUIRE(PostWhatsApp(s, vector02)->status == 200);
  // The redeliveries are seen by the worker (counted as events) but change nothing.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_events", 1));
  // Drain: a marker message from another sender is processed after the redeliveries.
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              "491700000000",
                              json::array({WaText("491700000000", "wamid.MARK", "Markierung")})))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_events WHERE dedupe_key = 'wamid.MARK'", 1));
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE sender = '493023125017'") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_draft_items i JOIN chat_drafts d ON d.id = i.draft_id"
                " WHERE d.sender = '493023125017'") == 1);
  CHECK(One(s,
            "SELECT text FROM chat_draft_items i JOIN chat_drafts d ON d.id = i.draft_id"
            " WHERE d.sender = '493023125017'")
            .find("Straßenlaterne vor Mühlenweg 12") != std::string::npos);

  // Forged: the vector with a wrong signature, and one without any.
  std::string forged = VectorFile("whatsapp/11-bad-signature.json");
  auto bad = s.Client().Post("/webhooks/whatsapp",
                             {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}}, forged,
                             "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 403);
  auto none = s.Client().Post("/webhooks/whatsapp", forged, "application/json");
  REQUIRE(none);
  CHECK(none->status == 401);
  auto wrong_key = PostWhatsApp(s, vector02, "not-the-app-secret");
  CHECK(wrong_key->status == 403);
  CHECK(s.QueueDepth(s.queue()) == 0);
  CHECK(s.Count("SELECT count(*) FROM chat_events") == 2);
  auto metrics = s.Client().Get("/metrics");
  CHECK(metrics->body.find("meldestelle_webhook_requests_total{channel=\"whatsapp\",outcome="
                           "\"signature_invalid\"} 2") != std::string::npos);

  // The verification handshake answers the challenge only for the configured token.
  auto ok = s.Client().Get(
      "/webhooks/"
      "whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-token-for-"
      "tests");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "1158201444");
  auto refused = s.Client().Get(
      "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong");
  CHECK(refused->status == 403);
}

TEST_CASE(
    "WhatsApp: no place asks once, the pin then publishes at once, unsupported types get a "
    "friendly reply, 131047 switches to the template",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 1));
  const std::string from = "493055566677";
  REQUIRE(
      PostWhatsApp(
          s, WhatsAppNotification(
                 from, json::array({WaText(from, "wamid.C1", "Wilder Müll, Sperrmüll abgeladen")})))
          ->status == 200);
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(fake.WaitForSent(1));
  std::string question = fake.sent()[0].body["text"]["body"];
  CHECK(question.find("Standort") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 0);
  CHECK(One(s, "SELECT state FROM chat_drafts") == "asked_location");

  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaLocation(from, "wamid.C2", 50.9401, 6.9555)})))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1));
  CHECK(One(s, "SELECT department_id FROM tickets") == "abfallwirtschaft");
  CHECK(One(s, "SELECT location_source FROM tickets") == "device");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'", 1));
  REQUIRE(fake.sent().size() == 2);

  // Meta reports the acknowledgement failed: outside the 24-hour window. It goes again as the
  // configured template.
  std::string wamid = One(s, "SELECT provider_message_id FROM outbox WHERE kind = 'ack'");
  json failed_value{{"messaging_product", "whatsapp"},
                    {"metadata", {{"phone_number_id", kPhoneNumberId}}},
                    {"statuses",
                     {{{"id", wamid},
                       {"status", "failed"},
                       {"timestamp", "1764250100"},
                       {"recipient_id", from},
                       {"errors", {{{"code", 131047}, {"title", "Re-engagement message"}}}}}}}};
  json failed{
      {"object", "whatsapp_business_account"},
      {"entry", {{{"id", "1"}, {"changes", {{{"value", failed_value}, {"field", "messages"}}}}}}}};
  REQUIRE(PostWhatsApp(s, failed.dump())->status == 200);
  REQUIRE(fake.WaitForSent(3));
  auto templ = fake.sent()[2].body;
  CHECK(templ["type"] == "template");
  CHECK(templ["template"]["name"] == "meldung_statusupdate");
  std::string ack_ref = One(s, "SELECT reference FROM tickets");
  CHECK(templ["template"]["components"][0]["parameters"][0]["text"] ==
        ack_ref.substr(0, 4) + "-" + ack_ref.substr(4, 4) + "-" + ack_ref.substr(8, 4));
  // Its line names the department and links the status page, as the free text would.
  std::string line = templ["template"]["components"][0]["parameters"][1]["text"];
  CHECK(line.find("eingegangen, zuständig: ") == 0);
  CHECK(line.find("/meldung/" + ack_ref) != std::string::npos);

  // A sticker is not a report: a friendly reply, no draft.
  json sticker{{"from", from},
               {"id", "wamid.C3"},
               {"timestamp", "1764250000"},
               {"type", "sticker"},
               {"sticker", {{"id", "99"}, {"mime_type", "image/webp"}}}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(from, json::array({sticker})))->status == 200);
  REQUIRE(fake.WaitForSent(4));
  CHECK(fake.sent()[3].body["text"]["body"].get<std::string>().find("Foto") != std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state <> 'published'") == 0);

  // A 👍 to the acknowledgement and the platform's notice of a changed number are no messages
  // to answer; someone opening the chat for the first time is welcomed.
  json reaction{{"from", from},
                {"id", "wamid.C4"},
                {"timestamp", "1764250001"},
                {"type", "reaction"},
                {"reaction", {{"message_id", wamid}, {"emoji", "\U0001F44D"}}}};
  json changed{{"from", from},
               {"id", "wamid.C5"},
               {"timestamp", "1764250002"},
               {"type", "system"},
               {"system",
                {{"body", "Kim changed their phone number to a new number"},
                 {"new_wa_id", "493055566678"},
                 {"type", "user_changed_number"}}}};
  const std::string newcomer = "493055599999";
  json welcome{{"from", newcomer},
               {"id", "wamid.C6"},
               {"timestamp", "1764250003"},
               {"type", "request_welcome"}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(from, json::array({reaction, changed})))->status ==
          200);
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(newcomer, json::array({welcome})))->status == 200);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM chat_events WHERE dedupe_key IN ('wamid.C4', 'wamid.C5', 'wamid.C6')",
      3));
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE dedupe_key IN ('wamid.C4', 'wamid.C5')"
                " AND outcome = 'ignored'") == 2);
  CHECK(One(s, "SELECT outcome FROM chat_events WHERE dedupe_key = 'wamid.C6'") == "welcome");
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE dedupe_key LIKE '%wamid.C4'"
                " OR dedupe_key LIKE '%wamid.C5'") == 0);
  REQUIRE(fake.WaitForSent(5));
  CHECK(fake.sent()[4].body["to"] == newcomer);
  CHECK(fake.sent()[4].body["text"]["body"].get<std::string>().find("Willkommen") !=
        std::string::npos);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state <> 'published'") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);

  // A video with a caption, quoting the acknowledgement: the caption is a follow-up of the
  // ticket, as a quoting text would be; the video is not kept.
  json video{
      {"from", from},
      {"id", "wamid.C7"},
      {"timestamp", "1764250004"},
      {"type", "video"},
      {"context",
       {{"from", "4922123125000"},
        {"id", One(s, "SELECT provider_message_id FROM outbox WHERE kind = 'ack'")}}},
      {"video",
       {{"id", "8800"}, {"mime_type", "video/mp4"}, {"caption", "Es wird immer mehr Müll"}}}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(from, json::array({video})))->status == 200);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM ticket_followups WHERE text LIKE '%immer mehr Müll%'", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state <> 'published'") == 0);
  CHECK(fake.media_requests() == 0);
}

TEST_CASE(
    "Telegram: an album of two videos, the caption on the second: the caption joins the report, "
    "the videos are not kept (flagged), and the album is answered once",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));  // a long window: only "fertig" closes the draft
  const int64_t chat = 5123456791;
  auto video = [&](int64_t update, int64_t id, const std::string& caption) {
    json fields{{"media_group_id", "13712345678901234"},
                {"video",
                 {{"file_id", "BAACAgIAAxkBAAI" + std::to_string(id)},
                  {"file_unique_id", "AgAD" + std::to_string(id)},
                  {"width", 1280},
                  {"height", 720},
                  {"duration", 7},
                  {"mime_type", "video/mp4"},
                  {"file_size", 912345}}}};
    if (!caption.empty())
      fields["caption"] = caption;
    return TgMessage(update, chat, id, fields);
  };
  REQUIRE(PostTelegram(s, video(734514000, 1800, ""))->status == 200);
  REQUIRE(PostTelegram(s, video(734514001, 1801, "Wasserrohrbruch, die Straße steht unter Wasser"))
              ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734514002, chat, 1802,
                                    {{"location", {{"latitude", 50.9375}, {"longitude", 6.9602}}}}))
              ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734514003, chat, 1803, {{"text", "fertig"}}))->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  CHECK(One(s, "SELECT text FROM tickets") == "Wasserrohrbruch, die Straße steht unter Wasser");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Anhang nicht geladen'") == 1);
  CHECK(s.Count("SELECT count(*) FROM attachments") == 0);
  // One "cannot take this" for the album, whichever of its videos came first.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply' AND dedupe_key LIKE"
                " 'unsupported:%'") == 1);
  CHECK(fake.stt_requests() == 0);
}

TEST_CASE(
    "Telegram: /start and other bot commands are answered with what the chat is for, and are "
    "never a report or part of one",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));  // a long window: only "fertig" closes the draft
  const int64_t chat = 5123456790;
  // The Start button's "/start" is every Telegram user's first message.
  REQUIRE(PostTelegram(s, TgMessage(734513000, chat, 1700,
                                    {{"text", "/start"},
                                     {"entities",
                                      {{{"type", "bot_command"}, {"offset", 0}, {"length", 6}}}}}))
              ->status == 200);
  REQUIRE(
      PostTelegram(s, TgMessage(734513001, chat, 1701, {{"text", "/status 4KQ7-XRT2"}}))->status ==
      200);
  INFO(s.WorkerLogs());
  REQUIRE(fake.WaitForSent(2));
  for (const auto& sent : fake.sent()) {
    CHECK(sent.body["chat_id"] == chat);
    CHECK_THAT(sent.body["text"].get<std::string>(), Catch::Contains("Willkommen"));
  }
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE outcome = 'command'") == 2);
  CHECK(s.Count("SELECT count(*) FROM chat_draft_items") == 0);
  // The report that follows is the citizen's words alone, and at most 16 KiB of them (five
  // more messages of 4,000 characters each go past that).
  REQUIRE(PostTelegram(
              s, TgMessage(734513002, chat, 1702, {{"text", "Laterne dunkel in der Ahornallee 3"}}))
              ->status == 200);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(PostTelegram(s, TgMessage(734513010 + i, chat, 1710 + i,
                                      {{"text", std::string(4000, static_cast<char>('a' + i))}}))
                ->status == 200);
  }
  REQUIRE(PostTelegram(s, TgMessage(734513004, chat, 1704,
                                    {{"location", {{"latitude", 50.9375}, {"longitude", 6.9602}}}}))
              ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734513003, chat, 1703, {{"text", "Fertig"}}))->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  const std::string text = s.Query("SELECT text FROM tickets")[0][0].as<std::string>();
  CHECK(text.rfind("Laterne dunkel in der Ahornallee 3\n", 0) == 0);
  CHECK(text.find("/start") == std::string::npos);
  CHECK(text.size() == 16 * 1024);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Gekürzt: mehr als 16 KiB Text oder 20 Anhänge'") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
}

TEST_CASE("Telegram: photo with caption, an edit, a pin and fertig become one ticket at once",
          "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));  // a long window: only "fertig" can close it
  const int64_t chat = 5123456789;
  fake.AddMedia("AgACAgIAAxkBAAIGB2XuYH0", GpsPhoto());
  json photo = TgMessage(
      734512900, chat, 1600,
      {{"photo",
        {{{"file_id", "small-one"}, {"file_unique_id", "s1"}, {"width", 90}, {"height", 67}},
         {{"file_id", "AgACAgIAAxkBAAIGB2XuYH0"},
          {"file_unique_id", "b1"},
          {"width", 1280},
          {"height", 960}}}},
       {"caption", "Umgestürzter Baum blockiert Gehweg"}});
  REQUIRE(PostTelegram(s, photo)->status == 200);
  // Wrong and missing secrets are refused.
  CHECK(PostTelegram(s, photo, "wrong")->status == 403);
  auto none = s.Client().Post("/webhooks/telegram", photo.dump(), "application/json");
  CHECK(none->status == 401);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 1));
  REQUIRE(PostTelegram(s, TgMessage(734512901, chat, 1601, {{"text", "Ahornallee 3"}}))->status ==
          200);
  json edit = TgMessage(734512902, chat, 1601,
                        {{"text", "Ahornallee 5, vor dem Kiosk"}, {"edit_date", 1764250100}});
  edit["edited_message"] = edit["message"];
  edit.erase("message");
  REQUIRE(PostTelegram(s, edit)->status == 200);
  REQUIRE(
      PostTelegram(
          s, TgMessage(
                 734512903, chat, 1602,
                 {{"location",
                   {{"latitude", 50.9375}, {"longitude", 6.9602}, {"horizontal_accuracy", 14.2}}}}))
          ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734512904, chat, 1603, {{"text", "Fertig"}}))->status == 200);

  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  auto t = s.Query("SELECT text, department_id, accuracy_m, reference FROM tickets");
  std::string text = t[0][0].as<std::string>();
  CHECK(text.find("Umgestürzter Baum") != std::string::npos);
  CHECK(text.find("Ahornallee 5, vor dem Kiosk") != std::string::npos);  // the edit
  CHECK(text.find("Ahornallee 3") == std::string::npos);
  CHECK(text.find("Fertig") == std::string::npos);
  CHECK(t[0][1].as<std::string>() == "gruenflaechenamt");
  CHECK(t[0][2].as<double>() == Approx(14.2));
  CHECK(s.Count("SELECT count(*) FROM attachments") == 1);
  CHECK(fake.media_requests() == 1);  // only the largest size was fetched

  INFO(s.DispatcherLog());
  REQUIRE(fake.WaitForSent(1));
  auto sent = fake.sent()[0];
  CHECK(sent.channel == "telegram");
  CHECK(sent.body["chat_id"] == chat);
  CHECK(sent.body["reply_parameters"]["message_id"] == 1600);
  CHECK(sent.body["text"].get<std::string>().find("Grünflächenamt") != std::string::npos);

  // A redelivered update changes nothing; an edit after publishing is ignored.
  REQUIRE(PostTelegram(s, photo)->status == 200);
  json late =
      TgMessage(734512905, chat, 1601, {{"text", "ganz anders"}, {"edit_date", 1764250200}});
  late["edited_message"] = late["message"];
  late.erase("message");
  REQUIRE(PostTelegram(s, late)->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_events WHERE outcome = 'edit_ignored'", 1));
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 1);
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind <> 'delivery'") == 1);
}

TEST_CASE(
    "Telegram: a caption added by editing a photo joins the draft, and a live location's "
    "updates count against no rate limit",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));  // a long window: only "fertig" can close it
  const int64_t chat = 5123456792;
  fake.AddMedia("AgACAgIAAxkBAAIGB2XuYH1", GpsPhoto());
  REQUIRE(PostTelegram(s, TgMessage(734515000, chat, 1900,
                                    {{"photo",
                                      {{{"file_id", "AgACAgIAAxkBAAIGB2XuYH1"},
                                        {"file_unique_id", "c1"},
                                        {"width", 1280},
                                        {"height", 960}}}}}))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 1));
  json caption = TgMessage(734515001, chat, 1900,
                           {{"photo",
                             {{{"file_id", "AgACAgIAAxkBAAIGB2XuYH1"},
                               {"file_unique_id", "c1"},
                               {"width", 1280},
                               {"height", 960}}}},
                            {"caption", "Bank am Spielplatz kaputt"},
                            {"edit_date", 1764250100}});
  caption["edited_message"] = caption["message"];
  caption.erase("message");
  REQUIRE(PostTelegram(s, caption)->status == 200);
  // A live location: the pin, then its updates as edits (more than chat.rate_limit_per_minute).
  json live = TgMessage(
      734515002, chat, 1901,
      {{"location", {{"latitude", 50.9375}, {"longitude", 6.9602}, {"live_period", 900}}}});
  REQUIRE(PostTelegram(s, live)->status == 200);
  for (int i = 1; i <= 25; ++i) {
    json moved = TgMessage(734515002 + i, chat, 1901,
                           {{"location", {{"latitude", 50.9375 + i * 1e-5}, {"longitude", 6.9602}}},
                            {"edit_date", 1764250100 + i}});
    moved["edited_message"] = moved["message"];
    moved.erase("message");
    REQUIRE(PostTelegram(s, moved)->status == 200);
  }
  REQUIRE(PostTelegram(s, TgMessage(734515100, chat, 1902, {{"text", "fertig"}}))->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  CHECK(One(s, "SELECT text FROM tickets") == "Bank am Spielplatz kaputt");
  CHECK(s.Count("SELECT count(*) FROM attachments") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE outcome = 'rate_limited'") == 0);
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE outcome = 'edit'") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE outcome = 'location_update'") == 25);
}

TEST_CASE(
    "Telegram: a question of staff reaches the chat, and the citizen's next plain message is "
    "the answer that returns the ticket to the department",
    "[integration][messenger][question]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));
  const int64_t chat = 5123400001;
  REQUIRE(PostTelegram(s, TgMessage(734600001, chat, 2001, {{"text", "Schlagloch, sehr tief"}}))
              ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734600002, chat, 2002,
                                    {{"location", {{"latitude", 50.948}, {"longitude", 6.975}}}}))
              ->status == 200);
  REQUIRE(PostTelegram(s, TgMessage(734600003, chat, 2003, {{"text", "fertig"}}))->status == 200);
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  REQUIRE(fake.WaitForSent(1));  // the acknowledgement
  const std::string ref = One(s, "SELECT reference FROM tickets");
  const std::string department = One(s, "SELECT department_id FROM tickets");
  const std::string token = s.DepartmentToken(department);
  auto asked = s.Client().Post(
      ("/api/v1/tickets/" + ref + "/question").c_str(), {{"Authorization", "Bearer " + token}},
      R"({"question":"Ist das Loch auf der Fahrbahn oder dem Gehweg?"})", "application/json");
  REQUIRE(asked);
  INFO(asked->body);
  REQUIRE(asked->status == 200);
  REQUIRE(fake.WaitForSent(2));
  auto question = fake.sent()[1];
  CHECK(question.channel == "telegram");
  CHECK(question.body["chat_id"] == chat);
  CHECK(question.body["text"].get<std::string>().find(
            "Ist das Loch auf der Fahrbahn oder dem Gehweg?") != std::string::npos);

  // A plain message, quoting nothing: the answer, not a new report.
  REQUIRE(
      PostTelegram(s, TgMessage(734600004, chat, 2004, {{"text", "Auf der Fahrbahn."}}))->status ==
      200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE status = 'assigned'", 1));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups WHERE text = 'Auf der Fahrbahn.'") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE action = 'answered'"
                " AND actor = 'citizen:telegram'") == 1);
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 1);
  // Answered, the next message is a new report again.
  REQUIRE(
      PostTelegram(s, TgMessage(734600005, chat, 2005, {{"text", "Noch: Laterne aus"}}))->status ==
      200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_drafts", 2));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 1);
}

TEST_CASE(
    "Chat rate limit: beyond 20 messages a minute a sender's messages are dropped and counted",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 600));
  const int64_t chat = 777001;
  for (int i = 0; i < 23; ++i) {
    auto r = PostTelegram(
        s, TgMessage(900000 + i, chat, 10 + i, {{"text", "Nachricht " + std::to_string(i)}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);  // acknowledged to the provider, so it stops retrying
  }
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_events", 23));
  CHECK(s.Count("SELECT count(*) FROM chat_events WHERE outcome = 'rate_limited'") == 3);
  CHECK(s.Count("SELECT count(*) FROM chat_draft_items") == 20);
}

TEST_CASE(
    "Chat drafts survive a worker restart, are routed without a place after a second window, "
    "and a later message starts a new report",
    "[integration][messenger]") {
  FakeProviders fake;
  Stack s(MessengerOptions(fake, 2));
  const int64_t chat = 424242;
  // A NUL inside the text (JSON \u0000) must not break the store.
  json first = TgMessage(800001, chat, 5, {{"text", std::string("Ampel defekt\0!", 14)}});
  REQUIRE(PostTelegram(s, first)->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 1));
  CHECK(One(s, "SELECT text FROM chat_draft_items") == "Ampel defekt!");
  // The worker goes away while the draft is open; the draft is in the database, not in memory.
  s.StopWorkers();
  s.StartWorker();
  INFO(s.WorkerLogs());
  INFO(s.DispatcherLog());
  // No place: asked once, then — no answer — routed anyway and flagged for staff.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(40)));
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply'"
                " AND dedupe_key LIKE 'ask_location:%'") == 1);
  CHECK(One(s, "SELECT location_source FROM tickets") == "none");
  CHECK(One(s, "SELECT department_id FROM tickets") == "verkehrsbehoerde");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE routing_explanation->'flags' ?"
                " 'Ort fehlt'") == 1);
  REQUIRE(fake.WaitForSent(2));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'", 1));
  auto sent = fake.sent();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].body["text"].get<std::string>().find("Standort") != std::string::npos);
  CHECK(sent[1].body["text"].get<std::string>().find("Ort") != std::string::npos);

  // A new message (not a reply to us) after publishing opens a new draft.
  REQUIRE(
      PostTelegram(s, TgMessage(800002, chat, 9, {{"text", "Noch etwas: Laterne aus"}}))->status ==
      200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_drafts", 2));
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE state <> 'published'") == 1);
  // A pin while that draft is open is its place, not the first report's.
  REQUIRE(PostTelegram(s, TgMessage(800004, chat, 10,
                                    {{"location", {{"latitude", 50.95}, {"longitude", 6.96}}}}))
              ->status == 200);
  REQUIRE(
      s.WaitForCount("SELECT count(*) FROM chat_draft_items i JOIN chat_drafts d"
                     " ON d.id = i.draft_id WHERE d.state <> 'published'"
                     " AND i.kind = 'location'",
                     1));
  CHECK(s.Count("SELECT count(*) FROM ticket_followups") == 0);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE lat IS NULL") == 1);
  // The second report goes out with its place.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 2, std::chrono::seconds(40)));
  REQUIRE(fake.WaitForSent(3));

  // Another pin comes late, with no draft open: it is the first report's place
  // (chat.late_place_minutes), a follow-up, not a report of its own.
  REQUIRE(PostTelegram(s, TgMessage(800003, chat, 11,
                                    {{"location", {{"latitude", 50.9431}, {"longitude", 6.9582}}}}))
              ->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups WHERE lat IS NOT NULL", 1));
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 2);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 2);
  const std::string first_ticket = "(SELECT id FROM tickets WHERE reference = '" +
                                   One(s, "SELECT reference FROM chat_drafts ORDER BY id LIMIT 1") +
                                   "')";
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE id = " + first_ticket +
                " AND abs(lat - 50.9431) < 1e-9 AND abs(lon - 6.9582) < 1e-9"
                " AND location_source = 'device'") == 1);
  // Staff see that the place came later; the citizen's messages no longer say it is missing.
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE id = " + first_ticket +
                " AND NOT routing_explanation->'flags' ? 'Ort fehlt'"
                " AND routing_explanation->'flags' ? 'Ort nachgereicht'") == 1);
  CHECK(s.Count("SELECT count(*) FROM ticket_history WHERE ticket_id = " + first_ticket +
                " AND action = 'followup' AND (details->>'place_of_ticket')::boolean") == 1);
  REQUIRE(fake.WaitForSent(4));
  const std::string reference = One(s, "SELECT reference FROM chat_drafts ORDER BY id LIMIT 1");
  const std::string added = fake.sent()[3].body["text"].get<std::string>();
  CHECK(added.find("hinzugefügt") != std::string::npos);
  CHECK(added.find(tickets::DisplayReference(reference)) != std::string::npos);
}

TEST_CASE(
    "A pin that arrives while the draft closer publishes its report without a place is that "
    "report's place, not a new report",
    "[integration][messenger]") {
  FakeProviders fake;
  // The drafts close when the test says so (their deadline set to now), not by the window.
  Stack s(MessengerOptions(fake, 600));
  const int64_t chat = 434343;
  REQUIRE(PostTelegram(s, TgMessage(810001, chat, 5, {{"text", "Ampel defekt"}}))->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_draft_items", 1));
  INFO(s.WorkerLogs());
  s.Query("UPDATE chat_drafts SET deadline = now()");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_drafts WHERE state = 'asked_location'", 1));
  const std::string channel = One(s, "SELECT channel FROM chat_drafts");
  const std::string sender = One(s, "SELECT sender FROM chat_drafts");

  // The pin's worker finds the draft still open, so it goes to add the pin to the draft: hold it
  // there, at the per-sender lock that AddToDraft takes first (as the closer's row lock would
  // hold it while the closer publishes).
  pqxx::connection holder(s.db_url());
  pqxx::nontransaction lock(holder);
  lock.exec_params("SELECT pg_advisory_lock(7412006, hashtext($1 || '/' || $2))", channel, sender);
  REQUIRE(PostTelegram(s, TgMessage(810002, chat, 6,
                                    {{"location", {{"latitude", 50.9431}, {"longitude", 6.9582}}}}))
              ->status == 200);
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", 1));
  // Meanwhile the closer publishes the draft without a place.
  s.Query("UPDATE chat_drafts SET deadline = now()");
  REQUIRE(s.WaitForCount("SELECT count(*) FROM chat_drafts WHERE state = 'published'", 1));
  REQUIRE(s.Count("SELECT count(*) FROM tickets WHERE lat IS NULL") == 1);
  lock.exec_params("SELECT pg_advisory_unlock(7412006, hashtext($1 || '/' || $2))", channel,
                   sender);

  // The pin places the published report; no draft of its own.
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups WHERE lat IS NOT NULL", 1));
  CHECK(s.Count("SELECT count(*) FROM chat_drafts") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE abs(lat - 50.9431) < 1e-9"
                " AND abs(lon - 6.9582) < 1e-9 AND location_source = 'device'"
                " AND routing_explanation->'flags' ? 'Ort nachgereicht'") == 1);
}

// A voice note's bytes as the messengers send them: an OGG (Opus) file. The stand-in speech
// service only looks at the container's magic.
std::string OggVoice(char fill) { return "OggS" + std::string(600, fill); }

json WaVoice(const std::string& from, const std::string& id, const std::string& media_id) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "audio"},
          {"audio", {{"mime_type", "audio/ogg; codecs=opus"}, {"id", media_id}, {"voice", true}}}};
}

TEST_CASE(
    "Voice notes: the town's speech-to-text service transcribes them, the words route and "
    "place the ticket, a spoken reply is a follow-up, a failed service leaves the recording",
    "[integration][messenger][voice]") {
  FakeProviders fake;
  StackOptions o = MessengerOptions(fake, 1);
  o.extra_env = fake.Env(/*stt=*/true);
  o.extra_env.push_back("MELDESTELLE_CHAT_WINDOW_SECONDS=1");
  Stack s(o);
  const std::string said = "Die Straßenlaterne in der Lindenstraße 13 ist seit gestern dunkel";
  fake.SetStt(said);
  const std::string from = "493023125017";
  fake.AddMedia("2051139178734587", OggVoice('a'));
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(
                              from, json::array({WaVoice(from, "wamid.V1", "2051139178734587")})))
              ->status == 200);
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets", 1, std::chrono::seconds(30)));
  auto t = s.Query(
      "SELECT text, department_id, location_source, reference, routing_explanation->'flags' ?"
      " 'Sprachnachricht, Text automatisch erkannt' FROM tickets");
  CHECK(t[0][0].as<std::string>() == said);
  CHECK(t[0][1].as<std::string>() == "strassenbeleuchtung");  // routed by what was said
  CHECK(t[0][2].as<std::string>() == "address");              // placed by the street said
  CHECK(t[0][4].as<bool>());
  const std::string reference = t[0][3].as<std::string>();
  // The place was said: nobody asked for it. The recording is on the ticket.
  CHECK(s.Count("SELECT count(*) FROM outbox WHERE kind = 'chat_reply'") == 0);
  CHECK(s.Count("SELECT count(*) FROM attachments WHERE media_type = 'audio/ogg'") == 1);
  REQUIRE(fake.stt_types().size() == 1);
  CHECK(fake.stt_types()[0] == "audio/ogg; codecs=opus");

  // A voice reply to the acknowledgement: a follow-up with what it says.
  REQUIRE(fake.WaitForSent(1));
  REQUIRE(s.WaitForCount(
      "SELECT count(*) FROM outbox WHERE kind = 'ack' AND provider_message_id IS NOT NULL", 1));
  std::string wamid = One(s, "SELECT provider_message_id FROM outbox WHERE kind = 'ack'");
  fake.SetStt("Jetzt ist auch die Laterne daneben aus");
  fake.AddMedia("2051139178734588", OggVoice('b'));
  json reply = WaVoice(from, "wamid.V2", "2051139178734588");
  reply["context"] = {{"from", "4922123125000"}, {"id", wamid}};
  REQUIRE(PostWhatsApp(s, WhatsAppNotification(from, json::array({reply})))->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM ticket_followups", 1));
  auto f = s.Query(
      "SELECT f.text, t.reference, jsonb_array_length(f.attachments) FROM ticket_followups f"
      " JOIN tickets t ON t.id = f.ticket_id");
  CHECK(f[0][0].as<std::string>() == "Jetzt ist auch die Laterne daneben aus");
  CHECK(f[0][1].as<std::string>() == reference);
  CHECK(f[0][2].as<int>() == 1);
  CHECK(s.Count("SELECT count(*) FROM tickets") == 1);

  // Telegram, the service down: tried again, then the report goes out with the recording only.
  fake.SetStt("", /*fail=*/true);
  const int before = fake.stt_requests();
  fake.AddMedia("AwACAgIAAxkBAAIVb2X", OggVoice('c'));
  json voice = TgMessage(734513000, 5123456790, 1700,
                         {{"voice",
                           {{"file_id", "AwACAgIAAxkBAAIVb2X"},
                            {"file_unique_id", "v1"},
                            {"duration", 4},
                            {"mime_type", "audio/ogg"},
                            {"file_size", 604}}}});
  REQUIRE(PostTelegram(s, voice)->status == 200);
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE channel = 'telegram'", 1,
                         std::chrono::seconds(60)));
  CHECK(One(s, "SELECT text FROM tickets WHERE channel = 'telegram'") == "");
  CHECK(s.Count("SELECT count(*) FROM tickets WHERE channel = 'telegram' AND"
                " routing_explanation->'flags' ? 'Sprachnachricht, nicht transkribiert'") == 1);
  CHECK(s.Count("SELECT count(*) FROM attachments a JOIN tickets t ON t.id = a.ticket_id WHERE"
                " t.channel = 'telegram' AND a.media_type = 'audio/ogg'") == 1);
  CHECK(fake.stt_requests() - before == 3);  // worker.max_attempts in the tests

  // The recordings go after phone.recording_retention_days (90), the words stay.
  int status = -1;
  std::string shas_sql =
      "SELECT sha256 FROM attachments WHERE media_type = 'audio/ogg' UNION SELECT x->>'sha256'"
      " FROM ticket_followups, jsonb_array_elements(attachments) x";
  std::vector<std::string> files;
  for (const auto& row : s.Query(shas_sql)) {
    std::string sha = row[0].as<std::string>();
    files.push_back((s.media_dir() / sha.substr(0, 2) / sha.substr(2, 2) / sha).string());
  }
  REQUIRE(files.size() == 3);
  for (const auto& file : files)
    CHECK(std::filesystem::exists(file));
  std::string early = s.RunCommand({"privacy", "retention", "run"}, &status);
  CHECK(s.Count("SELECT count(*) FROM attachments WHERE media_type = 'audio/ogg'") == 2);
  std::string later = s.RunCommand(
      {"privacy", "retention", "run", "--now",
       One(s, "SELECT to_char(now() + interval '91 days', 'YYYY-MM-DD\"T\"HH24:MI\"Z\"')")},
      &status);
  INFO(later);
  REQUIRE(status == 0);
  CHECK(s.Count("SELECT count(*) FROM attachments WHERE media_type = 'audio/ogg'") == 0);
  CHECK(s.Count("SELECT count(*) FROM ticket_followups WHERE attachments <> '[]'") == 0);
  CHECK(s.Count("SELECT count(*) FROM chat_draft_items WHERE kind = 'audio' AND"
                " (sha256 IS NOT NULL OR transcript <> '')") == 0);
  for (const auto& file : files)
    CHECK_FALSE(std::filesystem::exists(file));
  CHECK(One(s, "SELECT text FROM ticket_followups") == "Jetzt ist auch die Laterne daneben aus");
}

TEST_CASE(
    "A chat draft whose ticket could not be written while the database was away is published "
    "as soon as it answers again, not set aside for minutes",
    "[integration][messenger]") {
  StackOptions o;
  o.processes = false;
  Stack s(o);
  Config config = s.ConfigHere();
  s.Query(
      "INSERT INTO chat_drafts (id, channel, sender, report_id, reference, first_message_id,"
      " deadline) VALUES (4711, 'whatsapp', '4915112345678', gen_random_uuid(), '2SJ9A2TJ5849',"
      " 'wamid.F1', now())");
  s.Query(
      "INSERT INTO chat_draft_items (draft_id, message_id, kind, text, lat, lon) VALUES"
      " (4711, 'wamid.F1', 'text', 'Schlagloch vor dem Haus', NULL, NULL),"
      " (4711, 'wamid.F2', 'location', '', 50.9375312, 6.9602786)");
  int admits = 0;
  metrics::Registry registry;
  chat::DraftCloser closer(config, std::make_unique<FlakyAdmission>(&admits), nullptr, registry);
  auto first = closer.RunOnce();
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().code == errors::kDbUnavailable);
  CHECK(One(s, "SELECT state FROM chat_drafts") == "open");
  CHECK(s.Count("SELECT count(*) FROM chat_drafts WHERE deadline > now() + interval '1 minute'") ==
        0);
  auto second = closer.RunOnce();
  REQUIRE(second.ok());
  CHECK(*second == 1);
  CHECK(admits == 2);
  CHECK(One(s, "SELECT state FROM chat_drafts") == "published");
}

}  // namespace messenger_test
