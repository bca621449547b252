#include "core/phone.hpp"

namespace meldestelle {

std::string PhoneE164Digits(std::string_view typed, std::string_view country_code,
                            BareDigits bare) {
  while (!typed.empty() && (typed.front() == ' ' || typed.front() == '\t'))
    typed.remove_prefix(1);
  while (!typed.empty() && (typed.back() == ' ' || typed.back() == '\t'))
    typed.remove_suffix(1);
  // "+49 (0)170 1234567": the trunk 0 in brackets is not dialled from abroad.
  std::string text(typed);
  if (auto at = text.find("(0)");
      at != std::string::npos && (text.starts_with("+") || text.starts_with("00")) && at > 1)
    text.erase(at, 3);
  std::string digits;
  bool plus = false;
  for (char c : text) {
    if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c >= '0' && c <= '9') {
      digits += c;
    } else if (std::string_view(" /()-.").find(c) == std::string_view::npos) {
      return "";
    }
  }
  bool international = plus;
  if (!plus) {
    if (digits.starts_with("00")) {
      digits.erase(0, 2);
      international = true;
    } else if (digits.starts_with("0")) {
      digits = std::string(country_code) + digits.substr(1);
    } else if (bare == BareDigits::kUnknown) {
      return "";
    }
  }
  // "+49 0170 1234567": the trunk 0 kept after the country code, as people write it. Not for
  // Italy, whose numbers keep their 0 after +39.
  if (international && !country_code.empty() && country_code != "39" &&
      digits.size() > country_code.size() && digits.starts_with(country_code) &&
      digits[country_code.size()] == '0')
    digits.erase(country_code.size(), 1);
  if (digits.size() < 7 || digits.size() > 15 || digits[0] == '0')
    return "";
  return digits;
}

}  // namespace meldestelle
