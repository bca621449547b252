#include "channels/whatsapp/whatsapp.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "vector_files.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace whatsapp_test {

using namespace meldestelle;
using namespace meldestelle::whatsapp;
using chat::ChatEvent;
using chat::EventKind;
using chat::MessageType;

namespace {

// vectors/README.md, "Tokens and keys are test values".
constexpr std::string_view kAppSecret = "whatsapp-test-app-secret-0123456789";
constexpr std::string_view kVerifyToken = "stadt-meldungen-verify-7f3a";

std::string Body(const std::string& name) {
  return vector_files::Read("whatsapp/" + name + ".json");
}

std::vector<ChatEvent> Parse(std::string_view body) {
  auto r = ParseNotification(body);
  INFO(body);
  if (!r) {
    INFO(r.error().code << ": " << r.error().message);
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}

// The error of a notification that is refused, or of its first item that was left out.
Error ParseError(std::string_view body) {
  std::vector<Error> skipped;
  auto r = ParseNotification(body, &skipped);
  INFO(body);
  if (r.ok()) {
    REQUIRE_FALSE(skipped.empty());
    CHECK(r->empty());
    return skipped.front();
  }
  return r.error();
}

// One change with the given value object.
std::string Notification(const std::string& value) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[)"
         R"({"value":)" +
         value + R"(,"field":"messages"}]}]})";
}

// A value with one inbound message of `type`, whose type object is `object`.
std::string OneMessage(const std::string& type, const std::string& object,
                       const std::string& extra = "") {
  return Notification(
      R"({"messaging_product":"whatsapp",)"
      R"("contacts":[{"profile":{"name":"Ayşe"},"wa_id":"4915112345678"}],)"
      R"("messages":[{"from":"4915112345678","id":"wamid.T1","timestamp":"1741600000","type":")" +
      type + R"(",")" + type + R"(":)" + object + extra + "}]}");
}

// The signature check the vector's .headers file asks for, with the README's app secret.
SignatureCheck CheckVectorSignature(const std::string& name) {
  auto http = vector_files::ReadHeaders("whatsapp/" + name + ".headers");
  std::string body = Body(name);
  CHECK(http.Header("content-length") == std::to_string(body.size()));
  return VerifySignature(kAppSecret, body, http.Header("x-hub-signature-256"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Golden fixtures: every case of whatsapp/_expected.json.

TEST_CASE("whatsapp vectors: the handshake echoes the challenge only for the right token") {
  auto expected = vector_files::Expected("whatsapp", "01-verify-handshake");
  CHECK(expected.at("verdict") == "respond_challenge");
  // "200 text/plain '1158201444'"
  std::string response = expected.at("response");
  std::string want = response.substr(response.find('\'') + 1);
  want.pop_back();
  // The query string of the request line in the transcript.
  std::map<std::string, std::string> params;
  for (const auto& line : vector_files::ContentLines("whatsapp/01-verify-handshake.txt")) {
    if (line.rfind("GET ", 0) == 0) {
      std::string target = line.substr(4, line.rfind(' ') - 4);
      std::istringstream query(target.substr(target.find('?') + 1));
      std::string pair;
      while (std::getline(query, pair, '&')) {
        params[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
      }
    }
  }
  REQUIRE(params.size() == 3);
  auto echo = VerifyHandshake(params["hub.mode"], params["hub.verify_token"],
                              params["hub.challenge"], kVerifyToken);
  REQUIRE(echo);
  CHECK(*echo == want);
  // The transcript's negative case: hub.verify_token=wrong -> 403, no challenge.
  CHECK_FALSE(VerifyHandshake("subscribe", "wrong", params["hub.challenge"], kVerifyToken));
  CHECK_FALSE(VerifyHandshake("unsubscribe", kVerifyToken, "1", kVerifyToken));
  CHECK_FALSE(VerifyHandshake("subscribe", "", "1", ""));
  CHECK_FALSE(VerifyHandshake("subscribe", kVerifyToken, "", kVerifyToken));
  CHECK_FALSE(VerifyHandshake("subscribe", "stadt-meldungen-verify-7f3", "1", kVerifyToken));
}

TEST_CASE("whatsapp vectors: every webhook signature verdict matches _expected.json") {
  for (const auto& name : vector_files::ExpectedCases("whatsapp")) {
    if (name == "01-verify-handshake") {
      continue;  // a GET without a body
    }
    INFO(name);
    bool reject = vector_files::Expected("whatsapp", name).at("verdict") == "reject_auth";
    CHECK(CheckVectorSignature(name) == (reject ? SignatureCheck::kMismatch : SignatureCheck::kOk));
  }
}

TEST_CASE("whatsapp vectors: parsed events match _expected.json") {
  for (const auto& name : vector_files::ExpectedCases("whatsapp")) {
    auto expected = vector_files::Expected("whatsapp", name);
    std::string verdict = expected.at("verdict");
    if (name == "01-verify-handshake" || verdict == "reject_auth") {
      continue;
    }
    INFO(name);
    auto events = Parse(Body(name));
    REQUIRE(events.size() == 1);
    const ChatEvent& e = events[0];
    CHECK(e.channel == "whatsapp");
    CHECK(e.timestamp > 1741600000);
    if (verdict.rfind("ignore_status", 0) == 0) {
      // A receipt for our own acknowledgement: never a report, never acknowledged.
      CHECK(e.kind == EventKind::kStatus);
      CHECK(e.dedupe_key == e.status_message_id + ":" + e.status);
      CHECK(e.recipient == "493023125017");
      CHECK(e.error_code == expected.value("error_code", 0));
      CHECK(expected.value("ack", nlohmann::json()).is_null());
      continue;
    }
    CHECK(e.kind == EventKind::kMessage);
    CHECK(e.type != MessageType::kUnsupported);
    CHECK(e.dedupe_key == e.message_id);
    CHECK(e.sender == "493023125017");
    CHECK(e.sender_name == "Jürgen Müller");
    CHECK(e.account == "106540352242922");  // metadata.phone_number_id: we answer from it
    CHECK(IsValidUtf8(e.text));
    if (expected.contains("dedupe_key")) {
      CHECK(e.dedupe_key == expected["dedupe_key"].get<std::string>());
    }
    if (expected.contains("sender")) {
      CHECK(e.sender == expected["sender"].get<std::string>());
    }
    if (expected.contains("sender_name")) {
      CHECK(e.sender_name == expected["sender_name"].get<std::string>());
    }
    if (expected.contains("text")) {
      CHECK(e.text == expected["text"].get<std::string>());
    }
    if (expected.contains("media")) {
      REQUIRE(e.media.size() == expected["media"].size());
      for (size_t i = 0; i < e.media.size(); ++i) {
        const auto& m = expected["media"][i];
        CHECK(e.media[i].id == m.at("id").get<std::string>());
        CHECK(e.media[i].mime_type == m.at("mime_type").get<std::string>());
        if (m.contains("sha256_hex")) {
          CHECK(e.media[i].sha256_hex == m["sha256_hex"].get<std::string>());
        }
        CHECK(e.media[i].voice == m.value("voice", false));
      }
    } else {
      CHECK(e.media.empty());
    }
    if (expected.contains("location")) {
      REQUIRE(e.location);
      CHECK(e.type == MessageType::kLocation);
      CHECK(e.location->lat == expected["location"]["lat"].get<double>());
      CHECK(e.location->lon == expected["location"]["lon"].get<double>());
      CHECK(e.location->name.empty());
      CHECK(e.location->address.empty());
    }
    if (verdict == "duplicate") {
      // "06-duplicate-retry-of-02": same dedupe key as the original, so the store drops it.
      std::string original = name.substr(name.size() - 2);
      for (const auto& other : vector_files::ExpectedCases("whatsapp")) {
        if (other.rfind(original + "-", 0) == 0) {
          CHECK(Parse(Body(other))[0].dedupe_key == e.dedupe_key);
        }
      }
    }
  }
}

TEST_CASE("whatsapp vectors: the bad-signature body would parse, only the check refuses it") {
  CHECK(Parse(Body("11-bad-signature")).size() == 1);
  CHECK(VerifySignature("wrong-secret", Body("11-bad-signature"),
                        vector_files::ReadHeaders("whatsapp/11-bad-signature.headers")
                            .Header("x-hub-signature-256")) == SignatureCheck::kOk);
}

TEST_CASE("whatsapp vectors: image, text and voice types") {
  CHECK(Parse(Body("02-text-umlauts"))[0].type == MessageType::kText);
  auto image = Parse(Body("03-image-with-caption"))[0];
  CHECK(image.type == MessageType::kImage);
  CHECK(image.media[0].unique_id.empty());
  auto voice = Parse(Body("08-voice-note"))[0];
  CHECK(voice.type == MessageType::kAudio);
  CHECK(voice.text.empty());
  CHECK(voice.media[0].sha256_hex ==
        "0c6ae1d1b8c37e4b6a9f6e8b5d2c1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
  auto failed = Parse(Body("09-status-failed-24h-window"))[0];
  CHECK(failed.status == "failed");
  CHECK(failed.error_title == "Re-engagement message");
  auto delivered = Parse(Body("05-status-delivered-not-a-report"))[0];
  CHECK(delivered.status == "delivered");
  CHECK(delivered.timestamp == 1741600105);
}

TEST_CASE("whatsapp vectors: media lookup answer (12) and its link to the image and the JPEG") {
  std::string body;
  for (const auto& line :
       vector_files::ContentLines("whatsapp/12-media-retrieve-and-download.txt")) {
    if (line[0] == '{') {
      body = line;
    }
  }
  auto info = ParseMediaInfo(body);
  REQUIRE(info.ok());
  CHECK(info->url ==
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
        "?mid=1037543291543636&ext=1741600732&hash=ATu3jF0aN7nq0TestHash");
  CHECK(info->mime_type == "image/jpeg");
  REQUIRE(info->file_size);
  CHECK(*info->file_size == 334);  // a string in the answer
  // The lookup resolves the image of 03; its hash is the hash of the JPEG the README names.
  auto image = Parse(Body("03-image-with-caption"))[0];
  CHECK(info->sha256_hex == image.media[0].sha256_hex);
  std::string jpeg = vector_files::Read("webform/tiny-test.jpg");
  CHECK(static_cast<int64_t>(jpeg.size()) == *info->file_size);
  CHECK(Sha256Hex(jpeg) == info->sha256_hex);
}

TEST_CASE(
    "whatsapp vectors: the text acknowledgement is byte-identical to 13 and its answer parsed") {
  auto want =
      nlohmann::ordered_json::parse(vector_files::Read("whatsapp/13-send-text-reply.request.json"));
  auto http = vector_files::ReadHeaders("whatsapp/13-send-text-reply.headers");
  CHECK(http.request_line.rfind("POST /v21.0/106540352242922/messages ", 0) == 0);
  CHECK(http.Header("content-type") == "application/json");
  std::string built =
      BuildTextMessage(want["to"].get<std::string>(), want["text"]["body"].get<std::string>());
  CHECK(built == want.dump());

  auto sent =
      ParseSendResponse(200, vector_files::Read("whatsapp/13-send-text-reply.response.json"));
  REQUIRE(sent.ok());
  CHECK(sent->message_id == "wamid.HBgMNDkzMDIzMTI1MDE3FQIAERgSMzQ2QkY5N0NCRjRGRTc1MDk3AA==");
  CHECK(sent->error_code == 0);
  // The delivered receipt of vector 05 is for exactly this acknowledgement.
  CHECK(Parse(Body("05-status-delivered-not-a-report"))[0].status_message_id == sent->message_id);
}

TEST_CASE("whatsapp vectors: the template message is byte-identical to 14") {
  auto want = nlohmann::ordered_json::parse(
      vector_files::Read("whatsapp/14-send-template-outside-24h.request.json"));
  std::vector<std::string> params;
  for (const auto& p : want["template"]["components"][0]["parameters"]) {
    params.push_back(p["text"]);
  }
  CHECK(BuildTemplateMessage(
            want["to"].get<std::string>(), want["template"]["name"].get<std::string>(),
            want["template"]["language"]["code"].get<std::string>(), params) == want.dump());
}

TEST_CASE("whatsapp vectors: every file in the folder is used by a test above") {
  std::set<std::string> used = {"_expected.json",
                                "01-verify-handshake.txt",
                                "12-media-retrieve-and-download.txt",
                                "13-send-text-reply.headers",
                                "13-send-text-reply.request.json",
                                "13-send-text-reply.response.json",
                                "14-send-template-outside-24h.request.json"};
  for (const auto& name : vector_files::ExpectedCases("whatsapp")) {
    if (name != "01-verify-handshake") {
      used.insert(name + ".json");
      used.insert(name + ".headers");
    }
  }
  CHECK(vector_files::List("whatsapp") == used);
}

// ---------------------------------------------------------------------------------------------
// Signatures.

TEST_CASE("whatsapp signature: missing, mismatching, upper-case and malformed headers") {
  std::string body = Body("02-text-umlauts");
  std::string hex = HmacSha256Hex(kAppSecret, body);
  CHECK(VerifySignature(kAppSecret, body, "sha256=" + hex) == SignatureCheck::kOk);
  std::string upper = hex;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  CHECK(VerifySignature(kAppSecret, body, "sha256=" + upper) == SignatureCheck::kOk);
  CHECK(VerifySignature(kAppSecret, body, "SHA256=" + upper) == SignatureCheck::kOk);
  CHECK(VerifySignature(kAppSecret, body, " sha256=" + hex + " ") == SignatureCheck::kOk);
  CHECK(VerifySignature(kAppSecret, body, "") == SignatureCheck::kMissing);
  CHECK(VerifySignature(kAppSecret, body, "  ") == SignatureCheck::kMissing);
  CHECK(VerifySignature(kAppSecret, body + " ", "sha256=" + hex) == SignatureCheck::kMismatch);
  CHECK(VerifySignature(kAppSecret, body, "sha256=" + hex.substr(0, 63)) ==
        SignatureCheck::kMismatch);
  CHECK(VerifySignature(kAppSecret, body, hex) == SignatureCheck::kMismatch);
  CHECK(VerifySignature(kAppSecret, body, "sha1=41ae6175f820676c999ea89d36892c5271f10499") ==
        SignatureCheck::kMismatch);
  CHECK(VerifySignature("", body, "sha256=" + HmacSha256Hex("", body)) ==
        SignatureCheck::kMismatch);
}

// ---------------------------------------------------------------------------------------------
// Notifications of our own making: shapes the vectors do not show.

TEST_CASE("whatsapp: every entry, change, message and status is returned in order") {
  std::string body =
      R"({"object":"whatsapp_business_account","entry":[)"
      R"({"id":"1","changes":[)"
      R"({"field":"messages","value":{"contacts":[{"profile":{"name":"A"},"wa_id":"491"},)"
      R"({"profile":{"name":"B"},"wa_id":"492"}],"messages":[)"
      R"({"from":"491","id":"wamid.A1","timestamp":"1741600001","type":"text",)"
      R"("text":{"body":"eins"}},)"
      R"({"from":"492","id":"wamid.B1","timestamp":"1741600002","type":"image",)"
      R"("image":{"id":"m1"}}]}},)"
      R"({"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},)"
      R"({"field":"messages","value":{"statuses":[)"
      R"({"id":"wamid.OUT1","status":"sent","timestamp":"1741600003","recipient_id":"491"},)"
      R"({"id":"wamid.OUT1","status":"read","timestamp":"1741600004","recipient_id":"491"}]}}]},)"
      R"({"id":"2","changes":[{"field":"messages","value":{"messages":[)"
      R"({"from":"493","id":"wamid.C1","timestamp":"1741600005","type":"text",)"
      R"("text":{"body":"drei"}}],)"
      R"("statuses":[{"id":"wamid.OUT2","status":"delivered","timestamp":"1741600006"}]}}]}]})";
  auto events = Parse(body);
  REQUIRE(events.size() == 6);
  CHECK(events[0].dedupe_key == "wamid.A1");
  CHECK(events[0].sender_name == "A");
  CHECK(events[1].dedupe_key == "wamid.B1");
  CHECK(events[1].sender_name == "B");
  CHECK(events[1].type == MessageType::kImage);
  CHECK(events[2].dedupe_key == "wamid.OUT1:sent");
  CHECK(events[3].dedupe_key == "wamid.OUT1:read");
  CHECK(events[3].kind == EventKind::kStatus);
  CHECK(events[4].dedupe_key == "wamid.C1");
  CHECK(events[4].sender_name.empty());  // no contacts in that change
  CHECK(events[4].text == "drei");
  CHECK(events[5].status == "delivered");
  CHECK(events[5].recipient.empty());
  CHECK(events[5].timestamp == 1741600006);
}

TEST_CASE("whatsapp: only the field messages is read, and empty notifications are fine") {
  CHECK(Parse(R"({"object":"whatsapp_business_account","entry":[]})").empty());
  CHECK(
      Parse(R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]})").empty());
  // A foreign field's value is not looked at, even if it would not parse as ours.
  CHECK(Parse(R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[)"
              R"({"field":"message_template_status_update","value":[1,2]}]}]})")
            .empty());
  CHECK(Parse(Notification(R"({"messaging_product":"whatsapp","metadata":{}})")).empty());
}

TEST_CASE("whatsapp: statuses delivered and failed") {
  auto events = Parse(Notification(
      R"({"statuses":[{"id":"wamid.OUT","status":"delivered","timestamp":"1741600105",)"
      R"("recipient_id":"493023125017"},)"
      R"({"id":"wamid.OUT","status":"failed","timestamp":"1741600106",)"
      R"("recipient_id":"493023125017","errors":[{"code":131047,"title":"Re-engagement message"},)"
      R"({"code":131026,"title":"second"}]},)"
      R"({"id":"wamid.OUT","status":"deleted","timestamp":"1"}]})"));
  REQUIRE(events.size() == 3);
  CHECK(events[0].kind == EventKind::kStatus);
  CHECK(events[0].status == "delivered");
  CHECK(events[0].status_message_id == "wamid.OUT");
  CHECK(events[0].error_code == 0);
  CHECK(events[0].message_id.empty());
  CHECK(events[1].status == "failed");
  CHECK(events[1].error_code == 131047);
  CHECK(events[1].error_title == "Re-engagement message");
  CHECK(events[1].dedupe_key == "wamid.OUT:failed");
  CHECK(events[2].status == "deleted");  // passed through
}

TEST_CASE("whatsapp: interactive button and list replies") {
  auto button = Parse(OneMessage(
      "interactive",
      R"({"type":"button_reply","button_reply":{"id":"confirm-yes","title":"Ja, erledigt"}})",
      R"(,"context":{"from":"4922123125000","id":"wamid.OURS"})"))[0];
  CHECK(button.type == MessageType::kInteractive);
  CHECK(button.interactive_id == "confirm-yes");
  CHECK(button.interactive_title == "Ja, erledigt");
  CHECK(button.text == "Ja, erledigt");
  CHECK(button.reply_to == "wamid.OURS");
  CHECK(button.sender_name == "Ayşe");
  auto list = Parse(OneMessage(
      "interactive",
      R"({"type":"list_reply","list_reply":{"id":"cat-STR","title":"Straße","description":"x"}})"))
      [0];
  CHECK(list.type == MessageType::kInteractive);
  CHECK(list.interactive_id == "cat-STR");
  CHECK(list.text == "Straße");
  auto flow = Parse(OneMessage("interactive", R"({"type":"nfm_reply","nfm_reply":{}})"))[0];
  CHECK(flow.type == MessageType::kUnsupported);
  auto quick = Parse(OneMessage("button", R"({"payload":"STOP","text":"Abmelden"})"))[0];
  CHECK(quick.type == MessageType::kInteractive);
  CHECK(quick.interactive_id == "STOP");
  CHECK(quick.text == "Abmelden");
}

TEST_CASE("whatsapp: a photo sent as a document stays a document with its image type") {
  auto e = Parse(OneMessage(
      "document", R"({"caption":"Foto","filename":"IMG_2041.JPG","mime_type":"image\/jpeg",)"
                  R"("sha256":"dfVIv0y+KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8=","id":"9988"})"))[0];
  CHECK(e.type == MessageType::kDocument);
  REQUIRE(e.media.size() == 1);
  CHECK(e.media[0].id == "9988");
  CHECK(e.media[0].filename == "IMG_2041.JPG");
  CHECK(e.media[0].mime_type == "image/jpeg");
  CHECK(e.text == "Foto");
  // base64 of the same digest as 03's hex
  CHECK(e.media[0].sha256_hex ==
        "75f548bf4cbe29d5ed3e7812b7896c6e4d93b373d3313421e2688a3c3126fe8f");
}

TEST_CASE("whatsapp: sha256 in hex or base64 is normalised, anything else dropped") {
  const std::string hex = "75f548bf4cbe29d5ed3e7812b7896c6e4d93b373d3313421e2688a3c3126fe8f";
  std::string upper = hex;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  CHECK(NormalizeSha256(hex) == hex);
  CHECK(NormalizeSha256(upper) == hex);
  CHECK(NormalizeSha256("dfVIv0y+KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8=") == hex);
  CHECK(NormalizeSha256("dfVIv0y+KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8") == hex);
  CHECK(NormalizeSha256("dfVIv0y-KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm_o8") == hex);
  CHECK(NormalizeSha256("").empty());
  CHECK(NormalizeSha256(hex.substr(1)).empty());
  CHECK(NormalizeSha256("zz" + hex.substr(2)).empty());
  CHECK(NormalizeSha256("dfVIv0y+KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8==").empty());
  CHECK(NormalizeSha256("dfVIv0y KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8=").empty());
  CHECK(NormalizeSha256(Base64Encode("sixteen bytes!!!")).empty());
  auto e = Parse(OneMessage("image", R"({"id":"1","sha256":"not a hash"})"))[0];
  CHECK(e.media[0].sha256_hex.empty());
}

TEST_CASE("whatsapp: unsupported kinds keep what there is") {
  auto video = Parse(OneMessage(
      "video",
      R"({"caption":"Wasserrohrbruch","mime_type":"video\/mp4","sha256":"x","id":"555"})"))[0];
  CHECK(video.type == MessageType::kUnsupported);
  REQUIRE(video.media.size() == 1);
  CHECK(video.media[0].id == "555");
  CHECK(video.text == "Wasserrohrbruch");
  auto sticker =
      Parse(OneMessage("sticker", R"({"mime_type":"image\/webp","id":"777","animated":false})"))[0];
  CHECK(sticker.type == MessageType::kUnsupported);
  CHECK(sticker.media[0].id == "777");
  auto reaction =
      Parse(OneMessage("reaction", R"({"message_id":"wamid.OURS","emoji":"\ud83d\udc4d"})"))[0];
  CHECK(reaction.type == MessageType::kUnsupported);
  CHECK(reaction.provider_type == "reaction");
  CHECK(reaction.media.empty());
  auto unknown = Parse(OneMessage("hologram", R"({"id":"1"})"))[0];
  CHECK(unknown.type == MessageType::kUnsupported);
  CHECK(unknown.provider_type == "hologram");
  CHECK(unknown.dedupe_key == "wamid.T1");
  CHECK(video.provider_type == "video");
  // A first contact comes without an object of its name; a changed number with one.
  auto welcome = Parse(Notification(R"({"messages":[{"from":"4915","id":"wamid.W",)"
                                    R"("timestamp":"1741600000","type":"request_welcome"}]})"))[0];
  CHECK(welcome.type == MessageType::kUnsupported);
  CHECK(welcome.provider_type == "request_welcome");
  CHECK(welcome.sender == "4915");
  auto changed = Parse(OneMessage(
      "system", R"({"body":"changed","new_wa_id":"4916","type":"user_changed_number"})"))[0];
  CHECK(changed.type == MessageType::kUnsupported);
  CHECK(changed.provider_type == "system");
  // A type the parser takes is no provider type of an unsupported one.
  CHECK(Parse(OneMessage("text", R"({"body":"?"})"))[0].provider_type.empty());
  // "unsupported" comes without an object of that name, with errors instead.
  auto unsupported =
      Parse(Notification(R"({"messages":[{"from":"4915","id":"wamid.U","timestamp":"1741600000",)"
                         R"("errors":[{"code":131051,"title":"Message type unknown",)"
                         R"("error_data":{"details":"Message type is currently not supported"}}],)"
                         R"("type":"unsupported"}]})"))[0];
  CHECK(unsupported.type == MessageType::kUnsupported);
  CHECK(unsupported.provider_type == "unsupported");
  CHECK(unsupported.error_code == 131051);
  CHECK(unsupported.error_title == "Message type unknown");
  // errors on a message of a known type make it unsupported too.
  auto broken = Parse(OneMessage("text", R"({"body":"?"})", R"(,"errors":[{"code":131000}])"))[0];
  CHECK(broken.type == MessageType::kUnsupported);
  CHECK(broken.provider_type == "text");
  CHECK(broken.error_code == 131000);
  CHECK(Parse(OneMessage("text", R"({"body":"?"})", R"(,"errors":[{}])"))[0].type ==
        MessageType::kUnsupported);
  CHECK(Parse(OneMessage("text", R"({"body":"?"})", R"(,"errors":[])"))[0].type ==
        MessageType::kText);
}

TEST_CASE("whatsapp: a named place keeps name and address, coordinates as doubles") {
  auto e = Parse(OneMessage(
      "location",
      R"({"latitude":50.9412818,"longitude":6.9582681,"name":"K\u00f6lner Dom",)"
      R"("address":"Domkloster 4, 50667 K\u00f6ln","url":"https:\/\/www.koelner-dom.de"})"))[0];
  CHECK(e.type == MessageType::kLocation);
  REQUIRE(e.location);
  CHECK(e.location->lat == 50.9412818);
  CHECK(e.location->lon == 6.9582681);
  CHECK(e.location->name == "Kölner Dom");
  CHECK(e.location->address == "Domkloster 4, 50667 Köln");
  CHECK_FALSE(e.location->accuracy_m);
  auto integer = Parse(OneMessage("location", R"({"latitude":51,"longitude":-7})"))[0];
  CHECK(integer.location->lat == 51.0);
  CHECK(integer.location->lon == -7.0);
  CHECK(ParseError(OneMessage("location", R"({"latitude":91,"longitude":7})")).code.name() ==
        "field_value_invalid");
  CHECK(ParseError(OneMessage("location", R"({"latitude":"50.9","longitude":7})")).code.name() ==
        "field_type_invalid");
  CHECK(ParseError(OneMessage("location", R"({"longitude":7})")).message ==
        "entry[0].changes[0].value.messages[0].location.latitude: missing");
}

TEST_CASE("whatsapp: escapes are decoded: surrogate pairs, escaped slashes and umlauts") {
  auto e = Parse(OneMessage(
      "text", R"({"body":"Ampel \ud83d\udea6 defekt \u2013 siehe https:\/\/stadt.example\/a\/b )"
              R"(\u00c4\u00d6\u00dc \ud83c\uddf3\ud83c\uddf1"})"))[0];
  CHECK(e.text == "Ampel 🚦 defekt – siehe https://stadt.example/a/b ÄÖÜ 🇳🇱");
  CHECK(IsValidUtf8(e.text));
  // Upper-case hex digits in escapes are equally valid JSON.
  CHECK(Parse(OneMessage("text", R"({"body":"\uD83D\uDCA1"})"))[0].text == "💡");
  // A lone surrogate is not a character: the JSON is refused.
  CHECK(ParseError(OneMessage("text", R"({"body":"\ud83d."})")).code.name() == "json_invalid");
  CHECK(ParseError(OneMessage("text", R"({"body":"\udca1"})")).code.name() == "json_invalid");
}

TEST_CASE("whatsapp: optional fields may be missing") {
  auto e = Parse(Notification(
      R"({"messages":[{"from":"4915","id":"wamid.M","type":"image","image":{"id":"42"}}]})"))[0];
  CHECK(e.type == MessageType::kImage);
  CHECK(e.timestamp == 0);
  CHECK(e.sender_name.empty());
  CHECK(e.text.empty());
  CHECK(e.media[0].mime_type.empty());
  CHECK(e.media[0].sha256_hex.empty());
  CHECK(e.reply_to.empty());
  auto t = Parse(OneMessage("text", "{}", R"(,"context":{"id":"wamid.PREV"})"))[0];
  CHECK(t.text.empty());
  CHECK(t.reply_to == "wamid.PREV");
  // The business number's id is digits, or none: it becomes a path in the reply's URL.
  auto account = [](const std::string& id) {
    return Parse(Notification(R"({"metadata":{"phone_number_id":")" + id +
                              R"("},"messages":[{"from":"4915","id":"wamid.A","type":"text",)"
                              R"("text":{"body":"x"}}]})"))[0]
        .account;
  };
  CHECK(account("106540352242922") == "106540352242922");
  CHECK(account("../../../x?y=1#").empty());
  CHECK(account("1065/messages").empty());
}

TEST_CASE("whatsapp: broken, truncated, empty and non-UTF-8 bodies are refused") {
  std::string good = Body("02-text-umlauts");
  CHECK(ParseError("").code.name() == "body_empty");
  CHECK(ParseError(" \r\n").code.name() == "body_empty");
  CHECK(ParseError(good.substr(0, good.size() / 2)).code.name() == "json_invalid");
  CHECK(ParseError(good.substr(0, good.size() - 1)).code.name() == "json_invalid");
  CHECK(ParseError("{\"object\":").code.name() == "json_invalid");
  CHECK(ParseError("[]").code.name() == "json_invalid");
  CHECK(ParseError("null").code.name() == "json_invalid");
  // nlohmann throws out_of_range (not parse_error) for this one.
  CHECK(ParseError(OneMessage("location", R"({"latitude":1e400,"longitude":7})")).code.name() ==
        "json_invalid");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(ParseError(R"({"object":"whatsapp_business_account","entry":)" + deep + "}").code.name() ==
        "field_type_invalid");
  CHECK_THAT(ParseError("{\"object\" \"x\"}").message, Catch::Contains("not valid JSON"));
  // \xC3\x28 is a lead byte followed by '(' -- nlohmann alone refuses it inside a string, too.
  std::string bad = OneMessage("text",
                               "{\"body\":\"Stra\xC3\x28"
                               "e\"}");
  CHECK_FALSE(nlohmann::json::accept(bad));
  CHECK(ParseError(bad).code.name() == "invalid_utf8");
  CHECK(ParseError(OneMessage("text", "{\"body\":\"\xFF\"}")).code.name() == "invalid_utf8");
  // Overlong encoding of '/'.
  CHECK(ParseError(OneMessage("text", "{\"body\":\"\xC0\xAF\"}")).code.name() == "invalid_utf8");
}

TEST_CASE("whatsapp: wrong types and missing required fields name the path") {
  CHECK(ParseError(R"({"object":"page","entry":[]})").code.name() == "object_unexpected");
  CHECK(ParseError(R"({"object":"instagram"})").message ==
        "object: expected \"whatsapp_business_account\", got \"instagram\"");
  CHECK(ParseError(R"({"entry":[]})").message == "object: missing");
  CHECK(ParseError(R"({"object":"whatsapp_business_account"})").message == "entry: missing");
  CHECK(ParseError(R"({"object":"whatsapp_business_account","entry":{}})").message ==
        "entry: expected an array, got object");
  CHECK(ParseError(R"({"object":"whatsapp_business_account","entry":[7]})").message ==
        "entry[0]: expected an object, got number");
  CHECK(ParseError(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"value":{}}]}]})")
            .message == "entry[0].changes[0].field: missing");
  CHECK(ParseError(Notification(R"({"messages":{}})")).message ==
        "entry[0].changes[0].value.messages: expected an array, got object");
  auto missing_from = ParseError(
      Notification(R"({"messages":[{"id":"wamid.X","type":"text","text":{"body":"a"}}]})"));
  CHECK(missing_from.code.name() == "field_missing");
  CHECK(missing_from.message == "entry[0].changes[0].value.messages[0].from: missing");
  auto numeric_from = ParseError(Notification(
      R"({"messages":[{"from":4915,"id":"wamid.X","type":"text","text":{"body":"a"}}]})"));
  CHECK(numeric_from.code.name() == "field_type_invalid");
  CHECK(numeric_from.message ==
        "entry[0].changes[0].value.messages[0].from: expected a string, got number");
  CHECK(
      ParseError(Notification(R"({"messages":[{"from":"1","type":"text","text":{}}]})")).message ==
      "entry[0].changes[0].value.messages[0].id: missing");
  CHECK(ParseError(Notification(R"({"messages":[{"from":"1","id":"","type":"text"}]})")).message ==
        "entry[0].changes[0].value.messages[0].id: must not be empty");
  CHECK(ParseError(OneMessage("text", R"({"body":5})")).code.name() == "field_type_invalid");
  CHECK(ParseError(OneMessage("image", R"({"caption":"no id"})")).message ==
        "entry[0].changes[0].value.messages[0].image.id: missing");
  CHECK(ParseError(OneMessage("text", R"("just a string")")).code.name() == "field_type_invalid");
  CHECK(ParseError(OneMessage("audio", R"({"id":"1","voice":"yes"})")).code.name() ==
        "field_type_invalid");
  CHECK(ParseError(Notification(R"({"messages":[{"from":"1","id":"w","timestamp":"17416O0000",)"
                                R"("type":"text","text":{"body":"a"}}]})"))
            .code.name() == "field_value_invalid");
  CHECK(ParseError(Notification(R"({"statuses":[{"id":"w","timestamp":"1"}]})")).message ==
        "entry[0].changes[0].value.statuses[0].status: missing");
  CHECK(ParseError(
            Notification(R"({"statuses":[{"id":"w","status":"failed","errors":[{"code":"x"}]}]})"))
            .message ==
        "entry[0].changes[0].value.statuses[0].errors[0].code: expected an "
        "integer, got string");
  // One bad message is left out, the others are taken: Meta would send the same notification
  // again and again, and the good ones would be lost with it.
  std::vector<Error> skipped;
  auto mixed = ParseNotification(
      Notification(R"({"messages":[{"from":"1","id":"a","type":"text","text":{"body":"gut"}},)"
                   R"({"from":2,"id":"b","type":"text","text":{}},)"
                   R"({"from":"3","id":"c","type":"location","location":{"latitude":"x"}}]})"),
      &skipped);
  REQUIRE(mixed.ok());
  REQUIRE(mixed->size() == 1);
  CHECK((*mixed)[0].message_id == "a");
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].message ==
        "entry[0].changes[0].value.messages[1].from: expected a string, got number");
  CHECK(skipped[1].code.name() == "field_type_invalid");
  // None readable: nothing taken, the first one's error among those left out (answered 200:
  // Meta would send it again for days, and it never becomes readable).
  CHECK(ParseError(Notification(R"({"messages":[{"from":2,"id":"b","type":"text","text":{}},)"
                                R"({"from":"1","type":"text","text":{}}]})"))
            .message ==
        "entry[0].changes[0].value.messages[0].from: expected a string, got number");
  // A timestamp given as a number is read as well.
  CHECK(Parse(Notification(R"({"messages":[{"from":"1","id":"a","timestamp":1741600000,)"
                           R"("type":"text","text":{}}]})"))[0]
            .timestamp == 1741600000);
}

// ---------------------------------------------------------------------------------------------
// Sending.

TEST_CASE("whatsapp send: text with a reply context, cut at 4096 characters") {
  auto j = nlohmann::json::parse(BuildTextMessage("493023125017", "Danke!", "wamid.CITIZEN"));
  CHECK(j["context"]["message_id"] == "wamid.CITIZEN");
  CHECK(j["text"]["body"] == "Danke!");
  CHECK(j["text"]["preview_url"] == false);
  CHECK_FALSE(nlohmann::json::parse(BuildTextMessage("1", "x")).contains("context"));

  std::string long_text;
  for (int i = 0; i < 5000; ++i) {
    long_text += "ä";
  }
  std::string body = nlohmann::json::parse(BuildTextMessage("1", long_text))["text"]["body"];
  CHECK(Utf8Length(body) == 4096);
  CHECK(body.size() == 8192);
  std::string emoji = std::string(4095, 'a') + "💡💡";
  body = nlohmann::json::parse(BuildTextMessage("1", emoji))["text"]["body"];
  CHECK(body == std::string(4095, 'a') + "💡");
  // Quotes, control characters and invalid bytes from a caller never break the JSON.
  auto odd = nlohmann::json::parse(BuildTextMessage("1", "\"a\"\n\\ \xFF"));
  CHECK(odd["text"]["body"] == "\"a\"\n\\ \xEF\xBF\xBD");
}

TEST_CASE("whatsapp: a user with a username whose number we may not see (BSUID, 2026)") {
  // No "from", no wa_id: the sender is the business-scoped user id, named as the contact's.
  auto e = Parse(Notification(
      R"({"messaging_product":"whatsapp",)"
      R"("contacts":[{"profile":{"name":"Kim","username":"@kim"},"user_id":"DE.1349120865530274"}],)"
      R"("messages":[{"from_user_id":"DE.1349120865530274","id":"wamid.B1",)"
      R"("timestamp":"1741600000","type":"text","text":{"body":"Laterne dunkel"}}]})"))[0];
  CHECK(e.sender == "DE.1349120865530274");
  CHECK(e.sender_name == "Kim");
  CHECK(e.text == "Laterne dunkel");
  // Without from_user_id either: the one contact's user id.
  auto only_contact = Parse(
      Notification(R"({"messaging_product":"whatsapp",)"
                   R"("contacts":[{"profile":{"name":"Kim"},"user_id":"DE.1349120865530274"}],)"
                   R"("messages":[{"id":"wamid.B2","timestamp":"1741600000","type":"text",)"
                   R"("text":{"body":"Noch etwas"}}]})"))[0];
  CHECK(only_contact.sender == "DE.1349120865530274");
  // A number still wins where both are there.
  auto both = Parse(Notification(
      R"({"messaging_product":"whatsapp",)"
      R"("contacts":[{"profile":{"name":"Ayşe"},"wa_id":"4915112345678","user_id":"DE.77"}],)"
      R"("messages":[{"from":"4915112345678","from_user_id":"DE.77","id":"wamid.B3",)"
      R"("timestamp":"1741600000","type":"text","text":{"body":"x"}}]})"))[0];
  CHECK(both.sender == "4915112345678");
  CHECK(both.sender_name == "Ayşe");
  // Replies to such a user go to "recipient", to a number to "to".
  auto to_id = nlohmann::json::parse(BuildTextMessage("DE.1349120865530274", "Danke"));
  CHECK(to_id["recipient"] == "DE.1349120865530274");
  CHECK_FALSE(to_id.contains("to"));
  auto to_number = nlohmann::json::parse(BuildTemplateMessage("4915", "status", "de", {"x"}));
  CHECK(to_number["to"] == "4915");
  CHECK_FALSE(to_number.contains("recipient"));
}

TEST_CASE("whatsapp send: a template without parameters has no components") {
  auto j = nlohmann::json::parse(BuildTemplateMessage("4915", "hello_world", "en_US", {}));
  CHECK(j["template"]["name"] == "hello_world");
  CHECK(j["template"]["language"]["code"] == "en_US");
  CHECK_FALSE(j["template"].contains("components"));
}

TEST_CASE("whatsapp send: template parameters are made ones Meta takes") {
  // A staff note with a blank line and an indented list: no line break, tab or run of spaces.
  CHECK(TemplateParameter("Bitte prüfen:\r\n\r\n     - Mast 4\n\t- Mast 5  ") ==
        "Bitte prüfen: - Mast 4 - Mast 5");
  CHECK(TemplateParameter("") == "–");
  CHECK(TemplateParameter(" \n\t ") == "–");
  std::string longer;
  for (int i = 0; i < 1000; ++i)
    longer += "ä";
  const std::string cut = TemplateParameter(longer);
  CHECK(Utf8Length(cut) == 800);
  CHECK(IsValidUtf8(cut));
  auto j = nlohmann::json::parse(
      BuildTemplateMessage("4915", "status", "de", {"2SMV-4TAE-SCE3", "eins\n\nzwei", ""}));
  auto params = j["template"]["components"][0]["parameters"];
  CHECK(params[0]["text"] == "2SMV-4TAE-SCE3");
  CHECK(params[1]["text"] == "eins zwei");
  CHECK(params[2]["text"] == "–");
}

TEST_CASE("whatsapp send: Graph errors are permanent or temporary") {
  auto error = [](int status, const std::string& body) {
    auto r = ParseSendResponse(status, body);
    REQUIRE(r.ok());
    CHECK(r->message_id.empty());
    return std::move(r).value();
  };
  auto not_allowed = error(
      400,
      R"({"error":{"message":"(#131030) Recipient phone number not in allowed list",)"
      R"("type":"OAuthException","code":131030,"error_data":{"messaging_product":"whatsapp",)"
      R"("details":"Recipient phone number not in allowed list: add it"},"fbtrace_id":"Az"}})");
  CHECK(not_allowed.error_code == 131030);
  CHECK(not_allowed.permanent);
  CHECK_THAT(not_allowed.error_message, Catch::StartsWith("(#131030) Recipient phone number"));
  CHECK_THAT(not_allowed.error_message, Catch::Contains("add it"));
  auto window = error(400, R"({"error":{"message":"Re-engagement message","code":131047}})");
  CHECK(window.permanent);
  CHECK(window.error_code == 131047);
  CHECK_FALSE(error(429, R"({"error":{"message":"Too many","code":130429}})").permanent);
  CHECK_FALSE(error(400, R"({"error":{"message":"Rate limit hit","code":130429}})").permanent);
  CHECK_FALSE(error(400, R"({"error":{"message":"Spam rate limit","code":131056}})").permanent);
  CHECK_FALSE(error(400, R"({"error":{"message":"Throttled","code":80007}})").permanent);
  CHECK_FALSE(
      error(403, R"({"error":{"message":"Application request limit","code":4}})").permanent);
  // A refused token is the town's to replace, not the message's fault: tried again, later.
  auto token = error(401, R"({"error":{"message":"Invalid OAuth access token","code":190}})");
  CHECK_FALSE(token.permanent);
  CHECK(token.token_refused);
  auto expired = error(400, R"({"error":{"message":"Session has expired","code":190}})");
  CHECK_FALSE(expired.permanent);
  CHECK(expired.token_refused);
  CHECK(error(403, R"({"error":{"message":"Permission denied","code":200}})").token_refused);
  CHECK_FALSE(error(400, R"({"error":{"message":"Spam rate limit","code":131048}})").permanent);
  CHECK_FALSE(window.token_refused);
  CHECK_FALSE(not_allowed.token_refused);
  CHECK_FALSE(error(400, "<html>Bad Request</html>").token_refused);
  CHECK(error(400, "<html>Bad Request</html>").permanent);
  auto server = error(500, R"({"error":{"message":"Something went wrong","code":131000}})");
  CHECK_FALSE(server.permanent);
  CHECK(server.error_code == 131000);
  auto proxy = error(502, "<html>Bad Gateway</html>");
  CHECK_FALSE(proxy.permanent);
  CHECK(proxy.error_code == 0);
  CHECK(proxy.error_message == "HTTP 502");
  CHECK(error(400, "").permanent);
  CHECK(error(400, R"({"error":"text"})").error_message == "HTTP 400");
}

TEST_CASE("whatsapp send: a 2xx answer must carry the wamid") {
  CHECK(ParseSendResponse(200, "").error().code.name() == "response_invalid");
  CHECK(ParseSendResponse(200, "{\"messages\":[{\"id\":").error().code.name() ==
        "response_invalid");
  CHECK(ParseSendResponse(200, R"({"messages":[]})").error().code.name() == "response_invalid");
  CHECK(ParseSendResponse(200, R"({"messages":[{"id":5}]})").error().message ==
        "messages[0].id: expected a string, got number");
  auto accepted =
      ParseSendResponse(200, R"({"messaging_product":"whatsapp",)"
                             R"("messages":[{"id":"wamid.X","message_status":"accepted"}]})");
  REQUIRE(accepted.ok());
  CHECK(accepted->message_id == "wamid.X");
}

TEST_CASE("whatsapp media: sizes as numbers, errors and plain-http URLs") {
  auto info = ParseMediaInfo(
      R"({"url":"https://lookaside.example/x","mime_type":"audio/ogg",)"
      R"("sha256":"dfVIv0y+KdXtPngSt4lsbk2Ts3PTMTQh4miKPDEm/o8=","file_size":3000000000})");
  REQUIRE(info.ok());
  CHECK(*info->file_size == 3000000000LL);
  CHECK(info->sha256_hex == "75f548bf4cbe29d5ed3e7812b7896c6e4d93b373d3313421e2688a3c3126fe8f");
  auto no_size = ParseMediaInfo(R"({"url":"https://lookaside.example/x"})");
  REQUIRE(no_size.ok());
  CHECK_FALSE(no_size->file_size);
  CHECK(ParseMediaInfo(R"({"url":"http://127.0.0.1:8/x"})", "http://127.0.0.1:8").ok());
  CHECK_FALSE(ParseMediaInfo(R"({"url":"http://127.0.0.1:80/x"})", "http://127.0.0.1:8").ok());
  CHECK(ParseMediaInfo(R"({"url":"http://lookaside.example/x"})").error().code.name() ==
        "field_value_invalid");
  CHECK(ParseMediaInfo(R"({"url":"https://x","file_size":"-3"})").error().code.name() ==
        "field_value_invalid");
  CHECK(ParseMediaInfo(R"({"url":"https://x","file_size":-3})").error().code.name() ==
        "field_value_invalid");
  CHECK(ParseMediaInfo(R"({"mime_type":"image/jpeg"})").error().message == "url: missing");
  auto expired = ParseMediaInfo(
      R"({"error":{"message":"Unsupported get request. Object with ID '1' does not exist",)"
      R"("type":"GraphMethodException","code":100}})");
  CHECK(expired.error().code.name() == "graph_error");
  CHECK_THAT(expired.error().message, Catch::Contains("does not exist"));
  CHECK(ParseMediaInfo("").error().code.name() == "body_empty");
}

}  // namespace whatsapp_test
