#include "channels/email/poll.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "channels/email/settings.hpp"
#include "core/errors.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/wait.hpp"

namespace meldestelle::email {

Handed HandToGateway(const std::string& gateway_url, const std::string& secret,
                     const std::string& source, const std::string& raw) {
  HttpClient http;
  HttpClient::Request req;
  req.method = "POST";
  req.url = gateway_url + "/api/v1/mail?source=" + source;
  req.headers = {{"Authorization", "Bearer " + secret}, {"Content-Type", "message/rfc822"}};
  req.body = raw;
  req.timeout = std::chrono::seconds(60);
  req.max_bytes = 64 * 1024;
  auto res = http.Send(req);
  if (!res)
    return {Delivery::kTemporary, "gateway unreachable: " + res.error().message};
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status / 100 == 2) {
    return {Delivery::kAccepted, j.is_object() ? j.value("reference", "") : ""};
  }
  std::string why = "HTTP " + std::to_string(res->status);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    why += ": " + j["error"].value("message", "");
  }
  if (res->status == 413 || res->status == 422)
    return {Delivery::kRefused, why};
  return {Delivery::kTemporary, why};
}

MailPoller::MailPoller(const Config& config, std::string gateway_url)
    : settings_(config.Get<Settings>()), gateway_url_(std::move(gateway_url)) {}

namespace {

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

Result<std::string> MailPoller::Imap(const std::string& url, const std::string& custom_request) {
  CURL* c = curl_easy_init();
  if (c == nullptr)
    return MakeError(errors::kImapUnavailable, "curl_easy_init failed");
  std::string out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(c, CURLOPT_USERNAME, settings_.imap_user.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, settings_.imap_password.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(settings_.max_message_bytes + 1024 * 1024));
  if (!custom_request.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom_request.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    return MakeError(errors::kImapUnavailable, std::string("IMAP: ") + curl_easy_strerror(rc));
  }
  return out;
}

Result<MailPoller::Round> MailPoller::PollOnce() {
  const std::string& url = settings_.imap_url;  // imap://host:port/INBOX
  size_t slash = url.find('/', url.find("://") + 3);
  std::string base = url.substr(0, slash);
  std::string box = slash == std::string::npos ? "INBOX" : url.substr(slash + 1);
  if (box.empty())
    box = "INBOX";
  // All messages, not only unseen ones: a fetch marks a message seen, and one that was fetched
  // but not handed over (gateway down) must be tried again.
  auto search = Imap(base + "/" + box, "UID SEARCH ALL");
  if (!search)
    return search.error();
  std::vector<std::string> uids;
  std::istringstream in(*search);
  std::string word;
  bool after = false;
  while (in >> word) {
    if (word == "SEARCH") {
      after = true;
    } else if (after && !word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) {
      while (!word.empty() && !std::isdigit(static_cast<unsigned char>(word.back()))) {
        word.pop_back();
      }
      uids.push_back(word);
    }
  }
  Round round;
  for (const auto& uid : uids) {
    auto raw = Imap(base + "/" + box + ";UID=" + uid, "");
    if (!raw)
      return raw.error();
    Handed h = HandToGateway(gateway_url_, settings_.intake_secret, "imap", *raw);
    if (h.delivery == Delivery::kTemporary) {
      ++round.temporary;
      log::Warn("mail left in the mailbox for the next round",
                {{"uid", uid}, {"reason", h.detail}});
      continue;
    }
    const char* folder = h.delivery == Delivery::kAccepted ? "verarbeitet" : "fehler";
    auto moved = Imap(base + "/" + box, "UID MOVE " + uid + " " + folder);
    if (!moved)
      return moved.error();
    if (h.delivery == Delivery::kAccepted) {
      ++round.accepted;
      log::Info("mail fetched and accepted", {{"uid", uid}, {"reference", h.detail}});
    } else {
      ++round.refused;
      log::Warn("mail refused, moved to fehler", {{"uid", uid}, {"reason", h.detail}});
    }
  }
  return round;
}

void MailPoller::Run(const std::atomic<bool>& stop) {
  auto interval = std::chrono::seconds(settings_.imap_interval_seconds);
  while (!stop.load()) {
    auto r = PollOnce();
    if (!r)
      log::Warn("mail poll failed, retrying", {{"error", r.error().message}});
    WaitUnlessStopped(interval, stop);
  }
}

}  // namespace meldestelle::email
