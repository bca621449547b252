// Phone numbers as typed, made E.164 (core/phone.hpp).
#include "core/phone.hpp"

#include <catch2/catch.hpp>

namespace phone_test {

using meldestelle::BareDigits;
using meldestelle::PhoneE164Digits;

TEST_CASE("phone: the ways people type a number give its E.164 digits") {
  for (const char* typed :
       {"+49 170 1234567", "+491701234567", "0049 170 1234567", "0170 1234567", "0170/1234567",
        "(0170) 123-45.67", "+49 (0)170 1234567", "0049 (0) 170 1234567", "  0170 1234567\t",
        "+49 0170 1234567", "0049 0170/1234567"}) {
    INFO(typed);
    CHECK(PhoneE164Digits(typed, "49") == "491701234567");
  }
  // Another country's number keeps its code; a national one takes the town's.
  CHECK(PhoneE164Digits("+43 664 1234567", "49") == "436641234567");
  CHECK(PhoneE164Digits("0664 1234567", "43") == "436641234567");
  CHECK(PhoneE164Digits("01.23.45.67.89", "33") == "33123456789");
  // Italy's numbers keep their 0 after the country code.
  CHECK(PhoneE164Digits("+39 06 1234 5678", "39") == "390612345678");
  // The trunk 0 is dropped only after the town's own code.
  CHECK(PhoneE164Digits("+43 0664 1234567", "49") == "4306641234567");
}

TEST_CASE("phone: what is no number an SMS can reach") {
  for (const char* typed : {"", "+", "hello", "0170 123456x", "170+1234567", "++49 170 1234567",
                            "+49 170", "0170", "+0049 170 1234567", "+49 170 1234567 890123",
                            // no area code or country code: a local number, or a 0 missing
                            "23 45 67", "1701234567", "555.123.4567"}) {
    INFO(typed);
    CHECK(PhoneE164Digits(typed, "49").empty());
  }
  // "(0)" without a country code before it is the number's own trunk 0.
  CHECK(PhoneE164Digits("(0)170 1234567", "49") == "491701234567");
  // A provider's id is already international (WhatsApp's wa_id).
  CHECK(PhoneE164Digits("491701234567", "49", BareDigits::kInternational) == "491701234567");
  CHECK(PhoneE164Digits("555.123.4567", "49", BareDigits::kInternational) == "5551234567");
}

}  // namespace phone_test
