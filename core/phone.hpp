#pragma once

// Phone numbers as people type them, made the E.164 numbers providers take.
#include <string>
#include <string_view>

namespace meldestelle {

// How to read digits without a prefix (no "+", "00" or trunk "0"): "1701234567".
enum class BareDigits {
  kUnknown,        // a number typed by a citizen: a local number without its area code, or one
                   // missing its 0; none (no SMS can reach it)
  kInternational,  // a provider's id (WhatsApp's wa_id): already with its country code
};

// The E.164 digits (without the "+") of a number as typed: "+49 170 1234567", "0049 170 …",
// "+49 (0)170 1234567", "+49 0170 1234567" (the trunk 0 after `country_code` dropped, except
// for Italy's 39), "0170 1234567" and "(0170) 123-45.67" (national: `country_code` before it, the
// trunk 0 dropped) all give "491701234567". Blanks and / ( ) - . may separate the digits. "" if
// it is no number: other characters, a "+" not at the start, fewer than 7 or more than 15 digits, a
// country code beginning with 0, or bare digits read as kUnknown.
std::string PhoneE164Digits(std::string_view typed, std::string_view country_code,
                            BareDigits bare = BareDigits::kUnknown);

}  // namespace meldestelle
