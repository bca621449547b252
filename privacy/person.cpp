#include "privacy/person.hpp"

#include <algorithm>
#include <regex>

#include "core/errors.hpp"
#include "core/phone.hpp"
#include "core/text.hpp"

namespace meldestelle::privacy {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Characters of an address that are special in a regular expression, escaped (both dialects).
std::string EscapeRegex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view(".^$|()[]{}*+?\\-/").find(c) != std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

// E.164 digits of a phone number; "" if it is none. Bare digits are a provider's id with its
// country code (WhatsApp's wa_id).
std::string NumberDigits(const std::string& raw, const std::string& cc) {
  std::string s = Trim(raw);
  for (const char* prefix : {"whatsapp:", "tel:", "sms:"}) {
    if (s.rfind(prefix, 0) == 0)
      s = s.substr(std::string_view(prefix).size());
  }
  return PhoneE164Digits(s, cc, BareDigits::kInternational);
}

// The national significant number: the E.164 digits without a country code of 1-3 digits. We
// do not know every plan: take the known codes of Germany's neighbours and the plans with one
// digit, else assume two.
std::string Significant(const std::string& e164) {
  static const char* const kCodes[] = {"49", "43", "41", "31", "32", "33", "352", "420", "45",
                                       "48", "1",  "7",  "44", "39", "34", "90",  "30"};
  for (const char* cc : kCodes) {
    std::string_view code(cc);
    if (e164.size() > code.size() + 5 && e164.rfind(code, 0) == 0)
      return e164.substr(code.size());
  }
  return e164.substr(2);
}

// The digits of the significant number with any of the separators people type between them.
std::string SpacedDigits(const std::string& digits, const char* sep) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0)
      out += sep;
    out += digits[i];
  }
  return out;
}

}  // namespace

const char* KindName(Selector::Kind kind) {
  switch (kind) {
    case Selector::Kind::kEmail:
      return "email";
    case Selector::Kind::kPhone:
      return "phone";
    case Selector::Kind::kTelegram:
      return "telegram";
    case Selector::Kind::kReference:
      return "reference";
    case Selector::Kind::kWhatsAppId:
      return "whatsapp_id";
  }
  return "unknown";
}

bool IsWhatsAppUserId(const std::string& address) {
  static const std::regex kId(R"(^[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,64}$)");
  return std::regex_match(address, kId);
}

Result<Selector> ParseSelector(Selector::Kind kind, const std::string& value,
                               const std::string& country_code) {
  std::string v = Trim(value);
  auto bad = [&](const std::string& why) {
    return MakeError(errors::kInvalidParameter,
                     std::string("--") + KindName(kind) + " \"" + value + "\": " + why);
  };
  switch (kind) {
    case Selector::Kind::kEmail: {
      v = Lower(v);
      auto at = v.find('@');
      if (v.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= v.size() ||
          v.find_first_of(" \t<>\"") != std::string::npos || !IsValidUtf8(v))
        return bad("not an e-mail address");
      return Selector{kind, v, country_code};
    }
    case Selector::Kind::kPhone: {
      std::string d = NumberDigits(v, country_code);
      if (d.empty())
        return bad("not a phone number (+49 170 1234567, 0170 1234567 or 491701234567)");
      return Selector{kind, d, country_code};
    }
    case Selector::Kind::kTelegram: {
      static const std::regex kId(R"(^-?[0-9]{1,20}$)");
      if (!std::regex_match(v, kId))
        return bad("not a Telegram chat id (digits, negative for groups)");
      return Selector{kind, v, country_code};
    }
    case Selector::Kind::kReference:
      if (v.empty() || v.size() > 40)
        return bad("not a reference");
      return Selector{kind, v, country_code};
    case Selector::Kind::kWhatsAppId:
      if (!IsWhatsAppUserId(v))
        return bad(
            "not a WhatsApp user id (two capital letters, a dot and letters or digits: "
            "DE.1349120865530274)");
      return Selector{kind, v, country_code};
  }
  return bad("unknown selector");
}

std::optional<Contact> ContactFromAddress(const std::string& channel, const std::string& address,
                                          const std::string& country_code) {
  if (Trim(address).empty())
    return std::nullopt;
  if (channel == "email" || address.find('@') != std::string::npos) {
    auto s = ParseSelector(Selector::Kind::kEmail, address);
    if (s)
      return Contact{s->kind, s->value};
    return std::nullopt;
  }
  if (IsWhatsAppUserId(Trim(address)))
    return Contact{Selector::Kind::kWhatsAppId, Trim(address)};
  if (channel == "telegram") {
    auto s = ParseSelector(Selector::Kind::kTelegram, address);
    if (s)
      return Contact{s->kind, s->value};
    return std::nullopt;
  }
  auto s = ParseSelector(Selector::Kind::kPhone, address, country_code);
  if (s)
    return Contact{s->kind, s->value};
  return std::nullopt;
}

// Every pattern has one capturing group, the boundary before the match (kept by Redact); the
// boundary after it is a lookahead (non-capturing, as PostgreSQL requires).
std::string PatternFor(const Contact& c) {
  switch (c.kind) {
    case Selector::Kind::kEmail:
      // Not inside a longer address: "anna@example.com" is not "anna@example.com.au".
      return "(^|[^a-z0-9._%+-])" + EscapeRegex(c.value) + "(?=$|[^a-z0-9.-]|[.-](?:$|[^a-z0-9]))";
    case Selector::Kind::kPhone: {
      // Any prefix (+49, 0049, 49, 0 or none), then the significant digits with separators.
      const std::string cc = c.value.substr(0, c.value.size() - Significant(c.value).size());
      return "(^|[^0-9])(?:\\+?" + cc + "|00" + cc + "|0)?[ /().-]*" +
             SpacedDigits(Significant(c.value), "[ /().-]*") + "(?=$|[^0-9])";
    }
    case Selector::Kind::kTelegram:
      return "(\"(?:id|chat_id|from|sender)\"[[:space:]]*:[[:space:]]*\"?|^)" +
             EscapeRegex(c.value) + "(?=\"?(?:$|[^0-9]))";
    case Selector::Kind::kReference:
      return "()" + EscapeRegex(c.value);
    case Selector::Kind::kWhatsAppId:
      return "(^|[^A-Za-z0-9.])" + EscapeRegex(c.value) + "(?=$|[^A-Za-z0-9])";
  }
  return "()$^";
}

std::string EcmaPatternFor(const Contact& c) {
  std::string p = PatternFor(c);
  // The only POSIX class used above.
  for (size_t at; (at = p.find("[[:space:]]")) != std::string::npos;)
    p.replace(at, 11, "\\s");
  return p;
}

namespace {

std::regex RegexFor(const Contact& c) {
  return std::regex(EcmaPatternFor(c), std::regex::ECMAScript | std::regex::icase);
}

}  // namespace

std::string Redact(const std::string& text, const std::vector<Contact>& contacts,
                   const std::vector<std::string>& names) {
  std::string out = text;
  for (const auto& c : contacts) {
    std::regex re = RegexFor(c);
    std::smatch m;
    // A chat id stands where JSON has a number: it becomes 0. The replacement never matches, so
    // this ends; the boundary before the match (the pattern's group) is kept.
    const std::string with = c.kind == Selector::Kind::kTelegram ? "0" : "[entfernt]";
    while (std::regex_search(out, m, re)) {
      size_t from = static_cast<size_t>(m.position()) + static_cast<size_t>(m[1].length());
      size_t to = static_cast<size_t>(m.position() + m.length());
      out.replace(from, to - from, with);
    }
  }
  // Names, longest first, in one scan that steps over the markers already there (a name that is
  // part of "[entfernt]" neither loops nor breaks it).
  std::vector<std::string> sorted;
  for (const auto& n : names) {
    if (std::string name = Trim(n); name.size() >= 3)
      sorted.push_back(name);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& x, const std::string& y) { return x.size() > y.size(); });
  if (!sorted.empty()) {
    constexpr std::string_view kMarker = "[entfernt]";
    std::string next;
    for (size_t i = 0; i < out.size();) {
      if (out.compare(i, kMarker.size(), kMarker) == 0) {
        next += kMarker;
        i += kMarker.size();
        continue;
      }
      bool hit = false;
      for (const auto& name : sorted) {
        if (out.compare(i, name.size(), name) == 0) {
          next += kMarker;
          i += name.size();
          hit = true;
          break;
        }
      }
      if (!hit)
        next += out[i++];
    }
    out = std::move(next);
  }
  return out;
}

bool Mentions(const std::string& text, const std::vector<Contact>& contacts) {
  for (const auto& c : contacts) {
    if (std::regex_search(text, RegexFor(c)))
      return true;
  }
  return false;
}

}  // namespace meldestelle::privacy
