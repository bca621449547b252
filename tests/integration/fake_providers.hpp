#pragma once

// Local stand-ins for the messenger providers' APIs, started by the tests: Meta's Graph API
// (media lookup and download with a bearer token, POST /{phone-number-id}/messages) and the
// Telegram Bot API (getFile, file download, sendMessage). They serve media the test registered
// and record every message sent, so a test can assert what the citizen saw in the chat.

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace meldestelle::testing {

// The WhatsApp business number the tests receive on (its phone_number_id).
inline constexpr const char* kPhoneNumberId = "106540352242922";
// One WhatsApp notification holding `messages` from `from`, as Meta sends it (non-ASCII escaped
// as \uXXXX, like Meta).
std::string WhatsAppNotification(const std::string& from, const nlohmann::json& messages);
// A WhatsApp text message object from `from` with message id `id`.
nlohmann::json WaText(const std::string& from, const std::string& id, const std::string& text);

// An httplib server on a free loopback port, serving from its own thread between Start() and its
// destruction. Declare it as the last member of a stand-in, so that it stops before the members
// its handlers use are gone.
class LocalServer {
 public:
  LocalServer() = default;
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  ~LocalServer();
  httplib::Server& server() { return server_; }
  // Binds (the test fails if it cannot) and serves; connections made before the loop runs wait
  // in the backlog.
  void Start();
  int port() const { return port_; }
  std::string Url(const std::string& path) const;  // http://127.0.0.1:PORT<path>

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class FakeProviders {
 public:
  static constexpr const char* kWhatsAppToken = "wa-access-token-for-tests";
  static constexpr const char* kTelegramToken = "123456:telegram-bot-token-for-tests";
  static constexpr const char* kTwilioSid = "AC3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c";
  static constexpr const char* kTwilioToken = "0123456789abcdef0123456789abcdef";
  static constexpr const char* kSmsFrom = "+4922123125000";
  static constexpr const char* kTranscriptSecret = "call-centre-secret-for-tests";

  FakeProviders();

  int port() const { return http_.port(); }
  std::string whatsapp_base() const;  // http://127.0.0.1:PORT/v21.0
  std::string telegram_base() const;  // http://127.0.0.1:PORT
  // Environment for the stack: api bases and tokens (messengers and phone; with `stt`, the
  // speech-to-text stand-in's URL too).
  std::vector<std::string> Env(bool stt = false) const;
  std::string twilio_base() const;  // http://127.0.0.1:PORT (the REST API root)
  std::string RecordingUrl(const std::string& recording_sid) const;  // as Twilio sends it
  // Phone: a recording served as <RecordingUrl>.wav (Basic auth with sid and token).
  void AddRecording(const std::string& recording_sid, std::string wav);
  // Speech-to-text: the text it answers, or (fail = true) HTTP 500.
  void SetStt(std::string text, bool fail = false);
  int stt_requests() const;
  std::vector<std::string> stt_types() const;  // each request's Content-Type
  int recording_requests() const;
  // The recordings deleted through the REST API (DELETE …/Recordings/{sid}.json).
  std::vector<std::string> deleted_recordings() const;

  // Registers media: a WhatsApp media id, or a Telegram file_id (served as photos/<id>.jpg).
  void AddMedia(const std::string& id, std::string bytes);

  struct Sent {
    std::string channel;  // whatsapp | telegram
    std::string path;
    nlohmann::json body;
  };
  std::vector<Sent> sent() const;
  // Waits until at least `n` messages were sent (condition variable, with a deadline).
  bool WaitForSent(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The next `n` sends are answered with this status and body (e.g. 500, or WhatsApp 131047).
  void FailNextSends(int n, int status, std::string body);
  int media_requests() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> media_;  // guarded by mu_
  std::vector<Sent> sent_;                    // guarded by mu_
  int fail_sends_ = 0;                        // guarded by mu_
  int fail_status_ = 500;
  std::string fail_body_;
  int next_id_ = 1000;
  int media_requests_ = 0;
  std::map<std::string, std::string> recordings_;  // guarded by mu_
  std::string stt_text_;
  bool stt_fail_ = false;
  int stt_requests_ = 0;
  std::vector<std::string> stt_types_;
  int recording_requests_ = 0;
  std::vector<std::string> deleted_recordings_;
  LocalServer http_;  // last: stops first
};

// A department's own ticket system receiving our webhook (docs/departments.md, "Webhook"): it
// records every POST to /hook (headers and body) and answers `status` (200 unless told) after
// the first `fail_first` requests, which get `fail_status` (500 unless told).
class FakeWebhook {
 public:
  FakeWebhook();

  std::string url() const;  // http://127.0.0.1:PORT/hook
  // The first `n` requests (from now) get `status`; with n < 0 every request does.
  void FailFirst(int n, int status = 500);

  struct Request {
    httplib::Headers headers;
    std::string body;
    int answered = 0;  // the status we answered
  };
  std::vector<Request> requests() const;
  // Waits until at least `n` requests came (condition variable, with a deadline).
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;  // guarded by mu_
  int fail_left_ = 0;              // guarded by mu_; < 0 = always
  int fail_status_ = 500;          // guarded by mu_
  LocalServer http_;               // last: stops first
};

}  // namespace meldestelle::testing
