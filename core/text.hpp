#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace meldestelle {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, no code points > U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Number of code points in valid UTF-8.
size_t Utf8Length(std::string_view s);
// What is wrong with a text field, if anything: its UTF-8 (as IsValidUtf8), else a control
// character (below U+0020 but tab, LF and CR, or U+007F).
enum class TextFault { kNone, kInvalidUtf8, kControlCharacter };
TextFault CheckText(std::string_view s);
// CheckText's second half, for text already known to be valid UTF-8: a control character.
bool HasControlCharacter(std::string_view s);
// The longest prefix of `s` of at most `max_bytes` that does not end inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);
// Trims ASCII whitespace on both ends.
std::string_view TrimAscii(std::string_view s);
// A-Z to a-z; every other byte as it is (header values, tokens, charset names).
std::string AsciiLower(std::string_view s);
// `s` begins with `lower_prefix` (given in lower case), ASCII letters in any case; no copy.
bool AsciiStartsWithLower(std::string_view s, std::string_view lower_prefix);
// `a` and `b` are the same but for the case of ASCII letters (header field names); no copy.
bool AsciiEqualIgnoringCase(std::string_view a, std::string_view b);
// Lowercase for the letters citizens' languages use: ASCII, Latin-1 and Latin Extended-A
// capitals (Ä, Ö, Ü, Ç, Ğ, Ş; İ becomes i), Cyrillic (А–Я, Ѐ–Џ, Ґ); every other byte as it is.
std::string Utf8Lower(std::string_view s);
// The code points of UTF-8 text (invalid bytes are skipped).
std::u32string Utf8CodePoints(std::string_view s);
void AppendUtf8(std::string& out, char32_t code_point);
// Percent-encoding (%XX, upper case) of every byte but ASCII letters, digits and `also_plain`;
// the default leaves RFC 3986's unreserved characters as they are.
std::string PercentEncode(std::string_view s, std::string_view also_plain = "-._~");
// Appends `s` with the five markup specials (& < > " ') escaped, for text and for double- or
// single-quoted attribute values. kHtml writes ' as &#39; (HTML 4 has no &apos;) and keeps every
// other byte; kXml writes &apos; and drops the control characters XML 1.0 does not allow (all
// below U+0020 but tab, LF and CR).
enum class Markup { kHtml, kXml };
void AppendMarkupEscaped(std::string& out, std::string_view s, Markup markup);
// AppendMarkupEscaped(…, Markup::kXml) into a new string.
std::string XmlEscape(std::string_view s);
// Lowercases and folds German spelling variants so that "Straße", "STRASSE" and "strasse"
// compare equal: ä→ae, ö→oe, ü→ue, ß→ss, other characters kept; runs of non-alphanumerics
// become one space. Input must be valid UTF-8.
std::string FoldGerman(std::string_view s);

// `s` with what looks like an e-mail address replaced by "[address]" and runs of 7 or more digits
// (with the separators phone numbers are written with) by "[number]": for log lines that quote a
// provider's or a mail server's error (docs/datenschutz.md: no personal data in logs).
std::string RedactContacts(std::string_view s);

// The parts one after the other (texts built of many pieces without temporaries).
std::string Concat(std::initializer_list<std::string_view> parts);

}  // namespace meldestelle
