#include "core/smtp_client.hpp"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

#include "core/errors.hpp"

namespace meldestelle {

namespace {

struct Source {
  const std::string* data;
  size_t offset = 0;
};

size_t Read(char* buffer, size_t size, size_t n, void* user) {
  auto* src = static_cast<Source*>(user);
  size_t room = size * n;
  size_t left = src->data->size() - src->offset;
  size_t len = std::min(room, left);
  std::memcpy(buffer, src->data->data() + src->offset, len);
  src->offset += len;
  return len;
}

}  // namespace

Status SendSmtp(const SmtpMessage& m) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (m.recipients.empty())
    return MakeError(errors::kSmtpPermanent, "no recipient");
  CURL* c = curl_easy_init();
  if (c == nullptr)
    return MakeError(errors::kSmtpTemporary, "curl_easy_init failed");
  Source src{&m.data};
  curl_slist* rcpt = nullptr;
  for (const auto& r : m.recipients)
    rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
  std::string from = "<" + m.mail_from + ">";
  curl_easy_setopt(c, CURLOPT_URL, m.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  if (!m.user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, m.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, m.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &Read);
  curl_easy_setopt(c, CURLOPT_READDATA, &src);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(m.data.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(m.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc == CURLE_OK)
    return Ok{};
  std::string why = std::string(curl_easy_strerror(rc)) +
                    (code > 0 ? " (SMTP " + std::to_string(code) + ")" : "");
  if (code >= 500 && code < 600)
    return MakeError(errors::kSmtpPermanent, why);
  return MakeError(errors::kSmtpTemporary, why);
}

SmtpMessage SmtpRelay::To(const std::string& to, std::string mail_from, std::string data) const {
  SmtpMessage m;
  m.url = url;
  m.user = user;
  m.password = password;
  m.mail_from = std::move(mail_from);
  m.recipients = {to};
  m.data = std::move(data);
  return m;
}

}  // namespace meldestelle
