#pragma once

// One citizen as the data protection commands find them (docs/datenschutz.md, "Access and
// erasure"): by e-mail address, phone number (WhatsApp, SMS and calls alike), Telegram chat id
// or a ticket's reference. Pure: parsing, the patterns that find the person in stored text, and
// redaction of free text.
#include <string>
#include <vector>

#include "core/result.hpp"

namespace meldestelle::privacy {

struct Selector {
  enum class Kind { kEmail, kPhone, kTelegram, kReference, kWhatsAppId };
  Kind kind = Kind::kEmail;
  std::string value;  // normalised: e-mail lower case, phone E.164 digits (491701234567),
                      // telegram the chat id, reference the canonical reference, whatsapp_id a
                      // WhatsApp business-scoped user id as Meta writes it ("DE.1349…")
  // The country code of national numbers ("0170 …") as the person's stored addresses hold them
  // (the town's: phone.country_code).
  std::string country_code = "49";
};

// "email", "phone", "telegram", "reference", "whatsapp_id"
const char* KindName(Selector::Kind kind);

// Whether `address` is a WhatsApp business-scoped user id (a user with a username whose number
// is not shared: "US.13491208655302741918", "US.ENT.1181…"), not a number.
bool IsWhatsAppUserId(const std::string& address);

// Parses what the operator typed. `country_code` is used for national numbers (0170 …).
// Errors say precisely what is wrong.
Result<Selector> ParseSelector(Selector::Kind kind, const std::string& value,
                               const std::string& country_code = "49");

// A contact of the person: one channel address in normalised form (kind email, phone or
// telegram).
struct Contact {
  Selector::Kind kind;
  std::string value;
  bool operator<(const Contact& o) const {
    return kind != o.kind ? kind < o.kind : value < o.value;
  }
};

// A POSIX regular expression (PostgreSQL's `~*`) that finds the contact in stored text: the
// address case-insensitively; a number with or without its country code, in any spacing
// ("+49 170 123-4567", "0170/1234567", "491701234567"); a Telegram chat id as a JSON id field.
// The one capturing group is the boundary before the contact; the one after is a lookahead.
std::string PatternFor(const Contact& contact);
// The same pattern, for std::regex (ECMAScript).
std::string EcmaPatternFor(const Contact& contact);

// `text` with every occurrence of the contacts (and of the extra literal `names`, e.g. the
// reporter's name) replaced by "[entfernt]"; a Telegram chat id by 0 (it stands where JSON has a
// number).
std::string Redact(const std::string& text, const std::vector<Contact>& contacts,
                   const std::vector<std::string>& names);
// True if `text` contains one of the contacts.
bool Mentions(const std::string& text, const std::vector<Contact>& contacts);

// The contact a stored reporter's address is, by the channel it is on ("email", "whatsapp",
// "sms", "phone", "telegram"); nullopt for an empty or unknown one.
std::optional<Contact> ContactFromAddress(const std::string& channel, const std::string& address,
                                          const std::string& country_code = "49");

}  // namespace meldestelle::privacy
