#include "channels/telegram/telegram.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "channels/chat/json_reader.hpp"
#include "core/text.hpp"
#include "vector_files.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace telegram_test {

using namespace meldestelle;
using namespace meldestelle::telegram;
using chat::ChatEvent;
using chat::EventKind;
using chat::MessageType;

namespace {

// vectors/README.md: the setWebhook secret_token of the test set.
constexpr std::string_view kSecret = "tg_Secret-Token_4711";

std::string Body(const std::string& name) {
  return vector_files::Read("telegram/" + name + ".json");
}

std::vector<ChatEvent> Parse(std::string_view body) {
  auto r = ParseUpdate(body);
  INFO(body);
  if (!r) {
    INFO(r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}

ChatEvent ParseOne(std::string_view body) {
  auto events = Parse(body);
  INFO(body);
  REQUIRE(events.size() == 1);
  return events[0];
}

Error ParseError(std::string_view body) {
  auto r = ParseUpdate(body);
  INFO(body);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

constexpr const char* kFrom =
    R"("from":{"id":5123456789,"is_bot":false,"first_name":"Jürgen","last_name":"Müller",)"
    R"("language_code":"de"})";
constexpr const char* kChat = R"("chat":{"id":5123456789,"first_name":"Jürgen","type":"private"})";

// An update with one message whose content fields are `content` (without braces).
std::string Update(const std::string& content, const std::string& kind = "message",
                   int64_t update_id = 800, int64_t message_id = 2000) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,")" + kind + R"(":{"message_id":)" +
         std::to_string(message_id) + "," + kFrom + "," + kChat + R"(,"date":1741600100)" +
         (content.empty() ? "" : "," + content) + "}}";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Golden fixtures.

TEST_CASE("telegram vectors: every secret-token verdict matches _expected.json") {
  for (const auto& name : vector_files::ExpectedCases("telegram")) {
    INFO(name);
    auto http = vector_files::ReadHeaders("telegram/" + name + ".headers");
    CHECK(http.request_line == "POST /webhooks/telegram HTTP/1.1");
    CHECK(http.Header("content-length") == std::to_string(Body(name).size()));
    bool reject = vector_files::Expected("telegram", name).at("verdict") == "reject_auth";
    CHECK(VerifySecret(kSecret, http.Header("x-telegram-bot-api-secret-token")) == !reject);
  }
}

TEST_CASE("telegram vectors: parsed events match _expected.json") {
  for (const auto& name : vector_files::ExpectedCases("telegram")) {
    auto expected = vector_files::Expected("telegram", name);
    std::string verdict = expected.at("verdict");
    if (verdict == "reject_auth") {
      continue;
    }
    INFO(name);
    std::string body = Body(name);
    ChatEvent e = ParseOne(body);
    auto raw = nlohmann::json::parse(body);
    CHECK(e.kind == EventKind::kMessage);
    CHECK(e.channel == "telegram");
    CHECK(e.sender == "5123456789");
    CHECK(e.sender_name == "Jürgen Müller");
    CHECK(e.language == "de");
    CHECK(e.dedupe_key == "update:" + std::to_string(raw["update_id"].get<int64_t>()));
    CHECK(e.timestamp == raw["message"]["date"].get<int64_t>());
    CHECK(IsValidUtf8(e.text));
    if (expected.contains("dedupe_key")) {
      const auto& k = expected["dedupe_key"];
      CHECK(e.dedupe_key == "update:" + std::to_string(k.at("update_id").get<int64_t>()));
      CHECK(e.message_id == std::to_string(k.at("chat_id").get<int64_t>()) + ":" +
                                std::to_string(k.at("message_id").get<int64_t>()));
    }
    if (expected.contains("text")) {
      CHECK(e.text == expected["text"].get<std::string>());
    }
    if (expected.contains("media")) {
      CHECK(e.type == MessageType::kImage);
      REQUIRE(e.media.size() == expected["media"].size());
      for (size_t i = 0; i < e.media.size(); ++i) {
        const auto& m = expected["media"][i];
        CHECK(e.media[i].id == m.at("file_id").get<std::string>());
        // Media has no width/height: find the chosen size in the raw update.
        for (const auto& size : raw["message"]["photo"]) {
          if (size["file_id"] == e.media[i].id) {
            CHECK(size["width"] == m.at("width"));
            CHECK(size["height"] == m.at("height"));
            CHECK(e.media[i].unique_id == size["file_unique_id"].get<std::string>());
            CHECK(*e.media[i].size == size["file_size"].get<int64_t>());
          }
        }
      }
    } else {
      CHECK(e.media.empty());
    }
    if (expected.contains("location")) {
      CHECK(e.type == MessageType::kLocation);
      REQUIRE(e.location);
      CHECK(e.location->lat == expected["location"]["lat"].get<double>());
      CHECK(e.location->lon == expected["location"]["lon"].get<double>());
      REQUIRE(e.location->accuracy_m);
      CHECK(*e.location->accuracy_m == expected["location"]["accuracy_m"].get<double>());
    }
    if (expected.contains("ack")) {
      // "sendMessage chat_id=5123456789 reply_parameters.message_id=1542"
      std::string ack = expected["ack"];
      std::smatch m;
      REQUIRE(std::regex_search(
          ack, m, std::regex(R"(chat_id=(-?\d+) reply_parameters\.message_id=(\d+))")));
      std::string own_message_id = e.message_id.substr(e.message_id.find(':') + 1);
      auto sent =
          nlohmann::json::parse(BuildSendMessage(e.sender, "Danke", std::stoll(own_message_id)));
      CHECK(sent["chat_id"] == std::stoll(m[1].str()));
      CHECK(sent["reply_parameters"]["message_id"] == std::stoll(m[2].str()));
    }
    if (verdict == "duplicate") {
      // "05-duplicate-redelivery-of-01": the same keys as the original.
      std::string original = name.substr(name.size() - 2);
      for (const auto& other : vector_files::ExpectedCases("telegram")) {
        if (other.rfind(original + "-", 0) == 0) {
          ChatEvent first = ParseOne(Body(other));
          CHECK(first.dedupe_key == e.dedupe_key);
          CHECK(first.message_id == e.message_id);
        }
      }
    }
  }
}

TEST_CASE("telegram vectors: the forged request's body parses, only the secret refuses it") {
  CHECK(ParseOne(Body("07-forged-missing-secret")).dedupe_key == "update:734512891");
  CHECK_FALSE(VerifySecret(kSecret, ""));
}

TEST_CASE("telegram vectors: setWebhook (08) subscribes to updates ParseUpdate reads") {
  auto lines = vector_files::ContentLines("telegram/08-setWebhook.request.txt");
  std::vector<nlohmann::json> bodies;
  for (const auto& line : lines) {
    if (line[0] == '{') {
      bodies.push_back(nlohmann::json::parse(line));
    }
  }
  REQUIRE(bodies.size() == 2);
  CHECK(VerifySecret(kSecret, bodies[0]["secret_token"].get<std::string>()));
  // The vector's list; docs/channels/telegram.md adds my_chat_member (the bot blocked), which
  // ParseUpdate reads too.
  CHECK(bodies[0]["allowed_updates"] ==
        nlohmann::json::array({"message", "edited_message", "callback_query"}));
  CHECK(bodies[1]["ok"] == true);
}

TEST_CASE("telegram vectors: getFile (09) resolves the largest photo of 02") {
  std::vector<std::string> bodies;
  for (const auto& line : vector_files::ContentLines("telegram/09-getFile-and-download.txt")) {
    if (line[0] == '{') {
      bodies.push_back(line);
    }
  }
  REQUIRE(bodies.size() == 2);
  ChatEvent photo = ParseOne(Body("02-photo-with-caption"));
  CHECK(nlohmann::json::parse(bodies[0])["file_id"] == photo.media[0].id);
  auto file = ParseGetFile(bodies[1]);
  REQUIRE(file.ok());
  CHECK(file->file_path == "photos/file_17.jpg");
  REQUIRE(file->file_size);
  CHECK(*file->file_size == *photo.media[0].size);
}

TEST_CASE("telegram vectors: sendMessage (10) request and answer") {
  auto http = vector_files::ReadHeaders("telegram/10-sendMessage.headers");
  CHECK(http.request_line.find("/sendMessage HTTP/1.1") != std::string::npos);
  CHECK(http.Header("content-type") == "application/json");
  auto want =
      nlohmann::ordered_json::parse(vector_files::Read("telegram/10-sendMessage.request.json"));
  // Our request adds allow_sending_without_reply: a deleted original must not fail the ack.
  want["reply_parameters"]["allow_sending_without_reply"] = true;
  std::string built = BuildSendMessage(std::to_string(want["chat_id"].get<int64_t>()),
                                       want["text"].get<std::string>(),
                                       want["reply_parameters"]["message_id"].get<int64_t>());
  CHECK(built == want.dump());

  auto sent = ParseSendResponse(200, vector_files::Read("telegram/10-sendMessage.response.json"));
  REQUIRE(sent.ok());
  CHECK(sent->message_id == "5123456789:1547");
  CHECK(sent->error_code == 0);
  CHECK_FALSE(sent->permanent);
}

TEST_CASE("telegram vectors: sendMessage errors (11): blocked is permanent, 429 waits") {
  auto cases = nlohmann::json::parse(vector_files::Read("telegram/11-sendMessage-errors.json"));
  REQUIRE(cases.size() == 2);
  for (const auto& c : cases) {
    int status = c["error_code"];
    INFO(status);
    auto r = ParseSendResponse(status, c.dump());
    REQUIRE(r.ok());
    CHECK(r->message_id.empty());
    CHECK(r->error_code == status);
    CHECK(r->description == c["description"].get<std::string>());
    int retry_after = c.contains("parameters") ? c["parameters"]["retry_after"].get<int>() : 0;
    CHECK(r->retry_after == retry_after);
    CHECK(r->permanent == (status != 429));
    // Blocked: the chat refuses the bot's messages (an opt-out from status messages).
    CHECK(r->recipient_refuses == (status == 403));
  }
  // A 403 of a proxy in between is no word of Telegram's about the chat.
  auto proxy = ParseSendResponse(403, "<html>Forbidden</html>");
  REQUIRE(proxy.ok());
  CHECK(proxy->permanent);
  CHECK_FALSE(proxy->recipient_refuses);
}

TEST_CASE("telegram vectors: every file in the folder is used by a test above") {
  std::set<std::string> used = {"_expected.json",
                                "08-setWebhook.request.txt",
                                "09-getFile-and-download.txt",
                                "10-sendMessage.headers",
                                "10-sendMessage.request.json",
                                "10-sendMessage.response.json",
                                "11-sendMessage-errors.json"};
  for (const auto& name : vector_files::ExpectedCases("telegram")) {
    used.insert(name + ".json");
    used.insert(name + ".headers");
  }
  CHECK(vector_files::List("telegram") == used);
}

// ---------------------------------------------------------------------------------------------
// Updates of our own making.

TEST_CASE("telegram secret: constant-time equality, never for empty values") {
  CHECK(VerifySecret(kSecret, "tg_Secret-Token_4711"));
  CHECK_FALSE(VerifySecret(kSecret, "tg_Secret-Token_4712"));
  CHECK_FALSE(VerifySecret(kSecret, "tg_Secret-Token_471"));
  CHECK_FALSE(VerifySecret("", ""));
  CHECK_FALSE(VerifySecret("", "x"));
}

TEST_CASE("telegram: album items share media_group_id, the caption sits on one of them") {
  const std::string photo =
      R"("photo":[{"file_id":"S","file_unique_id":"s","file_size":900,"width":90,"height":60},)"
      R"({"file_id":"L","file_unique_id":"l","file_size":90000,"width":1280,"height":853}])";
  auto first = ParseOne(Update(R"("media_group_id":"13912345678901234",)" + photo +
                                   R"(,"caption":"Zwei Fotos vom Schlagloch")",
                               "message", 801, 2001));
  auto second =
      ParseOne(Update(R"("media_group_id":"13912345678901234",)" + photo, "message", 802, 2002));
  CHECK(first.media_group_id == "13912345678901234");
  CHECK(second.media_group_id == first.media_group_id);
  CHECK(first.text == "Zwei Fotos vom Schlagloch");
  CHECK(second.text.empty());
  CHECK(second.type == MessageType::kImage);
  CHECK(first.dedupe_key != second.dedupe_key);
  CHECK(first.message_id == "5123456789:2001");
  CHECK(second.message_id == "5123456789:2002");
  CHECK(ParseOne(Update(R"("text":"x")")).media_group_id.empty());
}

TEST_CASE("telegram: an edited message is an edit of the original message id") {
  auto original = ParseOne(Update(R"("text":"Laterne aus")", "message", 900, 1542));
  auto edit = ParseOne(
      Update(R"("edit_date":1741600999,"text":"Laterne Nr. 7 aus")", "edited_message", 901, 1542));
  CHECK(original.kind == EventKind::kMessage);
  CHECK(edit.kind == EventKind::kEdit);
  CHECK(edit.message_id == original.message_id);
  CHECK(edit.dedupe_key == "update:901");
  CHECK(edit.text == "Laterne Nr. 7 aus");
  CHECK(edit.timestamp == 1741600999);
  // Without edit_date the original date is kept.
  CHECK(ParseOne(Update(R"("text":"a")", "edited_message")).timestamp == 1741600100);
}

TEST_CASE("telegram: service messages, bots, channel posts and other updates make no event") {
  CHECK(Parse(Update(R"("new_chat_members":[{"id":1,"is_bot":false,"first_name":"A"}])")).empty());
  CHECK(Parse(Update(R"("left_chat_member":{"id":1,"is_bot":false,"first_name":"A"})")).empty());
  CHECK(Parse(Update(R"("pinned_message":{"message_id":1,"date":1,"chat":{"id":1,"type":"group"},)"
                     R"("text":"x"})"))
            .empty());
  CHECK(Parse(Update(R"("group_chat_created":true)")).empty());
  CHECK(Parse(Update(R"("new_chat_title":"Mängel")")).empty());
  CHECK(Parse(Update(R"("contact":{"phone_number":"+49","first_name":"A"})")).empty());
  CHECK(Parse(Update("")).empty());
  CHECK(Parse(Update(R"("text":"")")).empty());
  // A bot's message, e.g. our own in a group.
  CHECK(
      Parse(
          R"({"update_id":5,"message":{"message_id":1,"from":{"id":9,"is_bot":true,)"
          R"("first_name":"Bot"},"chat":{"id":-100123,"type":"supergroup"},"date":1,"text":"hi"}})")
          .empty());
  CHECK(
      Parse(R"({"update_id":6,"channel_post":{"message_id":1,"chat":{"id":-1001,"type":"channel"},)"
            R"("date":1,"text":"Amtsblatt"}})")
          .empty());
  // A person's message in a group: the group is not one citizen (it was one ticket for all).
  for (const char* type : {"group", "supergroup"}) {
    INFO(type);
    CHECK(Parse(std::string(R"({"update_id":8,"message":{"message_id":1,"from":{"id":9,)") +
                R"("is_bot":false,"first_name":"A"},"chat":{"id":-4000001,"type":")" + type +
                R"("},"date":1,"text":"Meine Adresse ist Lindenstraße 13"}})")
              .empty());
  }
  CHECK(Parse(R"({"update_id":7,"my_chat_member":{"chat":{"id":1,"type":"private"}}})").empty());
  CHECK(Parse(R"({"update_id":8})").empty());
}

namespace {

std::string MemberChange(std::string_view chat_type, std::string_view was, std::string_view now) {
  return std::string(R"({"update_id":31,"my_chat_member":{"chat":{"id":5123,"type":")") +
         std::string(chat_type) +
         R"("},"from":{"id":5123,"is_bot":false,"first_name":"A","language_code":"tr"},)"
         R"("date":1764250100,"old_chat_member":{"user":{"id":9,"is_bot":true,"first_name":"B"},)"
         R"("status":")" +
         std::string(was) +
         R"("},"new_chat_member":{"user":{"id":9,"is_bot":true,"first_name":"B"},"status":")" +
         std::string(now) + R"("}}})";
}

}  // namespace

TEST_CASE("telegram: the bot blocked and started again in a private chat are events") {
  ChatEvent blocked = ParseOne(MemberChange("private", "member", "kicked"));
  CHECK(blocked.kind == chat::EventKind::kMessage);
  CHECK(blocked.type == chat::MessageType::kUnsupported);
  CHECK(blocked.provider_type == "blocked");
  CHECK(blocked.sender == "5123");
  CHECK(blocked.dedupe_key == "update:31");
  CHECK(blocked.language == "tr");
  CHECK(blocked.text.empty());
  ChatEvent started = ParseOne(MemberChange("private", "kicked", "member"));
  CHECK(started.provider_type == "unblocked");
  // The bot added to a group, or made an administrator there; the first start in a private chat
  // (it comes as /start anyway); a change we cannot read: none.
  CHECK(Parse(MemberChange("group", "left", "member")).empty());
  CHECK(Parse(MemberChange("supergroup", "member", "kicked")).empty());
  CHECK(Parse(MemberChange("private", "left", "member")).empty());
  CHECK(Parse(R"({"update_id":7,"my_chat_member":{"chat":{"id":"x","type":"private"},)"
              R"("new_chat_member":{"status":"kicked"}}})")
            .empty());
}

TEST_CASE("telegram: the largest photo is chosen regardless of array order") {
  auto e = ParseOne(Update(
      R"("photo":[{"file_id":"M","file_unique_id":"m","file_size":19873,"width":320,"height":240},)"
      R"({"file_id":"XL","file_unique_id":"xl","file_size":184225,"width":1280,"height":960},)"
      R"({"file_id":"S","file_unique_id":"s","file_size":1422,"width":90,"height":68},)"
      R"({"file_id":"L","file_unique_id":"l","file_size":88541,"width":800,"height":600}])"));
  CHECK(e.type == MessageType::kImage);
  REQUIRE(e.media.size() == 1);
  CHECK(e.media[0].id == "XL");
  CHECK(e.media[0].unique_id == "xl");
  CHECK(e.media[0].mime_type.empty());
  // Same area: the bigger file wins; no file_size counts as 0.
  auto tie = ParseOne(
      Update(R"("photo":[{"file_id":"A","file_unique_id":"a","width":100,"height":100},)"
             R"({"file_id":"B","file_unique_id":"b","file_size":5000,"width":200,"height":50},)"
             R"({"file_id":"C","file_unique_id":"c","file_size":4000,"width":50,"height":200}])"));
  CHECK(tie.media[0].id == "B");
  // Absurd sizes do not overflow.
  auto huge = ParseOne(
      Update(R"("photo":[{"file_id":"A","width":9223372036854775807,"height":9223372036854775807},)"
             R"({"file_id":"B","width":10,"height":10}])"));
  CHECK(huge.media[0].id == "A");
}

TEST_CASE("telegram: file sizes beyond 2^31 and other ids are int64") {
  auto e = ParseOne(
      Update(R"("document":{"file_name":"Begehung.mp4","mime_type":"video/mp4","file_id":"D",)"
             R"("file_unique_id":"d","file_size":3221225472})",
             "message", 9007199254740993, 2147483649LL));
  CHECK(e.type == MessageType::kDocument);
  REQUIRE(e.media[0].size);
  CHECK(*e.media[0].size == 3221225472LL);
  CHECK(e.media[0].filename == "Begehung.mp4");
  CHECK(e.dedupe_key == "update:9007199254740993");
  CHECK(e.message_id == "5123456789:2147483649");
  // A negative chat id (a reply in a supergroup's thread names one; the group's own messages
  // are not reports).
  auto reply = ParseOne(Update(R"("text":"Hallo","reply_to_message":{"message_id":3,)"
                               R"("chat":{"id":-1001234567890,"type":"supergroup"},"date":1})"));
  CHECK(reply.reply_to == "-1001234567890:3");
  CHECK(ParseError(Update(R"("document":{"file_id":"D","file_size":-1})")).code.name() ==
        "field_value_invalid");
  CHECK(ParseError(R"({"update_id":18446744073709551615})").code.name() == "field_value_invalid");
}

TEST_CASE("telegram: documents, voice, audio, location, venue and unsupported media") {
  auto doc = ParseOne(
      Update(R"("document":{"file_name":"IMG_1.HEIC","mime_type":"image/heic","file_id":"D",)"
             R"("file_unique_id":"d"},"caption":"Foto in voller Größe")"));
  CHECK(doc.type == MessageType::kDocument);
  CHECK(doc.media[0].mime_type == "image/heic");
  CHECK(doc.text == "Foto in voller Größe");
  auto voice = ParseOne(
      Update(R"("voice":{"duration":4,"mime_type":"audio/ogg","file_id":"V","file_unique_id":"v",)"
             R"("file_size":9000})"));
  CHECK(voice.type == MessageType::kAudio);
  CHECK(voice.media[0].voice);
  CHECK(voice.media[0].mime_type == "audio/ogg");
  auto audio = ParseOne(
      Update(R"("audio":{"duration":4,"file_name":"a.mp3","mime_type":"audio/mpeg","file_id":"A",)"
             R"("file_unique_id":"a"})"));
  CHECK(audio.type == MessageType::kAudio);
  CHECK_FALSE(audio.media[0].voice);
  auto loc = ParseOne(Update(R"("location":{"latitude":50.9375,"longitude":6.9603})"));
  CHECK(loc.type == MessageType::kLocation);
  CHECK_FALSE(loc.location->accuracy_m);
  auto venue = ParseOne(
      Update(R"("location":{"latitude":50.94,"longitude":6.96},)"
             R"("venue":{"location":{"latitude":50.94,"longitude":6.96},"title":"Rathaus",)"
             R"("address":"Rathausplatz 2"})"));
  CHECK(venue.location->name == "Rathaus");
  CHECK(venue.location->address == "Rathausplatz 2");
  for (const char* kind : {"video", "sticker", "video_note"}) {
    INFO(kind);
    auto e =
        ParseOne(Update(std::string(R"(")") + kind + R"(":{"file_id":"F","file_unique_id":"f"})"));
    CHECK(e.type == MessageType::kUnsupported);
    CHECK(e.media[0].id == "F");
  }
  // An animation also carries "document" (for old clients): it stays unsupported.
  auto gif = ParseOne(
      Update(R"("animation":{"file_id":"G","file_unique_id":"g","mime_type":"video/mp4"},)"
             R"("document":{"file_id":"G","file_unique_id":"g","mime_type":"video/mp4"})"));
  CHECK(gif.type == MessageType::kUnsupported);
  CHECK(gif.media.size() == 1);
}

TEST_CASE("telegram: replies, names and language tags") {
  auto e =
      ParseOne(R"({"update_id":1,"message":{"message_id":20,"from":{"id":7,"is_bot":false,)"
               R"("first_name":"Ana","language_code":"pt-BR"},"chat":{"id":7,"type":"private"},)"
               R"("date":1,"text":"Obrigada","reply_to_message":{"message_id":19,)"
               R"("chat":{"id":7,"type":"private"},"date":1,"text":"Danke"}}})");
  CHECK(e.reply_to == "7:19");
  CHECK(e.sender_name == "Ana");  // no trailing space without last_name
  CHECK(e.language == "pt");
  CHECK(ParseOne(Update(R"("text":"x")")).reply_to.empty());
  auto odd_language = ParseOne(R"({"update_id":1,"message":{"message_id":20,"from":{"id":7,)"
                               R"("is_bot":false,"first_name":"A","language_code":"x1"},)"
                               R"("chat":{"id":7,"type":"private"},"date":1,"text":"a"}})");
  CHECK(odd_language.language.empty());
}

TEST_CASE("telegram: a button press becomes an interactive message") {
  auto e = ParseOne(
      R"({"update_id":44,"callback_query":{"id":"4382bfdwdsb323b2d9",)"
      R"("from":{"id":5123456789,"is_bot":false,"first_name":"Jürgen","language_code":"de"},)"
      R"("message":{"message_id":1547,"chat":{"id":5123456789,"type":"private"},"date":1,)"
      R"("text":"Erledigt?"},)"
      R"("chat_instance":"-1","data":"confirm:M-2025-004712"}})");
  CHECK(e.kind == EventKind::kMessage);
  CHECK(e.type == MessageType::kInteractive);
  CHECK(e.interactive_id == "confirm:M-2025-004712");
  CHECK(e.dedupe_key == "update:44");
  CHECK(e.message_id == "callback:4382bfdwdsb323b2d9");
  CHECK(e.reply_to == "5123456789:1547");
  CHECK(e.sender == "5123456789");
  CHECK(e.language == "de");
  // A game button has no data.
  CHECK(Parse(R"({"update_id":45,"callback_query":{"id":"1","from":{"id":1,"is_bot":false,)"
              R"("first_name":"A"},"chat_instance":"1","game_short_name":"g"}})")
            .empty());
}

TEST_CASE("telegram: broken bodies and wrong types are refused with the path") {
  std::string good = Body("01-text-umlauts");
  CHECK(ParseError("").code.name() == "body_empty");
  CHECK(ParseError(good.substr(0, 100)).code.name() == "json_invalid");
  CHECK(ParseError("[1]").code.name() == "json_invalid");
  CHECK(ParseError(R"({"update_id":1e400})").code.name() == "json_invalid");
  CHECK(ParseError(R"({"update_id":99999999999999999999999})").code.name() == "field_type_invalid");
  CHECK(ParseError("{\"update_id\":1,\"message\":{\"text\":\"Gr\xFC\xDF\"}}").code.name() ==
        "invalid_utf8");
  CHECK(ParseError(R"({"message":{}})").message == "update_id: missing");
  CHECK(ParseError(R"({"update_id":"734512891"})").message ==
        "update_id: expected an integer, got string");
  CHECK(ParseError(R"({"update_id":1.5})").code.name() == "field_type_invalid");
  CHECK(ParseError(R"({"update_id":1,"message":"hi"})").message ==
        "message: expected an object, got string");
  CHECK(ParseError(R"({"update_id":1,"message":{"message_id":1,"date":1,"text":"a"}})").message ==
        "message.chat: missing");
  CHECK(ParseError(R"({"update_id":1,"message":{"message_id":"1","chat":{"id":1},"date":1}})")
            .message == "message.message_id: expected an integer, got string");
  CHECK(ParseError(R"({"update_id":1,"message":{"message_id":1,"chat":{"id":"1"},"date":1}})")
            .message == "message.chat.id: expected an integer, got string");
  CHECK(ParseError(Update(R"("text":5)")).message == "message.text: expected a string, got number");
  CHECK(ParseError(Update(R"("photo":[{"width":1,"height":1}])")).message ==
        "message.photo[0].file_id: missing");
  CHECK(ParseError(Update(R"("photo":{"file_id":"x"})")).code.name() == "field_type_invalid");
  CHECK(ParseError(Update(R"("location":{"latitude":200,"longitude":1})")).code.name() ==
        "field_value_invalid");
  CHECK(ParseError(Update(R"("location":{"latitude":"50","longitude":1})")).message ==
        "message.location.latitude: expected a number, got string");
  CHECK(ParseError(R"({"update_id":1,"message":{"message_id":1,"from":{"id":1,"is_bot":"no"},)"
                   R"("chat":{"id":1},"date":1,"text":"a"}})")
            .message == "message.from.is_bot: expected true or false, got string");
}

// ---------------------------------------------------------------------------------------------
// Sending.

TEST_CASE("telegram send: chat ids, replies and long texts") {
  auto plain = nlohmann::json::parse(BuildSendMessage("5123456789", "Danke", std::nullopt));
  CHECK(plain["chat_id"] == 5123456789LL);
  CHECK_FALSE(plain.contains("reply_parameters"));
  CHECK(nlohmann::json::parse(BuildSendMessage("-1001234567890", "x", 1))["chat_id"] ==
        -1001234567890LL);
  CHECK(nlohmann::json::parse(BuildSendMessage("@stadt_meldungen", "x", {}))["chat_id"] ==
        "@stadt_meldungen");
  CHECK(nlohmann::json::parse(BuildSendMessage("0123", "x", {}))["chat_id"] == "0123");
  CHECK(nlohmann::json::parse(BuildSendMessage("99999999999999999999", "x", {}))["chat_id"] ==
        "99999999999999999999");
  auto reply = nlohmann::json::parse(BuildSendMessage("7", "x", 1542));
  CHECK(reply["reply_parameters"]["message_id"] == 1542);
  CHECK(reply["reply_parameters"]["allow_sending_without_reply"] == true);
  std::string long_text;
  for (int i = 0; i < 4100; ++i) {
    long_text += "ß";
  }
  std::string text = nlohmann::json::parse(BuildSendMessage("7", long_text, {}))["text"];
  CHECK(Utf8Length(text) == 4096);
}

TEST_CASE("telegram send: answers without a usable body") {
  CHECK(ParseSendResponse(200, "").error().code.name() == "response_invalid");
  // It is the provider's answer that is broken, not our request.
  auto broken = ParseSendResponse(200, R"({"ok":true,"result":{"message_id":)");
  CHECK(broken.error().code.name() == "response_invalid");
  CHECK(broken.error().message.rfind("the response body is not valid JSON: ", 0) == 0);
  CHECK(chat::UnreadableAnswer(200, broken.error()).rfind(
            "HTTP 200 (accepted), but its answer cannot be read: the response body is not valid "
            "JSON",
            0) == 0);
  CHECK(ParseSendResponse(200, R"({"ok":true,"result":{"message_id":1}})").error().message ==
        "result.chat: missing");
  auto bad_request = ParseSendResponse(
      400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
  REQUIRE(bad_request.ok());
  CHECK(bad_request->permanent);
  CHECK(bad_request->description == "Bad Request: chat not found");
  auto gateway = ParseSendResponse(502, "<html>502 Bad Gateway</html>");
  REQUIRE(gateway.ok());
  CHECK_FALSE(gateway->permanent);
  CHECK(gateway->error_code == 502);
  CHECK(gateway->description == "HTTP 502");
  auto server = ParseSendResponse(
      500, R"({"ok":false,"error_code":500,"description":"Internal Server Error"})");
  CHECK_FALSE(server->permanent);
  auto ok_false_on_200 = ParseSendResponse(
      200, R"({"ok":false,"error_code":403,"description":"Forbidden: user is deactivated"})");
  REQUIRE(ok_false_on_200.ok());
  CHECK(ok_false_on_200->permanent);
  CHECK(ok_false_on_200->message_id.empty());
  CHECK_FALSE(ok_false_on_200->token_refused);
  // A revoked bot token (401) and a malformed one (404) are the town's to replace: tried again.
  auto revoked =
      ParseSendResponse(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})");
  REQUIRE(revoked.ok());
  CHECK_FALSE(revoked->permanent);
  CHECK(revoked->token_refused);
  auto malformed =
      ParseSendResponse(404, R"({"ok":false,"error_code":404,"description":"Not Found"})");
  CHECK_FALSE(malformed->permanent);
  CHECK(malformed->token_refused);
  CHECK_FALSE(bad_request->token_refused);
}

TEST_CASE("telegram getFile: errors and missing file_path") {
  auto gone =
      ParseGetFile(R"({"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"})");
  CHECK(gone.error().code.name() == "telegram_error");
  CHECK_THAT(gone.error().message, Catch::Contains("invalid file_id"));
  CHECK(ParseGetFile(R"({"ok":true,"result":{"file_id":"x","file_unique_id":"y"}})")
            .error()
            .message == "result.file_path: missing");
  auto big = ParseGetFile(R"({"ok":true,"result":{"file_id":"x","file_size":4294967296,)"
                          R"("file_path":"documents/file_3.mp4"}})");
  REQUIRE(big.ok());
  CHECK(*big->file_size == 4294967296LL);
  CHECK(ParseGetFile("nonsense").error().code.name() == "json_invalid");
}

}  // namespace telegram_test
