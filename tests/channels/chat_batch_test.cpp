// The chat batch: what the gateway puts on the queue for one provider notification.
#include <catch2/catch.hpp>

#include "channels/chat/batch.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace chat_batch_test {

using namespace meldestelle;
using namespace meldestelle::chat;

namespace {

Batch Sample() {
  Batch b;
  b.channel = "whatsapp";
  b.received_at = "2026-11-27T10:00:00.000Z";
  ChatEvent photo;
  photo.channel = "whatsapp";
  photo.dedupe_key = "wamid.P";
  photo.message_id = "wamid.P";
  photo.account = "106540352242922";
  photo.sender = "493023125017";
  photo.sender_name = "Jürgen Müller";
  photo.timestamp = 1764250000;
  photo.type = MessageType::kImage;
  photo.text = "Schlagloch \"tief\" 💡";
  Media m;
  m.id = "1037543291543636";
  m.mime_type = "image/jpeg";
  m.sha256_hex = std::string(64, 'a');
  m.size = int64_t{5} << 32;
  photo.media.push_back(m);
  ChatEvent pin;
  pin.channel = "whatsapp";
  pin.dedupe_key = "wamid.L";
  pin.message_id = "wamid.L";
  pin.sender = "493023125017";
  pin.type = MessageType::kLocation;
  pin.location = ChatLocation{50.9375312, 6.9602786, 14.5, "Rathaus", "Markt 1"};
  ChatEvent status;
  status.kind = EventKind::kStatus;
  status.channel = "whatsapp";
  status.dedupe_key = "wamid.OUT:failed";
  status.sender = "";
  status.status = "failed";
  status.status_message_id = "wamid.OUT";
  status.error_code = 131047;
  b.items = {{photo, "4KQ7XRT2WNPA", "00000000-0000-4000-8000-000000000001"},
             {pin, "4KQ7XRT2WNPB", "00000000-0000-4000-8000-000000000002"},
             {status, "4KQ7XRT2WNPC", "00000000-0000-4000-8000-000000000003"}};
  b.raw = {"application/json", std::string("{\"raw\":\"\xc3\xbc\"}")};
  return b;
}

}  // namespace

TEST_CASE("a chat batch survives the queue unchanged", "[chat]") {
  Batch b = Sample();
  std::string body = EncodeBatch(b);
  REQUIRE(IsBatch(body));
  auto back = DecodeBatch(body);
  REQUIRE(back.ok());
  REQUIRE(back->items.size() == 3);
  CHECK(back->channel == "whatsapp");
  CHECK(back->raw.body == b.raw.body);
  const ChatEvent& p = back->items[0].event;
  CHECK(back->items[0].reference == "4KQ7XRT2WNPA");
  CHECK(back->items[0].report_id == "00000000-0000-4000-8000-000000000001");
  CHECK(p.type == MessageType::kImage);
  CHECK(p.text == "Schlagloch \"tief\" 💡");
  CHECK(p.sender_name == "Jürgen Müller");
  CHECK(p.account == "106540352242922");
  REQUIRE(p.media.size() == 1);
  CHECK(p.media[0].size == (int64_t{5} << 32));
  CHECK(p.media[0].sha256_hex == std::string(64, 'a'));
  const ChatEvent& l = back->items[1].event;
  REQUIRE(l.location.has_value());
  CHECK(l.location->lat == 50.9375312);  // exact: doubles round-trip
  CHECK(l.location->accuracy_m == 14.5);
  CHECK(l.location->name == "Rathaus");
  const ChatEvent& s = back->items[2].event;
  CHECK(s.kind == EventKind::kStatus);
  CHECK(s.error_code == 131047);
  CHECK(s.status_message_id == "wamid.OUT");
  CHECK(p.provider_type.empty());
}

TEST_CASE(
    "an unsupported message keeps the provider's name of it, and a batch without the name "
    "(a gateway before it) reads as none",
    "[chat]") {
  Batch b = Sample();
  b.items[0].event.type = MessageType::kUnsupported;
  b.items[0].event.provider_type = "reaction";
  auto back = DecodeBatch(EncodeBatch(b));
  REQUIRE(back.ok());
  CHECK(back->items[0].event.type == MessageType::kUnsupported);
  CHECK(back->items[0].event.provider_type == "reaction");
  CHECK(back->items[1].event.provider_type.empty());
  std::string body = EncodeBatch(b);
  auto at = body.find(R"("provider_type":"reaction",)");
  REQUIRE(at != std::string::npos);
  body.erase(at, std::string_view(R"("provider_type":"reaction",)").size());
  auto old = DecodeBatch(body);
  REQUIRE(old.ok());
  CHECK(old->items[0].event.type == MessageType::kUnsupported);
  CHECK(old->items[0].event.provider_type.empty());
}

TEST_CASE("a report envelope is not a chat batch, and broken batches are refused", "[chat]") {
  CHECK_FALSE(IsBatch(R"({"report":{}})"));
  CHECK_FALSE(DecodeBatch(R"({"report":{}})").ok());
  CHECK_FALSE(DecodeBatch("").ok());
  CHECK_FALSE(DecodeBatch(R"({"kind":"chat_batch")").ok());  // truncated
  std::string body = EncodeBatch(Sample());
  CHECK_FALSE(DecodeBatch(body.substr(0, body.size() / 2)).ok());
  auto wrong_type = DecodeBatch(
      R"({"kind":"chat_batch","channel":"telegram","received_at":"x","events":[{"kind":"message","channel":"telegram","dedupe_key":5}],"raw":{"content_type":"","body_base64":""}})");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().code.name() == "batch_invalid");
  auto bad_base64 = DecodeBatch(
      R"({"kind":"chat_batch","channel":"telegram","received_at":"x","events":[],"raw":{"content_type":"","body_base64":"!!"}})");
  CHECK_FALSE(bad_base64.ok());
}

TEST_CASE("a queue message whose kind is not a string is an error, not an exception", "[chat]") {
  // Found by fuzz/queue: j.value("kind", "") threw nlohmann's type_error out of DecodeBatch.
  for (const char* body : {R"({"kind":{"Ont+untatyp4": ""}})", R"({"kind":["chat_batch"]})",
                           R"({"kind":7})", R"({"kind":null})"}) {
    CAPTURE(body);
    auto b = DecodeBatch(body);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code.name() == "batch_invalid");
  }
}

}  // namespace chat_batch_test
