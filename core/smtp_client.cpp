#include "core/smtp_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstring>
#include <mutex>

#include "core/errors.hpp"
#include "core/text.hpp"

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
  // The last reply was DATA's go-ahead (354) and the whole message was handed over: libcurl had
  // sent the end of data and was waiting for the final reply (libcurl 7.88 reports the last
  // reply's code; the read callback is not asked again once the declared size is read).
  if (code == 354 && src.offset == m.data.size())
    return MakeError(errors::kSmtpUnconfirmed, "the message was sent whole, the relay's final "
                                               "reply did not come: " + why);
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
  m.timeout = timeout;
  return m;
}

namespace {

// A format character (Unicode's category Cf) that shows as nothing or turns the text round:
// the soft hyphen, zero-width spaces and joiners, direction marks, embeddings, overrides and
// isolates, the word joiner and invisible operators, the byte order mark, interlinear
// annotation, tags. An address that holds one is not the address its owner reads.
bool HasInvisibleCharacter(std::string_view a) {
  for (char32_t c : Utf8CodePoints(a)) {
    if (c == 0x00AD || (c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD || c == 0x070F ||
        c == 0x180E || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
        (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
        (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE007F))
      return true;
  }
  return false;
}

}  // namespace

bool IsRecipientAddress(std::string_view a) {
  if (a.empty() || a.size() > 254)
    return false;
  size_t at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= a.size())
    return false;
  for (char ch : a.substr(0, at)) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f ||
        std::string_view("\"(),:;<>@[\\]").find(ch) != std::string_view::npos)
      return false;
  }
  std::string_view domain = a.substr(at + 1);
  if (domain.front() == '.' || domain.back() == '.' || AsciiLower(domain) == "localhost")
    return false;
  size_t labels = 0;
  std::string_view last;
  for (size_t start = 0; start <= domain.size();) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char ch : label) {
      auto c = static_cast<unsigned char>(ch);
      if (!(std::isalnum(c) != 0 || ch == '-' || c >= 0x80))
        return false;
    }
    ++labels;
    last = label;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (labels < 2)
    return false;
  if (last.find_first_not_of("0123456789") == std::string_view::npos)
    return false;  // "10.0.0.1" is no domain name ("xn--p1ai", .рф, is)
  return IsValidUtf8(a) && !HasInvisibleCharacter(a);
}

}  // namespace meldestelle
