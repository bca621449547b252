// The speech-to-text service's answers (core/speech.hpp), good and broken.
#include "core/speech.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/errors.hpp"

using namespace meldestelle;

TEST_CASE("speech-to-text: the text from JSON or plain text, trimmed", "[speech]") {
  CHECK(ReadTranscript(200, R"({"text": " Laterne dunkel \n"})").value() == "Laterne dunkel");
  CHECK(ReadTranscript(200, R"({"text": "Lindenstraße 7", "language": "de"})").value() ==
        "Lindenstraße 7");
  CHECK(ReadTranscript(200, "Schlagloch vor Nummer 12\n").value() == "Schlagloch vor Nummer 12");
  CHECK(ReadTranscript(200, R"("Müll am Rhein")").value() == "Müll am Rhein");
  // A plain text that happens to parse as a JSON number is still the text.
  CHECK(ReadTranscript(200, "112").value() == "112");
  CHECK(ReadTranscript(200, "").value().empty());
  CHECK(ReadTranscript(200, R"({"text": ""})").value().empty());
}

TEST_CASE("speech-to-text: broken answers are no text, or an error that says if trying again helps",
          "[speech]") {
  // Not UTF-8, or with NUL: nothing usable heard, or the NUL dropped.
  CHECK(ReadTranscript(200,
                       "Stra\xdf"
                       "e")
            .value()
            .empty());
  CHECK(ReadTranscript(200, std::string("Lat\0erne", 8)).value() == "Laterne");
  CHECK(ReadTranscript(200, std::string(R"({"text": "a\u0000b"})")).value() == "ab");
  // JSON that is not the answer.
  for (const char* body :
       {R"({"error": "model not loaded"})", R"({"text": 42})", "[1, 2]", R"({"text": ["a"]})"}) {
    auto r = ReadTranscript(200, body);
    INFO(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errors::kResponseInvalid);
  }
  // Statuses: what may pass is kUnavailable, what will not is kResponseInvalid.
  for (long status : {429L, 500L, 502L, 503L}) {
    auto r = ReadTranscript(status, "busy");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errors::kUnavailable);
    CHECK(r.error().message.find(std::to_string(status)) != std::string::npos);
  }
  for (long status : {400L, 401L, 404L, 413L, 415L, 204L, 301L}) {
    auto r = ReadTranscript(status, R"({"text": "Laterne"})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errors::kResponseInvalid);
  }
}

TEST_CASE("speech-to-text: a service that is not there is worth trying again", "[speech]") {
  HttpClient http;
  // Port 9 on loopback (discard): nothing listens in these tests' machines.
  auto r =
      Transcribe(http, {"http://127.0.0.1:9/stt", std::chrono::seconds(2)}, "OggS", "audio/ogg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errors::kUnavailable);
  CHECK(r.error().message.find("127.0.0.1") == std::string::npos);
}
