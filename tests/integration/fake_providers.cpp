#include "fake_providers.hpp"

#include <catch2/catch.hpp>

#include "core/crypto.hpp"

namespace meldestelle::testing {

LocalServer::~LocalServer() {
  server_.stop();
  if (thread_.joinable())
    thread_.join();
}

void LocalServer::Start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  REQUIRE(port_ > 0);
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

std::string LocalServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string WhatsAppNotification(const std::string& from, const nlohmann::json& messages) {
  nlohmann::json value{
      {"messaging_product", "whatsapp"},
      {"metadata",
       {{"display_phone_number", "4922123125000"}, {"phone_number_id", kPhoneNumberId}}},
      {"contacts", {{{"profile", {{"name", "Jürgen Müller"}}}, {"wa_id", from}}}},
      {"messages", messages}};
  nlohmann::json n{
      {"object", "whatsapp_business_account"},
      {"entry",
       {{{"id", "102290129340398"}, {"changes", {{{"value", value}, {"field", "messages"}}}}}}}};
  return n.dump(-1, ' ', true);
}

nlohmann::json WaText(const std::string& from, const std::string& id, const std::string& text) {
  return {{"from", from},
          {"id", id},
          {"timestamp", "1764250000"},
          {"type", "text"},
          {"text", {{"body", text}}}};
}

using nlohmann::json;

namespace {

bool Bearer(const httplib::Request& req) {
  return req.get_header_value("Authorization") ==
         std::string("Bearer ") + FakeProviders::kWhatsAppToken;
}

}  // namespace

FakeProviders::FakeProviders() {
  const std::string wa = "/v21.0";
  const std::string tg = std::string("/bot") + kTelegramToken;
  // WhatsApp step 1: media id → download URL (valid "five minutes"), sha256, size.
  http_.server().Get(R"(/v21.0/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++media_requests_;
    auto it = media_.find(req.matches[1]);
    if (!Bearer(req)) {
      res.status = 401;
      return;
    }
    if (it == media_.end()) {
      res.status = 404;
      res.set_content(R"({"error":{"message":"unknown media","code":100}})", "application/json");
      return;
    }
    json j{{"messaging_product", "whatsapp"},
           {"url", http_.Url("/whatsapp-media/") + it->first +
                       "?ext=1"},
           {"mime_type", "image/jpeg"},
           {"sha256", Sha256Hex(it->second)},
           {"file_size", std::to_string(it->second.size())},
           {"id", it->first}};
    res.set_content(j.dump(), "application/json");
  });
  // WhatsApp step 2: the bytes, only with the bearer token.
  http_.server().Get(R"(/whatsapp-media/(\d+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard<std::mutex> lock(mu_);
                auto it = media_.find(req.matches[1]);
                if (!Bearer(req) || it == media_.end()) {
                  res.status = Bearer(req) ? 404 : 401;
                  return;
                }
                res.set_content(it->second, "image/jpeg");
              });
  http_.server().Post(
      R"(/v21.0/(\d+)/messages)", [this](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!Bearer(req)) {
          res.status = 401;
          res.set_content(R"({"error":{"message":"bad token","code":190}})", "application/json");
          return;
        }
        if (fail_sends_ > 0) {
          --fail_sends_;
          res.status = fail_status_;
          res.set_content(fail_body_, "application/json");
          return;
        }
        json body = json::parse(req.body, nullptr, false);
        sent_.push_back({"whatsapp", req.path, body});
        std::string id = "wamid.OUT" + std::to_string(next_id_++);
        res.set_content(
            json{{"messaging_product", "whatsapp"},
                 {"contacts", {{{"input", body.value("to", "")}, {"wa_id", body.value("to", "")}}}},
                 {"messages", {{{"id", id}}}}}
                .dump(),
            "application/json");
        cv_.notify_all();
      });
  http_.server().Get(tg + "/getFile", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++media_requests_;
    std::string id = req.get_param_value("file_id");
    auto it = media_.find(id);
    if (it == media_.end()) {
      res.status = 400;
      res.set_content(
          R"({"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"})",
          "application/json");
      return;
    }
    res.set_content(json{{"ok", true},
                         {"result",
                          {{"file_id", id},
                           {"file_unique_id", "U" + id},
                           {"file_size", it->second.size()},
                           {"file_path", "photos/" + id + ".jpg"}}}}
                        .dump(),
                    "application/json");
  });
  http_.server().Get(R"(/file/bot[^/]+/photos/(.+)\.jpg)",
              [this, tg](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard<std::mutex> lock(mu_);
                auto it = media_.find(req.matches[1]);
                if (req.path.find(tg) == std::string::npos || it == media_.end()) {
                  res.status = 404;
                  return;
                }
                res.set_content(it->second, "image/jpeg");
              });
  http_.server().Post(tg + "/sendMessage", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_sends_ > 0) {
      --fail_sends_;
      res.status = fail_status_;
      res.set_content(fail_body_, "application/json");
      return;
    }
    json body = json::parse(req.body, nullptr, false);
    sent_.push_back({"telegram", req.path, body});
    int id = next_id_++;
    res.set_content(json{{"ok", true},
                         {"result",
                          {{"message_id", id},
                           {"date", 1764250000},
                           {"chat", {{"id", body.value("chat_id", json(0))}, {"type", "private"}}},
                           {"text", body.value("text", "")}}}}
                        .dump(),
                    "application/json");
    cv_.notify_all();
  });
  // Twilio REST API: recordings (Basic auth) and the Messages API.
  const std::string basic = "Basic " + Base64Encode(std::string(kTwilioSid) + ":" + kTwilioToken);
  http_.server().Get(R"(/2010-04-01/Accounts/([^/]+)/Recordings/([^/.]+)\.wav)",
              [this, basic](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard<std::mutex> lock(mu_);
                ++recording_requests_;
                if (req.get_header_value("Authorization") != basic) {
                  res.status = 401;
                  return;
                }
                auto it = recordings_.find(req.matches[2]);
                if (it == recordings_.end()) {
                  res.status = 404;
                  return;
                }
                res.set_content(it->second, "audio/x-wav");
              });
  http_.server().Delete(R"(/2010-04-01/Accounts/([^/]+)/Recordings/([^/.]+)\.json)",
                        [this, basic](const httplib::Request& req, httplib::Response& res) {
                          std::lock_guard<std::mutex> lock(mu_);
                          if (req.get_header_value("Authorization") != basic) {
                            res.status = 401;
                            return;
                          }
                          if (recordings_.erase(req.matches[2]) == 0) {
                            res.status = 404;
                            return;
                          }
                          deleted_recordings_.push_back(req.matches[2]);
                          res.status = 204;
                        });
  http_.server().Post(R"(/2010-04-01/Accounts/([^/]+)/Messages\.json)",
               [this, basic](const httplib::Request& req, httplib::Response& res) {
                 std::lock_guard<std::mutex> lock(mu_);
                 if (req.get_header_value("Authorization") != basic) {
                   res.status = 401;
                   res.set_content(R"({"code":20003,"message":"Authenticate","status":401})",
                                   "application/json");
                   return;
                 }
                 if (fail_sends_ > 0) {
                   --fail_sends_;
                   res.status = fail_status_;
                   res.set_content(fail_body_, "application/json");
                   return;
                 }
                 json body = json::object();
                 for (const auto& [k, v] : req.params)
                   body[k] = v;
                 sent_.push_back({"sms", req.path, body});
                 res.status = 201;
                 res.set_content(
                     json{{"sid", "SM" + std::to_string(next_id_++)}, {"status", "queued"}}.dump(),
                     "application/json");
                 cv_.notify_all();
               });
  http_.server().Post("/stt", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stt_requests_;
    stt_types_.push_back(req.get_header_value("Content-Type"));
    // WAV from the phone, OGG (Opus) voice notes from the messengers.
    if (stt_fail_ || (req.body.substr(0, 4) != "RIFF" && req.body.substr(0, 4) != "OggS")) {
      res.status = 500;
      res.set_content("model not loaded", "text/plain");
      return;
    }
    res.set_content(json{{"text", stt_text_}}.dump(), "application/json");
  });
  http_.Start();
}

std::string FakeProviders::whatsapp_base() const {
  return http_.Url("/v21.0");
}

std::string FakeProviders::telegram_base() const {
  return http_.Url("");
}

std::string FakeProviders::twilio_base() const {
  return http_.Url("");
}

std::string FakeProviders::RecordingUrl(const std::string& recording_sid) const {
  return twilio_base() + "/2010-04-01/Accounts/" + kTwilioSid + "/Recordings/" + recording_sid;
}

void FakeProviders::AddRecording(const std::string& recording_sid, std::string wav) {
  std::lock_guard<std::mutex> lock(mu_);
  recordings_[recording_sid] = std::move(wav);
}

void FakeProviders::SetStt(std::string text, bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  stt_text_ = std::move(text);
  stt_fail_ = fail;
}

int FakeProviders::stt_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stt_requests_;
}

std::vector<std::string> FakeProviders::stt_types() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stt_types_;
}

int FakeProviders::recording_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recording_requests_;
}

std::vector<std::string> FakeProviders::deleted_recordings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deleted_recordings_;
}

std::vector<std::string> FakeProviders::Env(bool stt) const {
  std::vector<std::string> env = {
      std::string("MELDESTELLE_TWILIO_AUTH_TOKEN=") + kTwilioToken,
      std::string("MELDESTELLE_TWILIO_ACCOUNT_SID=") + kTwilioSid,
      "MELDESTELLE_TWILIO_API_BASE=" + twilio_base(),
      std::string("MELDESTELLE_TWILIO_SMS_FROM=") + kSmsFrom,
      std::string("MELDESTELLE_PHONE_TRANSCRIPT_SECRET=") + kTranscriptSecret,
      "MELDESTELLE_WHATSAPP_APP_SECRET=whatsapp-test-app-secret-0123456789",
      "MELDESTELLE_WHATSAPP_VERIFY_TOKEN=verify-token-for-tests",
      std::string("MELDESTELLE_WHATSAPP_ACCESS_TOKEN=") + kWhatsAppToken,
      "MELDESTELLE_WHATSAPP_API_BASE=" + whatsapp_base(),
      "MELDESTELLE_TELEGRAM_SECRET_TOKEN=telegram-secret-token-for-tests",
      std::string("MELDESTELLE_TELEGRAM_BOT_TOKEN=") + kTelegramToken,
      "MELDESTELLE_TELEGRAM_API_BASE=" + telegram_base()};
  // Without the town's own service, the stand-in provider transcribes every call, as a town
  // that chose `phone.transcription: provider` has it (by default only English calls).
  env.push_back(stt ? "MELDESTELLE_STT_URL=" + twilio_base() + "/stt"
                    : "MELDESTELLE_PHONE_TRANSCRIPTION=provider");
  return env;
}

void FakeProviders::AddMedia(const std::string& id, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  media_[id] = std::move(bytes);
}

std::vector<FakeProviders::Sent> FakeProviders::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

bool FakeProviders::WaitForSent(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return sent_.size() >= n; });
}

void FakeProviders::FailNextSends(int n, int status, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_sends_ = n;
  fail_status_ = status;
  fail_body_ = std::move(body);
}

int FakeProviders::media_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return media_requests_;
}

FakeWebhook::FakeWebhook() {
  http_.server().Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    int status = 200;
    if (fail_left_ != 0) {
      status = fail_status_;
      if (fail_left_ > 0) --fail_left_;
    }
    requests_.push_back({req.headers, req.body, status});
    res.status = status;
    res.set_content(status / 100 == 2 ? R"({"ok":true})" : R"({"error":"unavailable"})",
                    "application/json");
    cv_.notify_all();
  });
  http_.Start();
}

std::string FakeWebhook::url() const {
  return http_.Url("/hook");
}

void FakeWebhook::FailFirst(int n, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_left_ = n;
  fail_status_ = status;
}

std::vector<FakeWebhook::Request> FakeWebhook::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool FakeWebhook::WaitForRequests(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

}  // namespace meldestelle::testing
